"""Training: loss by hand, fit on digits, run folders, exact resume, atomic saves, NaN, refusals, CLI."""
from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import snnbp
from snnbp import cli, data, distributed, memory, recipe, runs, train, train_cli


@pytest.fixture(autouse=True)
def keep_the_allocator(monkeypatch):
    """The command line switches on memory.reuse_freed_memory(); not in the test process."""
    calls = []
    monkeypatch.setattr(memory, "reuse_freed_memory", lambda: calls.append(1) or True)
    return calls


def small(seed=0, timesteps=8, model="mlp", spiking=True):
    torch.manual_seed(seed)
    net = snnbp.build(model, "digits", timesteps=timesteps, spiking=spiking)
    train_loader, test_loader = data.loaders("digits", 32, subset=(480, 120), seed=0)
    return net, train_loader, test_loader


def write_format_1(path: Path) -> None:
    """Rewrite a checkpoint the way snnbp's format 1 wrote it: numpy's RNG state as
    ``np.random.get_state()`` returns it (a tuple holding a uint32 array), ``"format": 1``."""
    ckpt = runs.load_checkpoint(path)
    state = ckpt["rng"]["numpy"]
    ckpt["rng"]["numpy"] = (state["kind"], state["keys"].numpy().astype(np.uint32), state["pos"],
                            state["has_gauss"], state["cached_gaussian"])
    ckpt["format"] = 1
    torch.save(ckpt, path)


def test_summed_squared_error_by_hand():
    config = snnbp.presets.get("paper", "mlp", "digits")
    loss = recipe.make_loss(config)
    out = torch.tensor([[0.5, 0.1, 0.0], [0.2, 0.2, 0.9]])
    y = torch.tensor([0, 2])
    # (0.5-1)^2 + 0.1^2 + 0 + 0.2^2 + 0.2^2 + (0.9-1)^2, summed over classes and the batch
    assert loss(out, y).item() == pytest.approx(0.25 + 0.01 + 0.04 + 0.04 + 0.01)
    ce = recipe.make_loss(config.replace(loss="cross_entropy"))
    assert ce(out, y).item() == pytest.approx(torch.nn.functional.cross_entropy(out, y).item())
    mean = recipe.make_loss(config.replace(loss="mse_mean"))       # the option: averaged over the batch
    assert mean(out, y).item() == pytest.approx((0.25 + 0.01 + 0.04 + 0.04 + 0.01) / 2)
    with pytest.raises(ValueError, match="unknown loss 'l1'.*'mse_mean'"):
        recipe.make_loss(config.replace(loss="l1"))


def test_optimizer_and_schedule_follow_the_preset():
    net, _, _ = small()
    config = net.config.replace(lr=0.1, milestones=(1, 2), gamma=0.5)
    opt = recipe.make_optimizer(net, config)
    assert isinstance(opt, torch.optim.SGD) and opt.param_groups[0]["weight_decay"] == 5e-4
    sched = recipe.make_scheduler(opt, config)
    lrs = []
    for _ in range(3):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.1, 0.05, 0.025])
    modern = snnbp.presets.get("modern", "mlp", "digits")
    assert isinstance(recipe.make_optimizer(net, modern), torch.optim.Adam)
    with pytest.raises(ValueError, match="optimizer"):
        recipe.make_optimizer(net, config.replace(optimizer="lbfgs"))


