"""What enters the library, checked in one place: each check names the argument, what was given,
what is expected and how to fix it. Every public entry point (``LIF``, ``poisson_encode``,
``build``, a network's forward pass, ``fit``, ``evaluate_accuracy``, ``record``, ``plots``,
``bridge``) calls these instead of writing its own test.

The policy, per kind of input:

* **Numbers and names** (a threshold, a leak, a learning rate, a choice such as ``reset``): an
  error when out of range or unknown (``TypeError`` for the wrong type, ``ValueError`` for a
  wrong value). Infinite or NaN numbers are out of range.
* **Flags** (``spiking``, ``signed``, ``detach_leak``, ``leak_correction`` ...): ``True`` or
  ``False`` only. ``"no"``, ``"False"``, ``None`` or ``0`` are errors, never read as truth values.
* **Tensors**: a NaN (or infinite) value is an error, since it silences a neuron for the rest of
  the window and its gradient comes back as zeros. Integer and bool tensors are accepted where
  the values are what a float would hold (0/1 images); another floating dtype than the network's
  is converted (a float64 batch into a float32 network), since images are data, not settings.
  A tensor on the ``meta`` device (shapes, no data) is an error, and so is a dimension of size 0
  where a neuron, an encoder or a network takes data (an empty batch, zero time steps, zero
  neurons): as the bridge and the plots, they need ``T``, ``B`` and every size >= 1. Two tensors
  that one step combines element by element (a membrane and its current) must have one shape, on
  one device: broadcasting would silently make new neurons.
* **Time steps**: an integer >= 1 (not a float or a bool). Spikes ``[T, *x.shape]`` that would
  not fit in the device's memory are a :class:`TooLarge` error (a ``ValueError`` and a
  ``MemoryError``) that names the argument and the GiB they would take; more than
  :data:`DOUBTFUL_STEPS` steps warn (the paper uses at most 100).
* **Settings objects**: a neuron's ``.settings`` takes a :class:`snnbp.neurons.LIFSettings` only,
  whose fields are checked again when it is assigned; its methods (``dynamics``, ...) cannot be
  replaced by values. **Fractions** (a share of a data set) lie in (0, 1), both ends excluded.
* **Recordings**: reading what no forward call recorded (``rec.rates()`` after a ``with`` block
  that ran nothing) is an error, not an empty result.
* **Images** (into an encoder or a network) should lie in [-1, 1] (snnbp.data's normalisation).
  Integer images above 1 (raw 0..255 pixels) are an error; float images outside [-1, 1] (by
  more than 1 %, so resampling's overshoot passes) get a warning, because they are legal (the
  direct encoding takes any current) but usually a mistake: a Poisson pixel with
  ``|x| * rate_scale >= 1`` fires at every step.
* **Plots and the bridge**: what they draw or compare is checked the same way (spikes hold only
  -1, 0 and 1; curves drawn against each other have one length; a sample lies in the batch).
  ``plots.show`` outside a notebook warns and says how to save the figure instead.
* **Labels**: integer class indices, one per image, in ``[0, classes)``; one-hot or float labels,
  negative or too large ones, and a count that differs from the images' are errors.
* **Loaders**: an empty loader is an error before the first step (an epoch over nothing would
  report loss 0 and accuracy 0 and choose a best checkpoint on it).
* **Run folders**: the Python ``fit`` refuses what the command line refuses (an existing run
  without ``resume``, a resume with other settings than its ``config.json``).

Checks only: how a command line turns these errors into one line and an exit status (and
handles Ctrl-C) is :mod:`snnbp.cli`, which the library's core never imports.
"""
from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch


def choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a ``ValueError`` listing them."""
    choices = list(choices)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {choices}; got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; valid choices: {', '.join(map(repr, choices))}")
    return value


def _real(name: str, value: Any, what: str) -> float:
    """``value`` as a float if it is a real number (not a bool), else a ``TypeError`` naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
    return float(value)


