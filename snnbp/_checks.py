"""Argument checks shared by the library: each error names the argument and the valid choices."""
from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

import torch


def choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a ``ValueError`` listing them."""
    choices = list(choices)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {choices}; got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; valid choices: {', '.join(map(repr, choices))}")
    return value


def positive(name: str, value: float) -> float:
    """A strictly positive real number (e.g. a threshold ``V_th > 0``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number > 0, got {type(value).__name__}")
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return float(value)


def leak(name: str, value: float) -> float:
    """A leak factor ``lam`` in (0, 1]; 1 means no leak (an IF neuron)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number in (0, 1], got {type(value).__name__}")
    if not 0 < value <= 1:
        raise ValueError(f"{name} must lie in (0, 1], got {value}")
    return float(value)


def probability(name: str, value: float) -> float:
    """A probability in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number in [0, 1), got {type(value).__name__}")
    if not 0 <= value < 1:
        raise ValueError(f"{name} must lie in [0, 1), got {value}")
    return float(value)


def count(name: str, value: int, minimum: int = 1) -> int:
    """An integer >= ``minimum`` (e.g. a number of time steps)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def tensor(name: str, value: Any, *, min_dim: int = 0, finite: bool = True) -> torch.Tensor:
    """A floating tensor of at least ``min_dim`` dimensions, optionally free of NaN."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.dim() < min_dim:
        raise ValueError(f"{name} must have at least {min_dim} dimensions, got shape {tuple(value.shape)}")
    if finite and value.is_floating_point() and bool(torch.isnan(value).any()):
        raise ValueError(f"{name} contains NaN")
    return value


# -- command lines ---------------------------------------------------------------------------------
# A user's mistake at the command line is one line on stderr, ``error: ...``, naming the option or
# file and what would be valid, and a non-zero exit: 2 when the command cannot start as given (an
# argument, a missing or damaged file, a folder, a device), 1 when a run started and failed (the
# loss diverged, the disk filled up, a folder refused writing), 130 after Ctrl-C. Tracebacks are
# for bugs; ``--debug`` shows them for everything.

class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors are one line, ``error: argument --epochs: must be an
    integer >= 1, got '0' (see python -m snnbp.train --help)``, with exit status 2 (no usage block)."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _argument(convert: Callable[[str], Any], valid: Callable[[Any], bool], what: str) -> Callable[[str], Any]:
    def parse(text: str):
        try:
            value = convert(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not valid(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    parse.__name__ = what
    return parse


def count_arg(minimum: int = 1) -> Callable[[str], int]:
    """An argparse ``type=``: an integer >= ``minimum`` (1 for counts such as epochs, 0 for e.g. workers)."""
    return _argument(int, lambda v: v >= minimum, f"an integer >= {minimum}")


def positive_arg() -> Callable[[str], float]:
    """An argparse ``type=``: a finite real number > 0 (e.g. a learning rate)."""
    return _argument(float, lambda v: math.isfinite(v) and v > 0, "a finite number > 0")


def probability_arg() -> Callable[[str], float]:
    """An argparse ``type=``: a probability in [0, 1) (e.g. a dropout rate)."""
    return _argument(float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def choice_arg(choices: Iterable[str]) -> Callable[[str], str]:
    """An argparse ``type=`` for one of ``choices`` where ``choices=`` cannot be used (e.g. with ``nargs``)."""
    choices = list(choices)
    return _argument(str, lambda v: v in choices, "one of " + ", ".join(choices))


def exit_code(err: BaseException) -> int | None:
    """The exit status a command line gives ``err`` if it is a user's problem, else None (a bug).

    2: bad input (``ValueError``, a file or folder that is absent or may not be written); 1: a
    run that failed on the way (any other ``OSError``, e.g. no space left); an exception's own
    ``exit_code`` attribute wins (e.g. ``TrainingDiverged``: 1).
    """
    code = getattr(err, "exit_code", None)
    if code is not None:
        return code
    if isinstance(err, (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError, FileExistsError,
                        PermissionError)):
        return 2
    if isinstance(err, OSError):
        return 1
    return None


def describe(err: BaseException) -> str:
    """``err`` as one line: an ``OSError`` as ``<file>: <reason>``, anything else as its message."""
    if isinstance(err, OSError) and err.strerror and not getattr(err, "exit_code", None):
        files = " -> ".join(str(f) for f in (err.filename, err.filename2) if f is not None)
        text = f"{files}: {err.strerror}" if files else err.strerror
    else:
        text = str(err) or type(err).__name__
    return " ".join(text.split())


def run_command(work: Callable[[], int], *, debug: bool = False,
                interrupted: Callable[[], str] | None = None) -> int:
    """Run a command line's ``work`` and return its exit status; a user's problem (see
    :func:`exit_code`) becomes one line ``error: ...`` on stderr, Ctrl-C one line
    ``interrupted: <interrupted()>`` (e.g. what was kept and how to continue) and status 130.
    ``debug``: raise instead.

    Ctrl-C raises ``KeyboardInterrupt`` at once, as usual, and is also remembered
    (:func:`ctrl_c_pending`): Python drops an exception raised inside a finaliser (``__del__``, a
    generator being closed), where a signal can land, so loops (:func:`snnbp.train.progress`) raise
    it again at their next item."""
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, _on_ctrl_c) if in_main else None
    _CtrlC.pending = False
    try:
        return work()
    except KeyboardInterrupt:
        if debug:
            raise
        note = interrupted() if interrupted is not None else ""
        print("interrupted" + (f": {note}" if note else ""), file=sys.stderr)
        return 130
    except Exception as err:
        code = exit_code(err)
        if debug or code is None:
            raise
        print(f"error: {describe(err)}", file=sys.stderr)
        return code
    finally:
        _CtrlC.pending = False
        if in_main:
            signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)


class _CtrlC:
    pending = False


def _on_ctrl_c(signum, frame):
    _CtrlC.pending = True
    raise KeyboardInterrupt


def ctrl_c_pending() -> bool:
    """Whether Ctrl-C was pressed during :func:`run_command`'s work (and not yet handled)."""
    return _CtrlC.pending
