r"""Training: one epoch, then :func:`fit`, in that order (the loss, optimiser and schedule a
:class:`~snnbp.presets.Preset` names are in :mod:`snnbp.recipe`; the test after every epoch is
:func:`snnbp.evaluate.measure`).

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
:mod:`snnbp.runs` (``snnbp.runs.load_checkpoint``, ``read_metrics`` ...). ``resume`` restores model,
optimiser, scheduler, epoch and every random state (torch, CUDA, numpy, python and the data
loader's shuffling generator), so an interrupted run continues bit for bit on the CPU. The device
and ``torchrun``'s process group are in :mod:`snnbp.distributed`, the progress bars in :mod:`snnbp.cli`.

The command line (``python -m snnbp.train``) is :mod:`snnbp.train_cli`: it builds the network and the
loaders from its arguments and calls :func:`fit`.

Taught in chapter 05 (``book/05_spike_bptt``: one training step written out, then :func:`fit`);
chapter 07b trains VGG9 and ResNet11 with it, chapter 08 gives the command lines.
"""
from __future__ import annotations

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

from . import distributed, memory, runs, validate
from .cli import progress
from .distributed import resolve_device
from .evaluate import measure
from .presets import Preset
from .recipe import make_loss, make_optimizer, make_scheduler, stretch_cosine
from .runs import LAST, refuse_existing_run
from .wakeup import wake

__all__ = ["fit", "train_epoch", "seed_everything", "TrainingDiverged"]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is left as it was."""

    exit_code = 1                                           # the command line: one line, status 1


def seed_everything(seed: int) -> None:
    """Seed python's, numpy's and torch's (CPU and CUDA) global generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# -- one epoch -------------------------------------------------------------------------------------
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
        with distributed.autocast(device, amp):
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
        reuse_memory: on the CPU, switch on :func:`snnbp.memory.reuse_freed_memory` for the rest
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
    kept_memory = memory.reuse_freed_memory() if reuse_memory and device.type == "cpu" else None
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
    """``config.init_rate > 0`` (not the paper's method): :func:`snnbp.wakeup.wake` on the first
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
    test_acc, rate, layers = measure(model, test_loader, device, amp=amp, quiet=quiet, seed=eval_seed)
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


if __name__ == "__main__":                  # python -m snnbp.train: the command line of snnbp.train_cli
    from snnbp.train_cli import main

    sys.exit(main())