def test_fit_learns_and_writes_a_run_folder(tmp_path):
    net, tr, te = small()
    history = train.fit(net, tr, te, epochs=3, out=tmp_path, quiet=True, seed=0, device="cpu")
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert set(history[0]) == set(runs.METRICS) | {"layer_rates"}
    assert history[-1]["test_acc"] > 0.5                      # chance is 0.1
    assert 0 < history[-1]["firing_rate"] < 1
    # one hidden layer: its rate in rates.json is the mean hidden rate of metrics.csv
    rates = runs.read_rates(tmp_path)
    assert list(rates) == [1, 2, 3] and list(rates[3]) == ["lif1"]
    assert rates[3]["lif1"] == pytest.approx(history[-1]["firing_rate"])
    with open(tmp_path / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(runs.METRICS) and len(rows) == 3
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model"] == "mlp" and config["dataset"] == "digits" and config["device"] == "cpu"
    assert config["preset"]["lr"] == 0.0085 and config["versions"]["torch"] == torch.__version__
    for name in ("last.pt", "best.pt"):
        assert runs.load_checkpoint(tmp_path / name)["model_name"] == "mlp"
    assert runs.load_checkpoint(tmp_path / "last.pt")["epoch"] == 3


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
    assert runs.load_checkpoint(tmp_path / "last.pt")["epoch"] == 1
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_ctrl_c_while_saving_waits_until_checkpoint_and_metrics_agree(tmp_path, monkeypatch):
    net, tr, te = small()
    real_save = train.torch.save

    def save_then_ctrl_c(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)       # Ctrl-C between last.pt and metrics.csv

    monkeypatch.setattr(train.torch, "save", save_then_ctrl_c)
    before = signal.getsignal(signal.SIGINT)      # SIG_IGN when the suite runs as a background job
    with pytest.raises(KeyboardInterrupt):
        train.fit(net, tr, te, epochs=3, out=tmp_path, quiet=True, seed=0, device="cpu")
    monkeypatch.undo()
    assert runs.load_checkpoint(tmp_path / "last.pt")["epoch"] == 1
    assert [r["epoch"] for r in runs.read_metrics(tmp_path / "metrics.csv")] == [1]
    assert signal.getsignal(signal.SIGINT) is before


def test_format_1_checkpoint_resumes_bit_for_bit(tmp_path):
    net, tr, te = small()
    straight = train.fit(net, tr, te, epochs=2, out=tmp_path / "a", quiet=True, seed=0, device="cpu")
    net_b, tr_b, te_b = small()
    train.fit(net_b, tr_b, te_b, epochs=1, out=tmp_path / "b", quiet=True, seed=0, device="cpu")
    write_format_1(tmp_path / "b" / "last.pt")
    needs = torch.serialization.get_unsafe_globals_in_checkpoint(tmp_path / "b" / "last.pt")
    assert any("_reconstruct" in name for name in needs)         # numpy's array, as format 1 stored it
    net_c, tr_c, te_c = small(seed=99)
    resumed = train.fit(net_c, tr_c, te_c, epochs=2, out=tmp_path / "b", resume=True, quiet=True, device="cpu")
    drop = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    assert drop(straight) == drop(resumed)
    assert runs.load_checkpoint(tmp_path / "b" / "last.pt")["format"] == runs.CHECKPOINT_FORMAT == 2
    assert torch.serialization.get_unsafe_globals_in_checkpoint(tmp_path / "b" / "last.pt") == []


class Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_crafted_checkpoint_is_refused_and_runs_no_code(tmp_path):
    marker = tmp_path / "marker"
    torch.save({"format": 2, "epoch": 1, "model": {"w": torch.zeros(1)}, "rng": Evil(marker)}, tmp_path / "evil.pt")
    with pytest.raises(runs.CheckpointError, match=r"refusing to load .*evil.pt: it asks to import \S*system") as err:
        runs.load_checkpoint(tmp_path / "evil.pt")
    assert err.value.kind == "unsafe" and not marker.exists()


def test_damaged_foreign_and_newer_checkpoints_are_named(tmp_path):
    net, tr, te = small()
    train.fit(net, tr, te, epochs=1, out=tmp_path, quiet=True, device="cpu")
    good = (tmp_path / "last.pt").read_bytes()
    for name, content, kind, words in [
            ("cut.pt", good[:len(good) // 2], "damaged", "cut.pt is damaged or not a checkpoint"),
            ("empty.pt", b"", "damaged", "empty.pt is damaged"),
            ("text.pt", b"hello", "damaged", "text.pt is damaged")]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(runs.CheckpointError, match=words) as err:
            runs.load_checkpoint(tmp_path / name)
        assert err.value.kind == kind
    torch.save(net.state_dict(), tmp_path / "weights.pt")
    with pytest.raises(runs.CheckpointError, match="weights.pt is not a snnbp checkpoint"):
        runs.load_checkpoint(tmp_path / "weights.pt")
    newer = runs.load_checkpoint(tmp_path / "last.pt")
    newer["format"] = 3
    torch.save(newer, tmp_path / "newer.pt")
    with pytest.raises(runs.CheckpointError, match="newer snnbp .*format 3.*formats 1 to 2"):
        runs.load_checkpoint(tmp_path / "newer.pt")
    with pytest.raises(FileNotFoundError, match="no checkpoint .*missing.pt"):
        runs.load_checkpoint(tmp_path / "missing.pt")


def test_a_damaged_last_checkpoint_loses_nothing(tmp_path, capsys):
    net, tr, te = small()
    straight = train.fit(net, tr, te, epochs=3, out=tmp_path / "a", quiet=True, seed=0, device="cpu")
    net_b, tr_b, te_b = small()
    train.fit(net_b, tr_b, te_b, epochs=2, out=tmp_path / "b", quiet=True, seed=0, device="cpu")
    assert runs.load_checkpoint(tmp_path / "b" / "last.prev.pt")["epoch"] == 1      # rotated, not copied
    last = tmp_path / "b" / "last.pt"
    last.write_bytes(last.read_bytes()[:1000])                                      # a cut copy
    net_c, tr_c, te_c = small(seed=99)
    resumed = train.fit(net_c, tr_c, te_c, epochs=3, out=tmp_path / "b", resume=True, quiet=True, device="cpu")
    assert "warning:" in capsys.readouterr().err
    drop = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    assert drop(straight) == drop(resumed)                       # epoch 2 again, then 3: the same run
    assert [r["epoch"] for r in runs.read_metrics(tmp_path / "b" / "metrics.csv")] == [1, 2, 3]


class PoisonedSecondEpoch:
    """A loader whose second pass yields images of 3e38 (finite: an infinite image is refused before
    the network runs): the ANN's currents overflow and its loss becomes NaN/inf."""

    def __init__(self, loader):
        self.loader, self.passes = loader, 0
        self.batch_size, self.dataset = loader.batch_size, loader.dataset

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        self.passes += 1
        for x, y in self.loader:
            yield (torch.full_like(x, 3e38) if self.passes >= 2 else x), y


def test_nan_loss_stops_with_a_message_and_keeps_the_last_good_checkpoint(tmp_path):
    net, tr, te = small(spiking=False)
    with pytest.raises(train.TrainingDiverged, match="last good checkpoint.*epoch 1"), \
            pytest.warns(UserWarning, match="should lie in"):
        train.fit(net, PoisonedSecondEpoch(tr), te, epochs=3, out=tmp_path, quiet=True, device="cpu")
    ckpt = runs.load_checkpoint(tmp_path / "last.pt")
    assert ckpt["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values())
    assert len(runs.read_metrics(tmp_path / "metrics.csv")) == 1


def test_resume_with_another_model_or_dataset_is_refused(tmp_path):
    net, tr, te = small()
    train.fit(net, tr, te, epochs=1, out=tmp_path, quiet=True, device="cpu")
    other, _, _ = small(model="lenet")
    with pytest.raises(ValueError, match="refusing to resume.*model='mlp'.*model='lenet'"):
        train.fit(other, tr, te, epochs=2, out=tmp_path, resume=True, quiet=True, device="cpu")
    assert train_cli.main(["--model", "lenet", "--out", str(tmp_path), "--resume", "--quiet"]) == 2
    assert train_cli.main(["--out", str(tmp_path), "--quiet", "--epochs", "1"]) == 2   # exists, no --resume


def test_device_and_argument_errors():
    assert distributed.resolve_device("cpu") == torch.device("cpu")
    assert distributed.resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(ValueError, match="device"):
        distributed.resolve_device("tpu")
    net, tr, te = small()
    with pytest.raises(ValueError, match="epochs"):
        train.fit(net, tr, te, epochs=0, quiet=True)


def test_cli_short_run_and_resume(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["--timesteps", "5", "--subset", "256", "--epochs", "1", "--out", str(out), "--quiet"]
    assert train_cli.main(args) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert train_cli.main(["--out", str(out), "--resume", "--epochs", "2", "--quiet"]) == 0
    rows = runs.read_metrics(out / "metrics.csv")
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


class _CountingIterable:
    """An iterable that counts how often it is asked for an iterator."""

    def __init__(self, n):
        self.n, self.iterators = n, 0

    def __len__(self):
        return self.n

    def __iter__(self):
        self.iterators += 1
        return iter(range(self.n))


@pytest.mark.parametrize("quiet", [True, False])
def test_progress_iterates_once(quiet):
    """tqdm.auto's bar asks for an iterator when made and again when looped over: for a DataLoader
    that drew the epoch's shuffle twice. snnbp's progress bar iterates once."""
    items = _CountingIterable(5)
    assert list(cli.progress(items, quiet)) == [0, 1, 2, 3, 4] and items.iterators == 1


def test_an_epoch_uses_the_order_the_loader_seed_gives():
    """fit's first epoch sees the batches of the loader's first (seeded) iterator."""
    import torch.utils.data as tud

    data = tud.TensorDataset(torch.arange(20.0))
    seen = []
    loader = tud.DataLoader(data, batch_size=5, shuffle=True, generator=torch.Generator().manual_seed(3))
    for (x,) in cli.progress(loader, True):
        seen.append(x)
    expected = list(tud.DataLoader(data, batch_size=5, shuffle=True, generator=torch.Generator().manual_seed(3)))
    assert all(torch.equal(a, b) for a, (b,) in zip(seen, expected))


def test_a_cosine_run_resumed_with_more_epochs_follows_the_longer_cosine(tmp_path):
    """The closed form eta_0 (1 + cos(pi e / E)) / 2 with the new E from the epoch reached on,
    not the checkpoint's E (whose cosine would climb again after it)."""
    net = snnbp.build("mlp", "digits", timesteps=2, preset="modern", batch_size=32)
    tr, te = data.loaders("digits", 32, subset=(64, 32), seed=0)
    train.fit(net, tr, te, epochs=2, out=tmp_path, quiet=True, seed=0, device="cpu")
    net = snnbp.build("mlp", "digits", timesteps=2, preset="modern", batch_size=32)
    history = train.fit(net, tr, te, epochs=4, out=tmp_path, resume=True, quiet=True, device="cpu")
    lr0 = net.config.lr
    want = [lr0 * (1 + math.cos(math.pi * e / 4)) / 2 for e in (2, 3)]     # epochs 3 and 4
    assert [r["lr"] for r in history[2:]] == pytest.approx(want, rel=1e-9)
    assert [r["lr"] for r in history[:2]] == pytest.approx([lr0, lr0 / 2], rel=1e-9)   # E = 2 then


# -- one job per module, one home per name ------------------------------------------------------------
MOVED = {"runs": ("RunFolderError", "CheckpointError", "save_atomic", "load_checkpoint", "read_config", "read_metrics",
                  "read_rates", "refuse_existing_run", "METRICS", "RATES", "LAST", "PREVIOUS", "BEST",
                  "CHECKPOINT_FORMAT"),
         "recipe": ("make_loss", "make_optimizer", "make_scheduler", "SummedSquaredError"),
         "distributed": ("DeviceUnavailable", "resolve_device", "autocast"),
         "evaluate": ("evaluate_accuracy", "firing_rates", "measure"),
         "cli": ("progress",), "train_cli": ("main",), "presets": ("LOSSES", "OPTIMIZERS", "SCHEDULES")}


def test_train_exports_only_what_it_defines():
    """train.py holds one epoch and fit: every name it exports is defined there, and the names that
    used to be importable from it too (the run-folder format, the recipe, devices, the test pass,
    the progress bar, the command line) have one home each, listed in MOVED."""
    import importlib

    assert sorted(train.__all__) == ["TrainingDiverged", "fit", "seed_everything", "train_epoch"]
    for name in train.__all__:
        assert getattr(train, name).__module__ == "snnbp.train", name
    for module, names in MOVED.items():
        home = importlib.import_module(f"snnbp.{module}")
        for name in names:
            assert name in home.__all__, (module, name)
            value = getattr(home, name)
            assert not callable(value) or value.__module__ == f"snnbp.{module}", (module, name)   # defined there
    assert not hasattr(importlib.import_module("snnbp.distributed"), "progress")
    private = {n for n in vars(train) if n.startswith("_") and callable(vars(train)[n])}
    assert not private & {"_evaluate", "_autocast", "_parser", "_network", "_loaders"}   # written once, elsewhere


def test_train_is_short_enough_to_read_top_to_bottom():
    """One epoch and fit in under 300 lines (the command line is snnbp.train_cli)."""
    import inspect

    assert len(inspect.getsource(train).splitlines()) < 300


def test_evaluate_and_results_read_runs_without_importing_train(tmp_path):
    """A fresh process that reads a run folder through evaluate and results never loads snnbp.train."""
    net, tr, te = small(timesteps=2)
    train.fit(net, tr, te, epochs=1, out=tmp_path / "run", quiet=True, seed=0, device="cpu")
    code = ("import sys, snnbp.evaluate as e, snnbp.results as r\n"
            "model, cfg = e.load_run(sys.argv[1], checkpoint='last')\n"
            "assert [run['epochs_run'] for run in r.collect(sys.argv[2])] == [1]\n"
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('snnbp'))))\n")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "run"), str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    loaded = done.stdout.split()
    assert "snnbp.runs" in loaded and "snnbp.train" not in loaded, loaded
