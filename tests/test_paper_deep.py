"""results/scripts/paper_deep.py: a stopped and resumed run equals one straight run, step for step.

The oracle is the same script run without a stop (one process); the settings it trains with are
checked against the literals of the authors' VGG9 script (``src/cifar10_VGG9.py``: ``-b`` 16,
``--lr`` 0.0033).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch
from test_data import fake_mnist

from snnbp.recording import layer_name
from snnbp.runs import read_metrics

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "results" / "scripts" / "paper_deep.py"


def run(out: Path, data: Path, steps: int) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(SCRIPT), "--model", "vgg9", "--timesteps", "2", "--steps", str(steps),
           "--data-root", str(data), "--out", str(out), "--validation", "20", "--checkpoint-every", "2",
           "--val-every", "2", "--threads", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc


def log(out: Path) -> list[dict]:
    rows = [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines()]
    for r in rows:
        r.pop("seconds")
    return rows


def test_a_stopped_run_resumes_bit_for_bit(tmp_path):
    fake_mnist(tmp_path / "data", n_train=68, n_test=10)      # 48 trained: 3 steps a pass, step 4 starts pass 2
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    run(straight, tmp_path / "data", 4)
    run(resumed, tmp_path / "data", 2)
    assert json.loads((resumed / "config.json").read_text())["steps"] == 2       # finished at 2 steps
    proc = run(resumed, tmp_path / "data", 4)
    assert "resumed" in proc.stdout and "at step 2" in proc.stdout
    assert [r["step"] for r in log(resumed)] == [1, 2, 3, 4]
    assert log(resumed) == log(straight)
    a = torch.load(straight / "last.pt", weights_only=True)["model"]
    b = torch.load(resumed / "last.pt", weights_only=True)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (resumed / "validation.csv").read_text() == (straight / "validation.csv").read_text()
    test_acc = [read_metrics(f / "metrics.csv")[0]["test_acc"] for f in (straight, resumed)]
    assert test_acc[0] == test_acc[1]
    evaluation = json.loads((resumed / "evaluation.json").read_text())      # the same test pass
    assert evaluation["accuracy"] == test_acc[1] and len(evaluation["accuracy_vs_timesteps"]) == 2
    config = json.loads((straight / "config.json").read_text())
    assert (config["preset"]["lr"], config["preset"]["batch_size"]) == (0.0033, 16)   # src/cifar10_VGG9.py
    assert config["preset"]["name"] == "paper" and "wake_gains" not in config      # no wake-up
    assert json.loads((resumed / "config.json").read_text())["steps"] == 4
    assert (config["batch_size"], config["train_examples"]) == (16, 48)             # 4 steps of 16, 48 distinct


def test_the_labelled_options_max_norm_and_surrogate(tmp_path):
    """--max-norm K holds each weight's norm at most K times its initial norm (the oracle: the norms
    of the same seeded build, times K; K = 0.5 puts every weight on its bound after the first step,
    and weight decay alone moves it by about 2e-6 after that); --surrogate changes ds/dV only, and
    the run says so."""
    import snnbp
    from snnbp import train

    fake_mnist(tmp_path / "data", n_train=68, n_test=10)
    out = tmp_path / "capped"
    cmd = [sys.executable, str(SCRIPT), "--model", "vgg9", "--timesteps", "2", "--steps", "2",
           "--data-root", str(tmp_path / "data"), "--out", str(out), "--validation", "20",
           "--threads", "1", "--max-norm", "0.5", "--surrogate", "atan"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    train.seed_everything(0)
    initial = {layer_name(n): float(w.norm()) for n, w in
               snnbp.build("vgg9", "mnist", preset="paper", timesteps=2).named_parameters()}
    final = torch.load(out / "last.pt", weights_only=True)["model"]
    for name, w in final.items():
        assert abs(float(w.norm()) - 0.5 * initial[layer_name(name)]) < 1e-4 * initial[layer_name(name)], name
    assert sorted(log(out)[0]["capped"]) == sorted(initial)     # the first step: every weight (K < 1)
    preset = json.loads((out / "config.json").read_text())["preset"]
    assert (preset["surrogate"], preset["leak_correction"], preset["detach_leak"]) == ("atan", True, True)


def test_the_labelled_option_max_step(tmp_path):
    """--max-step R bounds each weight's step: lr * |grad| <= R * |W|. The oracle is SGD's update
    written out, W2 = W1 - lr * (g + wd * W1), between the checkpoints before and after step 2
    (woken, so that gradient flows at T = 4): a clipped weight moves by R * |W1| give or take the
    weight decay's lr * wd * |W1|; an unclipped one had a logged gradient within the bound."""
    fake_mnist(tmp_path / "data", n_train=68, n_test=10)
    out = tmp_path / "clipped"
    bound = 1e-4
    cmd = [sys.executable, str(SCRIPT), "--model", "vgg9", "--timesteps", "4", "--steps", "2",
           "--init-rate", "0.05", "--data-root", str(tmp_path / "data"), "--out", str(out),
           "--validation", "20", "--threads", "1", "--checkpoint-every", "1", "--max-step", str(bound)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    before = torch.load(out / "last.prev.pt", weights_only=True)
    after = torch.load(out / "last.pt", weights_only=True)
    assert (before["step"], after["step"]) == (1, 2)
    row = log(out)[1]
    lr, decay = 0.0033, 5e-4                                  # src/cifar10_VGG9.py
    assert row["step_clipped"], f"a bound of {bound} clips some weight's step"
    for key, w1 in before["model"].items():
        name = layer_name(key)
        moved = float((after["model"][key] - w1).double().norm())
        norm = float(w1.double().norm())
        assert abs(norm - row["weight_norm"][name]) < 1e-5 * norm, name      # the logged W1
        if name in row["step_clipped"]:
            assert abs(moved - bound * norm) <= 1.01 * lr * decay * norm, name
        else:
            assert lr * row["grad_norm"][name] <= bound * norm, name
            assert moved <= lr * row["grad_norm"][name] + 1.01 * lr * decay * norm, name
    described = json.loads((out / "config.json").read_text())        # labelled in the run folder
    assert described["options"] == {"max_step": bound}, described.get("options")
