"""Time one full training step (forward, backward, SGD step) of snnbp, its snnTorch twin and the ANN floor.

For each model and number of time steps T, three implementations run the same network on a
batch of random images with the preset's loss and optimiser:

* ``snnbp``: ``snnbp.build(model, dataset, timesteps=T)`` called as users call it, ``net(images)``;
* ``snntorch``: :func:`snnbp.snntorch_twin.to_snntorch` of that network (``snntorch.Leaky`` in a
  per-time-step loop, same weights), fed ``net.encode(images)``;
* ``ann``: the ANN twin (``spiking=False``, same weight shapes) at batch B; its step time times T
  is the dense-compute floor: what the convolutions alone cost over T steps.

Before timing, a separate process checks that snnbp and the twin give the same spikes in every
neuron layer and the same outputs for the same weights and input spikes. Every configuration
runs in a fresh process, so its peak resident memory (``ru_maxrss``) is its own; on CUDA the
peak is ``torch.cuda.max_memory_allocated``. Times are wall-clock medians after warm-up steps.

    python benchmarks/train_step.py                       # the default grid (about 15 min on 2 cores)
    python benchmarks/train_step.py --models vgg9 --timesteps 25 --repeats 5
    python benchmarks/train_step.py --quick               # lenet at T=8, one repeat: a smoke test (writes no files)

Results: ``benchmarks/results/train_step_<device>[_<tag>].json`` and ``.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATASET = {"lenet": "mnist", "mlp": "digits"}            # everything else: cifar10
DEFAULT_GRID = {"lenet": (8, 25, 100), "vgg9": (8, 25), "resnet11": (8, 25)}
IMPLS = ("snnbp", "snntorch", "ann")


# -- one configuration, in its own process ---------------------------------------------------------
def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _setup(model: str, timesteps: int, batch: int, device: str, spiking: bool = True, seed: int = 0):
    import torch

    import snnbp

    torch.manual_seed(seed)
    dataset = DATASET.get(model, "cifar10")
    net = snnbp.build(model, dataset, timesteps=timesteps, spiking=spiking).to(device).train()
    images = (torch.rand(batch, *net.in_shape, device=device) * 2 - 1)
    if dataset == "mnist":
        images = images.abs()
    labels = torch.randint(0, net.classes, (batch,), device=device)
    return net, images, labels


def run_check(args) -> dict:
    """Same spikes and outputs from snnbp and its snnTorch twin (train mode, same dropout masks)."""
    import torch

    from snnbp import snntorch_twin

    torch.set_num_threads(args.threads)
    net, images, _ = _setup(args.model, args.timesteps, args.batch, args.device)
    spikes = net.encode(images)
    result = snntorch_twin.compare(net, spikes, snntorch_twin.to_snntorch(net), seed=1)
    return {"layers": result.layers, "spikes": result.spikes, "mismatched": result.mismatched,
            "max_output_diff": result.max_output_diff, "equal": result.equal}


def run_timing(args) -> dict:
    """Median wall time of full training steps of one implementation, and its peak memory."""
    import torch

    import snnbp.memory
    import snnbp.train
    from snnbp import snntorch_twin

    torch.set_num_threads(args.threads)
    if args.allocator == "reuse":
        snnbp.memory.reuse_freed_memory()            # as python -m snnbp.train does on the CPU, for every impl
    cuda = args.device.startswith("cuda")
    net, images, labels = _setup(args.model, args.timesteps, args.batch, args.device,
                                 spiking=args.impl != "ann")
    loss_fn, optimizer = snnbp.recipe.make_loss(net.config), snnbp.recipe.make_optimizer(net, net.config)
    if args.impl == "snntorch":
        twin = snntorch_twin.to_snntorch(net)
        forward = lambda: twin(net.encode(images))    # noqa: E731 - the same encoder as snnbp's
    else:
        forward = lambda: net(images)                 # noqa: E731

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(forward(), labels)
        loss.backward()
        optimizer.step()
        return loss

    rss_before = _rss_mb()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for i in range(args.warmup + args.repeats):
        start = time.perf_counter()
        step()
        if cuda:
            torch.cuda.synchronize()
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
    out = {"times_s": times, "median_s": statistics.median(times),
           "peak_rss_mb": _peak_rss_mb(), "rss_before_mb": rss_before}
    out["step_peak_mb"] = out["peak_rss_mb"] - rss_before
    if cuda:
        out["cuda_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def merge_rounds(runs: list[dict]) -> dict:
    """One implementation's result over several rounds: the median of all timed steps, the largest peak."""
    errors = [run for run in runs if "error" in run]
    if errors:
        return errors[0]
    times = [t for run in runs for t in run["times_s"]]
    merged = {"times_s": times, "median_s": statistics.median(times),
              "step_peak_mb": max(run["step_peak_mb"] for run in runs),
              "load": [min(run["load"][0] for run in runs), max(run["load"][1] for run in runs)],
              "rounds": runs}
    if any("cuda_peak_mb" in run for run in runs):
        merged["cuda_peak_mb"] = max(run.get("cuda_peak_mb", 0.0) for run in runs)
    return merged