def positive(name: str, value: float) -> float:
    """A strictly positive real number (e.g. a threshold ``V_th > 0``)."""
    x = _real(name, value, "a number > 0")
    if not (x > 0 and math.isfinite(x)):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return x


def non_negative(name: str, value: float) -> float:
    """A finite real number >= 0 (e.g. a momentum or a weight decay)."""
    x = _real(name, value, "a finite number >= 0")
    if not (x >= 0 and math.isfinite(x)):                  # NaN fails too
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return x


def leak(name: str, value: float) -> float:
    """A leak factor ``lam`` in (0, 1]; 1 means no leak (an IF neuron)."""
    x = _real(name, value, "a number in (0, 1]")
    if not 0 < x <= 1:                                       # NaN fails too
        raise ValueError(f"{name} must lie in (0, 1], got {value}")
    return x


def setting_tensor(name: str, value: torch.Tensor) -> torch.Tensor:
    """A learnable neuron setting (a leak or a threshold): a 0-dimensional floating tensor (one value
    per layer), free of NaN and inf. Its range is the neuron's to keep (e.g. a sigmoid for a leak)."""
    if value.dim() != 0 or not value.is_floating_point():
        raise ValueError(f"a tensor {name} must be a 0-dimensional float tensor (one learnable {name} per layer), "
                         f"got shape {tuple(value.shape)} and dtype {value.dtype}")
    return tensor(name, value)


def probability(name: str, value: float) -> float:
    """A probability in [0, 1)."""
    x = _real(name, value, "a number in [0, 1)")
    if not 0 <= x < 1:
        raise ValueError(f"{name} must lie in [0, 1), got {value}")
    return x


def fraction(name: str, value: float) -> float:
    """A fraction strictly between 0 and 1 (e.g. the share of a data set held out for testing)."""
    x = _real(name, value, "a fraction in (0, 1)")
    if not 0 < x < 1:                                        # NaN fails too
        raise ValueError(f"{name} must be a fraction in (0, 1), 0 and 1 excluded, got {value!r}")
    return x


def rate(name: str, value: float, *, zero: str = "") -> float:
    """A firing rate in (0, 1); with ``zero`` (what 0 means, e.g. ``"the paper's initialisation"``),
    0 is allowed too."""
    what = f"0 ({zero}) or a firing rate in (0, 1)" if zero else "a firing rate in (0, 1)"
    x = _real(name, value, what)
    if not (0 < x < 1 or (zero and x == 0)):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return x


def count(name: str, value: int, minimum: int = 1) -> int:
    """An integer >= ``minimum`` (e.g. a number of time steps)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


#: More time steps than this are legal but doubtful (the paper uses at most 100): a warning.
DOUBTFUL_STEPS = 10_000
#: Encoding holds about this many copies of the spikes at once (the uniform draw, the comparison,
#: the signed spikes): what :func:`time_steps` compares with the memory there is.
_ENCODING_COPIES = 3


class TooLarge(ValueError, MemoryError):
    """A request that would need more memory than the device has: a wrong value (``ValueError``)
    refused before the allocation (``MemoryError``, what an allocation that fails raises)."""


def _memory(device: torch.device) -> tuple[int | None, str]:
    """Bytes that ``device`` could still give a tensor, and how to name them; ``None`` if unknown."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        free += torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)   # torch's own cache
        return free, f"free on {device}"
    try:
        with open("/proc/meminfo") as f:
            found = {line.split(":")[0]: line.split()[1] for line in f if ":" in line}
        return int(found["MemAvailable"]) * 1024, "of memory available"
    except (OSError, KeyError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "of memory in this machine"
    except (AttributeError, ValueError, OSError):
        return None, ""


def time_steps(name: str, steps: Any, x: torch.Tensor) -> int:
    """A number of time steps to encode ``x`` over (:func:`count`, >= 1) whose spikes
    ``[steps, *x.shape]`` fit in memory: more than the device has is a :class:`TooLarge` error that
    says how much it would take; more than :data:`DOUBTFUL_STEPS` steps warn. No read-back: one
    multiplication per call (the device's memory is asked only past 1 GiB of spikes)."""
    steps = count(name, steps)
    need = steps * x.numel() * (x.element_size() if x.is_floating_point() else 4)
    gib = need / 2**30
    if need > 2**30:
        have, where = _memory(x.device)
        if have is not None and need * _ENCODING_COPIES > have:
            raise TooLarge(f"{name}={steps} with input of shape {tuple(x.shape)} needs {gib:.3g} GiB for the "
                           f"spikes alone and about {gib * _ENCODING_COPIES:.3g} GiB while encoding, more than the "
                           f"{have / 2**30:.3g} GiB {where}: use fewer time steps (the paper uses timesteps of "
                           f"at most 100) or a smaller batch")
    if steps > DOUBTFUL_STEPS:
        warnings.warn(f"{name}={steps} is far more time steps than spiking networks use (the paper: at most 100; "
                      f"the spikes alone take {gib:.3g} GiB): use fewer time steps unless you mean it",
                      UserWarning, stacklevel=3)
    return steps


def flag(name: str, value: Any) -> bool:
    """``True`` or ``False`` (also numpy's and a one-element bool tensor's); anything else, such as
    ``"no"``, ``"False"``, ``None`` or ``1``, is an error rather than a truth value."""
    if isinstance(value, bool):
        return value
    if isinstance(value, np.bool_) or (isinstance(value, torch.Tensor) and value.dtype == torch.bool
                                       and value.numel() == 1):
        return bool(value)
    hint = f" (a string is not read: write {name}=False or True)" if isinstance(value, str) else ""
    raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__}){hint}")


