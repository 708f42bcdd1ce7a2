"""The command line of training, ``python -m snnbp.train`` (or ``python -m snnbp.train_cli``): the
arguments, the network and loaders they name, :func:`snnbp.train.fit`, and a one-line report.

    python -m snnbp.train                                   # mlp on digits, CPU, about a minute
    python -m snnbp.train --model lenet --dataset mnist --data-root DIR --out runs/lenet
    python -m snnbp.train --out runs/lenet --resume         # continue exactly where it stopped

A mistake in the arguments or a damaged file is one line ``error: ...`` and exit status 2 (1 when a
started run fails; 130 after Ctrl-C); ``--debug`` shows the traceback (:func:`snnbp.cli.run_command`).
A resumed run is rebuilt from its saved ``config.json`` (preset, subsets), with the arguments
given on top. Chapter 08 gives the command lines of the book's runs.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import sys
import time
from pathlib import Path

import torch
from torch import nn

from . import cli, distributed, presets, runs
from .distributed import resolve_device
from .neurons import neuron_names
from .presets import LOSSES, Preset
from .runs import read_config, read_metrics, refuse_existing_run
from .train import fit, seed_everything

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from .data import NAMES as DATASETS
    from .presets import NAMES as PRESETS
    from .tables import NAMES as MODELS

    count, positive = cli.count_arg, cli.positive_arg
    p = cli.ArgumentParser(
        prog="python -m snnbp.train",
        description="Train a spiking network with spike-based backpropagation (Lee et al. 2020). "
                    "With no arguments: the small mlp on scikit-learn's digits, on the CPU, in about a minute. "
                    "Settings not given come from the preset (the paper's: book/method.md).")
    p.add_argument("--model", choices=MODELS, default=None, help="network (default mlp)")
    p.add_argument("--dataset", choices=DATASETS, default=None, help="data set (default digits)")
    p.add_argument("--preset", choices=PRESETS, default=None, help="hyperparameters (default paper)")
    p.add_argument("--ann", action="store_true", help="train the ANN twin (ReLU, T=1) instead")
    p.add_argument("--timesteps", type=count(1), help="time steps T >= 1 (preset's if not given)")
    p.add_argument("--epochs", type=count(1), help="epochs >= 1 (preset's if not given)")
    p.add_argument("--batch-size", type=count(1), help="mini-batch size per process (preset's if not given)")
    p.add_argument("--lr", type=positive(), help="initial learning rate > 0 (preset's if not given)")
    p.add_argument("--loss", choices=LOSSES, help="loss (preset's if not given; the paper preset: mse_sum)")
    p.add_argument("--neuron", choices=tuple(neuron_names()), help="hidden layers' neuron (preset's if not given: "
                   "lif; the learnable ones are not the paper's method)")
    p.add_argument("--init-rate", type=cli.rate_arg(), help="not the paper's method: wake every layer to "
                   "this firing rate on the first training batch before training (snnbp.wakeup.wake)")
    p.add_argument("--subset", type=count(1), help="train on a fixed random subset of N >= 1 images")
    p.add_argument("--test-subset", type=count(1), help="test on a fixed random subset of M >= 1 images")
    p.add_argument("--data-root", help="data folder (default $SNNBP_DATA, else ~/.cache/snnbp/data)")
    p.add_argument("--no-download", action="store_true", help="never download; fail if the data are absent")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--amp", action="store_true", help="bf16 autocast on CUDA")
    p.add_argument("--workers", type=count(0), default=None,
                   help="data loader processes >= 0 (default 0 on CPU, 4 on CUDA)")
    p.add_argument("--seed", type=count(0), default=0, help="random seed >= 0")
    p.add_argument("--out", help="run folder (default runs/<model>-<dataset>-<preset>-<time>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from last.pt")
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    p.add_argument("--debug", action="store_true", help="show the traceback of every error (to report a bug)")
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m snnbp.train``: 0 when trained; a user's mistake is one line ``error: ...`` on
    stderr with status 2 (bad arguments or input) or 1 (the run failed); Ctrl-C: 130."""
    args = _parser().parse_args(argv)
    run: dict = {}
    try:
        return cli.run_command(lambda: _train(args, run), debug=args.debug,
                                   interrupted=lambda: _interrupted(run.get("out")))
    finally:
        distributed.shutdown()


