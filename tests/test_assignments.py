"""The course kit without kernels: the questions and points, the checks (the instructor's solutions
pass them, typical mistakes fail exactly their question), and the student-notebook generator."""
import ast
import copy
import re
from pathlib import Path

import nbformat
import pytest

from snnbp import assignments
from snnbp.assignments import release
from snnbp.grade import is_self_check

ROOT = Path(__file__).resolve().parents[1]
SOURCE, RELEASE = ROOT / "assignments" / "source", ROOT / "assignments" / "release"
NAMES = assignments.NAMES


def read(path):
    return nbformat.read(path, as_version=4)


def code_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code"]


def definitions_only(source):
    """Imports, functions and classes only: no training, no plots."""
    return all(isinstance(n, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef))
               for n in ast.parse(source).body)


def solution_namespace(name):
    """The instructor notebook's setup cell and definitions, executed here (cheap cells only)."""
    cells = code_cells(read(SOURCE / f"{name}.ipynb"))
    namespace = {"__name__": "__main__"}
    for index, cell in enumerate(cells):
        if index == 0 or definitions_only(cell.source):
            exec(compile(cell.source, f"{name}[{index}]", "exec"), namespace)
    return namespace


# -- the registry ---------------------------------------------------------------------------------

def test_three_assignments_of_ten_points_each_with_unique_questions():
    assert set(NAMES) == {"lif_poisson", "surrogate_gradient", "deep_dropout"}
    for name in NAMES:
        spec = assignments.get(name)
        assert spec.total == 10
        assert len(set(spec.keys)) == len(spec.keys) >= 3
        assert all(q.points > 0 and q.names and q.hint for q in spec.questions)


def test_unknown_names_raise_errors_listing_the_choices():
    with pytest.raises(ValueError, match="assignment.*'lif_poisson'"):
        assignments.get("lif")
    with pytest.raises(ValueError, match="no question 'q9'.*'q1'"):
        assignments.get("lif_poisson").question("q9")


# -- the instructor notebooks ---------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_instructor_notebook_is_clean_tagged_and_states_the_registry_points(name):
    notebook = read(SOURCE / f"{name}.ipynb")
    assert notebook.metadata["snnbp"]["assignment"] == name
    for cell in code_cells(notebook):
        assert cell.outputs == [] and cell.execution_count is None, "commit notebooks without outputs"
    assert "widgets" not in notebook.metadata
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    stated = {int(n): int(p) for n, p in re.findall(r"## Question (\d+) \((\d+) points?\)", markdown)}
    spec = assignments.get(name)
    assert stated == {k + 1: q.points for k, q in enumerate(spec.questions)}
    assert f"({spec.total} points)" in notebook.cells[0].source
    for q in spec.questions:
        for obj in q.names:
            assert re.search(rf"^(def|class) {obj}\b|^{obj} = ", "\n".join(c.source for c in code_cells(notebook)),
                             re.M), f"{name}: no cell defines {obj}"


@pytest.mark.parametrize("name", ["lif_poisson", "surrogate_gradient"])
def test_solutions_pass_every_check(name):
    outcomes = assignments.check(name, namespace=solution_namespace(name))
    assert [o.status for o in outcomes] == ["passed"] * len(outcomes)
    assert sum(o.points for o in outcomes) == 10


def test_deep_dropout_solutions_pass_the_quick_checks():
    # q4 and q5 train networks: the grader tests run them on the executed solution notebook
    namespace = solution_namespace("deep_dropout")
    for key in ("q1", "q2", "q3"):
        assert assignments.check("deep_dropout", key, namespace).passed, key


# -- typical mistakes fail their own question, with a message -------------------------------------

