"""Command lines of the course kit: a user's mistake is one line on stderr, ``error: ...``, never a traceback."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

import nbformat

__all__ = ["Parser", "fail", "read_notebook"]


def fail(message: str, status: int = 2) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``status`` (2: bad arguments)."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(status)


class Parser(argparse.ArgumentParser):
    """An ``argparse`` parser whose errors are one line, ``error: ...`` (no usage text), exit status 2."""

    def error(self, message: str) -> NoReturn:
        fail(message)


def read_notebook(path: str | Path, what: str) -> nbformat.NotebookNode:
    """The notebook at ``path``, or :func:`fail` naming ``what`` (the option or argument) and the problem."""
    try:
        return nbformat.read(path, as_version=4)
    except OSError as error:
        fail(f"{what} {path}: cannot be read ({error.strerror or error}); pass a Jupyter notebook (.ipynb)")
    except Exception as error:  # noqa: BLE001 - not JSON, or JSON that is not a notebook
        reason = "not JSON" if type(error).__name__ == "NotJSONError" else " ".join(str(error).split())[:120]
        fail(f"{what} {path}: not a Jupyter notebook ({reason}); pass a Jupyter notebook (.ipynb)")
