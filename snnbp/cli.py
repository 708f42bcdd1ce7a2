"""The command lines' machinery: argument types, one-line errors, exit statuses, Ctrl-C and the
progress bars of long loops (which stop at a Ctrl-C).

Every ``python -m snnbp.<command>`` (train, evaluate, results, grade, assignments) parses its
arguments with :class:`ArgumentParser` and runs its work through :func:`run_command`. The values
themselves are checked by :mod:`snnbp.validate`; this module only decides what a user sees and
which status the process exits with. The library's core (neurons, models, training) does not
import it: no module both checks values and handles signals or exit codes.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["ArgumentParser", "argument", "count_arg", "positive_arg", "probability_arg", "rate_arg", "choice_arg",
           "exit_code", "describe", "run_command", "ctrl_c_pending",
           "ctrl_c_deferred", "progress"]

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


def argument(convert: Callable[[str], Any], valid: Callable[[Any], bool], what: str) -> Callable[[str], Any]:
    """An argparse ``type=``: ``convert`` the text, then accept it if ``valid``; errors say ``what`` is expected."""

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
    return argument(int, lambda v: v >= minimum, f"an integer >= {minimum}")


def positive_arg() -> Callable[[str], float]:
    """An argparse ``type=``: a finite real number > 0 (e.g. a learning rate)."""
    return argument(float, lambda v: math.isfinite(v) and v > 0, "a finite number > 0")


def probability_arg() -> Callable[[str], float]:
    """An argparse ``type=``: a probability in [0, 1) (e.g. a dropout rate)."""
    return argument(float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def rate_arg() -> Callable[[str], float]:
    """An argparse ``type=``: a firing rate in (0, 1) (e.g. ``--init-rate``)."""
    return argument(float, lambda v: 0 < v < 1, "a firing rate in (0, 1)")


def choice_arg(choices: Iterable[str]) -> Callable[[str], str]:
    """An argparse ``type=`` for one of ``choices`` where ``choices=`` cannot be used (e.g. with ``nargs``)."""
    choices = list(choices)
    return argument(str, lambda v: v in choices, "one of " + ", ".join(choices))


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
    generator being closed), where a signal can land, so loops (:func:`snnbp.cli.progress`) raise
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


@contextlib.contextmanager
def ctrl_c_deferred():
    """Hold a SIGINT that arrives inside the block and raise it (``KeyboardInterrupt``) at its end."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda *args: caught.append(args))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)
    if caught:
        raise KeyboardInterrupt


def progress(iterable, quiet: bool = False, **kw):
    """A progress bar (console or notebook) over ``iterable`` that iterates it exactly once, drawn by
    rank 0 only.

    ``tqdm.auto``'s bar calls ``iter()`` on its iterable when it is made and again when it is
    looped over; for a DataLoader that is two iterators: two draws from its shuffling generator
    (the epoch's order is then not the one the seed gives) and, with workers, two sets of worker
    processes. A generator already started over ``iterable`` is iterated once, whoever asks.
    """
    from tqdm.auto import tqdm

    from .distributed import length, rank  # here: distributed is torch, this module stdlib

    if "total" not in kw:
        kw["total"] = length(iterable)
    return tqdm(_stop_on_ctrl_c(iterable), disable=quiet or rank() != 0, **kw)


def _stop_on_ctrl_c(iterable: Iterable):
    """``iterable``'s items; ``KeyboardInterrupt`` before the next one if a Ctrl-C was pressed and
    its exception lost (see :func:`run_command`)."""
    for item in iterable:
        if ctrl_c_pending():
            raise KeyboardInterrupt
        yield item