MISTAKES = {
    ("lif_poisson", "q1", "fires at the threshold"): '''
def lif_step(v, current, leak, threshold):
    h = v + current
    s = (h >= threshold).float()
    return leak * h * (1 - s), s, h''',
    ("lif_poisson", "q1", "leaks before integrating"): '''
def lif_step(v, current, leak, threshold):
    h = leak * v + current
    s = (h > threshold).float()
    return h * (1 - s), s, h''',
    ("lif_poisson", "q2", "drops the last step"): '''
def lif_run(currents, leak, threshold):
    v, out = torch.zeros_like(currents[0]), []
    for t in range(currents.shape[0] - 1):
        v, s, _ = lif_step(v, currents[t], leak, threshold)
        out.append(s)
    return torch.stack(out)''',
    ("lif_poisson", "q2", "does not start at rest"): '''
def lif_run(currents, leak, threshold):
    v, out = torch.full_like(currents[0], 0.5), []
    for t in range(currents.shape[0]):
        v, s, _ = lif_step(v, currents[t], leak, threshold)
        out.append(s)
    return torch.stack(out)''',
    ("lif_poisson", "q3", "no sign"): '''
def poisson_encode(x, steps, generator=None):
    return (x.abs() > torch.rand((steps, *x.shape), generator=generator)).float()''',
    ("lif_poisson", "q3", "ignores the generator"): '''
def poisson_encode(x, steps, generator=None):
    return (x.abs() > torch.rand((steps, *x.shape))).float() * torch.sign(x)''',
    ("surrogate_gradient", "q1", "forgets 1/threshold"): '''
class PaperSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, membrane, threshold):
        s = (membrane > threshold).float()
        ctx.save_for_backward(s)
        return s
    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0], None''',
    ("surrogate_gradient", "q2", "differentiates the leak"): '''
def paper_lif(current, leak, threshold):
    v, out = torch.zeros_like(current[0]), []
    for t in range(current.shape[0]):
        h = v + current[t]
        s = PaperSpike.apply(h, threshold)
        v = leak * h * (1 - s.detach())
        out.append(s)
    return torch.stack(out)''',
    ("surrogate_gradient", "q3", "no reset factor"): '''
def paper_gradient_by_hand(spikes, grad_spikes, threshold):
    out, later = torch.zeros_like(grad_spikes), 0
    for t in range(spikes.shape[0] - 1, -1, -1):
        later = grad_spikes[t] * spikes[t] / threshold + later
        out[t] = later
    return out''',
    ("deep_dropout", "q1", "a new mask every step"): '''
def time_fixed_dropout(x, p, generator=None):
    return x * (torch.rand(x.shape, generator=generator) >= p) / (1 - p)''',
    ("deep_dropout", "q2", "PyTorch's default initialisation and no dropout"): '''
def make_network(hidden=(128, 128, 64), dropout=0.2, timesteps=10):
    layers, width = [PoissonEncoder(timesteps), Flatten()], 64
    for size in hidden:
        layers += [TimeBatched(nn.Linear(width, size, bias=False)), LIF()]
        width = size
    return nn.Sequential(*layers, TimeBatched(nn.Linear(width, 10, bias=False)), OutputIntegrator())''',
    ("deep_dropout", "q3", "forgets eval mode"): '''
def firing_rates(model, images):
    outputs = []
    hooks = [m.register_forward_hook(lambda m, i, o: outputs.append(o)) for m in model.modules() if isinstance(m, LIF)]
    with torch.no_grad():
        model(images)
    for h in hooks:
        h.remove()
    return [float(o.mean()) for o in outputs]''',
}


@pytest.fixture(scope="module")
def namespaces():
    return {name: solution_namespace(name) for name in NAMES}


@pytest.mark.parametrize("assignment, key, mistake", list(MISTAKES))
def test_a_typical_mistake_fails_its_question_with_a_message(namespaces, assignment, key, mistake):
    """On several draws of the grader's inputs: a mistake must fail on every draw, not on most."""
    namespace = dict(namespaces[assignment])
    exec(MISTAKES[assignment, key, mistake], namespace)
    for seed in range(20):
        outcome = assignments.check(assignment, key, namespace, seed=seed)
        assert outcome.status == "wrong" and outcome.points == 0, (seed, outcome.status, outcome.message)
        assert len(outcome.message) > 20


def test_stub_is_not_attempted_and_missing_name_is_missing():
    namespace = {"lif_step": lambda *a: (_ for _ in ()).throw(NotImplementedError)}
    assert assignments.check("lif_poisson", "q1", namespace).status == "not attempted"
    assert assignments.check("lif_poisson", "q2", namespace).status == "missing"
    crash = {"lif_step": lambda *a: 1 / 0}
    outcome = assignments.check("lif_poisson", "q1", crash)
    assert outcome.status == "error" and "ZeroDivisionError" in outcome.message


