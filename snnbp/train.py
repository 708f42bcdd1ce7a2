r"""Training: one epoch, evaluation, :func:`fit`, and the command line, in that order (the loss,
optimiser and schedule a :class:`~snnbp.presets.Preset` names are in :mod:`snnbp.recipe`).

    python -m snnbp.train                                   # mlp on digits, CPU, about a minute
    python -m snnbp.train --model lenet --dataset mnist --data-root DIR --out runs/lenet
    python -m snnbp.train --out runs/lenet --resume         # continue exactly where it stopped
    torchrun --nproc_per_node 2 -m snnbp.train ...          # data-parallel (gloo on CPU, NCCL on GPU)

One step per mini-batch: images ``x`` -> network -> :math:`\hat y = V_{out}(T)/T` -> loss ->
gradients through the neurons' custom backward (summed over all :math:`T` steps) -> optimiser
step, i.e. the parameters change once per mini-batch, after the last time step (book/method.md, 'Optimiser
and learning-rate schedule').

:func:`fit` writes a run folder (``config.json``, ``metrics.csv``, ``rates.json``, ``last.pt`` with
``last.prev.pt``, ``best.pt``); its format, the safe checkpoint reader and the atomic writes are in
:mod:`snnbp.runs` (their names are importable from here too: ``snnbp.train.load_checkpoint``,
``read_metrics`` ...). ``resume`` restores model, optimiser, scheduler, epoch and every random state
(torch, CUDA, numpy, python and the data loader's shuffling generator), so an interrupted run
continues bit for bit on the CPU. The device, ``torchrun``'s process group and the progress bars are
in :mod:`snnbp.distributed`.

On the command line, a mistake in the arguments or a damaged file is one line ``error: ...`` and
exit status 2 (1 when a started run fails; 130 after Ctrl-C); ``--debug`` shows the traceback
(:func:`snnbp.cli.run_command`).

Taught in chapter 05 (``book/05_spike_bptt``: one training step written out, then :func:`fit`);
chapter 07b trains VGG9 and ResNet11 with it, chapter 08 gives the command lines.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import os
import random
import sys
import time
import warnings
from pathlib import Path
from typing import Iterable

import numpy as np
import torch
from torch import nn

from . import cli, distributed, presets, runs, runtime, validate
from .cli import progress
from .depth import wake
from .distributed import DeviceUnavailable, resolve_device
from .neurons import neuron_names
from .presets import Preset

# the loss, optimiser and schedule a preset names, importable from here as before
from .recipe import SummedSquaredError, make_loss, make_optimizer, make_scheduler, stretch_cosine
from .record import INPUT

# the run-folder format, importable from here as before
from .runs import (
    BEST,
    CHECKPOINT_FORMAT,
    LAST,
    METRICS,
    PREVIOUS,
    RATES,
    CheckpointError,
    RunFolderError,
    load_checkpoint,
    read_config,
    read_metrics,
    read_rates,
    refuse_existing_run,
    save_atomic,
)

__all__ = ["fit", "make_loss", "make_optimizer", "make_scheduler", "train_epoch", "evaluate_accuracy",
           "firing_rates", "SummedSquaredError", "TrainingDiverged", "DeviceUnavailable", "RunFolderError",
           "CheckpointError", "resolve_device", "progress", "seed_everything", "save_atomic", "load_checkpoint",
           "read_config", "read_metrics", "read_rates", "refuse_existing_run", "METRICS", "RATES", "LAST",
           "PREVIOUS", "BEST", "CHECKPOINT_FORMAT", "LOSSES", "OPTIMIZERS", "SCHEDULES", "main"]

LOSSES, OPTIMIZERS, SCHEDULES = presets.LOSSES, presets.OPTIMIZERS, presets.SCHEDULES


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is left as it was."""

    exit_code = 1                                           # the command line: one line, status 1


