r"""Student notebooks from instructor notebooks: one source, never maintained twice.

An instructor notebook (``assignments/source/NAME.ipynb``) holds the full solutions. In a code
cell, the lines between two marker lines

.. code-block:: python

    def lif_step(v, current, leak, threshold):
        ### BEGIN SOLUTION
        h = v + current
        ...
        ### END SOLUTION

are the solution; the student notebook (``assignments/release/NAME.ipynb``) gets, at the same
indentation, ``# YOUR CODE HERE`` and ``raise NotImplementedError`` instead. Cells tagged
``instructor-only`` are left out; outputs and execution counts are cleared. Generating again
gives the same bytes, and a notebook without markers is copied unchanged, so the step is
idempotent. Commands::

    python -m snnbp.assignments release           # write assignments/release/ from assignments/source/
    python -m snnbp.assignments release --check   # exit 1 if a committed student notebook is stale
"""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from .. import cli

__all__ = ["BEGIN", "END", "STUB", "DROP_TAG", "strip_solutions", "student_notebook", "solution_regions",
           "release", "default_folder", "read_notebook", "main"]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError")
DROP_TAG = "instructor-only"


def solution_regions(source: str, *, where: str = "cell") -> list[tuple[int, int]]:
    """``(begin, end)`` line numbers of every solution region (the marker lines themselves).

    Raises ``ValueError`` naming ``where`` for a marker without its partner or nested markers.
    """
    regions, start = [], None
    for number, line in enumerate(source.splitlines()):
        text = line.strip()
        if text == BEGIN:
            if start is not None:
                raise ValueError(f"{where}: line {number + 1} opens a solution region inside another "
                                 f"(the one opened on line {start + 1})")
            start = number
        elif text == END:
            if start is None:
                raise ValueError(f"{where}: the marker on line {number + 1} closes a solution region that was "
                                 "never opened")
            regions.append((start, number))
            start = None
    if start is not None:
        raise ValueError(f"{where}: the solution region opened on line {start + 1} is never closed with {END!r}")
    return regions


def strip_solutions(source: str, *, where: str = "cell") -> str:
    """``source`` with every solution region replaced by an indented ``raise NotImplementedError`` stub."""
    lines = source.splitlines()
    out, last = [], 0
    for begin, end in solution_regions(source, where=where):
        indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
        out += lines[last:begin] + [indent + stub for stub in STUB]
        last = end + 1
    return "\n".join(out + lines[last:])


def student_notebook(notebook: nbformat.NotebookNode, *, name: str = "notebook") -> nbformat.NotebookNode:
    """The student version of an instructor ``notebook`` (which is left unchanged)."""
    student = copy.deepcopy(notebook)
    cells = []
    for index, cell in enumerate(student.cells):
        if DROP_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source, where=f"{name}, cell {index}")
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    student.cells = cells
    student.metadata.pop("widgets", None)
    student.metadata.setdefault("snnbp", {})["version"] = "student"
    return student


def default_folder() -> Path:
    """The repository's ``assignments/`` folder (this package is installed in editable mode), else ``./assignments``."""
    here = Path(__file__).resolve().parents[2] / "assignments"
    return here if (here / "source").is_dir() else Path("assignments")


def _text(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook).rstrip("\n") + "\n"


def release(source: str | Path | None = None, target: str | Path | None = None, *,
            check: bool = False) -> list[Path]:
    """Write the student version of every ``source/*.ipynb`` into ``target`` (default ``release/``).

    Returns the student notebooks that were (``check=True``: would be) created or changed; with
    ``check=True`` nothing is written.
    """
    source = Path(source) if source is not None else default_folder() / "source"
    target = Path(target) if target is not None else source.parent / "release"
    if not source.is_dir():
        raise FileNotFoundError(f"no instructor notebooks: {source} is not a folder (pass --source DIR)")
    changed = []
    for path in sorted(source.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        text = _text(student_notebook(notebook, name=path.name))
        out = target / path.name
        if not out.exists() or out.read_text(encoding="utf-8") != text:
            changed.append(out)
            if not check:
                target.mkdir(parents=True, exist_ok=True)
                out.write_text(text, encoding="utf-8")
    return changed


def read_notebook(path: str | Path, what: str) -> nbformat.NotebookNode:
    """The notebook at ``path``; ``ValueError`` naming ``what`` (the option or argument) and the problem."""
    try:
        return nbformat.read(path, as_version=4)
    except OSError as error:
        raise ValueError(f"{what} {path}: cannot be read ({error.strerror or error}); "
                         "pass a Jupyter notebook (.ipynb)") from None
    except Exception as error:  # noqa: BLE001 - not JSON, or JSON that is not a notebook
        reason = "not JSON" if type(error).__name__ == "NotJSONError" else " ".join(str(error).split())[:120]
        raise ValueError(f"{what} {path}: not a Jupyter notebook ({reason}); "
                         "pass a Jupyter notebook (.ipynb)") from None


def parser() -> cli.ArgumentParser:
    """``release [--source DIR] [--release DIR] [--check] [--debug]``."""
    p = cli.ArgumentParser(prog="python -m snnbp.assignments release",
                                description="Generate student notebooks from instructor notebooks.")
    p.add_argument("--source", help="folder of instructor notebooks (default: assignments/source)")
    p.add_argument("--release", help="folder for the student notebooks (default: next to source, release/)")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if a student notebook is stale")
    p.add_argument("--debug", action="store_true", help="show the traceback of every error (to report a bug)")
    return p


def _release(args) -> int:
    source = Path(args.source) if args.source else default_folder() / "source"
    if not source.is_dir() or not any(source.glob("*.ipynb")):
        raise ValueError(f"--source {source}: not a folder of instructor notebooks (.ipynb); pass --source DIR")
    for path in sorted(source.glob("*.ipynb")):
        read_notebook(path, "instructor notebook")
    changed = release(source, args.release, check=args.check)
    verb = "out of date" if args.check else "written"
    for path in changed:
        print(f"{verb}: {path}")
    if not changed:
        print("student notebooks are up to date")
    return 1 if (args.check and changed) else 0


def main(argv: list[str] | None = None) -> int:
    """``release`` (see the module docstring): 0 when done, 1 when ``--check`` finds a stale student
    notebook, 2 for a bad argument (one line ``error: ...``; ``--debug`` shows the traceback)."""
    args = parser().parse_args(argv)
    return cli.run_command(lambda: _release(args), debug=args.debug)