def test_check_reads_the_callers_globals_and_shows_a_verdict():
    def lif_step(v, current, leak, threshold):
        raise NotImplementedError

    globals()["lif_step"] = lif_step                # a notebook's variables are its globals
    try:
        outcome = assignments.check("lif_poisson", "q1")
    finally:
        del globals()["lif_step"]
    assert outcome.status == "not attempted" and "not attempted" in str(outcome)
    everything = assignments.check("lif_poisson", namespace={})
    assert (everything.points, everything.max_points) == (0, 10) and str(everything).endswith("Total: 0/10")


# -- student notebooks: generated, never maintained by hand ---------------------------------------

def test_strip_solutions_keeps_indentation_and_the_rest():
    source = "def f(x):\n    '''doc'''\n    ### BEGIN SOLUTION\n    y = x + 1\n    return y\n    ### END SOLUTION\nprint(f)"
    assert release.strip_solutions(source) == (
        "def f(x):\n    '''doc'''\n    # YOUR CODE HERE\n    raise NotImplementedError\nprint(f)")
    assert release.strip_solutions("x = 1") == "x = 1"


@pytest.mark.parametrize("source, match", [
    ("### BEGIN SOLUTION\nx = 1", "never closed"),
    ("x = 1\n### END SOLUTION", "never opened"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another"),
])
def test_unbalanced_markers_raise_errors_naming_the_cell(source, match):
    with pytest.raises(ValueError, match=rf"demo.ipynb, cell 3: .*line \d.*{match}"):
        release.strip_solutions(source, where="demo.ipynb, cell 3")


def test_committed_student_notebooks_are_up_to_date():
    assert release.release(SOURCE, RELEASE, check=True) == [], \
        "run: python -m snnbp.assignments release"
    assert sorted(p.name for p in RELEASE.glob("*.ipynb")) == sorted(p.name for p in SOURCE.glob("*.ipynb"))


def test_release_writes_new_files_and_is_idempotent(tmp_path):
    written = release.release(SOURCE, tmp_path / "out")
    assert sorted(p.name for p in written) == sorted(f"{n}.ipynb" for n in NAMES)
    assert release.release(SOURCE, tmp_path / "out") == []                      # same bytes again
    student = read(tmp_path / "out" / "lif_poisson.ipynb")
    again = release.student_notebook(copy.deepcopy(student))                     # student of a student
    assert nbformat.writes(again) == nbformat.writes(student)
    assert release.main(["--source", str(SOURCE), "--release", str(tmp_path / "out"), "--check"]) == 0


@pytest.mark.parametrize("name", NAMES)
def test_student_notebook_has_stubs_and_no_solution_text(name):
    instructor, student = read(SOURCE / f"{name}.ipynb"), read(RELEASE / f"{name}.ipynb")
    text = "\n".join(c.source for c in student.cells)
    assert release.BEGIN not in text and release.END not in text
    assert "instructor-only" not in str([c.metadata for c in student.cells])
    assert student.metadata["snnbp"] == {"assignment": name, "version": "student"}
    student_lines = {line.strip() for line in text.splitlines()}
    regions, solution_lines, other_lines = 0, set(), set()
    for cell in code_cells(instructor):
        lines = cell.source.splitlines()
        inside = set()
        for begin, end in release.solution_regions(cell.source):
            regions += 1
            inside |= set(range(begin + 1, end))
        solution_lines |= {lines[k].strip() for k in inside}
        other_lines |= {line.strip() for k, line in enumerate(lines) if k not in inside}
    leaked = {line for line in solution_lines - other_lines if len(line) > 12} & student_lines
    assert not leaked, f"solution lines in the student notebook: {sorted(leaked)}"
    assert text.count("raise NotImplementedError") >= regions >= len(assignments.get(name).questions)
    dropped = [c for c in instructor.cells if release.DROP_TAG in c.metadata.get("tags", [])]
    assert len(student.cells) == len(instructor.cells) - len(dropped)


def test_self_check_cells_are_recognised():
    assert is_self_check('assignments.check("lif_poisson", "q1")')
    assert is_self_check('assignments.check("a")\nassignments.check("b")')
    assert not is_self_check('x = 1\nassignments.check("a")')
    assert not is_self_check("def f(:")
    assert not is_self_check("")


def test_list_without_names_lists_every_assignment(capsys):
    from snnbp.assignments.__main__ import main

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(f"{name}:" in out for name in ("lif_poisson", "surrogate_gradient", "deep_dropout"))
