"""The grader: it executes each submission in its own kernel with time limits and grades it with its
own checks. Solutions score full marks, student notebooks zero, one wrong answer loses exactly its
question, and notebooks that loop, ignore interrupts, kill their kernel or tamper with the checks
are still reported."""
import base64
import csv
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import torch

from snnbp import assignments, grade
from snnbp.assignments._core import question_generator
from snnbp.neurons import LIF
from snnbp.verdicts import decode, encode

ROOT = Path(__file__).resolve().parents[1]
SOURCE, RELEASE = ROOT / "assignments" / "source", ROOT / "assignments" / "release"
kernels = pytest.mark.slow                           # each of these starts a Jupyter kernel


@pytest.fixture(autouse=True, scope="module")
def one_thread_per_kernel():
    """The kernels inherit the environment: one torch thread each keeps shared CPUs usable."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_NUM_THREADS", "1")
        patch.setenv("MKL_NUM_THREADS", "1")
        yield


def variant(tmp_path, name="lif_poisson", *, replace=(), insert=(), folder=SOURCE, filename=None):
    """A copy of an assignment notebook with text replaced and/or code cells inserted ``(after_index, source)``."""
    notebook = nbformat.read(folder / f"{name}.ipynb", as_version=4)
    for old, new in replace:
        hits = [c for c in notebook.cells if old in c.source]
        assert hits, f"{old!r} not found in {name}"
        for cell in hits:
            cell.source = cell.source.replace(old, new)
    for after, source in sorted(insert, reverse=True):
        notebook.cells.insert(after + 1, nbformat.v4.new_code_cell(source))
    path = tmp_path / (filename or f"{name}.ipynb")
    nbformat.write(notebook, path)
    return path


def index_of(name, text, folder=SOURCE):
    cells = nbformat.read(folder / f"{name}.ipynb", as_version=4).cells
    return next(k for k, c in enumerate(cells) if text in c.source)


def statuses(report):
    return [o.status for o in report.outcomes]


def points(report):
    return [o.points for o in report.outcomes]


# -- the ordinary cases ---------------------------------------------------------------------------

@kernels
@pytest.mark.parametrize("name", assignments.NAMES)
def test_solution_notebooks_score_full_marks(name):
    report = grade.grade_notebook(SOURCE / f"{name}.ipynb", timeout=300)
    assert report.error == ""
    assert {c.status for c in report.cells} <= {"ok", "self-check"}, report.table()
    assert statuses(report) == ["passed"] * len(assignments.get(name).questions), report.table()
    assert report.score == report.total == 10


@kernels
@pytest.mark.parametrize("name", assignments.NAMES)
def test_generated_student_notebooks_score_zero_without_crashing_the_grader(name):
    report = grade.grade_notebook(RELEASE / f"{name}.ipynb", timeout=120)
    assert report.error == "" and report.score == 0 and report.total == 10
    assert set(statuses(report)) <= {"not attempted", "missing"}, report.table()
    assert "TOTAL" in report.table() and "0 / 10" in report.table()


@kernels
def test_one_wrong_answer_scores_exactly_that_question_zero(tmp_path):
    path = variant(tmp_path, replace=[("return (x.abs() > u).float() * torch.sign(x)", "return (x.abs() > u).float()")])
    report = grade.grade_notebook(path, timeout=120)
    assert points(report) == [3, 3, 0] and report.score == 6
    assert report.outcomes[2].status == "wrong" and "sign" in report.outcomes[2].message


# -- submissions that misbehave -------------------------------------------------------------------

@kernels
def test_an_infinite_loop_is_cut_off_by_the_timeout_and_still_reported(tmp_path):
    after = index_of("lif_poisson", "def lif_step")
    path = variant(tmp_path, insert=[(after, "while True:\n    pass")])
    start = time.monotonic()
    report = grade.grade_notebook(path, timeout=20, check_timeout=30)   # ample for the cells before the loop
    assert time.monotonic() - start < 90
    loop = next(c for c in report.cells if c.index == after + 1)
    assert loop.status == "timeout"
    assert all(c.status == "not run" for c in report.cells if c.index > after + 1 and c.status != "self-check")
    assert statuses(report) == ["passed", "not run", "not run"] and report.score == 3
    assert "time limit" in report.outcomes[1].message
    assert "timeout" in report.table()


@kernels
def test_a_check_that_loops_is_interrupted_and_later_questions_are_still_graded(tmp_path):
    # loops only on the checks' 2-D inputs, so the notebook's own demo cells (1-D) still finish
    loop = "    while v.dim() == 2:\n        pass\n    h = v + current\n"
    path = variant(tmp_path, replace=[("    h = v + current\n", loop)])
    report = grade.grade_notebook(path, timeout=60, check_timeout=5)
    assert statuses(report) == ["timeout", "timeout", "passed"] and report.score == 4
    assert "5 s" in report.outcomes[0].message


@kernels
def test_a_kernel_that_ignores_interrupts_is_killed_and_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(grade.kernel, "GRACE", 2.0)
    stubborn = "import time\nwhile True:\n    try:\n        time.sleep(0.05)\n    except KeyboardInterrupt:\n        pass"
    path = variant(tmp_path, insert=[(-1, stubborn)])                 # the first cell
    start = time.monotonic()
    report = grade.grade_notebook(path, timeout=4)
    assert time.monotonic() - start < 60
    assert report.cells[0].status == "timeout"
    assert {c.status for c in report.cells[1:]} <= {"not run", "self-check"}
    assert report.score == 0 and statuses(report) == ["not run"] * 3
    assert "killed" in report.outcomes[0].message


@kernels
def test_a_submission_that_kills_its_kernel_is_reported(tmp_path):
    path = variant(tmp_path, insert=[(index_of("lif_poisson", "def lif_run"), "import os\nos._exit(3)")])
    report = grade.grade_notebook(path, timeout=60)
    assert "dead" in {c.status for c in report.cells}
    assert report.error == "" and report.score == 0 and statuses(report) == ["not run"] * 3


@kernels
def test_a_submission_cannot_change_the_checks_or_its_points(tmp_path):
    cheat = '''import snnbp.assignments as A
import snnbp.assignments._core as core
fake = lambda a, q, ns: core.Outcome(a, q, "x", 100, 100, "passed").to_json()
A.outcome_json = fake
core.run = lambda spec, key, ns: core.Outcome(spec.name, key, "x", 100, 100, "passed")
for q in A.get("lif_poisson").questions:
    object.__setattr__(q, "check", lambda *objects: None)'''
    path = variant(tmp_path, folder=RELEASE, insert=[(0, cheat)])
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="Total: 10/10\n")]
    nbformat.write(notebook, path)
    report = grade.grade_notebook(path, timeout=60)
    assert report.score == 0 and set(statuses(report)) == {"not attempted"}, report.table()


class FakeKernel:
    """Answers every question with ``reply`` (the text/plain of the user expression), like a kernel
    whose every module and function the submission replaced."""

    dead = False

    def __init__(self, reply):
        self.reply = reply

    def run(self, code, timeout, **kw):
        reply = self.reply(code) if callable(self.reply) else self.reply
        return grade.Execution("ok", 0.0, result=reply)


def forged(value):
    return repr(encode(value))


@pytest.mark.parametrize("reply, reason", [
    (repr(assignments.Outcome("lif_poisson", "q1", "x", 100, 100, "passed").to_dict()), "unreadable"),
    (forged({"status": "passed", "points": 100}), "malformed"),
    (forged({"status": "answered", "answer": {"status": "passed"}}), "not called on every input"),
    (forged({"status": "answered", "answer": 7}), "could not be read"),
    (forged({"status": "answered", "answer": [[torch.zeros(3)] * 3] * 5}), "off"),
    ("'" + "A" * (grade.MAX_REPLY_CHARS + 8) + "'", "larger than"),
    (repr(base64.b64encode(b'{"__tensor__": "float32", "shape": [1000000000], "data": ""}').decode()), "elements"),
    (repr(base64.b64encode(b'{"__tensor__": "object", "shape": [1], "data": "AAAA"}').decode()), "dtypes"),
    (repr(base64.b64encode(b"[" * 100000).decode()), "unreadable"),
    (None, "no answer"),
])
def test_a_forged_oversized_or_malformed_reply_fails_its_question_with_a_reason(reply, reason):
    outcome = grade._grade_question(FakeKernel(reply), assignments.get("lif_poisson"), "q1", 10, seed=1)
    assert (outcome.points, outcome.max_points) == (0, 3) and outcome.status in ("error", "wrong")
    assert reason in outcome.message, outcome.message


def test_a_right_answer_gets_the_points_of_the_graders_table():
    """A kernel that answers correctly (computed here with the library) passes: 3 points, the table's."""
    def correct(code):
        request = decode(re.search(r"respond\('\w+', '\w+', '([A-Za-z0-9+/=]*)'", code).group(1))
        answers = [LIF(leak, threshold).step(v, current) for v, current, leak, threshold in request["cases"]]
        return forged({"status": "answered", "answer": answers})

    spec = assignments.get("lif_poisson")
    outcome = grade._grade_question(FakeKernel(correct), spec, "q1", 10, seed=2)
    assert (outcome.status, outcome.points, outcome.max_points) == ("passed", 3, 3)
    # the same answers for another grading run's inputs are wrong
    stale = correct(grade._respond_code("lif_poisson", "q1", encode(spec.question("q1").make(
        question_generator(2, "lif_poisson", "q1")))))
    assert grade._grade_question(FakeKernel(stale), spec, "q1", 10, seed=3).status == "wrong"