def tensor(name: str, value: Any, *, min_dim: int = 0, finite: bool = True, shape: str = "",
           nonempty: str = "", read: bool = True) -> torch.Tensor:
    """A tensor of at least ``min_dim`` dimensions, on a device that holds data (not ``meta``),
    free of NaN and inf (``finite=False``: of NaN only). Lists and numpy arrays are refused, with
    the conversion to use. ``shape`` describes the expected shape in the errors (e.g. ``"[T, B, ...]"``);
    ``nonempty``, when given, says why a dimension of size 0 is an error (else an empty tensor passes);
    ``read=False`` skips the NaN check, the one check that reads the values back (a sync on a GPU)."""
    shown = f" {shape}" if shape else ""
    if not isinstance(value, torch.Tensor):
        hint = (": convert it with torch.as_tensor(...)" if type(value).__name__ in ("ndarray", "list", "tuple")
                else "")
        raise TypeError(f"{name} must be a torch.Tensor{shown}, got {type(value).__name__}{hint}")
    if value.device.type == "meta":
        raise ValueError(f"{name} is on the meta device, which holds shapes but no data: make it on a device "
                         f"with memory, 'cpu' or 'cuda' (a module built on 'meta' needs .to_empty(device='cpu') "
                         f"and its weights loaded)")
    if value.dim() < min_dim:
        need = f"shape{shown} (at least {min_dim} dimensions)" if shown else f"at least {min_dim} dimensions"
        raise ValueError(f"{name} must have {need}, got shape {tuple(value.shape)}")
    if nonempty and value.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(value.shape)}): {nonempty}")
    if read and value.is_floating_point() and value.numel():
        _finite(name, value, "a NaN or inf input silences a neuron for the rest of the window; check what "
                "produced it", nan_only=not finite)
    return value


def same_shape(names: tuple[str, str], a: torch.Tensor, b: torch.Tensor, hint: str = "") -> None:
    """Two tensors that one step combines element by element (a membrane and its current): the same
    shape (no broadcasting) on the same device; ``hint`` says how to make them match."""
    if a.shape != b.shape:
        raise ValueError(f"{names[0]} and {names[1]} must have the same shape, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}" + (f": {hint}" if hint else ""))
    if a.device != b.device:
        raise ValueError(f"{names[0]} is on {a.device} but {names[1]} on {b.device}: move one, "
                         f"{names[0]}.to({str(b.device)!r})")


