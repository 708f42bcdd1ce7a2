r"""Run folders: what :func:`snnbp.train.fit` writes, what ``--resume``, :mod:`snnbp.evaluate` and
:mod:`snnbp.results` read back, and the checkpoint format.

A run folder holds

* ``config.json``: every resolved setting, versions, device (:func:`describe`; a resumed run
  keeps its file and notes the resume);
* ``metrics.csv``: one row per epoch with the columns :data:`METRICS`;
* ``rates.json``: each hidden layer's firing rate on the test set after every epoch;
* ``last.pt`` (with the epoch before kept as ``last.prev.pt``) and ``best.pt``: checkpoints.

Every file is written to a temporary file and renamed (:func:`save_atomic`), so a crash while
saving leaves the previous one intact, and should ``last.pt`` still be damaged later (a cut copy),
a resume continues from ``last.prev.pt`` with a warning (:func:`load_last`).

A checkpoint (:func:`checkpoint_state`) is a dict of tensors and plain values: ``format``
(:data:`CHECKPOINT_FORMAT`), ``model_name``, ``dataset``, ``spiking``, ``timesteps``, ``epoch``,
``model``, ``optimizer``, ``scheduler`` (state dicts), ``rng`` (torch, CUDA, numpy, python and the
data loader's shuffling generator), ``history`` (the metrics rows), ``best_acc`` and ``config``
(the preset's fields). It is read with ``torch.load(weights_only=True)``, so a checkpoint from
someone else cannot run code (:func:`load_checkpoint`; format 1, which stored numpy's RNG state
as an array, still loads).
"""
from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import platform
import random
import re
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from . import cli, distributed, validate
from .presets import Preset

__all__ = ["METRICS", "RATES", "LAST", "PREVIOUS", "BEST", "CONFIG", "METRICS_FILE", "CHECKPOINT_FORMAT",
           "RunFolderError", "CheckpointError", "save_atomic", "load_checkpoint", "read_config", "read_metrics",
           "read_rates", "write_metrics", "write_rates", "load_run", "refuse_existing_run", "write_config", "describe",
           "versions", "checkpoint_state", "save_checkpoint", "load_last", "check_same_run", "rng_state",
           "restore_rng_state"]

METRICS = ("epoch", "lr", "train_loss", "train_acc", "test_acc", "seconds", "firing_rate")
CHECKPOINT_FORMAT = 2   # 2: random states as tensors and plain values; 1: numpy's state as a tuple with an array
LAST, PREVIOUS, BEST = "last.pt", "last.prev.pt", "best.pt"
RATES = "rates.json"
CONFIG, METRICS_FILE = "config.json", "metrics.csv"


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


# -- writing a file -----------------------------------------------------------------------------------
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


# -- checkpoints ----------------------------------------------------------------------------------------
def _format_1_globals() -> list:
    """Exactly what a format-1 checkpoint's numpy RNG state (a uint32 array) needs from numpy:
    the array and dtype constructors, which only build arrays, so ``weights_only`` stays safe."""
    reconstruct, uint32 = np.zeros(1).__reduce__()[0], type(np.dtype(np.uint32))
    return [np.ndarray, np.dtype, (uint32, f"numpy.dtypes.{uint32.__name__}"),
            *[(reconstruct, f"{module}.multiarray._reconstruct") for module in ("numpy._core", "numpy.core")]]


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by :func:`snnbp.train.fit`, safely: ``torch.load(weights_only=True)``
    builds tensors and plain values only (and, for format-1 checkpoints, numpy's RNG state array), so
    a crafted file cannot run code.

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


def checkpoint_state(net: nn.Module, config: Preset, optimizer, scheduler, train_loader, history: list[dict],
                     best: float) -> dict:
    """Everything a resume needs, as tensors and plain values (format :data:`CHECKPOINT_FORMAT`)."""
    return {"format": CHECKPOINT_FORMAT, "model_name": getattr(net, "name", type(net).__name__),
            "dataset": getattr(net, "dataset", None), "spiking": getattr(net, "spiking", None),
            "timesteps": getattr(net, "timesteps", None), "epoch": history[-1]["epoch"], "model": net.state_dict(),
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "rng": rng_state(train_loader), "history": history,
            "best_acc": max(best, history[-1]["test_acc"]), "config": config.to_dict()}


def save_checkpoint(out: Path, state: dict, is_best: bool) -> None:
    """``best.pt`` (when ``is_best``), then ``last.pt`` with the one before kept as ``last.prev.pt``,
    then ``metrics.csv`` and ``rates.json``; each written atomically, and a Ctrl-C meanwhile waits
    until all are written (so ``metrics.csv`` and ``last.pt`` always hold the same epochs)."""
    with cli.ctrl_c_deferred():
        if is_best:
            save_atomic(state, out / BEST)
        save_atomic(state, out / LAST, keep_previous=out / PREVIOUS)
        write_metrics(out / METRICS_FILE, state["history"])
        write_rates(out / RATES, state["history"])


def rng_state(train_loader) -> dict:
    """Every random state, as tensors and plain values (format 2: loadable with ``weights_only``)."""
    generator = getattr(train_loader, "generator", None)
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                      "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
            "python": random.getstate(),
            "loader": generator.get_state() if generator is not None else None}


