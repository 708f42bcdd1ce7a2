"""The grader: it executes each submission in its own kernel with time limits and grades it with its
own checks. Solutions score full marks, student notebooks zero, one wrong answer loses exactly its
question, and notebooks that loop, ignore interrupts, kill their kernel or tamper with the checks
are still reported."""
import csv
import json
import time
from pathlib import Path

import nbformat
import pytest

from snnbp import assignments, grade

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
    monkeypatch.setattr(grade, "_GRACE", 2.0)
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


def test_points_come_from_the_graders_table_not_from_the_kernel():
    class FakeKernel:                                  # answers like a kernel whose checks were tampered with
        dead = False

        def run(self, code, timeout, **kw):
            verdict = assignments.Outcome("lif_poisson", "q1", "x", 100, 100, "passed").to_json()
            return grade.Execution("ok", 0.0, result=repr(verdict))

    spec = assignments.get("lif_poisson")
    outcome = grade._grade_question(FakeKernel(), spec, "q1", 10)
    assert (outcome.points, outcome.max_points) == (3, 3)


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


def test_command_line_rejects_bad_options(tmp_path, capsys):
    with pytest.raises(SystemExit):
        grade.main([str(tmp_path / "missing.ipynb")])
    assert "no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        grade.main([str(SOURCE / "lif_poisson.ipynb"), "--timeout", "0"])
    assert "--timeout must be > 0" in capsys.readouterr().err


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