def test_every_grading_run_draws_fresh_inputs(tmp_path):
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "homework.ipynb")
    seeds = {grade.grade_notebook(tmp_path / "homework.ipynb").seed for _ in range(5)}
    assert len(seeds) == 5
    first, second = (assignments.get("lif_poisson").question("q1").make(question_generator(s, "lif_poisson", "q1"))
                     for s in (seeds.pop(), seeds.pop()))
    assert encode(first) != encode(second)


# -- finding the assignment, many notebooks, the command line -------------------------------------

def test_the_assignment_comes_from_the_option_the_metadata_or_the_file_name(tmp_path):
    notebook = nbformat.v4.new_notebook()
    assert grade.find_assignment(notebook, Path("x.ipynb"), "deep_dropout").name == "deep_dropout"
    assert grade.find_assignment(notebook, Path("alice_lif_poisson.ipynb")).name == "lif_poisson"
    notebook.metadata["snnbp"] = {"assignment": "surrogate_gradient"}
    assert grade.find_assignment(notebook, Path("lif_poisson.ipynb")).name == "surrogate_gradient"
    with pytest.raises(ValueError, match="--assignment"):
        grade.find_assignment(nbformat.v4.new_notebook(), Path("homework.ipynb"))
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "homework.ipynb")
    report = grade.grade_notebook(tmp_path / "homework.ipynb")        # no kernel is started
    assert "cannot tell which assignment" in report.error and "NOT GRADED" in report.table()