def restore_rng_state(state: dict, train_loader) -> None:
    """Restore :func:`rng_state`'s states (format 1's numpy tuple too)."""
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


def load_last(out: Path, device: torch.device) -> tuple[dict, Path]:
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
        if problems and distributed.rank() == 0:
            print(f"warning: {'; '.join(problems)}; resuming from {path} (epoch {ckpt['epoch']}) instead",
                  file=sys.stderr, flush=True)
        return ckpt, path
    hint = "Start the run again without --resume, or with another --out"
    if (out / BEST).exists():
        hint = (f"{out / BEST} holds the best epoch: evaluate it (python -m snnbp.evaluate {out}), or copy it to "
                f"{out / LAST} to continue from it; or start again with another --out")
    raise FileNotFoundError(f"cannot resume {out}: {'; '.join(problems)}. {hint}")


def check_same_run(ckpt: dict, net: nn.Module, path: Path, config: Preset | None = None) -> None:
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


def load_run(run_dir: str | os.PathLike, *, checkpoint: str = "best", device: str | torch.device = "cpu"):
    """Rebuild the model of a run folder from ``config.json`` and load ``best.pt`` (or ``last.pt``)
    into it (what :mod:`snnbp.evaluate` evaluates). Returns ``(model, config_dict)``. The checkpoint
    is read safely (:func:`load_checkpoint`); a missing, damaged or mismatched file is an error
    that names it."""
    from .models import build
    from .presets import saved_fields

    run_dir = Path(run_dir)
    validate.choice("checkpoint", checkpoint, ("best", "last"))
    cfg = read_config(run_dir)
    path = run_dir / (BEST if checkpoint == "best" else LAST)
    other = "--checkpoint last" if checkpoint == "best" else "--checkpoint best"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found (checkpoints are not committed; rerun the training or pass {other})")
    fields = saved_fields(cfg["preset"])
    model = build(cfg["model"], cfg["dataset"], spiking=cfg.get("spiking", True), preset=cfg["preset"]["name"],
                  image_size=cfg.get("image_size"), **fields)
    try:
        state = load_checkpoint(path, map_location=device)
    except CheckpointError as err:
        raise CheckpointError(f"{err}; evaluate the run's other checkpoint instead ({other})", err.kind) from None
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, TypeError, AttributeError) as err:
        detail = " ".join(str(err).split())[:160]
        raise CheckpointError(f"{path} does not fit the {cfg['model']} of {run_dir / CONFIG} ({detail}...); "
                              "was it copied from another run?", "foreign") from None
    return model, cfg


