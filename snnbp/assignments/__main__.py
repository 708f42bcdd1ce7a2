"""``python -m snnbp.assignments release [--check]`` (student notebooks) or ``list`` (questions and points)."""
from __future__ import annotations

import sys

from . import ASSIGNMENTS, release


def _list() -> int:
    for assignment in ASSIGNMENTS.values():
        print(f"{assignment.name}: {assignment.title} ({assignment.total} points)")
        for q in assignment.questions:
            print(f"  {q.key}  {q.points:>2} pts  {q.title}  [defines: {', '.join(q.names)}]")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = ("release", "list")
    if not argv or argv[0] not in commands:
        print(f"usage: python -m snnbp.assignments {{{','.join(commands)}}} [options]; "
              "release --help for its options", file=sys.stderr)
        return 2
    return release.main(argv[1:]) if argv[0] == "release" else _list()


if __name__ == "__main__":
    raise SystemExit(main())