# -- the grid, in the parent process ---------------------------------------------------------------
def _child(args, kind: str, model: str, timesteps: int, impl: str, env_extra: dict) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--model", model, "--impl", impl,
           "--child-timesteps", str(timesteps), "--batch", str(args.batch), "--threads", str(args.threads),
           "--warmup", str(args.warmup), "--repeats", str(args.repeats), "--device", args.device,
           "--allocator", args.allocator]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), **env_extra)
    load_before = os.getloadavg()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    load_after = os.getloadavg()
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}",
                "load": [load_before[0], load_after[0]]}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["load"] = [load_before[0], load_after[0]]
    return result


def _machine(args, env_extra: dict) -> dict:
    import torch

    import snnbp

    try:
        import snntorch
        snntorch_version = snntorch.__version__
    except ImportError:
        snntorch_version = None
    cpu = platform.processor()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=HERE).stdout.strip()
    info = {"cpu": cpu, "cpu_count": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "torch": torch.__version__, "snntorch": snntorch_version,
            "snnbp": snnbp.__version__, "git_commit": commit, "threads": args.threads, "device": args.device,
            "batch": args.batch, "warmup": args.warmup, "repeats": args.repeats, "rounds": args.rounds,
            "allocator": args.allocator,
            "env": env_extra,
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    if args.device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name()
    return info


def _ratio(a, b):
    return None if a is None or b is None else a / b


def summarise(rows: list[dict]) -> list[dict]:
    table = []
    for row in rows:
        r = row["results"]
        get = lambda impl, key: r.get(impl, {}).get(key)   # noqa: E731
        floor = None if get("ann", "median_s") is None else get("ann", "median_s") * row["timesteps"]
        check = r.get("check", {})
        loads = [v for res in r.values() for v in res.get("load", [])]
        table.append({
            "model": row["model"], "T": row["timesteps"],
            "snnbp_s": get("snnbp", "median_s"), "snntorch_s": get("snntorch", "median_s"), "floor_s": floor,
            "snnbp_vs_floor": _ratio(get("snnbp", "median_s"), floor),
            "snnbp_vs_snntorch": _ratio(get("snnbp", "median_s"), get("snntorch", "median_s")),
            "snntorch_vs_floor": _ratio(get("snntorch", "median_s"), floor),
            "snnbp_mb": get("snnbp", "step_peak_mb"), "snntorch_mb": get("snntorch", "step_peak_mb"),
            "ann_mb": get("ann", "step_peak_mb"),
            "same_spikes": check.get("equal"), "mismatched": check.get("mismatched"),
            "load": [min(loads), max(loads)] if loads else None,
            "errors": {k: v["error"] for k, v in r.items() if "error" in v},
        })
    return table


def markdown(machine: dict, table: list[dict]) -> str:
    def f(x, spec=".2f"):
        return "–" if x is None else format(x, spec)

    lines = [f"Training step (forward + backward + SGD step), batch {machine['batch']}, "
             f"{machine['threads']} threads, {machine['device']}; median of {machine['repeats']} steps after "
             f"{machine['warmup']} warm-up"
             + (f", in each of {machine['rounds']} interleaved rounds (fresh processes)" if machine.get("rounds", 1) > 1
                else "")
             + {"reuse": "; every process with snnbp.memory.reuse_freed_memory()",
                "default": "; glibc's default allocator settings"}.get(machine.get("allocator"), "")
             + f". Machine: {machine['cpu']} ({machine['cpu_count']} CPUs), "
             f"torch {machine['torch']}, snnTorch {machine['snntorch']}, snnbp {machine['snnbp']} "
             f"(commit {machine['git_commit']}), {machine['date']}."
             + (f" Environment: {machine['env']}." if machine["env"] else ""), "",
             "| model | T | snnbp s | snnTorch s | ANN x T s | snnbp / floor | snnbp / snnTorch "
             "| snnTorch / floor | snnbp MB | snnTorch MB | ANN MB | same spikes | load (1 min) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|---|"]
    for row in table:
        same = "–" if row["same_spikes"] is None else ("yes" if row["same_spikes"] else f"NO ({row['mismatched']})")
        load = "–" if row["load"] is None else f"{row['load'][0]:.1f}–{row['load'][1]:.1f}"
        lines.append(f"| {row['model']} | {row['T']} | {f(row['snnbp_s'])} | {f(row['snntorch_s'])} "
                     f"| {f(row['floor_s'])} | {f(row['snnbp_vs_floor'])} | {f(row['snnbp_vs_snntorch'])} "
                     f"| {f(row['snntorch_vs_floor'])} | {f(row['snnbp_mb'], '.0f')} | {f(row['snntorch_mb'], '.0f')} "
                     f"| {f(row['ann_mb'], '.0f')} | {same} | {load} |")
    errors = [f"- {row['model']} T={row['T']} {k}: {v}" for row in table for k, v in row["errors"].items()]
    lines += ["", "MB: peak resident memory of the training steps above the process's memory before "
              "the first step (fresh process per cell). Floor: the ANN twin's step at batch B times T."]
    if errors:
        lines += ["", "Errors:"] + errors
    return "\n".join(lines) + "\n"


def _grid_cell(text: str) -> list[tuple[str, int]]:
    """``--grid`` cell ``MODEL:T[,T...]`` -> ``[(model, T), ...]`` (argparse ``type=``)."""
    from snnbp import cli
    from snnbp.tables import NAMES

    model, _, steps = text.partition(":")
    try:
        cells = [(cli.choice_arg(NAMES)(model), cli.count_arg(1)(t)) for t in steps.split(",")]
    except argparse.ArgumentTypeError as err:
        raise argparse.ArgumentTypeError(f"expected MODEL:T[,T...] (e.g. vgg9:8,25) with MODEL one of "
                                         f"{', '.join(NAMES)} and T >= 1; {text!r}: {err}") from None
    return cells


def _env_item(text: str) -> tuple[str, str]:
    """``--env`` item ``KEY=VALUE`` (argparse ``type=``)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. MALLOC_MMAP_MAX_=0), got {text!r}")
    return key, value


def _device(text: str) -> str:
    """``--device``: ``cpu``, ``cuda`` or ``cuda:N``, refused where no GPU is visible (argparse ``type=``)."""
    from snnbp.distributed import DeviceUnavailable, resolve_device

    try:
        return str(resolve_device(text))
    except (ValueError, DeviceUnavailable) as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _parser() -> argparse.ArgumentParser:
    from snnbp import cli
    from snnbp.tables import NAMES

    count = cli.count_arg
    parser = cli.ArgumentParser(prog="python benchmarks/train_step.py", description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", type=cli.choice_arg(NAMES), default=None,
                        help="default: lenet vgg9 resnet11")
    parser.add_argument("--timesteps", nargs="+", type=count(1), default=None,
                        help="default: lenet 8 25 100; vgg9 and resnet11 8 25")
    parser.add_argument("--grid", nargs="+", type=_grid_cell, default=None, metavar="MODEL:T,T",
                        help="explicit cells, e.g. vgg9:25 lenet:8,25 (overrides --models/--timesteps)")
    parser.add_argument("--impls", nargs="+", default=list(IMPLS), choices=IMPLS)
    parser.add_argument("--batch", type=count(1), default=16)
    parser.add_argument("--threads", type=count(1), default=2)
    parser.add_argument("--warmup", type=count(0), default=1)
    parser.add_argument("--repeats", type=count(1), default=3)
    parser.add_argument("--allocator", choices=("reuse", "default"), default="reuse",
                        help="reuse: every timed process calls snnbp.memory.reuse_freed_memory() first, as "
                             "python -m snnbp.train does on the CPU; default: glibc as it comes")
    parser.add_argument("--rounds", type=count(1), default=1,
                        help="run the implementations this many times in turn, each in a fresh process, "
                             "and pool their steps (evens out a machine whose speed drifts)")
    parser.add_argument("--device", default="cpu", type=_device, help="cpu, cuda or cuda:N (default cpu)")
    parser.add_argument("--no-check", action="store_true", help="skip the equal-spikes check")
    parser.add_argument("--env", nargs="*", type=_env_item, default=[], metavar="KEY=VALUE",
                        help="extra environment for the timed processes, e.g. MALLOC_MMAP_MAX_=0")
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder of the result files (default benchmarks/results; --quick writes none unless given)")
    parser.add_argument("--quick", action="store_true",
                        help="lenet, T=8, 1 repeat: a smoke test (prints its table; the committed results stay)")
    parser.add_argument("--debug", action="store_true", help="show the traceback of every error")
    # internal: one configuration in a child process
    parser.add_argument("--child", choices=("check", "time"), help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    parser.add_argument("--child-timesteps", type=int, dest="child_timesteps", help=argparse.SUPPRESS)
    return parser


def main(argv=None) -> int:
    """Run the grid; a user's mistake is one line ``error: ...`` on stderr and status 2."""
    from snnbp import cli

    args = _parser().parse_args(argv)
    return cli.run_command(lambda: _run(args), debug=args.debug or bool(args.child))


def _run(args) -> int:
    if args.child:
        args.timesteps = args.child_timesteps
        result = run_check(args) if args.child == "check" else run_timing(args)
        print(json.dumps(result))
        return 0

    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise FileExistsError(f"--out {args.out} is a file, not a folder")
    if args.quick:
        args.models, args.timesteps, args.repeats, args.warmup = ["lenet"], [8], 1, 1
    models = args.models or list(DEFAULT_GRID)
    env_extra = dict(args.env)
    grid = [(m, t) for m in models for t in (args.timesteps or DEFAULT_GRID.get(m, (8, 25)))]
    if args.grid:
        grid = [cell for cells in args.grid for cell in cells]
    rows = []
    for model, timesteps in grid:
        results = {}
        if not args.no_check and "snntorch" in args.impls:
            results["check"] = _child(args, "check", model, timesteps, "snnbp", env_extra)
        runs = {impl: [] for impl in args.impls}
        for round_ in range(args.rounds):                  # interleaved: a slow spell hits every impl
            for impl in args.impls:
                run = _child(args, "time", model, timesteps, impl, env_extra)
                runs[impl].append(run)
                print(f"{model:9s} T={timesteps:<4d} {impl:9s} round {round_ + 1}/{args.rounds} "
                      + (f"{run['median_s']:.3f} s  {run['step_peak_mb']:.0f} MB"
                         if "median_s" in run else run.get("error", "?"))
                      + f"  load {run['load'][0]:.1f}", flush=True)
        results.update({impl: merge_rounds(found) for impl, found in runs.items()})
        rows.append({"model": model, "timesteps": timesteps, "results": results})

    machine = _machine(args, env_extra)
    table = summarise(rows)
    if args.quick and args.out is None:
        print(markdown(machine, table))
        return 0
    args.out = args.out or HERE / "results"
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"train_step_{args.device.split(':')[0]}" + (f"_{args.tag}" if args.tag else "")
    (args.out / f"{stem}.json").write_text(json.dumps({"machine": machine, "table": table, "rows": rows}, indent=1))
    (args.out / f"{stem}.md").write_text(markdown(machine, table))
    print(markdown(machine, table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
