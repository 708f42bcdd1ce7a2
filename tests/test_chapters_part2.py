"""Part II chapters (6-11): structure a reader and the course rely on, checked without executing them.

The slow build in tests/test_book.py executes every chapter; these checks are cheap.
"""
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from snnbp import exercises

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = {6: "06_deep_vgg", 7: "07_residual", "7b": "07b_deep_cifar", 8: "08_reproduction", 9: "09_efficiency",
            10: "10_cost", 11: "11_snntorch"}
#: chapters that train and measure only: no checked exercises
WITHOUT_EXERCISES = {"07b_deep_cifar"}


def _nb(stem):
    return nbformat.read(ROOT / "book" / f"{stem}.ipynb", as_version=4)


def test_part_two_is_in_the_toc_before_the_back_matter():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    captions = [part["caption"] for part in toc["parts"]]
    assert captions[-1] == "Back matter"
    part = next(p for p in toc["parts"] if p["caption"].startswith("Part II"))
    assert [c["file"] for c in part["chapters"]] == [f"book/{stem}" for stem in CHAPTERS.values()]


@pytest.mark.parametrize("number,stem", CHAPTERS.items(), ids=list(CHAPTERS.values()))
def test_chapter_has_title_goals_profiles_and_checked_exercises(number, stem):
    nb = _nb(stem)
    first = nb.cells[0].source
    assert first.startswith(f"# {number} \u00b7 ") and "After this chapter you can" in first
    code = [c for c in nb.cells if c.cell_type == "code"]
    params = next(c for c in code if "parameters" in c.metadata.get("tags", []))
    assert '"quick"' in params.source and '"full"' in params.source
    checks = [c for c in code if "exercises.check(" in c.source and "hide-input" not in c.metadata.get("tags", [])]
    # a folded cell is a checked exercise's solution when it calls the checker (others: figures,
    # predict-then-run answers)
    solutions = [c for c in code if "hide-input" in c.metadata.get("tags", []) and "exercises.check(" in c.source]
    if stem in WITHOUT_EXERCISES:
        assert not checks and not solutions
        return
    assert 2 <= len(checks) <= 4 and len(solutions) == len(checks)
    for cell in checks:
        name = re.search(r'exercises\.check\("(\w+)"', cell.source).group(1)
        assert name in exercises.names()
    stubs = [c for c in code if "raise NotImplementedError" in c.source]
    assert len(stubs) == len(checks)


def test_reproduction_chapter_reads_committed_runs_and_never_invents():
    source = "\n".join(c.source for c in _nb("08_reproduction").cells)
    assert "snnbp.results" in source and "not run yet" in source and "not measured yet" in source
    assert "reduced" in source
    for entry in ("--model lenet --dataset mnist", "--preset paper"):
        assert entry in source or "--model {model} --dataset {dataset} --preset paper" in source


def test_cost_chapter_reads_committed_benchmarks():
    source = "\n".join(c.source for c in _nb("10_cost").cells)
    assert 'benchmarks" / "results"' in source and "not run yet" in source and "this machine" in source
