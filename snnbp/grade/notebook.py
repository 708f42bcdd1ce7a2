"""Grade one submitted notebook: run its cells in a fresh :class:`~snnbp.grade.kernel.Kernel`, then
every question's check, judged here (see :mod:`snnbp.grade` for what runs where and why).

:func:`grade_notebook` returns a :class:`Report` (an :class:`~snnbp.assignments.Outcome` per
question, what happened to each cell) and never raises for a bad submission.
"""
from __future__ import annotations

import ast
import re
import secrets
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from .. import assignments as _assignments
from ..assignments import Assignment, Outcome
from ..assignments._core import outcome as _outcome
from ..assignments._core import question_generator, verdict
from ..verdicts import Malformed, decode, encode
from .kernel import Kernel, shorten

__all__ = ["CellRun", "Report", "is_self_check", "grade_notebook", "find_assignment", "read_reply",
           "DEFAULT_TIMEOUT", "DEFAULT_CHECK_TIMEOUT", "MAX_REPLY_CHARS", "MAX_REPLY_ELEMENTS"]

DEFAULT_TIMEOUT = 600.0          # seconds for all of a submission's cells together
DEFAULT_CHECK_TIMEOUT = 120.0    # seconds per question's check
MAX_REPLY_CHARS = 32 * 2 ** 20   # the longest answer a question may send back (base64 text)
MAX_REPLY_ELEMENTS = 8 * 2 ** 20  # tensor elements and list entries in one answer
_REPLY = "_snnbp_grader_reply"


@dataclass
class CellRun:
    """One code cell of the submission: its index in the notebook, status and error (if any)."""

    index: int
    status: str                      # ok, error, timeout, dead, not run, self-check (skipped)
    seconds: float = 0.0
    error: str = ""


@dataclass
class Report:
    """The grade of one notebook: an :class:`~snnbp.assignments.Outcome` per question, what
    happened to each code cell, and ``error`` when the notebook could not be graded at all."""

    notebook: str
    assignment: str = ""
    title: str = ""
    seed: int = 0                    # the inputs of every question were drawn from it
    outcomes: list[Outcome] = field(default_factory=list)
    cells: list[CellRun] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""

    @property
    def score(self) -> int:
        return sum(o.points for o in self.outcomes)

    @property
    def total(self) -> int:
        return sum(o.max_points for o in self.outcomes)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(score=self.score, total=self.total)
        return data

    def table(self) -> str:
        """A plain-text report: the problems met while running the notebook, then one line per question."""
        lines = [f"{self.notebook}: {self.assignment or '?'}" + (f" ({self.title})" if self.title else "")]
        if self.error:
            return "\n".join(lines + [f"  NOT GRADED: {self.error}"])
        ran = sum(c.status not in ("not run", "self-check") for c in self.cells)
        checks = sum(c.status == "self-check" for c in self.cells)
        lines.append(f"  ran {ran} of {len(self.cells) - checks} code cells ({checks} self-check cells skipped), "
                     f"graded in {self.seconds:.1f} s")
        for cell in self.cells:
            if cell.status not in ("ok", "not run", "self-check"):
                lines.append(f"  cell {cell.index}: {cell.status}: {shorten(cell.error, 200)}")
        skipped = [c.index for c in self.cells if c.status == "not run"]
        if skipped:
            lines.append(f"  not run: cells {', '.join(map(str, skipped))}")
        width = max((len(o.title) for o in self.outcomes), default=8)
        for o in self.outcomes:
            line = f"  {o.question.upper():<4}{o.title:<{width}}  {o.points:>3} / {o.max_points:<3} {o.status}"
            lines.append(line + (f": {shorten(o.message, 300)}" if o.message else ""))
        lines.append(f"  {'TOTAL':<4}{'':<{width - 1}}  {self.score:>3} / {self.total}")
        return "\n".join(lines)


def find_assignment(notebook: nbformat.NotebookNode, path: Path, name: str | None = None) -> Assignment:
    """The assignment a notebook answers: ``name`` if given, else its metadata (``snnbp.assignment``),
    else the assignment whose name appears in the file name. Raises ``ValueError`` otherwise."""
    if name is not None:
        return _assignments.get(name)
    tagged = notebook.get("metadata", {}).get("snnbp", {}).get("assignment")
    if tagged in _assignments.ASSIGNMENTS:
        return _assignments.get(tagged)
    matches = [a for a in _assignments.NAMES if a in path.stem]
    if len(matches) == 1:
        return _assignments.get(matches[0])
    raise ValueError(f"cannot tell which assignment {path.name} answers (no snnbp.assignment in its metadata, "
                     f"and its name matches {len(matches)} of {', '.join(_assignments.NAMES)}); pass --assignment NAME")


def _respond_code(assignment: str, question: str, request: str) -> str:
    """The grader's cell for one question: run the notebook's objects on the request (wire text);
    the reply (wire text) is read back as a user expression. Nothing in it decides the verdict."""
    return ("import snnbp.assignments as _snnbp_grader\n"
            f"{_REPLY} = _snnbp_grader.respond({assignment!r}, {question!r}, {request!r}, globals())\n")