@kernels
def test_command_line_grades_a_folder_into_json_and_csv(tmp_path, capsys):
    folder = tmp_path / "submissions"
    folder.mkdir()
    variant(folder, filename="alice.ipynb")
    variant(folder, folder=RELEASE, filename="bob.ipynb")
    (folder / "carol.ipynb").write_text("this is not a notebook")
    table = tmp_path / "grades.csv"
    code = grade.main([str(folder), "--json", "--csv", str(table), "--timeout", "120"])
    assert code == 1                                   # carol's file could not be graded
    reports = {Path(r["notebook"]).stem: r for r in json.loads(capsys.readouterr().out)}
    assert (reports["alice"]["score"], reports["bob"]["score"]) == (10, 0)
    assert reports["carol"]["error"]
    rows = {Path(r["notebook"]).stem: r for r in csv.DictReader(table.open())}
    assert rows["alice"]["q3"] == "4" and rows["alice"]["score"] == "10" and rows["bob"]["score"] == "0"
    assert "not attempted" in rows["bob"]["notes"] and rows["carol"]["notes"]


def command(main, args, capsys):
    """Run a command line in this process: its exit status and everything it printed."""
    try:
        status = main(args)
    except SystemExit as stop:
        status = stop.code
    out = capsys.readouterr()
    return status, out.out + out.err


