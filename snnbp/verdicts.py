r"""One checking framework for the book's exercises (:mod:`snnbp.exercises`) and the graded
assignments (:mod:`snnbp.assignments`).

* running student code: :func:`classify` turns what a call raised into a status and a sentence
  (a stub that still raises ``NotImplementedError`` is *not attempted*, :class:`Wrong` is a wrong
  answer, anything else an *error*), and :class:`Verdict` shows a verdict in a notebook;
* comparing answers: :func:`difference` (a sentence, or ``None`` when close enough),
  :func:`expect`, :func:`expect_shape`, :func:`expect_close`, :func:`expect_equal`;
* inputs: :func:`clone` (so student code cannot change them), :func:`describe` (short text for a
  message), :func:`generator` and :func:`seeded` (randomness that never touches, or always
  restores, the global RNG);
* the *wire format* the grader and a submission's kernel exchange: :func:`encode` turns numbers,
  strings, lists, dicts and tensors into base64 text of JSON (tensors as dtype, shape and raw
  little-endian bytes), and :func:`decode` reads such text back **without running any code**:
  no pickle, no ``eval``; sizes, dtypes and shapes are checked before a byte is used, and
  anything else raises :class:`Malformed`. Objects of other types travel as :class:`Opaque`
  (their type name only).

Used by every chapter's exercises (:mod:`snnbp.exercises`) and by the graded assignments
(:mod:`snnbp.assignments`).
"""
from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import json
import math
import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

__all__ = ["STATUSES", "NOT_ATTEMPTED", "Wrong", "Malformed", "Opaque", "Verdict", "classify",
           "difference", "expect", "expect_shape", "expect_close", "expect_equal", "clone", "describe",
           "generator", "seeded", "encode", "decode", "WIRE_DTYPES"]

#: what can happen to a checked answer, best first
STATUSES = ("passed", "wrong", "not attempted", "missing", "error", "timeout", "not run")

NOT_ATTEMPTED = "Replace `raise NotImplementedError` with your code, run the cell, then check again."


class Wrong(AssertionError):
    """A wrong answer; the message says, for which input, what was expected and what came back."""


class Malformed(ValueError):
    """Text that is not valid wire format (see :func:`decode`)."""


@dataclasses.dataclass(frozen=True)
class Opaque:
    """A value of a type the wire format does not carry: only its type name travelled."""

    type_name: str

    def __repr__(self) -> str:
        return f"<a {self.type_name}>"


class Verdict:
    """What a verdict class shares: ``status`` (one of :data:`STATUSES`), ``passed``, and a notebook
    shows ``str(verdict)`` instead of the dataclass fields. Subclasses are ``@dataclass(repr=False)``
    (IPython would show a ``__repr__`` of their own instead of the verdict)."""

    status: str

    def __repr__(self) -> str:
        fields = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self))
        return f"{type(self).__name__}({fields})"

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def mark(self) -> str:
        """A symbol for the status: a tick, a pencil (not attempted) or a cross."""
        return {"passed": "\u2705", "not attempted": "\u270f\ufe0f "}.get(self.status, "\u274c")

    def _repr_pretty_(self, printer, cycle) -> None:   # IPython shows the verdict, not the dataclass
        printer.text(str(self))


def classify(error: BaseException) -> tuple[str, str]:
    """The status and the sentence for an exception raised by (or while checking) student code."""
    if isinstance(error, NotImplementedError):
        return "not attempted", NOT_ATTEMPTED
    if isinstance(error, Wrong):
        return "wrong", str(error)
    return "error", f"{type(error).__name__}: {error}"


# -- comparing answers ---------------------------------------------------------------------------

def difference(expected: Any, got: Any, *, rtol: float = 1e-5, atol: float = 1e-6) -> str | None:
    """``None`` when ``got`` equals ``expected`` within tolerances (numbers, tensors, or tuples/lists
    of them, elementwise; NaN equals NaN), else a sentence saying where they differ."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"expected {len(expected)} values (a tuple), got {describe(got)}"
        for k, (e, g) in enumerate(zip(expected, got)):
            problem = difference(e, g, rtol=rtol, atol=atol)
            if problem is not None:
                return f"value {k + 1} of {len(expected)}: {problem}"
        return None
    try:
        g = torch.as_tensor(got, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return f"expected a number or tensor, got {describe(got)}"
    e = torch.as_tensor(expected, dtype=torch.float64)
    if g.shape != e.shape:
        return f"expected shape {tuple(e.shape)}, got {tuple(g.shape)}"
    if torch.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
        return None
    k = int((g - e).abs().flatten().nan_to_num(math.inf).argmax())
    return (f"expected {describe(expected)}, got {describe(got)} (largest difference at flat position {k}: "
            f"expected {e.flatten()[k].item():.6g}, got {g.flatten()[k].item():.6g})")


def expect(condition: bool, message: str) -> None:
    """Raise :class:`Wrong` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise Wrong(message)


def expect_shape(what: str, got: Any, shape: tuple[int, ...]) -> torch.Tensor:
    """``got`` must be a tensor of ``shape``; returns it."""
    expect(isinstance(got, torch.Tensor), f"{what} must be a torch.Tensor, got {describe(got)}.")
    expect(tuple(got.shape) == tuple(shape), f"{what} must have shape {tuple(shape)}, got {tuple(got.shape)}.")
    return got


