r"""Training: the loss, optimiser and schedule of a :class:`~snnbp.presets.Preset`, one epoch,
:func:`fit`, run folders with resumable checkpoints, and the command line.

    python -m snnbp.train                                   # mlp on digits, CPU, about a minute
    python -m snnbp.train --model lenet --dataset mnist --data-root DIR --out runs/lenet
    torchrun --nproc_per_node 2 -m snnbp.train ...          # data-parallel (gloo on CPU, NCCL on GPU)

One step per mini-batch: images ``x`` -> network -> :math:`\hat y = V_{out}(T)/T` -> loss ->
gradients through the neurons' custom backward (summed over all :math:`T` steps) -> optimiser
step, i.e. the parameters change once per mini-batch, after the last time step (book/method.md, 'Optimiser
and learning-rate schedule').

A run folder holds ``config.json`` (every resolved setting, versions, device), ``metrics.csv``
(one row per epoch), ``last.pt`` (with the epoch before kept as ``last.prev.pt``) and ``best.pt``.
Every file is written to a temporary file and renamed, so a crash while saving leaves the
previous one intact, and should ``last.pt`` still be damaged later (a cut copy), ``resume``
continues from ``last.prev.pt`` with a warning. ``resume`` restores model, optimiser, scheduler,
epoch and every random state (torch, CUDA, numpy, python and the data loader's shuffling
generator), so an interrupted run continues bit for bit on the CPU.

Checkpoints are read with ``torch.load(weights_only=True)``: tensors and plain values only, so a
checkpoint from someone else cannot run code (format 2; format 1, which stored numpy's RNG state
as an array, still loads). On the command line, a mistake in the arguments or a damaged file is
one line ``error: ...`` and exit status 2; ``--debug`` shows the traceback.

Taught in chapter 05 (``book/05_spike_bptt``: one training step written out, then :func:`fit`);
chapter 07b trains VGG9 and ResNet11 with it, chapter 08 gives the command lines.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as _dt
import json
import math
import os
import platform
import random
import re
import signal
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import presets, runtime, validate
from .presets import Preset

__all__ = ["fit", "make_loss", "make_optimizer", "make_scheduler", "train_epoch", "evaluate_accuracy",
           "firing_rates", "SummedSquaredError", "TrainingDiverged", "DeviceUnavailable", "RunFolderError", "CheckpointError",
           "resolve_device", "save_atomic", "load_checkpoint", "read_config", "read_metrics", "read_rates", "METRICS", "LOSSES", "OPTIMIZERS", "SCHEDULES", "main"]

METRICS = ("epoch", "lr", "train_loss", "train_acc", "test_acc", "seconds", "firing_rate")
LOSSES, OPTIMIZERS, SCHEDULES = presets.LOSSES, presets.OPTIMIZERS, presets.SCHEDULES
CHECKPOINT_FORMAT = 2   # 2: random states as tensors and plain values; 1: numpy's state as a tuple with an array
LAST, PREVIOUS, BEST = "last.pt", "last.prev.pt", "best.pt"
RATES = "rates.json"


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is left as it was."""

    exit_code = 1                                           # the command line: one line, status 1


class DeviceUnavailable(RuntimeError):
    """The requested device is not there (e.g. ``"cuda"`` without a GPU)."""

    exit_code = 2