def _finite(name: str, value: torch.Tensor, advice: str, *, nan_only: bool = False) -> None:
    """A ``ValueError`` that counts the NaN (and, unless ``nan_only``, infinite) entries, then ``advice``."""
    bad = torch.isnan(value) if nan_only else ~torch.isfinite(value)
    if bool(bad.any()):
        what = "NaN" if bool(torch.isnan(value).any()) else "infinite values"
        raise ValueError(f"{name} contains {what} ({int(bad.sum())} of {value.numel()} entries): {advice}")


def as_float(name: str, value: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``value`` as a floating tensor: bool and integer tensors become ``dtype`` (default float32),
    a floating tensor of another dtype than ``dtype`` is converted to it (images are data)."""
    if value.dtype in (torch.complex64, torch.complex128):
        raise TypeError(f"{name} must be real, got {value.dtype}")
    if not value.is_floating_point():
        return value.to(dtype or torch.float32)
    return value if dtype is None or value.dtype == dtype else value.to(dtype)


def images(name: str, value: Any, *, rate_scale: float = 1.0, encoding: str = "poisson") -> torch.Tensor:
    """Images (any shape) as a floating tensor, checked against the policy above: not empty, no NaN;
    integer images must be 0/1 or -1/0/1 (an error for raw 0..255 pixels); floats outside [-1, 1] warn."""
    tensor(name, value, nonempty="there is no image to encode: give a batch of at least one image "
                                  "(every dimension >= 1)")
    top = float(value.abs().max()) if value.dtype != torch.bool else 1.0
    if not value.is_floating_point():
        if top > 1:
            raise ValueError(f"{name} must lie in [-1, 1]; got {value.dtype} values up to {top:g} (raw pixels?): "
                             f"divide by 255, or load images with snnbp.data, which normalises them")
        return as_float(name, value)
    if top > 1.01:                                  # not interpolation's overshoot (1.0002)
        why = (f"a Poisson pixel fires at every step once |x| * rate_scale >= 1 (rate_scale={rate_scale:g})"
               if encoding == "poisson" else "the input current is that many times the threshold scale")
        raw = " (raw 0..255 pixels? divide by 255)" if top > 2 else ""
        warnings.warn(f"{name} should lie in [-1, 1] (snnbp.data's normalisation); got values up to {top:g}"
                      f"{raw}: {why}", UserWarning, stacklevel=3)
    return value


def labels(name: str, value: Any, classes: int, count: int | None = None) -> torch.Tensor:
    """Class indices: an integer tensor ``[N]`` with values in ``[0, classes)`` (and ``N == count``
    when given). One-hot, float, negative and too-large labels are errors that say so."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of class indices, got {type(value).__name__}")
    if value.dim() == 2 and value.shape[1] == classes:
        raise ValueError(f"{name} look one-hot (shape {tuple(value.shape)}): pass class indices, "
                         f"{name}.argmax(1)")
    if value.dim() != 1:
        raise ValueError(f"{name} must be class indices of shape [N], got shape {tuple(value.shape)}")
    if value.is_floating_point() or value.dtype == torch.bool:
        raise TypeError(f"{name} must be integer class indices (torch.long), got {value.dtype}: "
                        f"use {name}.long() if they are whole numbers")
    if count is not None and len(value) != count:
        raise ValueError(f"{name}: {len(value)} labels for {count} images; each image needs one label")
    if value.numel():
        low, high = int(value.min()), int(value.max())
        if low < 0 or high >= classes:
            raise ValueError(f"{name} must lie in [0, {classes - 1}] ({classes} classes); got values from "
                             f"{low} to {high}")
    return value