@pytest.mark.parametrize("args, words", [
    (["missing.ipynb"], ["NOTEBOOK", "missing.ipynb", "no such file"]),
    (["{empty}"], ["NOTEBOOK", "no .ipynb notebooks"]),
    (["{text}"], ["NOTEBOOK", "notes.ipynb", "not a Jupyter notebook", "not JSON"]),
    (["{json}"], ["NOTEBOOK", "data.ipynb", "not a Jupyter notebook"]),
    (["{notebook}", "--timeout", "0"], ["--timeout", "> 0", "got 0"]),
    (["{notebook}", "--timeout", "-5"], ["--timeout", "> 0", "got -5"]),
    (["{notebook}", "--check-timeout", "0"], ["--check-timeout", "> 0"]),
    (["{notebook}", "--timeout", "soon"], ["--timeout", "invalid float value"]),
    (["{notebook}", "--assignment", "lif"], ["--assignment", "invalid choice", "'lif_poisson'"]),
    ([], ["required", "NOTEBOOK"]),
])
def test_grader_command_line_mistakes_are_one_error_line(tmp_path, capsys, args, words):
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.ipynb").write_text("this is not a notebook")
    (tmp_path / "data.ipynb").write_text('{"a": 1}')
    paths = {"empty": tmp_path / "empty", "text": tmp_path / "notes.ipynb", "json": tmp_path / "data.ipynb",
             "notebook": SOURCE / "lif_poisson.ipynb"}
    status, printed = command(grade.main, [a.format(**paths) for a in args], capsys)
    assert status == 2 and "Traceback" not in printed
    assert printed.startswith("error: ") and printed.count("\n") == 1, printed
    assert all(word in printed for word in words), printed


@pytest.mark.parametrize("args, words", [
    (["lisst"], ["unknown command 'lisst'", "release, list"]),
    ([], ["no command", "release, list"]),
    (["list", "lif"], ["must be one of lif_poisson", "got 'lif'"]),
    (["release", "--source", "{missing}"], ["--source", "not a folder of instructor notebooks"]),
    (["release", "--source", "{broken}"], ["instructor notebook", "x.ipynb", "not a Jupyter notebook"]),
    (["release", "--chek"], ["unrecognized arguments: --chek"]),
])
def test_assignments_command_line_mistakes_are_one_error_line(tmp_path, capsys, args, words):
    from snnbp.assignments.__main__ import main

    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "x.ipynb").write_text("{")
    paths = {"missing": tmp_path / "nothing", "broken": tmp_path / "broken"}
    status, printed = command(main, [a.format(**paths) for a in args], capsys)
    assert status == 2 and "Traceback" not in printed
    assert printed.startswith("error: ") and printed.count("\n") == 1, printed
    assert all(word in printed for word in words), printed


def test_the_command_lines_run_as_programs_without_tracebacks(tmp_path):
    for module in ("snnbp.grade", "snnbp.assignments"):
        done = subprocess.run([sys.executable, "-m", module, str(tmp_path / "missing.ipynb")],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and "Traceback" not in done.stderr and done.stderr.startswith("error: ")


@kernels
def test_self_check_cells_show_their_verdicts_in_a_students_kernel():
    """What a student sees: the check cells find the notebook's functions and show one verdict each."""
    import nbclient

    notebook = nbformat.read(SOURCE / "lif_poisson.ipynb", as_version=4)
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    shown = ["".join(str(o.get("data", {}).get("text/plain", o.get("text", ""))) for o in c.outputs)
             for c in notebook.cells if c.cell_type == "code" and grade.is_self_check(c.source)]
    assert all(text.count("correct") == text.count("\n") + 1 - text.count("Total") for text in shown)
    assert shown[-1].endswith("Total: 10/10")
