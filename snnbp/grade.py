r"""Grade submitted assignment notebooks.

    python -m snnbp.grade alice.ipynb                     # per-question scores and the total
    python -m snnbp.grade alice.ipynb --json              # the same as JSON
    python -m snnbp.grade submissions/ --csv grades.csv   # every notebook of a folder, one CSV row each

**The grader executes submitted code.** Each submission runs in its own Jupyter kernel, a
separate process started in an empty temporary folder, never inside the grader's process:

1. the submission's code cells run in order, with its outputs thrown away; a cell that raises is
   recorded and the next cell runs; all cells together get ``--timeout`` seconds, after which the
   kernel is interrupted (killed, if it does not stop) and the remaining cells are not run.
   Cells that only call ``assignments.check(...)`` (the students' self-checks) are skipped;
2. for every question the grader draws fresh inputs (from a seed made anew for every grading
   run, which the submission never sees), sends them to the kernel, where the notebook's
   functions run on them (``--check-timeout`` seconds per question), and gets plain data back:
   numbers, lists and tensors as JSON with raw bytes (:func:`snnbp.checking.decode`: no pickle,
   no code, sizes and dtypes checked; a reply that is too large, malformed or late fails its
   question with the reason);
3. the grader compares those answers with its own reference, **in its own process**: verdicts
   and points never come from the kernel, so whatever a submission does to its kernel (an
   import hook, replaced modules, functions or comparisons, forged replies) cannot pass a
   question whose answers are wrong.

So a notebook that raises, loops forever or kills its kernel is still graded: questions whose
code never ran, timed out or crashed score zero with the reason. A separate process with a time
limit protects the grader, not the machine: submitted code can read and write files and use the
network as the user running the grader (and could read an instructor notebook that lies on the
same disk). Grade untrusted submissions inside a sandbox (a container or virtual machine
without credentials or solutions).

Part of the course kit, not of a chapter: ``assignments/README.md`` is its manual.
"""
from __future__ import annotations

import ast
import csv
import json
import os
import queue
import re
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from . import assignments as _assignments
from .assignments import Assignment, Outcome
from .assignments._cli import Parser, fail, read_notebook
from .assignments._core import outcome as _outcome
from .assignments._core import question_generator, verdict
from .checking import Malformed, decode, encode

__all__ = ["CellRun", "Report", "Kernel", "is_self_check", "grade_notebook", "grade_paths", "write_csv", "find_assignment",
           "read_reply", "main", "DEFAULT_TIMEOUT", "DEFAULT_CHECK_TIMEOUT", "MAX_REPLY_CHARS"]

DEFAULT_TIMEOUT = 600.0          # seconds for all of a submission's cells together
DEFAULT_CHECK_TIMEOUT = 120.0    # seconds per question's check
MAX_REPLY_CHARS = 32 * 2 ** 20   # the longest answer a question may send back (base64 text)
MAX_REPLY_ELEMENTS = 8 * 2 ** 20  # tensor elements and list entries in one answer
_MAX_MESSAGE_BYTES = 2 * MAX_REPLY_CHARS + 2 ** 20   # larger kernel messages are dropped unread (ZeroMQ)
_GRACE = 10.0                    # seconds a kernel gets to stop after an interrupt
_REPLY = "_snnbp_grader_reply"


# -- one kernel in its own process ------------------------------------------------------------------

@dataclass
class Execution:
    """What happened to one piece of code in the kernel: ``status`` is ``"ok"``, ``"error"``,
    ``"timeout"`` or ``"dead"`` (the kernel died or was killed); ``error`` is ``"Name: value"``."""

    status: str
    seconds: float
    error: str = ""
    result: str | None = None        # the text/plain value of the user expression, if asked for