def loader(name: str, value: Any) -> Any:
    """An iterable of ``(images, labels)`` batches that is not empty (when it knows its length)."""
    if isinstance(value, (torch.Tensor, str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be an iterable of (images, labels) batches such as a "
                        f"torch.utils.data.DataLoader, got {type(value).__name__}")
    try:
        n = len(value)
    except TypeError:
        return value
    if n == 0:
        raise ValueError(f"{name} is empty (0 batches): check its dataset and subset, or use drop_last=False")
    return value


def batch(name: str, value: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """One ``(images, labels)`` pair from a loader."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"each batch of {name} must be a pair (images, labels), got {type(value).__name__}"
                        + (f" of length {len(value)}" if isinstance(value, (tuple, list)) else ""))
    return value[0], value[1]


def same_length(names: tuple[str, str], a: Any, b: Any) -> None:
    """Two sequences that are drawn against each other (x and y of a curve)."""
    if len(a) != len(b):
        raise ValueError(f"{names[0]} and {names[1]} must have the same length, got {len(a)} and {len(b)}")


# -- plots and bridge ------------------------------------------------------------------------------
# Figures and the snnTorch bridge take what a reader puts together by hand in a notebook: a dict of
# recorded spikes, training rows, curves, encoded input. A wrong shape or type there used to draw a
# wrong figure without a word, or fail deep inside torch or plotly; these checks name the argument.

def instance(name: str, value: Any, kind: type | tuple, what: str, hint: str = "") -> Any:
    """``value`` if it is a ``kind``, else a ``TypeError`` saying ``what`` is expected (and ``hint``)."""
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}" + (f": {hint}" if hint else ""))
    return value


def mapping(name: str, value: Any, what: str, hint: str = "") -> Any:
    """A non-empty mapping ``what`` (e.g. ``"{layer name: spikes [T, B, ...]}"``)."""
    from collections.abc import Mapping

    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict {what}, got {type(value).__name__}" + (f": {hint}" if hint else ""))
    if not value:
        raise ValueError(f"{name} is empty: it must hold at least one entry {what}")
    return value


def sequence(name: str, value: Any, what: str = "values") -> list:
    """A one-dimensional sequence (list, tuple, range, 1-D tensor or numpy array) as a list; one
    string, a dict, a number or a tensor of more dimensions is an error."""
    from collections.abc import Mapping

    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a list of {what}, got the string {value!r}: write [{value!r}]")
    if isinstance(value, Mapping):
        raise TypeError(f"{name} must be a list of {what}, got a dict: pass list({name}.values()) or "
                        f"list({name}) for its keys")
    if hasattr(value, "ndim") and hasattr(value, "tolist"):                  # a tensor or numpy array
        if value.ndim != 1:
            raise ValueError(f"{name} must be one-dimensional ({what}), got shape {tuple(value.shape)}"
                             + (": pick one row or column, e.g. x[:, 0]" if value.ndim > 1 else ""))
        return value.tolist()
    if not hasattr(value, "__iter__") or not hasattr(value, "__len__"):
        raise TypeError(f"{name} must be a list of {what}, got {type(value).__name__}")
    return list(value)


def names(name: str, value: Any, valid: Iterable[str], item: str = "name") -> list[str]:
    """A list of names, each one of ``valid`` (one string is not read letter by letter); ``item``
    says what a name is, e.g. ``"layer"``."""
    valid = list(valid)
    if isinstance(value, str):
        raise TypeError(f"{name} must be a list of {item}s, got the string {value!r}: write {name}=[{value!r}]")
    items = sequence(name, value, f"{item}s")
    for entry in items:
        if entry not in valid:
            raise ValueError(f"{name} holds an unknown {item} {entry!r}; valid choices: {', '.join(map(repr, valid))}")
    return items


def index(name: str, value: Any, size: int, what: str) -> int:
    """An integer index into ``size`` items (Python's negative indices included): ``what`` names
    the axis, e.g. ``"the batch"``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer index into {what}, got {type(value).__name__}")
    if not -size <= value < size:
        raise ValueError(f"{name}={value} is past the end of {what}, which holds {size}: "
                         f"{name} must lie in 0..{size - 1}")
    return value


def optional_count(name: str, value: Any, minimum: int = 1) -> int | None:
    """``None`` (no limit) or an integer >= ``minimum``."""
    if value is None:
        return None
    try:
        return count(name, value, minimum)
    except (TypeError, ValueError) as err:
        got = type(value).__name__ if isinstance(err, TypeError) else value
        raise type(err)(f"{name} must be None (no limit) or an integer >= {minimum}, got {got}") from None


def numbers(name: str, value: Any, *, dims: tuple[int, ...] | None = None, shape: str = "") -> torch.Tensor:
    """Numbers to compute with or draw (a tensor, or a list, tuple or numpy array, converted) as a
    float tensor with one of ``dims`` dimensions (any when None), not empty, free of NaN and inf.
    ``shape`` describes the expected shape in the error."""
    if isinstance(value, (str, bytes, bool)) or value is None or isinstance(value, dict):
        raise TypeError(f"{name} must be numbers (a tensor{', ' + shape if shape else ''}), got {type(value).__name__}")
    if not isinstance(value, torch.Tensor):
        try:
            value = torch.as_tensor(value)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"{name} must be numbers (a tensor{', ' + shape if shape else ''}), got a "
                            f"{type(value).__name__} that is not: check for None or strings in it") from None
    if value.dtype in (torch.complex64, torch.complex128):
        raise TypeError(f"{name} must be real, got {value.dtype}")
    if dims is not None and value.dim() not in dims:
        raise ValueError(f"{name} must be {shape or f'a tensor of {dims} dimensions'}, got shape {tuple(value.shape)}")
    if value.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(value.shape)}): there is nothing to draw or run")
    value = value.detach().to(torch.float64 if value.dtype == torch.float64 else torch.float32)
    _finite(name, value, f"keep the finite ones, {name}[torch.isfinite({name})], or find what produced them")
    return value


