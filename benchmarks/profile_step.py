"""Where one training step's time goes: convolutions against everything else (issue 29, item 6).

One step (forward, backward, SGD step) of ``snnbp.build(model, dataset, preset="paper",
timesteps=T)`` at batch B under ``torch.profiler``, grouped by what a reader can change:

* ``convolution``: the convolutions and linear layers, forward and backward (the dense floor);
* ``neuron scan``: the LIF/IF layers' time loop (``snnbp.fused_scan``), forward and backward;
* ``dropout``, ``pooling``: their forward and backward;
* ``other``: the rest of the step (encoding, loss, readout, optimiser, autograd bookkeeping).

Forward times come from ``record_function`` ranges around each leaf module, backward times from
the autograd engine's ``evaluate_function`` events of each node type. Times are inclusive CPU
times of one profiled step after ``--warmup`` steps; the step's wall time is printed beside them.
Nothing else should run on the machine (the 1-minute load before and after goes into the JSON).

    python benchmarks/profile_step.py                    # vgg9, mnist, T = 100, batch 16
    python benchmarks/profile_step.py --dataset cifar10 --out benchmarks/results/profile/profile_vgg9_cifar10_T100.json
    python benchmarks/profile_step.py --model resnet11 --timesteps 32
"""
from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, record_function

import snnbp
import snnbp.tables
from snnbp import memory

HERE = Path(__file__).resolve().parent

#: Backward node types -> group (anything else is "other").
BACKWARD = {"ConvolutionBackward0": "convolution", "MmBackward0": "convolution",
            "lif_scan": "neuron scan", "LIFScan": "neuron scan", "MulBackward0": "dropout",
            "AvgPool2DBackward0": "pooling"}


def _group(module: torch.nn.Module) -> str:
    name = type(module).__name__
    if name in ("Conv2d", "Linear"):
        return "convolution"
    if name in ("LIF", "IF"):
        return "neuron scan"
    if "Dropout" in name:
        return "dropout"
    if "Pool" in name:
        return "pooling"
    return "other"


def profile_step(model: str, dataset: str, timesteps: int, batch: int, warmup: int) -> dict:
    torch.manual_seed(0)
    net = snnbp.build(model, dataset, preset="paper", timesteps=timesteps).train()
    images = torch.rand(batch, *net.in_shape)
    labels = torch.randint(0, net.classes, (batch,))
    optimiser = torch.optim.SGD(net.parameters(), lr=1e-3, weight_decay=5e-4)

    def step():
        optimiser.zero_grad()
        out = net(images)
        loss = ((out - torch.nn.functional.one_hot(labels, net.classes).float()) ** 2).sum() / 2
        loss.backward()
        optimiser.step()

    for _ in range(warmup):
        step()
    ranges = {}
    for name, module in net.named_modules():
        if not list(module.children()):
            def enter(mod, _inp, name=name):
                ranges[name] = record_function(f"fwd:{_group(mod)}:{name}")
                ranges[name].__enter__()

            def leave(_mod, _inp, _out, name=name):
                ranges.pop(name).__exit__(None, None, None)
            module.register_forward_pre_hook(enter)
            module.register_forward_hook(leave)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        step()
        wall = time.perf_counter() - start
    groups = defaultdict(float)
    for event in prof.key_averages():
        key, seconds = event.key, event.cpu_time_total / 1e6
        if key.startswith("fwd:"):
            groups[key.split(":")[1]] += seconds
        elif key.startswith("autograd::engine::evaluate_function: "):
            node = key.split(": ", 1)[1]
            group = next((g for k, g in BACKWARD.items() if k in node), "other")
            if group != "other":
                groups[group] += seconds
    groups["other"] = max(wall - sum(v for k, v in groups.items() if k != "other"), 0.0)
    return {"model": model, "dataset": dataset, "timesteps": timesteps, "batch": batch,
            "wall_s": wall, "groups_s": dict(groups), "torch": torch.__version__,
            "threads": torch.get_num_threads()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="vgg9", choices=snnbp.tables.NAMES)
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--timesteps", type=int, default=100)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write (default: print only)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    memory.reuse_freed_memory()
    load = os.getloadavg()[0]
    result = profile_step(args.model, args.dataset, args.timesteps, args.batch, args.warmup)
    result["load_before_after"] = [load, os.getloadavg()[0]]
    print(f"{args.model} on {args.dataset}, T = {args.timesteps}, batch {args.batch}: "
          f"step {result['wall_s']:.2f} s (profiled)")
    for group, seconds in sorted(result["groups_s"].items(), key=lambda kv: -kv[1]):
        print(f"  {group:12s} {seconds:7.2f} s  {100 * seconds / result['wall_s']:5.1f} %")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
