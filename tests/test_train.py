"""Training: loss by hand, fit on digits, run folders, exact resume, atomic saves, NaN, refusals, CLI."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import snnbp
from snnbp import data, train


def small(seed=0, timesteps=8, model="mlp", spiking=True):
    torch.manual_seed(seed)
    net = snnbp.build(model, "digits", timesteps=timesteps, spiking=spiking)
    train_loader, test_loader = data.loaders("digits", 32, subset=(480, 120), seed=0)
    return net, train_loader, test_loader


def test_summed_squared_error_by_hand():
    config = snnbp.presets.get("paper", "mlp", "digits")
    loss = train.make_loss(config)
    out = torch.tensor([[0.5, 0.1, 0.0], [0.2, 0.2, 0.9]])
    y = torch.tensor([0, 2])
    # (0.5-1)^2 + 0.1^2 + 0 + 0.2^2 + 0.2^2 + (0.9-1)^2, summed over classes and the batch
    assert loss(out, y).item() == pytest.approx(0.25 + 0.01 + 0.04 + 0.04 + 0.01)
    ce = train.make_loss(config.replace(loss="cross_entropy"))
    assert ce(out, y).item() == pytest.approx(torch.nn.functional.cross_entropy(out, y).item())
    mean = train.make_loss(config.replace(loss="mse_mean"))       # the option: averaged over the batch
    assert mean(out, y).item() == pytest.approx((0.25 + 0.01 + 0.04 + 0.04 + 0.01) / 2)
    with pytest.raises(ValueError, match="unknown loss 'l1'.*'mse_mean'"):
        train.make_loss(config.replace(loss="l1"))


def test_optimizer_and_schedule_follow_the_preset():
    net, _, _ = small()
    config = net.config.replace(lr=0.1, milestones=(1, 2), gamma=0.5)
    opt = train.make_optimizer(net, config)
    assert isinstance(opt, torch.optim.SGD) and opt.param_groups[0]["weight_decay"] == 5e-4
    sched = train.make_scheduler(opt, config)
    lrs = []
    for _ in range(3):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.1, 0.05, 0.025])
    modern = snnbp.presets.get("modern", "mlp", "digits")
    assert isinstance(train.make_optimizer(net, modern), torch.optim.Adam)
    with pytest.raises(ValueError, match="optimizer"):
        train.make_optimizer(net, config.replace(optimizer="lbfgs"))


def test_fit_learns_and_writes_a_run_folder(tmp_path):
    net, tr, te = small()
    history = train.fit(net, tr, te, epochs=3, out=tmp_path, quiet=True, seed=0, device="cpu")
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert set(history[0]) == set(train.METRICS)
    assert history[-1]["test_acc"] > 0.5                      # chance is 0.1
    assert 0 < history[-1]["firing_rate"] < 1
    with open(tmp_path / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(train.METRICS) and len(rows) == 3
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model"] == "mlp" and config["dataset"] == "digits" and config["device"] == "cpu"
    assert config["preset"]["lr"] == 0.0085 and config["versions"]["torch"] == torch.__version__
    for name in ("last.pt", "best.pt"):
        assert train.load_checkpoint(tmp_path / name)["model_name"] == "mlp"
    assert train.load_checkpoint(tmp_path / "last.pt")["epoch"] == 3


def test_two_epochs_equal_one_plus_resume_plus_one_bit_for_bit(tmp_path):
    net, tr, te = small()
    straight = train.fit(net, tr, te, epochs=2, out=tmp_path / "a", quiet=True, seed=0, device="cpu")

    net_b, tr_b, te_b = small()
    train.fit(net_b, tr_b, te_b, epochs=1, out=tmp_path / "b", quiet=True, seed=0, device="cpu")
    torch.manual_seed(123)                                    # disturb every RNG in between
    net_c, tr_c, te_c = small(seed=99)                        # other initial weights, fresh loaders
    resumed = train.fit(net_c, tr_c, te_c, epochs=2, out=tmp_path / "b", resume=True, quiet=True, device="cpu")

    for (name, a), (_, c) in zip(net.state_dict().items(), net_c.state_dict().items()):
        assert torch.equal(a, c), name
    drop = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    assert drop(straight) == drop(resumed)


def test_crash_while_saving_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    net, tr, te = small()
    train.fit(net, tr, te, epochs=1, out=tmp_path, quiet=True, seed=0, device="cpu")
    before = (tmp_path / "last.pt").read_bytes()

    def crashing_save(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt("power cut while saving")

    monkeypatch.setattr(train.torch, "save", crashing_save)
    with pytest.raises(KeyboardInterrupt):
        train.fit(net, tr, te, epochs=2, out=tmp_path, resume=True, quiet=True, device="cpu")
    monkeypatch.undo()
    assert (tmp_path / "last.pt").read_bytes() == before
    assert train.load_checkpoint(tmp_path / "last.pt")["epoch"] == 1
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


class PoisonedSecondEpoch:
    """A loader whose second pass yields infinite images: the ANN's loss becomes NaN/inf."""

    def __init__(self, loader):
        self.loader, self.passes = loader, 0
        self.batch_size, self.dataset = loader.batch_size, loader.dataset

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        self.passes += 1
        for x, y in self.loader:
            yield (torch.full_like(x, float("inf")) if self.passes >= 2 else x), y