def spike_tensor(name: str, value: Any, *, dims: tuple[int, ...] | None = None, min_dim: int = 0,
                 shape: str = "spikes [T, ...]", hint: str = "") -> torch.Tensor:
    """Spikes: a non-empty tensor (of one of ``dims`` dimensions, or at least ``min_dim``) free of
    NaN; any dtype (float, int, bool). Values are not checked here: see :func:`spike_values`."""
    tensor(name, value)
    if (dims is not None and value.dim() not in dims) or value.dim() < min_dim:
        raise ValueError(f"{name} must be {shape}, got shape {tuple(value.shape)}" + (f": {hint}" if hint else ""))
    if value.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(value.shape)}): there are no steps or neurons to draw")
    return value


def spike_values(name: str, value: torch.Tensor, hint: str) -> torch.Tensor:
    """Spikes hold only -1, 0 and 1 (signed spikes included): anything else is an error with ``hint``."""
    if value.dtype == torch.bool:
        return value
    other = (value != 0) & (value.abs() != 1)
    if bool(other.any()):
        example = float(value[other].flatten()[0])
        raise ValueError(f"{name} must hold spikes (0 and 1, or -1/0/1), got other values such as {example:g} "
                         f"({int(other.sum())} of {value.numel()} entries): {hint}")
    return value


def rows(name: str, value: Any, keys: Iterable[str], hint: str = "") -> list:
    """A non-empty list of dicts (e.g. training rows), each with every one of ``keys``."""
    from collections.abc import Mapping, Sequence

    keys = list(keys)
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a list of dicts with {', '.join(keys)}, got {type(value).__name__}"
                        + (f": {hint}" if hint else ""))
    if not value:
        raise ValueError(f"{name} is empty: it needs one row (a dict with {', '.join(keys)}) per epoch at least")
    for i, row in enumerate(value):
        if not isinstance(row, Mapping):
            raise TypeError(f"{name}[{i}] must be a dict with {', '.join(keys)}, got {type(row).__name__}")
        missing = [k for k in keys if k not in row]
        if missing:
            raise ValueError(f"{name}[{i}] lacks {', '.join(map(repr, missing))} (it has "
                             f"{', '.join(map(repr, row)) or 'nothing'}): each row needs {', '.join(keys)}"
                             + (f"; {hint}" if hint else ""))
    return list(value)
