"""Data-parallel training under torchrun: 2 gloo processes on the CPU, then a single-process resume."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest
import torch

from snnbp import train

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                                 reason="torch.distributed with gloo is not available")]

ARGS = ["--timesteps", "5", "--subset", "256", "--test-subset", "90", "--batch-size", "16", "--quiet"]


def run(cmd, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_two_gloo_processes_then_single_process_resume(tmp_path):
    out = tmp_path / "run"
    stdout = run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                  "-m", "snnbp.train", "--epochs", "2", "--out", str(out), *ARGS], tmp_path)
    assert stdout.count("test accuracy") == 1                       # only rank 0 reports
    config = json.loads((out / "config.json").read_text())
    assert config["world_size"] == 2 and config["test_examples"] == 90
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(train.METRICS) and [r["epoch"] for r in rows] == ["1", "2"]
    assert all(0 <= float(r["test_acc"]) <= 1 for r in rows)
    ckpt = train.load_checkpoint(out / "last.pt")
    assert ckpt["epoch"] == 2 and not any(k.startswith("module.") for k in ckpt["model"])
    assert sorted(p.name for p in out.iterdir()) == ["best.pt", "config.json", "last.prev.pt", "last.pt", "metrics.csv",
                                                     "rates.json"]

    run([sys.executable, "-m", "snnbp.train", "--out", str(out), "--resume", "--epochs", "3", "--quiet"], tmp_path)
    rows = train.read_metrics(out / "metrics.csv")
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert train.load_checkpoint(out / "last.pt")["epoch"] == 3
