"""``python -m snnbp.assignments release [--check]`` (student notebooks) or ``list [NAME ...]`` (questions
and points). A bad argument is one line ``error: ...`` with exit status 2 (:func:`snnbp.cli.run_command`);
``--debug`` shows the traceback."""
from __future__ import annotations

import sys

from .. import cli
from . import ASSIGNMENTS, NAMES, release

COMMANDS = ("release", "list")


def _list_parser() -> cli.ArgumentParser:
    p = cli.ArgumentParser(prog="python -m snnbp.assignments list", description="Print the questions and points.")
    # type=, not choices=: argparse checks an empty list against choices (Python < 3.12)
    p.add_argument("names", nargs="*", metavar="NAME", type=cli.choice_arg(NAMES),
                   help=f"assignments to list (default: all of {', '.join(NAMES)})")
    p.add_argument("--debug", action="store_true", help="show the traceback of every error (to report a bug)")
    return p


def _list(names: list[str]) -> int:
    for name in names or NAMES:
        assignment = ASSIGNMENTS[name]
        print(f"{assignment.name}: {assignment.title} ({assignment.total} points)")
        for q in assignment.questions:
            print(f"  {q.key}  {q.points:>2} pts  {q.title}  [defines: {', '.join(q.names)}]")
    return 0


def _unknown(argv: list[str]) -> int:
    """Raise the ``ValueError`` for an ``argv`` that does not start with a command, naming the valid choices."""
    problem = f"unknown command {argv[0]!r}" if argv else "no command given"
    raise ValueError(f"{problem}; valid choices: {', '.join(COMMANDS)} (COMMAND --help for its options)")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["-h"], ["--help"]):
        print(f"usage: python -m snnbp.assignments {{{','.join(COMMANDS)}}} [options]; COMMAND --help for its options")
        return 0
    if not argv or argv[0] not in COMMANDS:
        return cli.run_command(lambda: _unknown(argv), debug="--debug" in argv)
    if argv[0] == "release":
        return release.main(argv[1:])
    args = _list_parser().parse_args(argv[1:])
    return cli.run_command(lambda: _list(args.names), debug=args.debug)


if __name__ == "__main__":
    raise SystemExit(main())