def read_reply(text: str | None) -> object:
    """The answer a kernel sent back: the ``text/plain`` form of a string of wire text
    (:func:`snnbp.verdicts.decode`). Raises :class:`~snnbp.verdicts.Malformed` for anything else,
    for more than :data:`MAX_REPLY_CHARS` characters or :data:`MAX_REPLY_ELEMENTS` elements."""
    if not isinstance(text, str):
        raise Malformed("no answer came back")
    if len(text) > MAX_REPLY_CHARS + 2:
        raise Malformed(f"the answer is larger than {MAX_REPLY_CHARS} characters")
    match = re.fullmatch(r"'([A-Za-z0-9+/=]*)'", text)
    if match is None:
        raise Malformed("the answer is not wire text")
    return decode(match.group(1), max_chars=MAX_REPLY_CHARS, max_elements=MAX_REPLY_ELEMENTS)


def is_self_check(source: str) -> bool:
    """True for a cell that only calls ``assignments.check(...)``: the grader skips it (it runs its own checks)."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return bool(body) and all(
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute) and node.value.func.attr == "check"
        and isinstance(node.value.func.value, ast.Name) and node.value.func.value.id == "assignments"
        for node in body)


def _defining_cell(name: str, cells: list[tuple[int, str]]) -> int | None:
    """The index of the first code cell that defines ``name`` (``def``, ``class`` or an assignment)."""
    pattern = re.compile(rf"^\s*(?:def\s+{name}\b|class\s+{name}\b|{name}\s*(?::[^=]*)?=[^=])", re.M)
    return next((index for index, source in cells if pattern.search(source)), None)


def _explain_missing(outcome: Outcome, assignment: Assignment, cells: list[tuple[int, str]],
                     runs: dict[int, CellRun]) -> None:
    """Say why a name is missing: the cell that defines it raised, timed out or never ran."""
    for name in assignment.question(outcome.question).names:
        index = _defining_cell(name, cells)
        if index is None:
            outcome.message = f"{name} is not defined anywhere in the notebook."
            return
        run = runs[index]
        if run.status == "not run":
            outcome.status = "not run"
            outcome.message = f"cell {index}, which defines {name}, never ran (the time limit was used up before it)."
            return
        if run.status != "ok":
            outcome.message = f"cell {index}, which defines {name}, did not finish: {run.status}: {run.error}"
            return


def grade_notebook(path: str | Path, *, assignment: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                   check_timeout: float = DEFAULT_CHECK_TIMEOUT, kernel_name: str = "python3",
                   seed: int | None = None) -> Report:
    """Execute the notebook at ``path`` in a fresh kernel and grade it; never raises for a bad submission.

    The questions' inputs are drawn from ``seed``: a fresh random one unless given (give one only
    to reproduce a grading run; a known seed lets a submission know the inputs in advance).
    """
    path = Path(path)
    report = Report(str(path), seed=secrets.randbits(62) if seed is None else int(seed))
    start = time.monotonic()
    try:
        notebook = nbformat.read(path, as_version=4)
        spec = find_assignment(notebook, path, assignment)
    except Exception as error:  # noqa: BLE001 - unreadable or unknown: reported, not raised
        report.error = f"{type(error).__name__}: {error}"
        return report
    report.assignment, report.title = spec.name, spec.title
    cells = [(i, c.source) for i, c in enumerate(notebook.cells) if c.cell_type == "code" and c.source.strip()]
    runs = {i: CellRun(i, "self-check" if is_self_check(source) else "not run") for i, source in cells}
    report.cells = list(runs.values())
    try:
        with tempfile.TemporaryDirectory(prefix="snnbp-grade-", ignore_cleanup_errors=True) as folder, \
                Kernel(kernel_name, cwd=folder, max_message_bytes=2 * MAX_REPLY_CHARS + 2 ** 20) as kernel:
            deadline = time.monotonic() + timeout
            for index, source in cells:
                if runs[index].status == "self-check":
                    continue
                left = deadline - time.monotonic()
                if left <= 0 or kernel.dead:
                    break
                done = kernel.run(source, left)
                runs[index].status, runs[index].seconds, runs[index].error = done.status, done.seconds, done.error
            for q in spec.questions:
                report.outcomes.append(_grade_question(kernel, spec, q.key, check_timeout, report.seed))
    except Exception as error:  # noqa: BLE001 - e.g. the kernel could not start
        report.error = f"{type(error).__name__}: {error}"
    for outcome in report.outcomes:
        if outcome.status == "missing":
            _explain_missing(outcome, spec, cells, runs)
    report.seconds = time.monotonic() - start
    return report


def _grade_question(kernel: Kernel, spec: Assignment, key: str, check_timeout: float, seed: int) -> Outcome:
    """Draw the question's inputs, have the kernel run the notebook's objects on them, judge the answer here."""
    if kernel.dead:
        return _outcome(spec, key, "not run", "the submission's kernel had died or been killed before this check.")
    request = spec.question(key).make(question_generator(seed, spec.name, key))
    done = kernel.run(_respond_code(spec.name, key, encode(request)), check_timeout, expression=_REPLY, history=False)
    if done.status == "timeout":
        return _outcome(spec, key, "timeout", f"the check did not finish within {check_timeout:g} s "
                        "(does your code loop forever, or is it very slow?).")
    if done.status != "ok":
        return _outcome(spec, key, "error", f"the check could not run: {done.status}: {done.error}")
    try:
        reply = read_reply(done.result)
    except Malformed as error:
        return _outcome(spec, key, "error", f"the answer from the submission's kernel was unreadable: {error}.")
    return verdict(spec, key, request, reply)