def _interrupted(out: Path | None) -> str:
    """What Ctrl-C left: the epoch in the run folder and how to continue."""
    try:
        done = read_metrics(out / runs.METRICS_FILE)[-1]["epoch"]
    except (TypeError, OSError, ValueError, IndexError, KeyError):
        return "no epoch had finished, so nothing was saved"
    return f"{out} keeps epoch {done}; continue with: python -m snnbp.train --out {out} --resume"


def _run_folder(args) -> tuple[Path | None, dict]:
    """``(--out, the saved config.json of a --resume)``, refusing a file as --out, --resume without
    a run folder, and a folder that already holds a run without --resume."""
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} is a file, not a folder: choose a folder name (it is created)")
    if args.resume:
        if out is None:
            raise ValueError("--resume needs --out DIR, the run folder to continue")
        return out, read_config(out)
    if out is not None:
        refuse_existing_run(out)
    return out, {}


def _train(args, run: dict) -> int:
    """The command line's run: rebuild or build the network, make the loaders, :func:`fit`, report."""
    out, saved = _run_folder(args)
    device = distributed.local_device(resolve_device(args.device))
    distributed.init_from_env(device)
    seed_everything(args.seed)
    net, preset = _network(args, saved)
    if out is None:
        out = Path("runs") / f"{net.name}-{net.dataset}-{preset}-{_dt.datetime.now():%Y%m%d-%H%M%S}"
    run["out"] = out
    config = net.config
    train_loader, test_loader, run_info = _loaders(args, saved, net.dataset, config, device)
    if args.amp and device.type != "cuda" and distributed.rank() == 0:
        print("note: --amp needs CUDA; training in float32 on the CPU", file=sys.stderr)
    if distributed.rank() == 0 and not args.quiet:
        print(f"training {net.name} on {net.dataset} ({'SNN' if net.spiking else 'ANN'}, preset {preset}, "
              f"T={net.timesteps}, {config.epochs} epochs, batch {config.batch_size}, lr {config.lr}) on {device}; "
              f"run folder {out}", file=sys.stderr)
    tic = time.perf_counter()
    history = fit(net, train_loader, test_loader, config, device=device, out=out, resume=args.resume,
                  amp=args.amp, quiet=args.quiet, seed=args.seed, reuse_memory=True, run_info=run_info)
    if distributed.rank() == 0 and history:
        final = history[-1]
        print(f"test accuracy {final['test_acc']:.4f} after {final['epoch']} epochs "
              f"(best {max(r['test_acc'] for r in history):.4f}); {time.perf_counter() - tic:.1f} s; run folder {out}")
    return 0


def _network(args, saved: dict) -> tuple[nn.Module, str]:
    """``(network, preset name)`` from the arguments; a resumed run is rebuilt from its saved preset
    (the named preset may have changed since), with the arguments given on top."""
    from .models import build

    model = args.model or saved.get("model") or "mlp"
    dataset = args.dataset or saved.get("dataset") or "digits"
    preset = args.preset or saved.get("preset", {}).get("name") or "paper"
    spiking = bool(saved.get("spiking", True)) and not args.ann
    same = saved.get("preset") and saved["preset"].get("name") == preset
    overrides = presets.saved_fields(saved["preset"]) if same else {}
    overrides.update({k: getattr(args, k) for k in ("timesteps", "epochs", "batch_size", "lr", "loss", "init_rate", "neuron")
                      if getattr(args, k) is not None})
    return build(model, dataset, spiking=spiking, preset=preset, **overrides), preset


def _loaders(args, saved: dict, dataset: str, config: Preset, device: torch.device):
    """``(train loader, test loader, run_info for config.json)``; a resumed run keeps its subsets."""
    from . import data

    subset = args.subset if args.subset is not None else saved.get("subset")
    test_subset = args.test_subset if args.test_subset is not None else saved.get("test_subset")
    workers = args.workers if args.workers is not None else (4 if device.type == "cuda" else 0)
    train_loader, test_loader = data.loaders(
        dataset, config.batch_size, root=args.data_root, download=not args.no_download,
        subset=(subset, test_subset), augment=config.augment, num_workers=workers, seed=args.seed,
        pin_memory=device.type == "cuda")
    run_info = {"subset": subset, "test_subset": test_subset,
                "test_examples": int(distributed.all_sum([len(test_loader.dataset)], device)[0]),
                "data_root": str(data.data_root(args.data_root)) if dataset != "digits" else None,
                "workers": workers}
    return train_loader, test_loader, run_info


if __name__ == "__main__":
    sys.exit(main())