def test_nan_loss_stops_with_a_message_and_keeps_the_last_good_checkpoint(tmp_path):
    net, tr, te = small(spiking=False)
    with pytest.raises(train.TrainingDiverged, match="last good checkpoint.*epoch 1"):
        train.fit(net, PoisonedSecondEpoch(tr), te, epochs=3, out=tmp_path, quiet=True, device="cpu")
    ckpt = train.load_checkpoint(tmp_path / "last.pt")
    assert ckpt["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values())
    assert len(train.read_metrics(tmp_path / "metrics.csv")) == 1


def test_resume_with_another_model_or_dataset_is_refused(tmp_path):
    net, tr, te = small()
    train.fit(net, tr, te, epochs=1, out=tmp_path, quiet=True, device="cpu")
    other, _, _ = small(model="lenet")
    with pytest.raises(ValueError, match="refusing to resume.*model='mlp'.*model='lenet'"):
        train.fit(other, tr, te, epochs=2, out=tmp_path, resume=True, quiet=True, device="cpu")
    assert train.main(["--model", "lenet", "--out", str(tmp_path), "--resume", "--quiet"]) == 1
    assert train.main(["--out", str(tmp_path), "--quiet", "--epochs", "1"]) == 2   # exists, no --resume


def test_device_and_argument_errors():
    assert train.resolve_device("cpu") == torch.device("cpu")
    assert train.resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(ValueError, match="device"):
        train.resolve_device("tpu")
    net, tr, te = small()
    with pytest.raises(ValueError, match="epochs"):
        train.fit(net, tr, te, epochs=0, quiet=True)


def test_cli_short_run_and_resume(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["--timesteps", "5", "--subset", "256", "--epochs", "1", "--out", str(out), "--quiet"]
    assert train.main(args) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert train.main(["--out", str(out), "--resume", "--epochs", "2", "--quiet"]) == 0
    rows = train.read_metrics(out / "metrics.csv")
    assert [r["epoch"] for r in rows] == [1, 2]
    config = json.loads((out / "config.json").read_text())
    assert config["timesteps"] == 5 and config["subset"] == 256 and config["resumed"][0]["from_epoch"] == 1


@pytest.mark.slow
def test_cli_without_arguments_trains_digits_offline(tmp_path):
    result = subprocess.run([sys.executable, "-m", "snnbp.train", "--quiet"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    accuracy = float(result.stdout.split("test accuracy")[1].split()[0])
    assert accuracy > 0.9
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "metrics.csv").exists() and (runs[0] / "best.pt").exists()
