"""Evaluation: operation counts checked against counts worked out by hand, accuracy over time, run folders."""
from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import snnbp
from snnbp import data, evaluate, memory, runs, train, train_cli
from snnbp.layers import output_membrane


@pytest.fixture(autouse=True)
def keep_the_allocator(monkeypatch):
    """The command line switches on memory.reuse_freed_memory(); not in the test process."""
    monkeypatch.setattr(memory, "reuse_freed_memory", lambda: True)


def test_conv_fan_out_by_hand_5x5_padding_2():
    conv = nn.Conv2d(1, 20, 5, padding=2, bias=False)
    spikes = torch.zeros(1, 1, 8, 8)
    spikes[0, 0, 0, 0] = 1          # corner: seen by outputs rows 0..2 x cols 0..2 -> 9 positions
    spikes[0, 0, 4, 4] = 1          # centre: a full 5x5 window of outputs -> 25 positions
    assert evaluate.synaptic_ops(conv, spikes) == (9 + 25) * 20
    spikes[0, 0, 0, 4] = -1         # a negative input spike costs the same: edge row -> 3 x 5 positions
    assert evaluate.synaptic_ops(conv, spikes) == (9 + 25 + 15) * 20


def test_conv_fan_out_by_hand_with_stride():
    one_by_one = nn.Conv2d(4, 6, 1, stride=2, bias=False)        # a ResNet shortcut
    spikes = torch.zeros(1, 4, 4, 4)
    spikes[0, 0, 0, 0] = 1          # on the stride grid: one output position x 6 channels
    spikes[0, 1, 1, 1] = 1          # off the grid: never read
    assert evaluate.synaptic_ops(one_by_one, spikes) == 6
    three = nn.Conv2d(1, 2, 3, stride=2, padding=1, bias=False)  # outputs 2x2 at input centres 0, 2
    spikes = torch.zeros(1, 1, 4, 4)
    spikes[0, 0, 1, 1] = 1          # |2o - 1| <= 1 for o in {0, 1} in both axes: 4 positions
    assert evaluate.synaptic_ops(three, spikes) == 4 * 2
    spikes[0, 0, 1, 1], spikes[0, 0, 0, 0] = 0, 1               # only o = 0 covers 0: 1 position
    assert evaluate.synaptic_ops(three, spikes) == 1 * 2


def test_linear_fan_out_and_dense_macs_by_hand():
    fc = nn.Linear(5, 7, bias=False)
    assert evaluate.synaptic_ops(fc, torch.tensor([[1.0, 0, 1, 0, 0], [0, 0, 0, 0, 1]])) == 3 * 7
    assert evaluate.dense_macs(fc, (7,)) == 35
    conv = nn.Conv2d(20, 50, 5, padding=2, bias=False)
    assert evaluate.dense_macs(conv, (50, 4, 4)) == 50 * 4 * 4 * 20 * 25


def test_lenet_ann_macs_by_hand():
    torch.manual_seed(0)
    net = snnbp.build("lenet", "digits", timesteps=4)
    loader = [(torch.rand(3, 1, 8, 8), torch.tensor([0, 1, 2]))]
    result = evaluate.analyse(net, loader, device="cpu")
    macs = {row["name"]: row["ann_macs"] for row in result["layers"]}
    # digits are 8x8: conv 20@5x5 pad 2 -> 20x8x8, pool -> 4x4, conv 50@5x5 -> 50x4x4, pool -> 2x2
    assert macs == {"conv1": 20 * 8 * 8 * 25, "conv2": 50 * 4 * 4 * 20 * 25, "fc3": 200 * 200,
                    "classifier": 200 * 10}
    assert result["totals"]["ann_macs"] == sum(macs.values())


def test_mlp_synaptic_ops_equal_spike_counts_times_fan_out():
    torch.manual_seed(0)
    net = snnbp.build("mlp", "digits", timesteps=6)
    x, y = data.digits("test")
    loader = [(x[:40], y[:40]), (x[40:64], y[40:64])]
    result = evaluate.analyse(net, loader, device="cpu", seed=7)
    with torch.random.fork_rng():                       # the same Poisson input, recorded by hand
        torch.manual_seed(7)
        with snnbp.record(net) as rec:
            with torch.no_grad():
                for images, _ in loader:
                    net(images)
    ops = {row["name"]: row["synaptic_ops"] for row in result["layers"]}
    assert ops["fc1"] == pytest.approx(rec.counts["input"] * 128 / 64)      # |input spikes| x 128 targets
    assert ops["classifier"] == pytest.approx(rec.counts["lif1"] * 10 / 64)  # hidden spikes x 10 classes
    assert result["energy"]["snn_pj"] == pytest.approx(0.9 * (ops["fc1"] + ops["classifier"]))
    assert result["energy"]["ann_pj"] == pytest.approx(4.6 * (64 * 128 + 128 * 10))
    assert result["firing_rates"]["lif1"] == pytest.approx(rec.rates()["lif1"])


