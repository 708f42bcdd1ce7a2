"""Paired timing of one training step in two checkouts of snnbp: before and after a change.

Each round runs every cell (model, T) once in the ``--before`` tree and once in the ``--after``
tree, back to back in fresh processes (``train_step.py --child time``: snnbp, batch 16, the
paper preset, median of ``--repeats`` steps after one warm-up), the order alternating from round
to round. This machine's speed drifts by tens of percent over minutes; a ratio taken within a
round sees the same drift on both sides, so the median of the per-round ratios is steadier than
two separate tables. It also counts, for one step of each cell, the Python calls into snnbp and
the ATen operators (``torch.profiler``): numbers that do not drift.

    python benchmarks/before_after.py --before ../snnbp-old --after . --rounds 5

Both trees must hold ``benchmarks/train_step.py``; each child runs with ``PYTHONPATH`` set to its
tree, so the same Python environment imports either version of ``snnbp``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

CELLS = (("vgg9", 25), ("lenet", 25), ("resnet11", 8))

COUNT = r"""
import collections, sys, torch
torch.set_num_threads(2)
import snnbp
from snnbp.recipe import make_loss, make_optimizer
model, T = sys.argv[1], int(sys.argv[2])
torch.manual_seed(0)
net = snnbp.build(model, "mnist" if model == "lenet" else "cifar10", timesteps=T).train()
shape = net.in_shape if hasattr(net, "in_shape") else (net.info.channels, net.info.size, net.info.size)
x, y = torch.rand(16, *shape) * 2 - 1, torch.randint(0, 10, (16,))   # net.info before issue 30
loss_fn, opt = make_loss(net.config), make_optimizer(net, net.config)
def step():
    opt.zero_grad(); loss_fn(net(x), y).backward(); opt.step()
step(); step()
calls = collections.Counter()
def count(frame, event, arg):
    if event == "call" and "/snnbp/" in frame.f_code.co_filename:
        calls["snnbp"] += 1
sys.setprofile(count); step(); sys.setprofile(None)
from torch.profiler import profile, ProfilerActivity
with profile(activities=[ProfilerActivity.CPU]) as p:
    step()
print(calls["snnbp"], sum(e.count for e in p.key_averages() if e.key.startswith("aten::")))
"""


def _child(tree: Path, args: list[str]) -> str:
    env = dict(os.environ, OMP_NUM_THREADS="2", PYTHONPATH=str(tree))
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=tree)
    if proc.returncode:
        raise RuntimeError(f"{tree}: {proc.stderr.strip().splitlines()[-1:]}")
    return proc.stdout.strip().splitlines()[-1]


def _time(tree: Path, model: str, steps: int, repeats: int) -> float:
    out = _child(tree, [str(tree / "benchmarks" / "train_step.py"), "--child", "time", "--model", model,
                        "--impl", "snnbp", "--child-timesteps", str(steps), "--batch", "16", "--threads", "2",
                        "--warmup", "1", "--repeats", str(repeats), "--device", "cpu", "--allocator", "reuse"])
    return json.loads(out)["median_s"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="write the table here (.md) and the times (.json)")
    args = parser.parse_args(argv)
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    times = {f"{m}:{t}": {"before": [], "after": []} for m, t in CELLS}
    for r in range(args.rounds):
        order = ("before", "after") if r % 2 == 0 else ("after", "before")
        for model, steps in CELLS:
            for side in order:
                times[f"{model}:{steps}"][side].append(_time(trees[side], model, steps, args.repeats))
                print(f"round {r + 1}/{args.rounds} {model} T={steps} {side}: "
                      f"{times[f'{model}:{steps}'][side][-1]:.3f} s", file=sys.stderr, flush=True)
    counts = {f"{m}:{t}": {side: _child(trees[side], ["-c", COUNT, m, str(t)]).split() for side in trees}
              for m, t in CELLS}
    lines = [f"One training step (snnbp, batch 16, paper preset, 2 threads, CPU), {args.rounds} paired rounds of "
             f"fresh processes, median of {args.repeats} steps each. before: {trees['before']}, "
             f"after: {trees['after']}.", "",
             "| model | T | before s | after s | after/before per round: median (min-max) | snnbp Python calls "
             "per step | ATen ops per step |", "|---|---:|---:|---:|---|---|---|"]
    for key, v in times.items():
        ratios = [a / b for a, b in zip(v["after"], v["before"])]
        (cb, ob), (ca, oa) = counts[key]["before"], counts[key]["after"]
        lines.append(f"| {key.split(':')[0]} | {key.split(':')[1]} | {statistics.median(v['before']):.3f} | "
                     f"{statistics.median(v['after']):.3f} | {statistics.median(ratios):.3f} "
                     f"({min(ratios):.2f}-{max(ratios):.2f}) | {cb} -> {ca} | {ob} -> {oa} |")
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out is not None:
        args.out.with_suffix(".md").write_text(table)
        args.out.with_suffix(".json").write_text(json.dumps({"times_s": times, "counts": counts}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
