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
   numbers, lists and tensors as JSON with raw bytes (:func:`snnbp.verdicts.decode`: no pickle,
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

The package, one job per file: :mod:`snnbp.grade.kernel` (a kernel in its own process, code run
with a time limit), :mod:`snnbp.grade.notebook` (one submission: its cells, then every question's
check, judged here), :mod:`snnbp.grade.batch` (many notebooks, the CSV table) and
:mod:`snnbp.grade.cli` (the command line).
"""
from __future__ import annotations

from .batch import grade_paths, notebooks, write_csv
from .cli import main
from .kernel import Execution, Kernel
from .notebook import (
    DEFAULT_CHECK_TIMEOUT,
    DEFAULT_TIMEOUT,
    MAX_REPLY_CHARS,
    MAX_REPLY_ELEMENTS,
    CellRun,
    Report,
    _grade_question,
    _respond_code,
    find_assignment,
    grade_notebook,
    is_self_check,
    read_reply,
)

__all__ = ["CellRun", "Report", "Kernel", "Execution", "is_self_check", "grade_notebook", "grade_paths", "write_csv",
           "find_assignment", "read_reply", "notebooks", "main", "DEFAULT_TIMEOUT", "DEFAULT_CHECK_TIMEOUT",
           "MAX_REPLY_CHARS", "MAX_REPLY_ELEMENTS", "_grade_question", "_respond_code"]
