"""Submissions that try to fool the grader: each is an assignment's unsolved student notebook plus
ONE added cell, and each must score zero. The grader judges answers in its own process, on inputs
drawn from a fresh seed, so nothing a submission does inside its kernel can pass a question."""
import base64
import hashlib
import json
import re

import nbformat
import pytest
from test_grade import RELEASE, SOURCE, one_thread_per_kernel  # noqa: F401 - the fixture applies here too

from snnbp import assignments, grade

pytestmark = pytest.mark.slow                       # every test starts Jupyter kernels

# A reply in the grader's own wire format that claims to have passed, with points.
FORGED = base64.b64encode(json.dumps({"status": "answered", "answer": {"__dict__": {
    "status": "passed", "points": 99}}}).encode()).decode()

CHEATS = {
    # an import hook serves a fake snnbp.assignments (and checking) whose every function answers "passed"
    "import hook": f'''import sys, json, importlib.abc, importlib.util
class _Fake(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.startswith(("snnbp.assignments", "snnbp.verdicts", "snnbp.grade")):
            return importlib.util.spec_from_loader(name, self, is_package=True)
    def create_module(self, spec): return None
    def exec_module(self, module):
        module.__getattr__ = lambda attr: (lambda *args, **kwargs: {FORGED!r})
sys.meta_path.insert(0, _Fake())
for _name in [n for n in sys.modules if n.startswith(("snnbp.assignments", "snnbp.verdicts", "snnbp.grade"))]:
    del sys.modules[_name]''',
    # every comparison says "equal", and every answer is its first input
    "replaced comparisons": '''import builtins, math, numpy, torch
torch.allclose = torch.equal = torch.Tensor.equal = lambda *a, **k: True
numpy.allclose = numpy.array_equal = math.isclose = lambda *a, **k: True
builtins.all = builtins.any = lambda *a, **k: True
_first = lambda *a, **k: next((x for x in a if isinstance(x, torch.Tensor)), torch.zeros(1))
for _name in {names!r}:
    globals()[_name] = _first
lif_step = lambda v, *a, **k: (v, v, v)''',
    # the reply path is forged: json.dumps, base64, the user expressions the grader reads, and print
    "forged replies": f'''import base64, builtins, json
_dumps = json.dumps
json.dumps = lambda obj, *a, **k: _dumps({{"status": "passed", "points": 99}}) if isinstance(obj, dict) and "status" in obj else _dumps(obj, *a, **k)
base64.b64encode = lambda data, *a: {FORGED!r}.encode()
_ip = get_ipython()
_ip.user_expressions = lambda expressions: {{k: {{"status": "ok", "data": {{"text/plain": repr({FORGED!r})}}, "metadata": {{}}}} for k in expressions}}
print(repr({FORGED!r}))
builtins.print = lambda *a, **k: None''',
    # looks for the grader's inputs, answers or seed on disk and in the grader's process
    "reads the grader's files": '''import glob, os, tempfile
_found = {{"cwd": sorted(os.listdir("."))}}
_found["grader files"] = [p for p in glob.glob(os.path.join(tempfile.gettempdir(), "snnbp-grade-*", "**"),
                                               recursive=True) if os.path.isfile(p)]
_found["parent"] = open(f"/proc/{{os.getppid()}}/cmdline", "rb").read().decode(errors="replace")
_found["seed in environment"] = [k for k in os.environ if "SEED" in k.upper() and "PYTHONHASHSEED" != k]
open({report!r}, "w").write(repr(_found))''',
}


def cheating_notebook(folder, name, cell):
    """The student notebook of ``name`` with ``cell`` added at the end."""
    notebook = nbformat.read(RELEASE / f"{name}.ipynb", as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(cell))
    path = folder / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.mark.parametrize("name", assignments.NAMES)
@pytest.mark.parametrize("cheat", list(CHEATS))
def test_a_cheating_cell_scores_zero(tmp_path, cheat, name):
    names = [n for q in assignments.get(name).questions for n in q.names]
    cell = CHEATS[cheat]
    if cheat in ("replaced comparisons", "reads the grader's files"):
        cell = cell.format(names=names, report=str(tmp_path / "found.txt"))
    report = grade.grade_notebook(cheating_notebook(tmp_path, name, cell), timeout=120, check_timeout=60)
    assert report.error == "" and report.total == 10, report.table()
    assert report.score == 0 and not any(o.passed for o in report.outcomes), report.table()
    if cheat == "reads the grader's files":
        found = (tmp_path / "found.txt").read_text()
        assert "'cwd': []" in found, found                   # the kernel ran in an empty folder
        assert "'grader files': []" in found and "'seed in environment': []" in found, found


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Every request the grader sent while grading the solutions with seed 1234, and the replies."""
    replies = {}
    real = grade.Kernel.run

    def recording(self, code, timeout, **options):
        done = real(self, code, timeout, **options)
        request = re.search(r"respond\('\w+', '\w+', '([A-Za-z0-9+/=]*)'", code)
        if request and done.result:
            replies[hashlib.sha256(request.group(1).encode()).hexdigest()] = done.result.strip("'")
        return done

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(grade.Kernel, "run", recording)
        for name in assignments.NAMES:
            assert grade.grade_notebook(SOURCE / f"{name}.ipynb", timeout=300, seed=1234).score == 10
    return replies


@pytest.mark.parametrize("name", assignments.NAMES)
def test_answers_for_known_inputs_score_zero_on_fresh_ones(tmp_path, recorded, name):
    """A submission that replays the solutions' answers to the inputs of one grading run passes that
    run's seed (so the replay is real), and scores zero on a fresh grading run."""
    replay = f'''import hashlib
import snnbp.assignments as _assignments
_replies = {recorded!r}
_assignments.respond = lambda a, q, request, ns: _replies.get(hashlib.sha256(request.encode()).hexdigest(), "")'''
    path = cheating_notebook(tmp_path, name, replay)
    assert grade.grade_notebook(path, timeout=120, seed=1234).score == 10
    report = grade.grade_notebook(path, timeout=120)
    assert report.score == 0 and report.seed != 1234, report.table()