# -- the pieces a Preset names ---------------------------------------------------------------------
class SummedSquaredError(nn.Module):
    r"""The paper's loss: :math:`L = \sum_{b} \sum_{k} (\hat y_{bk} - 1[k = y_b])^2`, the squared
    error of the output :math:`\hat y = V_{out}(T)/T` against the one-hot label, summed over the
    classes **and over the mini-batch**.

    The authors' scripts sum over the batch (``MSELoss(size_average=False)``; book/method.md,
    'The loss'). With a sum, the gradient scales with the batch size, which the paper's small
    learning rates assume.

    With ``reduction="mean"`` (the named option ``"mse_mean"``, not the paper's) the sum
    over classes is averaged over the batch instead, so the learning rate does not scale with it.

    Shapes: ``output`` ``[B, classes]``, ``labels`` ``[B]`` (class indices). Example::

        SummedSquaredError()(torch.tensor([[0.9, 0.1]]), torch.tensor([0]))   # 0.1**2 + 0.1**2 = 0.02
    """

    def __init__(self, reduction: str = "sum"):
        super().__init__()
        self.reduction = validate.choice("reduction", reduction, ("sum", "mean"))

    def forward(self, output: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        target = F.one_hot(labels, output.shape[-1]).to(output.dtype)
        per_sample = ((output - target) ** 2).sum(-1)
        return per_sample.sum() if self.reduction == "sum" else per_sample.mean()


def make_loss(config: Preset) -> nn.Module:
    """``"mse_sum"`` -> :class:`SummedSquaredError` (the paper preset); ``"mse_mean"`` -> the same
    averaged over the batch (an option); ``"cross_entropy"`` -> mean cross-entropy of the outputs
    taken as logits (the modern preset)."""
    name = validate.choice("loss", config.loss, LOSSES)
    if name == "cross_entropy":
        return nn.CrossEntropyLoss()
    return SummedSquaredError("sum" if name == "mse_sum" else "mean")


def make_optimizer(model: nn.Module, config: Preset) -> torch.optim.Optimizer:
    """SGD (``lr``, ``momentum``, ``weight_decay``; the paper: no momentum, weight decay 5e-4) or Adam."""
    name = validate.choice("optimizer", config.optimizer, OPTIMIZERS)
    params = [p for p in model.parameters() if p.requires_grad]
    if name == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, config: Preset, epochs: int | None = None):
    r"""Learning rate per epoch. ``"multistep"``: :math:`\eta_e = \eta_0 \gamma^{\#\{m \le e\}}` over
    the preset's ``milestones`` (the paper's; kept as they are when fewer epochs are run);
    ``"cosine"``: :math:`\eta_e = \eta_0 (1 + \cos(\pi e / E)) / 2` over ``epochs`` :math:`E`
    (a run resumed with more epochs stretches it over the new :math:`E` from the epoch reached)."""
    name = validate.choice("schedule", config.schedule, SCHEDULES)
    if name == "multistep":
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, list(config.milestones), gamma=config.gamma)
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(epochs or config.epochs, 1))


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA when present, else the CPU; ``"cpu"``/``"cuda"`` (or a torch.device) as given."""
    if isinstance(device, torch.device):
        return device
    validate.choice("device", device.split(":")[0], ("auto", "cpu", "cuda"))
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceUnavailable(f"device {device!r} (--device) requested, but torch sees no CUDA GPU "
                                "(torch.cuda.is_available() is False); use --device cpu or auto")
    return torch.device(device)


# -- distributed helpers ----------------------------------------------------------------------------
def _dist() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def _rank() -> int:
    return torch.distributed.get_rank() if _dist() else 0


def _world() -> int:
    return torch.distributed.get_world_size() if _dist() else 1


def _all_sum(values: list[float], device: torch.device) -> list[float]:
    """Sum ``values`` over all processes (identity without ``torch.distributed``)."""
    if not _dist():
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    torch.distributed.all_reduce(t)
    return t.tolist()


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def _autocast(device: torch.device, amp: bool):
    """bf16 autocast on CUDA when ``amp``; a no-op otherwise."""
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def progress(iterable, quiet: bool = False, **kw):
    """A progress bar (console or notebook) over ``iterable`` that iterates it exactly once.

    ``tqdm.auto``'s bar calls ``iter()`` on its iterable when it is made and again when it is
    looped over; for a DataLoader that is two iterators: two draws from its shuffling generator
    (the epoch's order is then not the one the seed gives) and, with workers, two sets of worker
    processes. A generator already started over ``iterable`` is iterated once, whoever asks.
    """
    from tqdm.auto import tqdm

    if "total" not in kw:
        kw["total"] = _safe_len(iterable)
    return tqdm(_stop_on_ctrl_c(iterable), disable=quiet or _rank() != 0, **kw)


def _stop_on_ctrl_c(iterable):
    """``iterable``'s items; ``KeyboardInterrupt`` before the next one if a Ctrl-C was pressed and
    its exception lost (see :func:`snnbp.validate.run_command`)."""
    for item in iterable:
        if validate.ctrl_c_pending():
            raise KeyboardInterrupt
        yield item



# -- one epoch, one evaluation ----------------------------------------------------------------------
def train_epoch(model: nn.Module, loader: Iterable, loss_fn: nn.Module, optimizer: torch.optim.Optimizer, *,
                device: str | torch.device = "auto", amp: bool = False, quiet: bool = True,
                desc: str = "train") -> dict[str, float]:
    """One pass over ``loader``, one optimiser step per mini-batch.

    Returns ``{"train_loss": mean loss per example, "train_acc": fraction correct}`` (summed over
    all processes under ``torchrun``). Raises :class:`TrainingDiverged` on a NaN/inf loss.
    """
    device = resolve_device(device)
    model.train()
    total_loss = correct = seen = 0.0
    per_example = getattr(loss_fn, "reduction", "mean") == "sum"
    bar = progress(loader, quiet, desc=desc, leave=False)
    for batch, pair in enumerate(bar):
        x, y = validate.batch("the training loader", pair)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with _autocast(device, amp):
            out = model(x)
        validate.labels("labels", y, out.shape[-1], len(x))          # before the loss and the step
        loss = loss_fn(out.float(), y)
        bad = torch.tensor(float(not torch.isfinite(loss.detach())), device=device)
        if _dist():
            torch.distributed.all_reduce(bad, op=torch.distributed.ReduceOp.MAX)
        if bad.item():
            raise TrainingDiverged(f"the loss became {loss.item()} at batch {batch} ({desc}); stopping")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        n = len(y)
        total_loss += loss.item() * (1 if per_example else n)
        correct += (out.argmax(1) == y).sum().item()
        seen += n
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}", refresh=False)
    total_loss, correct, seen = _all_sum([total_loss, correct, seen], device)
    if not seen:
        raise ValueError("the training loader yielded no examples: check its dataset and subset")
    return {"train_loss": total_loss / seen, "train_acc": correct / seen}


@torch.no_grad()
def _evaluate(model: nn.Module, loader: Iterable, device: torch.device, amp: bool, quiet: bool,
              seed: int | None) -> tuple[float, float, dict[str, float]]:
    """``(accuracy, mean hidden firing rate, rate per hidden layer)`` over ``loader``; the RNG is
    forked and seeded so the Poisson input of the test images is the same every epoch and
    training's RNG is left untouched."""
    from .record import capture as record

    net = _unwrap(model)
    was_training = net.training
    net.eval()
    cuda = list(range(torch.cuda.device_count())) if device.type == "cuda" else []
    correct = seen = spikes = steps = 0.0
    with torch.random.fork_rng(devices=cuda, enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed + _rank())
        with record(net) as rec:
            for pair in progress(loader, quiet, desc="test", leave=False):
                x, y = validate.batch("the test loader", pair)
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                with _autocast(device, amp):
                    out = net(x)
                validate.labels("labels", y, out.shape[-1], len(x))
                correct += (out.argmax(1) == y).sum().item()
                seen += len(y)
        hidden = [k for k in rec.counts if k != "input"]
        counts = _all_sum([rec.counts[k] for k in hidden] + [rec.neuron_steps[k] for k in hidden], device)
    net.train(was_training)
    correct, seen = _all_sum([correct, seen], device)
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


# -- run folders ------------------------------------------------------------------------------------
class RunFolderError(ValueError):
    """A run folder's file that cannot be used (damaged, not snnbp's, from a newer snnbp); the
    message names the file and what the user can do."""


class CheckpointError(RunFolderError):
    """A checkpoint that cannot be used; ``kind`` says why: ``"damaged"`` (cut short, not a torch
    file), ``"foreign"`` (not written by snnbp), ``"newer"`` (a newer checkpoint format) or
    ``"unsafe"`` (it would import code)."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


def save_atomic(obj: Any, path: str | os.PathLike, *, keep_previous: str | os.PathLike | None = None) -> None:
    """Write ``obj`` to ``path`` through a temporary file and ``os.replace``: readers see either the
    old file or the complete new one, never a half-written one. A ``str`` is written as UTF-8 text,
    anything else with ``torch.save``.

    ``keep_previous``: move the file already at ``path`` there first, so that a good copy
    survives should the new one be damaged later (each rename is atomic; between the two, the
    good copy is at ``keep_previous``). An ``OSError`` (disk full, no permission) names ``path``
    and leaves what was there.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            if isinstance(obj, str):
                f.write(obj.encode())
            else:
                torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        if keep_previous is not None and path.exists():
            os.replace(path, keep_previous)
        os.replace(tmp, path)
    except OSError as err:
        raise OSError(err.errno, f"cannot write {path} ({err.strerror or err}); the file there before is "
                                 "left as it was") from err
    finally:
        if tmp.exists():
            tmp.unlink()


def _format_1_globals() -> list:
    """Exactly what a format-1 checkpoint's numpy RNG state (a uint32 array) needs from numpy:
    the array and dtype constructors, which only build arrays, so ``weights_only`` stays safe."""
    reconstruct, uint32 = np.zeros(1).__reduce__()[0], type(np.dtype(np.uint32))
    return [np.ndarray, np.dtype, (uint32, f"numpy.dtypes.{uint32.__name__}"),
            *[(reconstruct, f"{module}.multiarray._reconstruct") for module in ("numpy._core", "numpy.core")]]


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by :func:`fit`, safely: ``torch.load(weights_only=True)`` builds
    tensors and plain values only (and, for format-1 checkpoints, numpy's RNG state array), so a
    crafted file cannot run code.

    Raises ``FileNotFoundError`` when ``path`` is absent and :class:`CheckpointError`, naming the
    file, when it is damaged, not a snnbp checkpoint, of a newer format, or asks to import code.
    """
    from . import __version__

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint {path}")
    with open(path, "rb"):                                  # no permission: that error, not "damaged"
        pass
    try:
        with torch.serialization.safe_globals(_format_1_globals()):
            ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many kinds (even OSError) for a damaged file; none of them ran code
        text = str(err)
        refused = re.search(r"GLOBAL (\S+)", text)
        if refused:
            raise CheckpointError(
                f"refusing to load {path}: it asks to import {refused.group(1)}, which a snnbp checkpoint never "
                "does (loading it could run code); use only checkpoints written by snnbp.train", "unsafe") from None
        reason = (text.split(". ")[0].splitlines() or [""])[0][:120]
        raise CheckpointError(
            f"{path} is damaged or not a checkpoint ({type(err).__name__}{': ' + reason if reason else ''}); it may "
            "have been cut short by a full disk or an interrupted copy", "damaged") from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("format"), int) or "model" not in ckpt:
        held = f"a dict with {sorted(map(str, ckpt))[:5]}" if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{path} is not a snnbp checkpoint: it holds {held}, not the 'format', 'epoch' and "
                              "'model' entries that snnbp.train.fit writes", "foreign")
    if ckpt["format"] > CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path} was written by a newer snnbp (checkpoint format {ckpt['format']}; snnbp {__version__} reads "
            f"formats 1 to {CHECKPOINT_FORMAT}): upgrade snnbp to use it", "newer")
    return ckpt


def read_config(run_dir: str | os.PathLike, *, any_model: bool = False) -> dict:
    """A run folder's ``config.json``, checked: valid JSON naming a model, dataset and preset this
    snnbp knows. Raises ``FileNotFoundError`` (not a run folder) or :class:`RunFolderError`
    naming the file and what to do (damaged, not snnbp's, written by a newer snnbp).
    ``any_model``: accept a model name no table has (a network from :func:`snnbp.models.custom`,
    which only the Python ``fit`` trains and resumes)."""
    from . import __version__
    from .data import NAMES as DATASETS
    from .models import NAMES as MODELS
    from .presets import NAMES as PRESETS

    run_dir = Path(run_dir)
    path = run_dir / "config.json"
    if not path.is_file():
        what = "does not exist" if not run_dir.exists() else ("is a file" if not run_dir.is_dir() else
                                                               "holds no config.json")
        raise FileNotFoundError(f"{run_dir} is not a run folder: it {what} (python -m snnbp.train --out DIR "
                                "makes one)")
    try:
        config = json.loads(path.read_text())
    except ValueError as err:
        raise RunFolderError(f"{path} is damaged: not valid JSON ({err}); it holds the run's settings: restore it "
                             "from a copy, or start a new run with another --out") from None
    missing = [k for k in ("model", "dataset", "preset") if not isinstance(config, dict) or k not in config]
    if missing or not isinstance(config["preset"], dict) or "name" not in config["preset"]:
        raise RunFolderError(f"{path} is not the config.json of a snnbp run: it has no "
                             f"{', '.join(repr(k) for k in missing or ['preset name'])}")
    written = (config.get("versions") or {}).get("snnbp", "an unknown version")
    for key, value, known in (("model", config["model"], MODELS), ("dataset", config["dataset"], DATASETS),
                              ("preset", config["preset"]["name"], PRESETS)):
        if value not in known and not (key == "model" and any_model and isinstance(value, str)):
            raise RunFolderError(f"{path} names {key} {value!r}, which snnbp {__version__} does not know (valid: "
                                 f"{', '.join(known)}); it was written by snnbp {written}")
    unknown = sorted(set(config["preset"]) - set(Preset.__dataclass_fields__))
    if unknown:
        raise RunFolderError(f"{path} holds settings snnbp {__version__} does not know ({', '.join(unknown)}); it was "
                             f"written by snnbp {written}: use that version or a newer one")
    return config


def _write_metrics(path: Path, history: list[dict]) -> None:
    lines = [",".join(METRICS)]
    for row in history:
        lines.append(",".join(_fmt(row.get(k)) for k in METRICS))
    save_atomic("\n".join(lines) + "\n", path)


def _write_rates(path: Path, history: list[dict]) -> None:
    """``rates.json``: each hidden layer's firing rate on the test set after every epoch (spikes
    per neuron per step; epochs trained before this file existed are left out)."""
    rates = {str(row["epoch"]): row["layer_rates"] for row in history if row.get("layer_rates")}
    if rates:
        save_atomic(json.dumps(rates, indent=1) + "\n", path)


def read_rates(run_dir: str | os.PathLike) -> dict[int, dict[str, float]]:
    """A run folder's ``rates.json`` as ``{epoch: {layer: rate}}`` (``{}`` if the run has none)."""
    path = Path(run_dir) / RATES
    if not path.exists():
        return {}
    return {int(epoch): rates for epoch, rates in json.loads(path.read_text()).items()}


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def read_metrics(path: str | os.PathLike) -> list[dict]:
    """``metrics.csv`` back as rows of numbers (``epoch`` as int)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [{k: (int(v) if k == "epoch" else (float(v) if v not in ("", None) else None)) for k, v in r.items()}
            for r in rows]


def _versions() -> dict[str, str]:
    import torchvision

    from . import __version__

    return {"snnbp": __version__, "torch": torch.__version__, "torchvision": torchvision.__version__,
            "numpy": np.__version__, "python": platform.python_version()}


def _describe(model: nn.Module, config: Preset, epochs: int, device: torch.device, amp: bool,
              seed: int | None, train_loader, run_info: dict | None) -> dict:
    net = _unwrap(model)
    return {
        "model": getattr(net, "name", type(net).__name__),
        "dataset": getattr(net, "dataset", None),
        "spiking": getattr(net, "spiking", None),
        "timesteps": getattr(net, "timesteps", None),
        "image_size": getattr(getattr(net, "info", None), "size", None),
        "epochs": epochs,
        "batch_size": getattr(train_loader, "batch_size", None),
        "train_examples": _safe_len(getattr(train_loader, "dataset", None)),
        "seed": seed,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "amp": bool(amp and device.type == "cuda"),
        "world_size": _world(),
        "threads": torch.get_num_threads(),
        "preset": config.to_dict(),
        **({"wake_gains": net.wake_gains} if getattr(net, "wake_gains", None) else {}),
        "versions": _versions(),
        "command": sys.argv if run_info is not None else None,
        "started": _dt.datetime.now().isoformat(timespec="seconds"),
        **(run_info or {}),
    }


def _safe_len(obj) -> int | None:
    try:
        return len(obj)
    except TypeError:
        return None


def _rng_state(train_loader) -> dict:
    """Every random state, as tensors and plain values (format 2: loadable with ``weights_only``)."""
    generator = getattr(train_loader, "generator", None)
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                      "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
            "python": random.getstate(),
            "loader": generator.get_state() if generator is not None else None}


def _set_rng_state(state: dict, train_loader) -> None:
    """Restore :func:`_rng_state`'s states (format 1's numpy tuple too)."""
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    numpy_state = state["numpy"]
    if isinstance(numpy_state, dict):
        numpy_state = (numpy_state["kind"], numpy_state["keys"].numpy().astype(np.uint32), numpy_state["pos"],
                       numpy_state["has_gauss"], numpy_state["cached_gaussian"])
    np.random.set_state(numpy_state)
    python = state["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))
    generator = getattr(train_loader, "generator", None)
    if generator is not None and state.get("loader") is not None:
        generator.set_state(state["loader"])


def seed_everything(seed: int) -> None:
    """Seed python's, numpy's and torch's (CPU and CUDA) global generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


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
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module such as snnbp.build(...), got {type(model).__name__}")
    net = _unwrap(model)
    config = config if config is not None else getattr(net, "config", None)
    if not isinstance(config, Preset):
        raise TypeError("config must be a snnbp.presets.Preset (or the model must have .config)")
    epochs = validate.count("epochs", epochs if epochs is not None else config.epochs)
    validate.loader("train_loader", train_loader)
    validate.loader("test_loader", test_loader)
    resume, amp, quiet = (validate.flag(k, v) for k, v in (("resume", resume), ("amp", amp), ("quiet", quiet)))
    if seed is not None:
        validate.count("seed", seed, minimum=0)
    out = Path(out) if out is not None else None
    if out is not None and not resume:
        refuse_existing_run(out)
    loader_batch = getattr(train_loader, "batch_size", None)
    if isinstance(loader_batch, int) and loader_batch != config.batch_size and _rank() == 0:
        warnings.warn(f"config.batch_size is {config.batch_size} but train_loader yields batches of {loader_batch}: "
                      f"the loader's batch size is what trains (config.json records both); build the loader "
                      f"with config.batch_size to train with it", UserWarning, stacklevel=2)
    device = resolve_device(device)
    kept_memory = runtime.reuse_freed_memory() if reuse_memory and device.type == "cpu" else None
    writer = out is not None and _rank() == 0
    if seed is not None and not resume:
        seed_everything(seed + _rank())
    net.to(device)
    if config.init_rate > 0 and not resume and getattr(net, "wake_gains", None) is None:
        _wake(net, config, train_loader)
    loss_fn, optimizer = make_loss(config), make_optimizer(net, config)
    scheduler = make_scheduler(optimizer, config, epochs)
    history, best = [], -1.0
    if resume:
        history, best = _resume(out, net, config, optimizer, scheduler, train_loader, device, epochs)
    start = history[-1]["epoch"] + 1 if history else 1
    if writer:
        _write_config(out, resume, start, epochs, lambda: {
            **_describe(net, config, epochs, device, amp, seed, train_loader, run_info),
            "reuse_freed_memory": kept_memory})
    if _dist() and not isinstance(model, nn.parallel.DistributedDataParallel):
        model = nn.parallel.DistributedDataParallel(net, device_ids=[device.index or 0] if device.type == "cuda" else None)
    eval_seed = 12345 if seed is None else seed + 12345
    for epoch in progress(range(start, epochs + 1), quiet, desc="epochs", initial=start - 1, total=epochs):
        row = _epoch(model, train_loader, test_loader, loss_fn, optimizer, epoch, device, amp, quiet, eval_seed,
                     out if history else None)
        scheduler.step()
        history.append(row)
        if not quiet and _rank() == 0:
            print(f"epoch {epoch}/{epochs}: loss {row['train_loss']:.4f}  train {row['train_acc']:.4f}  "
                  f"test {row['test_acc']:.4f}  rate {row['firing_rate']:.4f}  {row['seconds']:.1f}s",
                  file=sys.stderr, flush=True)
        if writer:
            _save_checkpoint(out, _checkpoint(net, config, optimizer, scheduler, train_loader, history, best),
                             is_best=row["test_acc"] > best)
        best = max(best, row["test_acc"])
    return history


def _wake(net: nn.Module, config: Preset, train_loader) -> None:
    """``config.init_rate > 0`` (not the paper's method): :func:`snnbp.depth.wake` on the first
    training batch, drawn without moving the loader's shuffling state; the gains go to config.json."""
    from .depth import wake

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


def _checkpoint(net: nn.Module, config: Preset, optimizer, scheduler, train_loader, history: list[dict],
                best: float) -> dict:
    """Everything :func:`_resume` needs, as tensors and plain values (format :data:`CHECKPOINT_FORMAT`)."""
    return {"format": CHECKPOINT_FORMAT, "model_name": getattr(net, "name", type(net).__name__),
            "dataset": getattr(net, "dataset", None), "spiking": getattr(net, "spiking", None),
            "timesteps": getattr(net, "timesteps", None), "epoch": history[-1]["epoch"], "model": net.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "rng": _rng_state(train_loader), "history": history,
            "best_acc": max(best, history[-1]["test_acc"]), "config": config.to_dict()}


def _save_checkpoint(out: Path, state: dict, is_best: bool) -> None:
    """``best.pt`` (when ``is_best``), then ``last.pt`` with the one before kept as ``last.prev.pt``,
    then ``metrics.csv``; each written atomically, and a Ctrl-C meanwhile waits until all are written
    (so ``metrics.csv`` and ``last.pt`` always hold the same epochs)."""
    with _ctrl_c_deferred():
        if is_best:
            save_atomic(state, out / BEST)
        save_atomic(state, out / LAST, keep_previous=out / PREVIOUS)
        _write_metrics(out / "metrics.csv", state["history"])
        _write_rates(out / RATES, state["history"])


@contextlib.contextmanager
def _ctrl_c_deferred():
    """Hold a SIGINT that arrives inside the block and raise it (``KeyboardInterrupt``) at its end."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda *args: caught.append(args))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)
    if caught:
        raise KeyboardInterrupt


def _resume(out: Path | None, net: nn.Module, config: Preset, optimizer, scheduler, train_loader,
            device: torch.device, epochs: int) -> tuple[list[dict], float]:
    """Load the run's last checkpoint into the model, optimiser, scheduler and every RNG; return
    ``(history, best test accuracy)``."""
    if out is None:
        raise ValueError("resume=True needs out=<run folder> that holds last.pt")
    ckpt, path = _load_last(out, device)
    _check_same_run(ckpt, net, path, config)
    if ckpt["epoch"] > epochs:
        raise ValueError(f"epochs={epochs}, but {path} has already trained {ckpt['epoch']} epochs: give more "
                         f"epochs (--epochs) to continue the run")
    net.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    _stretch_cosine(scheduler, optimizer, epochs)
    _set_rng_state(ckpt["rng"], train_loader)
    return ckpt["history"], ckpt["best_acc"]


def _stretch_cosine(scheduler, optimizer, epochs: int) -> None:
    """A cosine run resumed with another number of ``epochs``: the schedule's length becomes the
    new total, and the learning rate continues from the closed form at the epoch reached
    (otherwise the checkpoint's length would win and the rate would climb again after it)."""
    if not isinstance(scheduler, torch.optim.lr_scheduler.CosineAnnealingLR) or scheduler.T_max == epochs:
        return
    scheduler.T_max = max(epochs, 1)
    done = scheduler.last_epoch
    for group, base in zip(optimizer.param_groups, scheduler.base_lrs):
        group["lr"] = scheduler.eta_min + (base - scheduler.eta_min) * (1 + math.cos(math.pi * done / epochs)) / 2
    scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]


def _load_last(out: Path, device: torch.device) -> tuple[dict, Path]:
    """``(checkpoint, path)`` of ``last.pt``, or of ``last.prev.pt`` with a warning when ``last.pt``
    is missing or damaged; else an error that says what is left (``best.pt``) and what to do."""
    problems = []
    for path in (out / LAST, out / PREVIOUS):
        try:
            ckpt = load_checkpoint(path, map_location=device)
        except FileNotFoundError:
            problems.append(f"there is no {path}")
            continue
        except CheckpointError as err:
            if err.kind not in ("damaged", "foreign"):
                raise
            problems.append(str(err).split(";")[0])
            continue
        if problems and _rank() == 0:
            print(f"warning: {'; '.join(problems)}; resuming from {path} (epoch {ckpt['epoch']}) instead",
                  file=sys.stderr, flush=True)
        return ckpt, path
    hint = "Start the run again without --resume, or with another --out"
    if (out / BEST).exists():
        hint = (f"{out / BEST} holds the best epoch: evaluate it (python -m snnbp.evaluate {out}), or copy it to "
                f"{out / LAST} to continue from it; or start again with another --out")
    raise FileNotFoundError(f"cannot resume {out}: {'; '.join(problems)}. {hint}")


def _write_config(out: Path, resume: bool, start: int, epochs: int, describe: Callable[[], dict]) -> None:
    """``config.json``: ``describe()`` for a new run; a resumed run keeps its file and notes the resume."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OSError(err.errno, f"cannot create the run folder {out} ({err.strerror or err}): choose another "
                                 "--out") from err
    if resume and (out / "config.json").exists():
        info = read_config(out, any_model=True)
        info.setdefault("resumed", []).append({"at": _dt.datetime.now().isoformat(timespec="seconds"),
                                               "from_epoch": start - 1, "epochs": epochs})
        info["epochs"] = epochs
    else:
        info = describe()
        if (out / PREVIOUS).exists():                          # a stale one from an earlier run here
            (out / PREVIOUS).unlink()
    save_atomic(json.dumps(info, indent=2, default=str) + "\n", out / "config.json")


def _check_same_run(ckpt: dict, net: nn.Module, path: Path, config: Preset | None = None) -> None:
    """Refuse to resume a checkpoint of another model or dataset, or one trained with other
    settings: another T or any preset field but ``epochs`` (and the preset's ``note``)."""
    want = {"model": getattr(net, "name", type(net).__name__), "dataset": getattr(net, "dataset", None),
            "spiking": getattr(net, "spiking", None)}
    have = {"model": ckpt.get("model_name"), "dataset": ckpt.get("dataset"), "spiking": ckpt.get("spiking")}
    diff = [k for k in want if want[k] != have[k]]
    if diff:
        raise ValueError(
            f"refusing to resume {path}: it holds " + ", ".join(f"{k}={have[k]!r}" for k in diff)
            + ", but this run has " + ", ".join(f"{k}={want[k]!r}" for k in diff)
            + f". Resume with the same settings (e.g. --model {have['model']} --dataset {have['dataset']}) "
              "or choose another --out folder.")
    saved = ckpt.get("config") or {}
    if config is None or not saved:
        return
    plain = lambda v: list(v) if isinstance(v, tuple) else v                      # noqa: E731
    now = {k: plain(v) for k, v in config.to_dict().items()}
    saved_t = ckpt.get("timesteps", saved.get("timesteps"))
    changed = [f"timesteps {saved_t} -> {net.timesteps}"] if (
        getattr(net, "spiking", False) and saved_t is not None and saved_t != net.timesteps) else []
    changed += [f"{k} {saved[k]!r} -> {now[k]!r}" for k in saved
                if k in now and k not in ("epochs", "note", "timesteps") and plain(saved[k]) != now[k]]
    if changed:
        raise ValueError(f"refusing to resume {path} with other settings than it was trained with ("
                         + "; ".join(changed) + "): build the network with the run's settings (its config.json, "
                         "snnbp.presets.saved_fields) or start a new run in another folder")


def refuse_existing_run(out: Path) -> None:
    """Refuse ``out`` if it is a file, or a folder that already holds a run (``fit`` without
    ``resume``, and the command line without ``--resume``, would overwrite it)."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"out={out} is a file, not a folder: choose a folder name (it is created)")
    if (out / LAST).exists() or (out / PREVIOUS).exists():
        raise FileExistsError(f"{out} already holds a run: pass resume=True (--resume) to continue it, or "
                              f"choose another out folder (--out)")


# -- command line -----------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    from .models import NAMES as MODELS
    from .data import NAMES as DATASETS
    from .presets import NAMES as PRESETS

    count, positive = validate.count_arg, validate.positive_arg
    p = validate.ArgumentParser(
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
    p.add_argument("--init-rate", type=validate._argument(float, lambda v: 0 < v < 1, "a firing rate in (0, 1)"), help="not the paper's method: wake every layer to this "
                   "firing rate on the first training batch before training (snnbp.depth.wake)")
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


def _init_distributed(device: torch.device) -> None:
    """Join the ``torchrun`` process group (NCCL on CUDA, gloo on the CPU) when WORLD_SIZE > 1."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not _dist():
        if device.type == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")


def main(argv: list[str] | None = None) -> int:
    """``python -m snnbp.train``: 0 when trained; a user's mistake is one line ``error: ...`` on
    stderr with status 2 (bad arguments or input) or 1 (the run failed); Ctrl-C: 130."""
    args = _parser().parse_args(argv)
    run: dict = {}
    try:
        return validate.run_command(lambda: _train(args, run), debug=args.debug,
                                   interrupted=lambda: _interrupted(run.get("out")))
    finally:
        if _dist():
            torch.distributed.destroy_process_group()


def _interrupted(out: Path | None) -> str:
    """What Ctrl-C left: the epoch in the run folder and how to continue."""
    try:
        done = read_metrics(out / "metrics.csv")[-1]["epoch"]
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
    from . import data as _data
    from . import presets
    from .models import build

    out, saved = _run_folder(args)
    model = args.model or saved.get("model") or "mlp"
    dataset = args.dataset or saved.get("dataset") or "digits"
    preset = args.preset or saved.get("preset", {}).get("name") or "paper"
    spiking = bool(saved.get("spiking", True)) and not args.ann
    if out is None:
        out = Path("runs") / f"{model}-{dataset}-{preset}-{_dt.datetime.now():%Y%m%d-%H%M%S}"
    run["out"] = out

    device = resolve_device(args.device)
    if device.type == "cuda" and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    _init_distributed(device)
    seed_everything(args.seed)
    # a resumed run is rebuilt from its saved preset (the named preset may have changed since)
    same = saved.get("preset") and saved["preset"].get("name") == preset
    overrides = presets.saved_fields(saved["preset"]) if same else {}
    overrides.update({k: getattr(args, k) for k in ("timesteps", "epochs", "batch_size", "lr", "loss", "init_rate")
                      if getattr(args, k) is not None})
    net = build(model, dataset, spiking=spiking, preset=preset, **overrides)
    config = net.config
    subset = args.subset if args.subset is not None else saved.get("subset")
    test_subset = args.test_subset if args.test_subset is not None else saved.get("test_subset")
    workers = args.workers if args.workers is not None else (4 if device.type == "cuda" else 0)
    train_loader, test_loader = _data.loaders(
        dataset, config.batch_size, root=args.data_root, download=not args.no_download,
        subset=(subset, test_subset), augment=config.augment, num_workers=workers, seed=args.seed,
        pin_memory=device.type == "cuda")
    if args.amp and device.type != "cuda" and _rank() == 0:
        print("note: --amp needs CUDA; training in float32 on the CPU", file=sys.stderr)
    run_info = {"subset": subset, "test_subset": test_subset,
                "test_examples": int(_all_sum([len(test_loader.dataset)], device)[0]),
                "data_root": str(_data.data_root(args.data_root)) if dataset != "digits" else None,
                "workers": workers}
    if _rank() == 0 and not args.quiet:
        print(f"training {model} on {dataset} ({'SNN' if spiking else 'ANN'}, preset {preset}, T={net.timesteps}, "
              f"{config.epochs} epochs, batch {config.batch_size}, lr {config.lr}) on {device}; run folder {out}",
              file=sys.stderr)
    tic = time.perf_counter()
    history = fit(net, train_loader, test_loader, config, device=device, out=out, resume=args.resume,
                  amp=args.amp, quiet=args.quiet, seed=args.seed, reuse_memory=True, run_info=run_info)
    if _rank() == 0 and history:
        final = history[-1]
        print(f"test accuracy {final['test_acc']:.4f} after {final['epoch']} epochs "
              f"(best {max(r['test_acc'] for r in history):.4f}); {time.perf_counter() - tic:.1f} s; run folder {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