def seed_everything(seed: int) -> None:
    """Seed python's, numpy's and torch's (CPU and CUDA) global generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# -- one epoch -------------------------------------------------------------------------------------
def _autocast(device: torch.device, amp: bool):
    """bf16 autocast on CUDA when ``amp``; a no-op otherwise."""
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def train_epoch(model: nn.Module, loader: Iterable, loss_fn: nn.Module, optimizer: torch.optim.Optimizer, *,
                device: str | torch.device = "auto", amp: bool = False, quiet: bool = True,
                desc: str = "train") -> dict[str, float]:
    """One pass over ``loader``, one optimiser step per mini-batch.

    Returns ``{"train_loss": mean loss per example, "train_acc": fraction correct}`` (summed over
    all processes under ``torchrun``). Raises :class:`TrainingDiverged` on a NaN/inf loss.

    Under ``torchrun``, ``DistributedDataParallel`` averages the P processes' gradients. For a loss
    averaged over the batch that is the gradient of the global batch; for a loss summed over the
    batch (the paper's ``mse_sum``) it would be 1/P of it, so that loss is multiplied by P before
    the backward pass: P processes with batch B take the step of one process with batch P*B.
    """
    device = resolve_device(device)
    model.train()
    total_loss = correct = seen = 0.0
    per_example = getattr(loss_fn, "reduction", "mean") == "sum"
    world = distributed.world_size()
    bar = progress(loader, quiet, desc=desc, leave=False)
    for batch, pair in enumerate(bar):
        x, y = validate.batch("the training loader", pair)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with _autocast(device, amp):
            out = model(x)
        validate.labels("labels", y, out.shape[-1], len(x))          # before the loss and the step
        loss = loss_fn(out.float(), y)
        if distributed.any_true(not torch.isfinite(loss.detach()), device):
            raise TrainingDiverged(f"the loss became {loss.item()} at batch {batch} ({desc}); stopping")
        optimizer.zero_grad(set_to_none=True)
        (loss * world if per_example and world > 1 else loss).backward()     # summed loss: see the docstring
        optimizer.step()
        n = len(y)
        total_loss += loss.item() * (1 if per_example else n)
        correct += (out.argmax(1) == y).sum().item()
        seen += n
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}", refresh=False)
    total_loss, correct, seen = distributed.all_sum([total_loss, correct, seen], device)
    if not seen:
        raise ValueError("the training loader yielded no examples: check its dataset and subset")
    return {"train_loss": total_loss / seen, "train_acc": correct / seen}


# -- evaluation --------------------------------------------------------------------------------------
@torch.no_grad()
def _evaluate(model: nn.Module, loader: Iterable, device: torch.device, amp: bool, quiet: bool,
              seed: int | None) -> tuple[float, float, dict[str, float]]:
    """``(accuracy, mean hidden firing rate, rate per hidden layer)`` over ``loader``; the RNG is
    forked and seeded so the Poisson input of the test images is the same every epoch and
    training's RNG is left untouched."""
    from .record import capture as record

    net = distributed.unwrap(model)
    was_training = net.training
    net.eval()
    cuda = list(range(torch.cuda.device_count())) if device.type == "cuda" else []
    correct = seen = spikes = steps = 0.0
    with torch.random.fork_rng(devices=cuda, enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed + distributed.rank())
        with record(net) as rec:
            for pair in progress(loader, quiet, desc="test", leave=False):
                x, y = validate.batch("the test loader", pair)
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                with _autocast(device, amp):
                    out = net(x)
                validate.labels("labels", y, out.shape[-1], len(x))
                correct += (out.argmax(1) == y).sum().item()
                seen += len(y)
        hidden = [k for k in rec.counts if k != INPUT]
        counts = distributed.all_sum([rec.counts[k] for k in hidden] + [rec.neuron_steps[k] for k in hidden], device)
    net.train(was_training)
    correct, seen = distributed.all_sum([correct, seen], device)
    if not seen:
        raise ValueError("the test loader yielded no examples: check its dataset and subset")
    spikes, steps = sum(counts[:len(hidden)]), sum(counts[len(hidden):])
    layers = {k: c / max(n, 1) for k, c, n in zip(hidden, counts[:len(hidden)], counts[len(hidden):])}
    return correct / max(seen, 1), (spikes / steps if steps else float("nan")), layers


def evaluate_accuracy(model: nn.Module, loader: Iterable, *, device: str | torch.device = "auto",
                      amp: bool = False, quiet: bool = True, seed: int | None = 0) -> float:
    """Fraction of ``loader``'s images classified correctly (``argmax`` of the output), in
    ``eval()`` mode; ``seed`` fixes the Poisson input (``None``: use the global RNG). An empty
    loader, or labels that are not class indices of the model's outputs, are errors."""
    validate.loader("loader", loader)
    return _evaluate(model, loader, resolve_device(device), amp, quiet, seed)[0]


def firing_rates(model: nn.Module, loader: Iterable, *, device: str | torch.device = "auto", amp: bool = False,
                 seed: int | None = 0) -> dict[str, float]:
    """Each hidden layer's firing rate (spikes per neuron per step) over ``loader`` in ``eval()``
    mode, as :func:`fit` measures it after every epoch for ``rates.json`` (there with
    ``seed + 12345``); ``seed`` fixes the Poisson input."""
    validate.loader("loader", loader)
    return _evaluate(model, loader, resolve_device(device), amp, True, seed)[2]


# -- fit ---------------------------------------------------------------------------------------------
def fit(model: nn.Module, train_loader: Iterable, test_loader: Iterable, config: Preset | None = None, *,
        epochs: int | None = None, device: str | torch.device = "auto", out: str | os.PathLike | None = None,
        resume: bool = False, amp: bool = False, quiet: bool = False, seed: int | None = None,
        reuse_memory: bool = False, run_info: dict | None = None) -> list[dict]:
    """Train ``model`` and return its history, one dict per epoch with the keys of :data:`METRICS`:
    ``epoch`` (1-based), ``lr``, ``train_loss`` (mean per example), ``train_acc``, ``test_acc``,
    ``seconds`` (wall time of the epoch), ``firing_rate`` (mean spikes per hidden neuron per step
    on the test set; NaN for an ANN).

    Args:
        config: the :class:`~snnbp.presets.Preset` (default ``model.config``): loss, optimiser,
            learning rate, schedule, and ``epochs`` unless given here.
        device: ``"auto"`` (CUDA if present), ``"cpu"`` or ``"cuda"``; the model is moved there.
        out: a run folder to write (``config.json``, ``metrics.csv``, ``last.pt`` with the
            previous epoch's ``last.prev.pt``, ``best.pt``); ``None`` writes nothing.
        resume: continue from ``out/last.pt`` (refused if it holds another model or dataset); if
            ``last.pt`` is missing or damaged, from ``last.prev.pt``, with a warning.
        amp: bf16 autocast on CUDA (ignored on the CPU).
        seed: seed every global RNG before training (not when resuming: the checkpoint's states win).
        reuse_memory: on the CPU, switch on :func:`snnbp.runtime.reuse_freed_memory` for the rest
            of the process (faster steps; the process keeps its peak memory). Off by default, so a
            notebook kernel keeps its memory only when asked; ``python -m snnbp.train`` turns it on.
            ``config.json`` records the setting.
        run_info: extra entries for ``config.json`` (the command line passes its arguments).

    Under ``torchrun`` (an initialised process group) the model is wrapped in
    ``DistributedDataParallel``, metrics are summed over processes and only rank 0 writes.
    """
    net, config, epochs = _fit_arguments(model, config, epochs, train_loader, test_loader, seed)
    resume, amp, quiet = (validate.flag(k, v) for k, v in (("resume", resume), ("amp", amp), ("quiet", quiet)))
    out = Path(out) if out is not None else None
    if out is not None and not resume:
        refuse_existing_run(out)
    device = resolve_device(device)
    kept_memory = runtime.reuse_freed_memory() if reuse_memory and device.type == "cpu" else None
    if seed is not None and not resume:
        seed_everything(seed + distributed.rank())
    net.to(device)
    if config.init_rate > 0 and not resume and getattr(net, "wake_gains", None) is None:
        _wake(net, config, train_loader)
    loss_fn, optimizer = make_loss(config), make_optimizer(net, config)
    scheduler = make_scheduler(optimizer, config, epochs)
    history, best = [], -1.0
    if resume:
        history, best = _resume(out, net, config, optimizer, scheduler, train_loader, device, epochs)
    start = history[-1]["epoch"] + 1 if history else 1
    writer = out is not None and distributed.rank() == 0
    if writer:
        runs.write_config(out, resume, start, epochs, lambda: {
            **runs.describe(net, config, epochs, device, amp, seed, train_loader, run_info),
            "reuse_freed_memory": kept_memory})
    model = distributed.wrap(model, device)
    eval_seed = 12345 if seed is None else seed + 12345
    for epoch in progress(range(start, epochs + 1), quiet, desc="epochs", initial=start - 1, total=epochs):
        row = _epoch(model, train_loader, test_loader, loss_fn, optimizer, epoch, device, amp, quiet, eval_seed,
                     out if history else None)
        scheduler.step()
        history.append(row)
        if not quiet and distributed.rank() == 0:
            print(f"epoch {epoch}/{epochs}: loss {row['train_loss']:.4f}  train {row['train_acc']:.4f}  "
                  f"test {row['test_acc']:.4f}  rate {row['firing_rate']:.4f}  {row['seconds']:.1f}s",
                  file=sys.stderr, flush=True)
        if writer:
            state = runs.checkpoint_state(net, config, optimizer, scheduler, train_loader, history, best)
            runs.save_checkpoint(out, state, is_best=row["test_acc"] > best)
        best = max(best, row["test_acc"])
    return history


def _fit_arguments(model, config, epochs, train_loader, test_loader, seed) -> tuple[nn.Module, Preset, int]:
    """``fit``'s arguments checked: ``(network, preset, epochs)``; a warning when the loader's batch
    size is not the preset's."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module such as snnbp.build(...), got {type(model).__name__}")
    net = distributed.unwrap(model)
    config = config if config is not None else getattr(net, "config", None)
    if not isinstance(config, Preset):
        raise TypeError("config must be a snnbp.presets.Preset (or the model must have .config)")
    epochs = validate.count("epochs", epochs if epochs is not None else config.epochs)
    validate.loader("train_loader", train_loader)
    validate.loader("test_loader", test_loader)
    if seed is not None:
        validate.count("seed", seed, minimum=0)
    loader_batch = getattr(train_loader, "batch_size", None)
    if isinstance(loader_batch, int) and loader_batch != config.batch_size and distributed.rank() == 0:
        warnings.warn(f"config.batch_size is {config.batch_size} but train_loader yields batches of {loader_batch}: "
                      f"the loader's batch size is what trains (config.json records both); build the loader "
                      f"with config.batch_size to train with it", UserWarning, stacklevel=3)
    return net, config, epochs


def _wake(net: nn.Module, config: Preset, train_loader) -> None:
    """``config.init_rate > 0`` (not the paper's method): :func:`snnbp.depth.wake` on the first
    training batch, drawn without moving the loader's shuffling state; the gains go to config.json."""
    generator = getattr(train_loader, "generator", None)
    state = generator.get_state() if generator is not None else None
    images = next(iter(train_loader))[0]
    if state is not None:
        generator.set_state(state)
    net.wake_gains = wake(net, images, config.init_rate)


def _epoch(model, train_loader, test_loader, loss_fn, optimizer, epoch: int, device: torch.device, amp: bool,
           quiet: bool, eval_seed: int, saved: Path | None) -> dict:
    """Train one epoch and test: a row of :data:`METRICS`. ``saved``: the run folder holding the
    previous epoch's checkpoint, named if the loss diverges."""
    sampler = getattr(train_loader, "sampler", None)
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)
    lr = optimizer.param_groups[0]["lr"]
    tic = time.perf_counter()
    try:
        row = train_epoch(model, train_loader, loss_fn, optimizer, device=device, amp=amp, quiet=quiet,
                          desc=f"epoch {epoch}")
    except TrainingDiverged as err:
        kept = (f"the last good checkpoint {saved / LAST} (epoch {epoch - 1}) is kept" if saved is not None
                else "no checkpoint was written")
        raise TrainingDiverged(f"{err} in epoch {epoch} with lr {lr}: {kept}. Try a smaller learning rate "
                               f"(--lr) or check the inputs.") from None
    test_acc, rate, layers = _evaluate(model, test_loader, device, amp, quiet, eval_seed)
    return {"epoch": epoch, "lr": lr, **row, "test_acc": test_acc, "seconds": time.perf_counter() - tic,
            "firing_rate": rate, "layer_rates": layers}


def _resume(out: Path | None, net: nn.Module, config: Preset, optimizer, scheduler, train_loader,
            device: torch.device, epochs: int) -> tuple[list[dict], float]:
    """Load the run's last checkpoint into the model, optimiser, scheduler and every RNG; return
    ``(history, best test accuracy)``."""
    if out is None:
        raise ValueError("resume=True needs out=<run folder> that holds last.pt")
    ckpt, path = runs.load_last(out, device)
    runs.check_same_run(ckpt, net, path, config)
    if ckpt["epoch"] > epochs:
        raise ValueError(f"epochs={epochs}, but {path} has already trained {ckpt['epoch']} epochs: give more "
                         f"epochs (--epochs) to continue the run")
    net.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    stretch_cosine(scheduler, optimizer, epochs)
    runs.restore_rng_state(ckpt["rng"], train_loader)
    return ckpt["history"], ckpt["best_acc"]


# -- command line -----------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    from .data import NAMES as DATASETS
    from .models import NAMES as MODELS
    from .presets import NAMES as PRESETS

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
                   "this firing rate on the first training batch before training (snnbp.depth.wake)")
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