def test_direct_input_charges_the_first_layer_as_multiply_accumulates():
    torch.manual_seed(0)
    net = snnbp.build("mlp", "digits", timesteps=4, encoding="direct")
    x, y = data.digits("test")
    result = evaluate.analyse(net, [(x[:16], y[:16])], device="cpu", seed=0)
    first, second = result["layers"]
    assert first["analog_input"] and not second["analog_input"]
    assert first["synaptic_ops"] == pytest.approx(float((x[:16] != 0).sum()) * 128 * 4 / 16)
    expected = 4.6 * first["synaptic_ops"] + 0.9 * second["synaptic_ops"]
    assert result["energy"]["snn_pj"] == pytest.approx(expected)


def test_accuracy_over_time_ends_at_the_networks_own_accuracy():
    torch.manual_seed(0)
    net = snnbp.build("mlp", "digits", timesteps=8)
    tr, te = data.loaders("digits", 32, subset=(400, 100))
    train.fit(net, tr, te, epochs=2, quiet=True, device="cpu")
    result = evaluate.analyse(net, te, device="cpu", seed=3)
    assert len(result["accuracy_vs_timesteps"]) == 8
    with torch.random.fork_rng():
        torch.manual_seed(3)
        direct = evaluate.evaluate_accuracy(net, te, device="cpu", seed=None)
    assert result["accuracy"] == pytest.approx(direct)
    # a prefix of t steps equals a t-step run with the same input spikes
    net.timesteps = 3
    torch.manual_seed(5)
    spikes = net.encode(te.dataset[0][0][None].repeat(4, 1, 1, 1))
    net.timesteps = 8
    # (checked on the output integrator: V_out[3]/3 of the long run equals the 3-step readout)
    current = net.classifier(net.features(torch.cat([spikes, torch.zeros(5, *spikes.shape[1:])])))
    v = output_membrane(current, net.readout.leak)
    short = net.run(spikes)
    torch.testing.assert_close(v[2] / 3, short)


def test_evaluate_run_writes_json_and_plots(tmp_path):
    assert train_cli.main(["--timesteps", "5", "--subset", "200", "--test-subset", "60", "--epochs", "1",
                       "--out", str(tmp_path), "--quiet"]) == 0
    assert evaluate.main([str(tmp_path), "--quiet"]) == 0
    result = json.loads((tmp_path / "evaluation.json").read_text())
    assert result["examples"] == 60 and result["timesteps"] == 5 and result["model"] == "mlp"
    assert result["energy"]["constants"]["mac_pj"] == 4.6
    for name in ("accuracy_vs_timesteps.png", "firing_rates.png", "operations.png"):
        data = (tmp_path / name).read_bytes()       # a PNG (signature), 700 x 320 pixels (IHDR, big-endian)
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
        assert (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) == (700, 320)
    assert evaluate.main([str(tmp_path / "missing")]) == 2


def test_a_run_saved_before_a_preset_changed_is_rebuilt_as_it_was_trained(tmp_path, monkeypatch):
    """The modern preset moved to direct input; a modern run saved before ``encoding`` existed used
    Poisson input and its saved settings, and both evaluation and --resume must rebuild that."""
    assert train_cli.main(["--preset", "modern", "--timesteps", "3", "--subset", "64", "--test-subset", "32",
                       "--epochs", "1", "--out", str(tmp_path), "--quiet"]) == 0
    path = tmp_path / "config.json"
    cfg = json.loads(path.read_text())
    old = dict(cfg["preset"], surrogate="paper", reset="zero", leak_correction=True, detach_leak=True)
    del old["encoding"]
    path.write_text(json.dumps(dict(cfg, preset=old)))
    ckpt = runs.load_checkpoint(tmp_path / "last.pt")          # its checkpoint saved the same settings
    torch.save(dict(ckpt, config=old), tmp_path / "last.pt")
    model, _ = runs.load_run(tmp_path, checkpoint="last")
    assert isinstance(model.encoder, snnbp.PoissonEncoder)
    assert model.config.surrogate == "paper" and model.config.reset == "zero"
    seen, fit = [], train.fit
    monkeypatch.setattr(train_cli, "fit", lambda net, *a, **k: seen.append(net) or fit(net, *a, **k))
    assert train_cli.main(["--out", str(tmp_path), "--resume", "--epochs", "2", "--quiet"]) == 0
    assert isinstance(seen[0].encoder, snnbp.PoissonEncoder) and seen[0].config.surrogate == "paper"
    assert seen[0].config.epochs == 2 and seen[0].timesteps == 3


def test_plot_writes_one_png_per_figure_of_the_evaluation(tmp_path):
    """evaluate.plot picks the files; the figures (and their values) are plots.evaluation's, tested there."""
    result = {"model": "mlp", "accuracy_vs_timesteps": [0.5, 0.75], "firing_rates": {},
              "layers": [{"name": "fc1", "synaptic_ops": 0.0, "ann_macs": 8192}]}       # an ANN twin: no rates
    paths = evaluate.plot(result, tmp_path)
    assert [p.name for p in paths] == ["accuracy_vs_timesteps.png", "operations.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accuracy_vs_timesteps.png", "operations.png"]