class Kernel:
    """A Jupyter kernel in a separate process, in ``cwd``; runs code with a time limit.

    Use as a context manager: the kernel (and its process group) is killed on exit.
    """

    def __init__(self, kernel_name: str = "python3", cwd: str | Path | None = None, startup_timeout: float = 60.0):
        import zmq
        from jupyter_client.manager import KernelManager

        self.manager = KernelManager(kernel_name=kernel_name)
        self.dead = False
        env = dict(os.environ, MPLBACKEND="agg", PYDEVD_DISABLE_FILE_VALIDATION="1")
        # The kernel process's own stdout/stderr (not the notebook's output) are dropped.
        self.manager.start_kernel(cwd=str(cwd) if cwd else None, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Our own sockets refuse oversized messages, so a kernel cannot flood the grader's memory.
        self.context = zmq.Context()
        self.context.setsockopt(zmq.MAXMSGSIZE, _MAX_MESSAGE_BYTES)
        self.client = self.manager.client(context=self.context)
        self.client.start_channels()
        try:
            self.client.wait_for_ready(timeout=startup_timeout)
        except RuntimeError:
            self.close()
            raise

    def __enter__(self) -> "Kernel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the channels and kill the kernel process."""
        try:
            self.client.stop_channels()
        finally:
            if self.manager.has_kernel:
                self.manager.shutdown_kernel(now=True)
            self.context.destroy(linger=0)
        self.dead = True

    def run(self, code: str, timeout: float, *, expression: str | None = None, history: bool = True) -> Execution:
        """Execute ``code``; after ``timeout`` seconds interrupt it, and kill the kernel if it does not stop.

        ``expression`` is evaluated after the code (a Jupyter *user expression*) and its text
        comes back in :attr:`Execution.result`, apart from anything the code prints.
        """
        if self.dead:
            return Execution("dead", 0.0, "the kernel is no longer running")
        start = time.monotonic()
        try:
            return self._run(code, timeout, start, expression, history)
        except Exception as error:  # noqa: BLE001 - a kernel whose messages cannot be read has failed this code
            return Execution("error", time.monotonic() - start,
                             f"the kernel's messages were unreadable ({type(error).__name__}: {_shorten(str(error), 100)})")

    def _run(self, code: str, timeout: float, start: float, expression: str | None, history: bool) -> Execution:
        expressions = {"result": expression} if expression else {}
        msg_id = self.client.execute(code, store_history=history, allow_stdin=False, stop_on_error=False,
                                     user_expressions=expressions)
        status = self._wait_idle(msg_id, start + max(timeout, 0.0))
        if status == "timeout":
            self.manager.interrupt_kernel()
            if self._wait_idle(msg_id, time.monotonic() + _GRACE) != "idle":
                self.close()
            return Execution("timeout", time.monotonic() - start, f"stopped after {timeout:g} s (time limit)")
        if status == "dead":
            self.close()
            return Execution("dead", time.monotonic() - start, "the kernel died (the code crashed or exited)")
        return self._reply(msg_id, start)

    def _wait_idle(self, msg_id: str, deadline: float) -> str:
        """Read output messages until the kernel is idle after ``msg_id``: ``"idle"``, ``"timeout"`` or ``"dead"``.

        Everything the code prints is read and dropped (a submission's output is not kept).
        """
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            try:
                msg = self.client.get_iopub_msg(timeout=min(1.0, left))
            except queue.Empty:
                if not self.manager.is_alive():
                    return "dead"
                continue
            if (_field(msg, "parent_header", "msg_id") == msg_id and msg.get("msg_type") == "status"
                    and _field(msg, "content", "execution_state") == "idle"):
                return "idle"

    def _reply(self, msg_id: str, start: float) -> Execution:
        while True:
            try:
                msg = self.client.get_shell_msg(timeout=_GRACE)
            except queue.Empty:
                return Execution("error", time.monotonic() - start, "the kernel sent no reply")
            if _field(msg, "parent_header", "msg_id") == msg_id:
                break
        content, seconds = msg["content"], time.monotonic() - start
        if content.get("status") != "ok":
            name, value = str(content.get("ename", "Error")), str(content.get("evalue", ""))
            return Execution("error", seconds, _shorten(f"{name}: {value}" if value else name, 1000))
        value = content.get("user_expressions", {}).get("result", {})
        text = value.get("data", {}).get("text/plain") if value.get("status") == "ok" else None
        return Execution("ok", seconds, result=text if isinstance(text, str) else None)


def _field(msg: dict, part: str, key: str):
    """``msg[part][key]``, or ``None`` when the message lacks it (a kernel's messages are not trusted)."""
    value = msg.get(part) if isinstance(msg, dict) else None
    return value.get(key) if isinstance(value, dict) else None


# -- one submission -----------------------------------------------------------------------------------

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
                lines.append(f"  cell {cell.index}: {cell.status}: {_shorten(cell.error, 200)}")
        skipped = [c.index for c in self.cells if c.status == "not run"]
        if skipped:
            lines.append(f"  not run: cells {', '.join(map(str, skipped))}")
        width = max((len(o.title) for o in self.outcomes), default=8)
        for o in self.outcomes:
            line = f"  {o.question.upper():<4}{o.title:<{width}}  {o.points:>3} / {o.max_points:<3} {o.status}"
            lines.append(line + (f": {_shorten(o.message, 300)}" if o.message else ""))
        lines.append(f"  {'TOTAL':<4}{'':<{width - 1}}  {self.score:>3} / {self.total}")
        return "\n".join(lines)


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
    (:func:`snnbp.checking.decode`). Raises :class:`~snnbp.checking.Malformed` for anything else,
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
                Kernel(kernel_name, cwd=folder) as kernel:
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


# -- many submissions ---------------------------------------------------------------------------------

def _notebooks(paths: list[str | Path]) -> list[Path]:
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(q for q in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in q.parts)
        else:
            found.append(p)
    return found


def grade_paths(paths: list[str | Path], *, progress: bool = True, **options) -> list[Report]:
    """Grade every notebook among ``paths`` (folders are searched recursively), one kernel each."""
    notebooks = _notebooks(paths)
    reports = []
    for number, path in enumerate(notebooks, 1):
        if progress and len(notebooks) > 1:
            print(f"[{number}/{len(notebooks)}] grading {path} ...", file=sys.stderr, flush=True)
        reports.append(grade_notebook(path, **options))
    return reports


def write_csv(reports: list[Report], path: str | Path) -> None:
    """One row per notebook: file, assignment, each question's points, score, total, status notes."""
    keys: list[str] = []
    for report in reports:
        keys += [o.question for o in report.outcomes if o.question not in keys]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["notebook", "assignment", *keys, "score", "total", "notes"])
        for r in reports:
            points = {o.question: o.points for o in r.outcomes}
            notes = r.error or "; ".join(f"{o.question}: {o.status}" for o in r.outcomes if not o.passed)
            writer.writerow([r.notebook, r.assignment, *(points.get(k, "") for k in keys), r.score, r.total, notes])