def refuse_existing_run(out: Path) -> None:
    """Refuse ``out`` if it is a file, or a folder that already holds a run (``fit`` without
    ``resume``, and the command line without ``--resume``, would overwrite it)."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"out={out} is a file, not a folder: choose a folder name (it is created)")
    if (out / LAST).exists() or (out / PREVIOUS).exists():
        raise FileExistsError(f"{out} already holds a run: pass resume=True (--resume) to continue it, or "
                              f"choose another out folder (--out)")


# -- config.json ---------------------------------------------------------------------------------------
def read_config(run_dir: str | os.PathLike) -> dict:
    """A run folder's ``config.json``, checked: valid JSON naming a model, dataset and preset this
    snnbp knows (what the command line, :mod:`snnbp.evaluate` and :mod:`snnbp.results` rebuild a
    run from). Raises ``FileNotFoundError`` (not a run folder) or :class:`RunFolderError`
    naming the file and what to do (damaged, not snnbp's, written by a newer snnbp)."""
    from . import __version__
    from .data import NAMES as DATASETS
    from .presets import NAMES as PRESETS
    from .tables import NAMES as MODELS

    config, path = _config_file(Path(run_dir)), Path(run_dir) / CONFIG
    written = (config.get("versions") or {}).get("snnbp", "an unknown version")
    for key, value, known in (("model", config["model"], MODELS), ("dataset", config["dataset"], DATASETS),
                              ("preset", config["preset"]["name"], PRESETS)):
        if value not in known:
            raise RunFolderError(f"{path} names {key} {value!r}, which snnbp {__version__} does not know (valid: "
                                 f"{', '.join(known)}); it was written by snnbp {written}")
    return config


def _config_file(run_dir: Path) -> dict:
    """``config.json`` as a dict with a model, a dataset and preset settings this snnbp knows, or a
    clear error. Any model name passes: a network from :func:`snnbp.models.custom`, which only the
    Python ``fit`` trains and resumes, has its own; :func:`read_config` checks the names."""
    from . import __version__

    path = run_dir / CONFIG
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
    unknown = sorted(set(config["preset"]) - set(Preset.__dataclass_fields__))
    if unknown:
        written = (config.get("versions") or {}).get("snnbp", "an unknown version")
        raise RunFolderError(f"{path} holds settings snnbp {__version__} does not know ({', '.join(unknown)}); it was "
                             f"written by snnbp {written}: use that version or a newer one")
    return config


def write_config(out: Path, resume: bool, start: int, epochs: int, make: Callable[[], dict]) -> None:
    """``config.json``: ``make()`` (e.g. :func:`describe`) for a new run; a resumed run keeps its
    file and notes the resume."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OSError(err.errno, f"cannot create the run folder {out} ({err.strerror or err}): choose another "
                                 "--out") from err
    if resume and (out / CONFIG).exists():
        info = _config_file(out)
        info.setdefault("resumed", []).append({"at": _dt.datetime.now().isoformat(timespec="seconds"),
                                               "from_epoch": start - 1, "epochs": epochs})
        info["epochs"] = epochs
    else:
        info = make()
        if (out / PREVIOUS).exists():                          # a stale one from an earlier run here
            (out / PREVIOUS).unlink()
    save_atomic(json.dumps(info, indent=2, default=str) + "\n", out / CONFIG)


def describe(model: nn.Module, config: Preset, epochs: int, device: torch.device, amp: bool,
             seed: int | None, train_loader, run_info: dict | None) -> dict:
    """A new run's ``config.json``: the network, every resolved setting, the device and versions;
    ``run_info`` (the command line's data settings) is added, and then the command is recorded."""
    net = distributed.unwrap(model)
    return {
        "model": getattr(net, "name", type(net).__name__),
        "dataset": getattr(net, "dataset", None),
        "spiking": getattr(net, "spiking", None),
        "timesteps": getattr(net, "timesteps", None),
        "image_size": (getattr(net, "in_shape", None) or (None, None))[1],
        "epochs": epochs,
        "batch_size": getattr(train_loader, "batch_size", None),
        "train_examples": distributed.length(getattr(train_loader, "dataset", None)),
        "seed": seed,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "amp": bool(amp and device.type == "cuda"),
        "world_size": distributed.world_size(),
        "threads": torch.get_num_threads(),
        "preset": config.to_dict(),
        **({"wake_gains": net.wake_gains} if getattr(net, "wake_gains", None) else {}),
        "versions": versions(),
        "command": sys.argv if run_info is not None else None,
        "started": _dt.datetime.now().isoformat(timespec="seconds"),
        **(run_info or {}),
    }


def versions() -> dict[str, str]:
    """The versions that ``config.json`` records: snnbp, torch, torchvision, numpy, python."""
    import torchvision

    from . import __version__

    return {"snnbp": __version__, "torch": torch.__version__, "torchvision": torchvision.__version__,
            "numpy": np.__version__, "python": platform.python_version()}


# -- metrics.csv and rates.json ------------------------------------------------------------------------
def write_metrics(path: Path, history: list[dict]) -> None:
    """``metrics.csv``: the :data:`METRICS` columns of every row of ``history``."""
    lines = [",".join(METRICS)]
    for row in history:
        lines.append(",".join(_fmt(row.get(k)) for k in METRICS))
    save_atomic("\n".join(lines) + "\n", path)


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


def write_rates(path: Path, history: list[dict]) -> None:
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
