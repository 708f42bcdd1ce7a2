"""``python -m snnbp.grade NOTEBOOK ... [--json] [--csv FILE]``: the grader's command line.

Exit status 0 when every notebook could be graded (whatever its score), 1 when one found in a
folder could not (unreadable, unknown assignment, no kernel), 2 for a bad argument: one line
``error: ...`` on stderr (:func:`snnbp.cli.run_command`); ``--debug`` shows the traceback.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from .. import assignments as _assignments
from .. import cli
from ..assignments.release import read_notebook
from .batch import grade_paths, notebooks, write_csv
from .notebook import DEFAULT_CHECK_TIMEOUT, DEFAULT_TIMEOUT

__all__ = ["main", "parser", "check_paths"]


def parser() -> cli.ArgumentParser:
    """The grader's argument parser."""
    p = cli.ArgumentParser(prog="python -m snnbp.grade", description=(
        "Execute submitted assignment notebooks in separate Jupyter kernels with a time limit and grade "
        "them with the checks of snnbp.assignments. This RUNS the submitted code: grade untrusted "
        "submissions inside a sandbox."))
    p.add_argument("notebooks", nargs="+", metavar="NOTEBOOK", help="a notebook, or a folder of notebooks")
    p.add_argument("--assignment", choices=_assignments.NAMES,
                   help="which assignment (default: the notebook's metadata, else its file name)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                   help=f"seconds for all cells of a submission together (default {DEFAULT_TIMEOUT:g})")
    p.add_argument("--check-timeout", type=float, default=DEFAULT_CHECK_TIMEOUT,
                   help=f"seconds for each question's check (default {DEFAULT_CHECK_TIMEOUT:g})")
    p.add_argument("--kernel", default="python3", help="Jupyter kernel name (default python3)")
    p.add_argument("--json", action="store_true", help="print JSON (one object, or a list for several notebooks)")
    p.add_argument("--csv", metavar="FILE", help="also write one row per notebook to FILE")
    p.add_argument("--debug", action="store_true", help="show the traceback of every error (to report a bug)")
    return p


def check_paths(paths: list[str]) -> None:
    """Every NOTEBOOK argument must be a notebook, or a folder that holds some; else ``ValueError``."""
    for text in paths:
        path = Path(text)
        if not path.exists():
            raise ValueError(f"NOTEBOOK {text}: no such file or folder; pass .ipynb notebooks or folders of them")
        if path.is_dir():
            if not notebooks([path]):
                raise ValueError(f"NOTEBOOK {text}: the folder holds no .ipynb notebooks; "
                                 "pass .ipynb notebooks or folders of them")
        else:
            read_notebook(path, "NOTEBOOK")


def _grade(args) -> int:
    for flag in ("timeout", "check_timeout"):
        value = getattr(args, flag)
        if not (value > 0 and math.isfinite(value)):
            raise ValueError(f"--{flag.replace('_', '-')} must be a number of seconds > 0, got {value:g}")
    check_paths(args.notebooks)
    reports = grade_paths(args.notebooks, assignment=args.assignment, timeout=args.timeout,
                          check_timeout=args.check_timeout, kernel_name=args.kernel, progress=not args.json)
    if args.json:
        data = [r.to_dict() for r in reports]
        print(json.dumps(data[0] if len(data) == 1 else data, indent=2))
    else:
        print("\n\n".join(r.table() for r in reports))
    if args.csv:
        write_csv(reports, args.csv)
        if not args.json:
            print(f"\nwrote {args.csv}")
    return 1 if any(r.error for r in reports) else 0


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring."""
    args = parser().parse_args(argv)
    return cli.run_command(lambda: _grade(args), debug=args.debug)
