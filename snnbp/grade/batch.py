"""Grade many notebooks (folders searched recursively), one kernel each, and write the grade table."""
from __future__ import annotations

import csv
import sys
from pathlib import Path

from .notebook import Report, grade_notebook

__all__ = ["notebooks", "grade_paths", "write_csv"]


def notebooks(paths: list[str | Path]) -> list[Path]:
    """The notebooks among ``paths``: files as given, folders searched recursively (checkpoints skipped)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(q for q in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in q.parts)
        else:
            found.append(p)
    return found


def grade_paths(paths: list[str | Path], *, progress: bool = True, **options) -> list[Report]:
    """Grade every notebook among ``paths`` (folders are searched recursively), one kernel each."""
    found = notebooks(paths)
    reports = []
    for number, path in enumerate(found, 1):
        if progress and len(found) > 1:
            print(f"[{number}/{len(found)}] grading {path} ...", file=sys.stderr, flush=True)
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
