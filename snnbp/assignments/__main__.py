"""``python -m snnbp.assignments release [--check]`` (student notebooks) or ``list [NAME ...]`` (questions and points)."""
from __future__ import annotations

import sys

from .. import validate
from . import ASSIGNMENTS, NAMES, release
from ._cli import Parser, fail

COMMANDS = ("release", "list")


def _list(argv: list[str]) -> int:
    parser = Parser(prog="python -m snnbp.assignments list", description="Print the questions and points.")
    # type=, not choices=: argparse checks an empty list against choices (Python < 3.12)
    parser.add_argument("names", nargs="*", metavar="NAME", type=validate.choice_arg(NAMES),
                        help=f"assignments to list (default: all of {', '.join(NAMES)})")
    for name in parser.parse_args(argv).names or NAMES:
        assignment = ASSIGNMENTS[name]
        print(f"{assignment.name}: {assignment.title} ({assignment.total} points)")
        for q in assignment.questions:
            print(f"  {q.key}  {q.points:>2} pts  {q.title}  [defines: {', '.join(q.names)}]")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["-h"], ["--help"]):
        print(f"usage: python -m snnbp.assignments {{{','.join(COMMANDS)}}} [options]; COMMAND --help for its options")
        return 0
    if not argv or argv[0] not in COMMANDS:
        problem = f"unknown command {argv[0]!r}" if argv else "no command given"
        fail(f"{problem}; valid choices: {', '.join(COMMANDS)} (COMMAND --help for its options)")
    return release.main(argv[1:]) if argv[0] == "release" else _list(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
