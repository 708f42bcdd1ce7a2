r"""Graded assignments: the questions, their points, and the checks that grade them (the course kit).

Three assignments ship with the book (``assignments/`` in the repository):

* ``lif_poisson``: one LIF step in the paper's order, a spike train, the signed Poisson code;
* ``surrogate_gradient``: the paper's derivative as a ``torch.autograd.Function``, a LIF layer
  with the paper's backward rule, and the same gradient by hand;
* ``deep_dropout``: time-fixed dropout, a deep SNN on the 8x8 digits, per-layer firing rates,
  a training loop and a report.

A student checks an answer from the notebook (the objects are looked up by name among the
notebook's variables)::

    from snnbp import assignments
    assignments.check("lif_poisson", "q1")       # prints the verdict for question 1
    assignments.check("lif_poisson")             # every question, and the total

The grader (:mod:`snnbp.grade`) runs the same checks from its own copy of this package inside
the submission's kernel, so a submission cannot change what is checked or how many points it
is worth. Student notebooks are generated from the instructor's: :mod:`snnbp.assignments.release`.
"""
from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from .. import _checks
from . import deep_dropout, lif_poisson, surrogate_gradient
from ._core import STATUSES, Assignment, Outcome, Question, Wrong, run

__all__ = ["ASSIGNMENTS", "NAMES", "get", "check", "outcome_json", "Assignment", "Question", "Outcome",
           "Wrong", "STATUSES", "run"]

ASSIGNMENTS: dict[str, Assignment] = {a.name: a for a in (
    lif_poisson.ASSIGNMENT, surrogate_gradient.ASSIGNMENT, deep_dropout.ASSIGNMENT)}
NAMES: tuple[str, ...] = tuple(ASSIGNMENTS)


def get(name: str) -> Assignment:
    """The :class:`Assignment` called ``name`` (one of :data:`NAMES`)."""
    return ASSIGNMENTS[_checks.choice("assignment", name, NAMES)]


def check(assignment: str, question: str | None = None, namespace: Mapping[str, Any] | None = None, *,
          quiet: bool = False) -> Outcome | list[Outcome]:
    """Check one question (or all of them) and print the verdict.

    ``namespace`` defaults to the caller's global variables, i.e. the notebook's.
    """
    spec = get(assignment)
    if namespace is None:
        frame = inspect.currentframe()
        namespace = frame.f_back.f_globals if frame is not None and frame.f_back is not None else {}
    if question is not None:
        outcome = run(spec, spec.question(question).key, namespace)
        if not quiet:
            print(outcome)
        return outcome
    outcomes = [run(spec, key, namespace) for key in spec.keys]
    if not quiet:
        for outcome in outcomes:
            print(outcome)
        print(f"Total: {sum(o.points for o in outcomes)}/{spec.total}")
    return outcomes


def outcome_json(assignment: str, question: str, namespace: Mapping[str, Any]) -> str:
    """The grader's entry point inside a submission's kernel: the :class:`Outcome` as JSON text."""
    return run(get(assignment), question, namespace).to_json()