def expect_close(what: str, got: Any, expected: torch.Tensor, *, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """``got`` must be a tensor of ``expected``'s shape and equal to it within tolerances."""
    expect_shape(what, got, tuple(expected.shape))
    problem = difference(expected.detach(), got.detach(), rtol=rtol, atol=atol)
    expect(problem is None, f"{what} is off: {problem}.")


def expect_equal(what: str, got: Any, expected: torch.Tensor) -> None:
    """``got`` must equal ``expected`` exactly (e.g. spikes)."""
    expect_close(what, got, expected, rtol=0.0, atol=0.0)


# -- inputs --------------------------------------------------------------------------------------

def clone(value: Any) -> Any:
    """A deep copy of tensors (and tuples/lists/dicts of them), so student code cannot change our inputs."""
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, (tuple, list)):
        return type(value)(clone(v) for v in value)
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    return value


def describe(value: Any, limit: int = 80) -> str:
    """A short description for a message: small tensors in full, large ones by shape, long text cut."""
    if isinstance(value, torch.Tensor):
        if value.numel() <= 6:
            return f"tensor({[round(v, 4) for v in value.detach().flatten().tolist()]}, shape={tuple(value.shape)})"
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, (tuple, list)):
        text = "(" + ", ".join(describe(v, limit) for v in value[:8]) + (", ..." if len(value) > 8 else "") + ")"
    elif isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed``: randomness that leaves the global RNG alone."""
    return torch.Generator().manual_seed(int(seed))


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run code that draws from the global RNG (e.g. a network's Poisson input and dropout) with
    ``seed``, and put the global RNG back as it was afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


# -- the wire format -----------------------------------------------------------------------------

#: tensor dtypes the wire format carries (others are converted: bfloat16 to float32, complex refused)
WIRE_DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")
_MAX_DEPTH = 32


def _pack(value: Any, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        return {"__object__": "structure nested too deeply"}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
        if tensor.dtype == torch.bfloat16:
            tensor = tensor.float()
        name = str(tensor.dtype).removeprefix("torch.")
        if name not in WIRE_DTYPES:
            return {"__object__": f"tensor of dtype {name}"}
        data = tensor.contiguous().numpy().astype(np.dtype(name).newbyteorder("<"), copy=False).tobytes()
        return {"__tensor__": name, "shape": list(tensor.shape), "data": base64.b64encode(data).decode("ascii")}
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (tuple, list)):
        return [_pack(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {"__dict__": {str(k): _pack(v, depth + 1) for k, v in value.items()}}
    return {"__object__": type(value).__name__}


def encode(value: Any) -> str:
    """``value`` (numbers, strings, ``None``, lists, tuples, dicts, tensors; other objects by type
    name) as ASCII text: base64 of JSON. Tuples arrive as lists, dict keys as strings."""
    return base64.b64encode(json.dumps(_pack(value)).encode("utf-8")).decode("ascii")


class _Budget:
    def __init__(self, elements: int):
        self.left = elements

    def take(self, count: int) -> None:
        if count > self.left:
            raise Malformed("the tensors hold more elements than allowed")
        self.left -= count


def _tensor(node: dict, budget: _Budget) -> torch.Tensor:
    name, shape, data = node.get("__tensor__"), node.get("shape"), node.get("data")
    if set(node) != {"__tensor__", "shape", "data"} or name not in WIRE_DTYPES:
        raise Malformed(f"a tensor must have one of the dtypes {', '.join(WIRE_DTYPES)}")
    if (not isinstance(shape, list) or len(shape) > 8
            or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 2 ** 31 for n in shape)):
        raise Malformed("a tensor's shape must be a list of at most 8 sizes >= 0")
    count = math.prod(shape)
    budget.take(count)
    dtype = np.dtype(name).newbyteorder("<")
    if not isinstance(data, str) or len(data) != 4 * math.ceil(count * dtype.itemsize / 3):
        raise Malformed(f"a tensor of shape {shape} and dtype {name} must carry {count * dtype.itemsize} bytes")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as error:
        raise Malformed(f"a tensor's data is not base64 ({error})") from None
    if len(raw) != count * dtype.itemsize:
        raise Malformed(f"a tensor of shape {shape} and dtype {name} must carry {count * dtype.itemsize} bytes")
    array = np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="), copy=True).reshape(shape)
    return torch.from_numpy(array)


def _unpack(node: Any, budget: _Budget, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH + 2:
        raise Malformed("the structure is nested too deeply")
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        budget.take(len(node))
        return [_unpack(v, budget, depth + 1) for v in node]
    if isinstance(node, dict):
        if "__tensor__" in node:
            return _tensor(node, budget)
        if set(node) == {"__dict__"} and isinstance(node["__dict__"], dict):
            budget.take(len(node["__dict__"]))
            return {k: _unpack(v, budget, depth + 1) for k, v in node["__dict__"].items()}
        if set(node) == {"__object__"} and isinstance(node["__object__"], str):
            return Opaque(node["__object__"][:80])
    raise Malformed(f"unexpected value of type {type(node).__name__}")


def decode(text: str, *, max_chars: int = 64 * 2 ** 20, max_elements: int = 16 * 2 ** 20) -> Any:
    """The value :func:`encode` wrote; safe on untrusted text.

    Only JSON is parsed (never pickle or code); tensors are rebuilt with ``numpy.frombuffer`` after
    their dtype, shape and byte count are checked. Raises :class:`Malformed` for text longer than
    ``max_chars``, more than ``max_elements`` tensor elements and list/dict entries together, or
    anything that is not exactly what :func:`encode` writes.
    """
    if not isinstance(text, str) or len(text) > max_chars:
        raise Malformed(f"the text is not a string of at most {max_chars} characters")
    try:
        data = json.loads(base64.b64decode(text.encode("ascii"), validate=True))
    except (UnicodeError, binascii.Error, ValueError, RecursionError) as error:
        raise Malformed(f"not base64 of JSON ({type(error).__name__})") from None
    try:
        return _unpack(data, _Budget(max_elements))
    except RecursionError:
        raise Malformed("the structure is nested too deeply") from None

