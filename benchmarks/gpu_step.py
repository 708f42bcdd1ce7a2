"""GPU training-step benchmark: snnbp vs its snnTorch twin vs the ANN floor, fp32 / bf16, eager / compiled.

Run through ``benchmarks/gpu.sh``. Each variant runs in its own process with a time limit, inside
one overall budget (default 540 s, so the whole script ends within 10 minutes); variants that do
not fit are reported as skipped. Prints one table and writes ``benchmarks/results/gpu_<tag>.json``
and ``.md``. Columns: time per step (median), images per second, peak GPU memory, and the
projected CIFAR-10 epoch time at the run's T, batch B: ``ceil(50000 / B)`` steps. For the ANN
the "step" is the dense floor, the ANN twin's step time times T.

``--dry-run`` runs the same code on the CPU with a tiny configuration (to check it works without a GPU).
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from train_step import _setup  # noqa: E402

CIFAR10_TRAIN = 50_000


def variant_list(compile_too: bool) -> list[tuple[str, str, bool]]:
    """(implementation, precision, compiled): eager variants first, they matter most."""
    eager = [(impl, prec, False) for prec in ("fp32", "bf16") for impl in ("snnbp", "snntorch", "ann")]
    compiled = [(impl, prec, True) for prec in ("fp32", "bf16") for impl in ("snnbp", "snntorch", "ann")]
    return eager + (compiled if compile_too else [])


def run_variant(args) -> dict:
    """One variant, in this process: median step time and peak memory."""
    import torch

    import snnbp.train
    from snnbp import snntorch_twin

    device = args.device
    cuda = device.startswith("cuda")
    torch.backends.cudnn.benchmark = True
    net, images, labels = _setup(args.model, args.timesteps, args.batch, device, spiking=args.impl != "ann")
    loss_fn, optimizer = snnbp.recipe.make_loss(net.config), snnbp.recipe.make_optimizer(net, net.config)
    if args.impl == "snntorch":
        twin = snntorch_twin.to_snntorch(net)
        model, prepare = twin, net.encode
    else:
        model, prepare = net, (lambda x: x)
    if args.compiled:
        model = torch.compile(model)
    autocast = torch.autocast(device_type="cuda" if cuda else "cpu", dtype=torch.bfloat16,
                              enabled=args.precision == "bf16")

    def step():
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            out = model(prepare(images))
            loss = loss_fn(out.float(), labels)
        loss.backward()
        optimizer.step()

    sync = torch.cuda.synchronize if cuda else (lambda: None)
    start = time.perf_counter()
    for _ in range(args.warmup):
        step()
    sync()
    warmup_s = time.perf_counter() - start
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else None
    return {"times_s": times, "median_s": statistics.median(times), "warmup_s": warmup_s, "peak_mb": peak}


def run_check(args) -> dict:
    """snnbp and the twin on the same input spikes: spike mismatches and output difference (fp32)."""
    from snnbp import snntorch_twin

    net, images, _ = _setup(args.model, args.timesteps, args.batch, args.device)
    result = snntorch_twin.compare(net, net.encode(images), seed=1)
    return {"mismatched": result.mismatched, "spikes": result.spikes, "max_output_diff": result.max_output_diff}


def _child(args, extra: list[str], timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--model", args.model, "--timesteps", str(args.timesteps),
           "--batch", str(args.batch), "--warmup", str(args.warmup), "--repeats", str(args.repeats),
           "--device", args.device] + extra
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        return {"error": (lines[-1] if lines else f"exit {proc.returncode}")[:200]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(args, rows: list[dict], check: dict, device_name: str) -> str:
    steps = math.ceil(CIFAR10_TRAIN / args.batch)
    floor = {r["precision"] + str(r["compiled"]): r for r in rows if r["impl"] == "ann" and "median_s" in r}
    lines = [f"{args.model}, T={args.timesteps}, batch {args.batch}, {device_name}. Epoch: {steps} steps "
             f"(CIFAR-10, {CIFAR10_TRAIN} images). ANN rows: the ANN twin's step x T (the dense floor).",
             f"Check (fp32): {check.get('mismatched', '?')} of {check.get('spikes', '?')} spikes differ between "
             f"snnbp and snnTorch, max |output diff| {check.get('max_output_diff', float('nan')):.2e}"
             if "error" not in check else f"Check failed: {check['error']}", "",
             "| implementation | precision | torch.compile | s / step | images / s | peak GB | epoch (min) "
             "| vs snnTorch | vs floor |", "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    by_key = {(r["impl"], r["precision"], r["compiled"]): r for r in rows}
    for r in rows:
        name = f"{r['impl']}" + (" (x T)" if r["impl"] == "ann" else "")
        head = f"| {name} | {r['precision']} | {'yes' if r['compiled'] else 'no'} "
        if "median_s" not in r:
            lines.append(head + f"| {r.get('error', 'skipped')} | | | | | |")
            continue
        step = r["median_s"] * (args.timesteps if r["impl"] == "ann" else 1)
        peak = "–" if r["peak_mb"] is None else f"{r['peak_mb'] / 1024:.2f}"
        twin = by_key.get(("snntorch", r["precision"], r["compiled"]), {})
        vs_twin = f"{step / twin['median_s']:.2f}" if r["impl"] == "snnbp" and "median_s" in twin else ""
        fl = floor.get(r["precision"] + str(r["compiled"]))
        vs_floor = (f"{step / (fl['median_s'] * args.timesteps):.2f}" if fl and r["impl"] != "ann" else "")
        lines.append(head + f"| {step:.4f} | {args.batch / step:.1f} | {peak} | {step * steps / 60:.1f} "
                     f"| {vs_twin} | {vs_floor} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    from snnbp import cli
    from snnbp.tables import NAMES

    count, positive = cli.count_arg, cli.positive_arg
    parser = cli.ArgumentParser(prog="benchmarks/gpu.sh", description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="vgg9", choices=NAMES)
    parser.add_argument("--timesteps", type=count(1), default=100)
    parser.add_argument("--batch", type=count(1), default=16)
    parser.add_argument("--warmup", type=count(0), default=3)
    parser.add_argument("--repeats", type=count(1), default=10)
    parser.add_argument("--budget-s", type=positive(), default=540.0, help="total wall time for all variants")
    parser.add_argument("--eager-timeout-s", type=positive(), default=120.0)
    parser.add_argument("--compile-timeout-s", type=positive(), default=150.0)
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dry-run", action="store_true", help="CPU, lenet, T=2, batch 2, 1 repeat")
    parser.add_argument("--tag", default="")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--variant", nargs=3, metavar=("IMPL", "PRECISION", "COMPILED"), help=argparse.SUPPRESS)
    parser.add_argument("--check", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.variant:
        args.impl, args.precision, compiled = args.variant
        args.compiled = compiled == "1"
        print(json.dumps(run_variant(args)))
        return
    if args.check:
        print(json.dumps(run_check(args)))
        return

    import torch

    if args.dry_run:
        args.device, args.model, args.timesteps, args.batch, args.warmup, args.repeats = "cpu", "lenet", 2, 2, 1, 1
        args.budget_s, args.tag = min(args.budget_s, 300.0), args.tag or "dry_run"
    elif not torch.cuda.is_available():
        sys.exit("gpu_step.py: no CUDA device (torch.cuda.is_available() is False); use --dry-run to check on the CPU")
    device_name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU (dry run)"
    deadline = time.monotonic() + args.budget_s
    check = _child(args, ["--check"], timeout=min(120.0, args.budget_s / 4))
    rows = []
    for impl, precision, compiled in variant_list(not args.no_compile):
        limit = args.compile_timeout_s if compiled else args.eager_timeout_s
        left = deadline - time.monotonic()
        row = {"impl": impl, "precision": precision, "compiled": compiled}
        if left < min(limit, 30.0):
            row["error"] = "skipped (time budget)"
        else:
            row.update(_child(args, ["--variant", impl, precision, "1" if compiled else "0"], min(limit, left)))
        rows.append(row)
        status = f"{row['median_s']:.4f} s" if "median_s" in row else row["error"]
        print(f"  {impl:9s} {precision} compile={int(compiled)}: {status}", file=sys.stderr, flush=True)
    text = table(args, rows, check, device_name)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "gpu" + (f"_{args.tag}" if args.tag else "")
    meta = {"model": args.model, "timesteps": args.timesteps, "batch": args.batch, "device": device_name,
            "torch": torch.__version__, "warmup": args.warmup, "repeats": args.repeats,
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    (args.out / f"{stem}.json").write_text(json.dumps({"meta": meta, "check": check, "rows": rows}, indent=1))
    (args.out / f"{stem}.md").write_text(text)


if __name__ == "__main__":
    main()
