"""Data-parallel training under torchrun: 2 gloo processes on the CPU, then a single-process resume; the
processes' shards; 2 processes against 1 process with their global batch."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest
import torch

from snnbp import runs, train

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
    assert list(rows[0]) == list(runs.METRICS) and [r["epoch"] for r in rows] == ["1", "2"]
    assert all(0 <= float(r["test_acc"]) <= 1 for r in rows)
    ckpt = runs.load_checkpoint(out / "last.pt")
    assert ckpt["epoch"] == 2 and not any(k.startswith("module.") for k in ckpt["model"])
    assert sorted(p.name for p in out.iterdir()) == ["best.pt", "config.json", "last.prev.pt", "last.pt", "metrics.csv",
                                                     "rates.json"]

    run([sys.executable, "-m", "snnbp.train", "--out", str(out), "--resume", "--epochs", "3", "--quiet"], tmp_path)
    rows = runs.read_metrics(out / "metrics.csv")
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert runs.load_checkpoint(out / "last.pt")["epoch"] == 3


# -- two processes against one -------------------------------------------------------------------
# Each process writes the batches of data-set indices its loader gives in every epoch (the loader
# snnbp.data.loaders makes under the process group, as the command line does), then trains through
# the command line.
SHARDS = """
import json, sys
import torch
from snnbp import data, train_cli

torch.distributed.init_process_group("gloo")
rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
train_loader, test_loader = data.loaders("digits", 16, subset=(256, 91), seed=0)
shards = {"world": world, "test": list(test_loader.dataset.indices), "train": {}}
for epoch in (1, 2):                              # fit calls sampler.set_epoch(epoch) with epochs counted from 1
    train_loader.sampler.set_epoch(epoch)
    shards["train"][epoch] = [list(batch) for batch in train_loader.batch_sampler]
with open(f"shards{rank}.json", "w") as f:
    json.dump(shards, f)
sys.exit(train_cli.main(sys.argv[1:]))
"""
# The modern preset: direct input and no dropout, so nothing in a training step draws random numbers
# (the paper preset's Poisson spikes come from each process's own seed, seed + rank, and cannot be
# replayed in one process), and a loss averaged over the batch (see the test's docstring).
EQUAL_ARGS = ["--preset", "modern", "--timesteps", "5", "--subset", "256", "--test-subset", "91", "--batch-size", "16",
              "--epochs", "2", "--quiet"]


class GlobalBatches:
    """A training loader for one process whose k-th batch of an epoch is the k-th batch of every
    process of the distributed run, joined (rank 0's examples first)."""

    def __init__(self, dataset, batches_per_epoch):
        self.dataset, self.epochs, self.calls = dataset, batches_per_epoch, 0

    def __len__(self):
        return len(self.epochs[0])

    def __iter__(self):
        from torch.utils.data import default_collate

        batches, self.calls = self.epochs[self.calls], self.calls + 1
        for indices in batches:
            yield default_collate([self.dataset[i] for i in indices])


@pytest.mark.parametrize("loss", ["cross_entropy", "mse_sum"])
def test_two_processes_equal_one_process_with_their_global_batch(tmp_path, loss):
    """2 gloo processes x batch 16 train the same network as 1 process x batch 32 made of the same
    examples. DistributedDataParallel averages the processes' gradients, so with a loss that is a
    mean over the batch (cross-entropy here) the averaged gradient is the gradient of the mean over
    all 32 examples; Adam then takes the same step in every process. The two runs are not bitwise
    equal: the gradient is reduced in another order (two means of 16 summed by all-reduce and halved,
    against one mean of 32), which changes the last bits, so weights and losses are compared with a
    tolerance. With the paper's summed loss (mse_sum), the averaged gradient would be half the
    summed gradient of the 32 examples; train_epoch multiplies that loss by the number of processes,
    and this test fails without it (the halved gradient moves the weights by ~1.5e-5 even under Adam).

    The two processes' shards are checked on the way: disjoint, and together the whole training
    subset in every epoch, and the whole test subset exactly once."""
    from snnbp import build, data

    (tmp_path / "shards.py").write_text(SHARDS)
    out = tmp_path / "two"
    run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         str(tmp_path / "shards.py"), "--out", str(out), *EQUAL_ARGS, "--loss", loss], tmp_path)
    shards = [json.loads((tmp_path / f"shards{r}.json").read_text()) for r in (0, 1)]
    assert [s["world"] for s in shards] == [2, 2]

    # the shards: disjoint and covering, train (every epoch) and test
    for epoch in ("1", "2"):
        seen = [[i for batch in s["train"][epoch] for i in batch] for s in shards]
        assert len(seen[0]) == len(seen[1]) == 128 and not set(seen[0]) & set(seen[1])
        assert sorted(seen[0] + seen[1]) == list(range(256))
        assert [len(b) for b in shards[0]["train"][epoch]] == [16] * 8 == [len(b) for b in shards[1]["train"][epoch]]
    assert shards[0]["train"]["1"] != shards[0]["train"]["2"]                  # reshuffled every epoch
    tests = [s["test"] for s in shards]
    assert (len(tests[0]), len(tests[1])) == (46, 45) and sorted(tests[0] + tests[1]) == list(range(91))
    assert json.loads((out / "config.json").read_text())["test_examples"] == 91

    # one process, the same seed, the same network and settings, batches of 32 = both processes' batches
    train_loader, test_loader = data.loaders("digits", 32, subset=(256, 91), seed=0, distributed=False)
    epochs = [[b0 + b1 for b0, b1 in zip(shards[0]["train"][e], shards[1]["train"][e])] for e in ("1", "2")]
    train.seed_everything(0)
    net = build("mlp", "digits", preset="modern", timesteps=5, epochs=2, batch_size=16, loss=loss)
    history = train.fit(net, GlobalBatches(train_loader.dataset, epochs), test_loader, device="cpu", quiet=True,
                        seed=0, out=tmp_path / "one")

    two = runs.load_checkpoint(out / "last.pt")["model"]
    one = net.state_dict()
    assert list(two) == list(one)
    saved = runs.load_checkpoint(tmp_path / "one" / "last.pt")["model"]        # what fit wrote is the final network
    for name in one:
        # observed: at most 6e-8 apart (rounding); a batch of other examples moves weights by ~1e-2, and the
        # halved gradient of a summed loss (mse_sum) by ~1.5e-5 even under Adam, which is nearly scale-free
        assert torch.allclose(two[name], one[name], rtol=0, atol=1e-6), (name, (two[name] - one[name]).abs().max())
        assert torch.equal(saved[name], one[name])
    rows = runs.read_metrics(out / "metrics.csv")
    assert [r["epoch"] for r in rows] == [1, 2]
    for row, ref in zip(rows, history):
        assert row["train_loss"] == pytest.approx(ref["train_loss"], rel=1e-5)
        assert row["train_acc"] == pytest.approx(ref["train_acc"], abs=1e-9)
        assert row["test_acc"] == pytest.approx(ref["test_acc"], abs=1e-9)
    # and the network did change: the comparison is not between two untrained copies
    train.seed_everything(0)
    untrained = build("mlp", "digits", preset="modern", timesteps=5).state_dict()
    assert max((one[k] - untrained[k]).abs().max().item() for k in one) > 1e-3
