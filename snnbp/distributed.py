"""Where a run executes: the device and the ``torchrun`` process group (the progress bar, which only
rank 0 draws, is :func:`snnbp.cli.progress`). Training (:mod:`snnbp.train`) and evaluation (:mod:`snnbp.evaluate`) use these; without
``torchrun`` every helper is the single-process identity (rank 0 of a world of 1).

    torchrun --nproc_per_node 2 -m snnbp.train ...          # data-parallel (gloo on CPU, NCCL on GPU)

Under ``torchrun`` (``WORLD_SIZE > 1``) :func:`init_from_env` joins the process group, :func:`wrap`
puts the network in ``DistributedDataParallel``, :func:`all_sum` adds each process's counts and
only rank 0 prints or writes.
"""
from __future__ import annotations

import contextlib
import os

import torch
from torch import nn

from . import validate

__all__ = ["DeviceUnavailable", "resolve_device", "autocast", "local_device", "init_from_env", "shutdown", "is_active", "rank",
           "world_size", "all_sum", "any_true", "unwrap", "wrap", "length"]


class DeviceUnavailable(RuntimeError):
    """The requested device is not there (e.g. ``"cuda"`` without a GPU)."""

    exit_code = 2


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


def autocast(device: torch.device, amp: bool):
    """bf16 autocast on CUDA when ``amp``; a no-op context otherwise (the CPU trains in float32)."""
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _launched() -> bool:
    """Started by ``torchrun`` with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def local_device(device: torch.device) -> torch.device:
    """Under ``torchrun`` on CUDA, this process's GPU (``cuda:LOCAL_RANK``); else ``device``."""
    if device.type == "cuda" and _launched():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def init_from_env(device: torch.device) -> None:
    """Join the ``torchrun`` process group (NCCL on CUDA, gloo on the CPU) when WORLD_SIZE > 1."""
    if _launched() and not is_active():
        if device.type == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")


def shutdown() -> None:
    """Leave the process group, if this process joined one."""
    if is_active():
        torch.distributed.destroy_process_group()


def is_active() -> bool:
    """Whether a ``torch.distributed`` process group is initialised."""
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def rank() -> int:
    return torch.distributed.get_rank() if is_active() else 0


def world_size() -> int:
    return torch.distributed.get_world_size() if is_active() else 1


def all_sum(values: list[float], device: torch.device) -> list[float]:
    """Sum ``values`` over all processes (identity without ``torch.distributed``)."""
    if not is_active():
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    torch.distributed.all_reduce(t)
    return t.tolist()


def any_true(flag: bool, device: torch.device) -> bool:
    """Whether ``flag`` holds in any process (so that all of them stop together)."""
    t = torch.tensor(float(flag), device=device)
    if is_active():
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
    return bool(t.item())


def unwrap(model: nn.Module) -> nn.Module:
    """The network inside ``DistributedDataParallel`` (``model`` itself otherwise)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` in ``DistributedDataParallel`` when a process group is active (once); else as it is."""
    if not is_active() or isinstance(model, nn.parallel.DistributedDataParallel):
        return model
    return nn.parallel.DistributedDataParallel(model, device_ids=[device.index or 0] if device.type == "cuda" else None)


def length(obj) -> int | None:
    """``len(obj)``, or None for what has no length (an iterable dataset or loader)."""
    try:
        return len(obj)
    except TypeError:
        return None