def _check_paths(paths: list[str]) -> None:
    """Every NOTEBOOK argument must be a notebook, or a folder that holds some; else one error line."""
    for text in paths:
        path = Path(text)
        if not path.exists():
            fail(f"NOTEBOOK {text}: no such file or folder; pass .ipynb notebooks or folders of them")
        if path.is_dir():
            if not _notebooks([path]):
                fail(f"NOTEBOOK {text}: the folder holds no .ipynb notebooks; pass .ipynb notebooks or folders of them")
        else:
            read_notebook(path, "NOTEBOOK")


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring. Exit status 0 when every notebook could be graded
    (whatever its score), 1 when one found in a folder could not (unreadable, unknown assignment,
    no kernel), 2 for a bad argument (one line on stderr, ``error: ...``)."""
    parser = Parser(prog="python -m snnbp.grade", description=(
        "Execute submitted assignment notebooks in separate Jupyter kernels with a time limit and grade "
        "them with the checks of snnbp.assignments. This RUNS the submitted code: grade untrusted "
        "submissions inside a sandbox."))
    parser.add_argument("notebooks", nargs="+", metavar="NOTEBOOK", help="a notebook, or a folder of notebooks")
    parser.add_argument("--assignment", choices=_assignments.NAMES,
                        help="which assignment (default: the notebook's metadata, else its file name)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"seconds for all cells of a submission together (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--check-timeout", type=float, default=DEFAULT_CHECK_TIMEOUT,
                        help=f"seconds for each question's check (default {DEFAULT_CHECK_TIMEOUT:g})")
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel name (default python3)")
    parser.add_argument("--json", action="store_true", help="print JSON (one object, or a list for several notebooks)")
    parser.add_argument("--csv", metavar="FILE", help="also write one row per notebook to FILE")
    args = parser.parse_args(argv)
    for flag in ("timeout", "check_timeout"):
        value = getattr(args, flag)
        if not (value > 0 and value != float("inf")):
            fail(f"--{flag.replace('_', '-')} must be a number of seconds > 0, got {value:g}")
    _check_paths(args.notebooks)
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


if __name__ == "__main__":
    raise SystemExit(main())
