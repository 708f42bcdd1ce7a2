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
    assignments.check("lif_poisson", "q1")       # the verdict for question 1
    assignments.check("lif_poisson")             # every question, and the total

A check has three parts (:mod:`snnbp.assignments._core`): fresh inputs, the student's code run on
them (the only part that runs student code), and a judge that compares the answers with the
reference. A self-check runs all three in the notebook. The grader (:mod:`snnbp.grade`) runs only
the middle part in the submission's kernel (:func:`respond`), gets plain data back, and judges it
in its own process, so nothing a submission does to its kernel decides a verdict or its points.
Student notebooks are generated from the instructor's: :mod:`snnbp.assignments.release`.

Part of the course kit, not of a chapter: ``assignments/README.md`` is its manual.
"""
from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from .. import validate
from . import _core, deep_dropout, lif_poisson, surrogate_gradient
from ._core import Assignment, Outcome, Question, run, verdict

__all__ = ["ASSIGNMENTS", "NAMES", "get", "check", "Outcomes", "respond", "Assignment", "Question", "Outcome",
           "run", "verdict"]

ASSIGNMENTS: dict[str, Assignment] = {a.name: a for a in (
    lif_poisson.ASSIGNMENT, surrogate_gradient.ASSIGNMENT, deep_dropout.ASSIGNMENT)}
NAMES: tuple[str, ...] = tuple(ASSIGNMENTS)


def get(name: str) -> Assignment:
    """The :class:`Assignment` called ``name`` (one of :data:`NAMES`)."""
    return ASSIGNMENTS[validate.choice("assignment", name, NAMES)]


class Outcomes(list):
    """The outcomes of every question of an assignment; shows each verdict and the total."""

    @property
    def points(self) -> int:
        return sum(o.points for o in self)

    @property
    def max_points(self) -> int:
        return sum(o.max_points for o in self)

    def __str__(self) -> str:
        return "\n".join([*map(str, self), f"Total: {self.points}/{self.max_points}"])

    def _repr_pretty_(self, printer, cycle) -> None:   # IPython shows the verdicts, not a list
        printer.text(str(self))


def check(assignment: str, question: str | None = None, namespace: Mapping[str, Any] | None = None, *,
          seed: int | None = None) -> Outcome | Outcomes:
    """Check one question (or all of them): the last line of a notebook cell shows the verdict.

    ``namespace`` defaults to the caller's global variables, i.e. the notebook's. The inputs are
    drawn afresh every time unless ``seed`` is given. In a script, ``print(check(...))``.
    """
    spec = get(assignment)
    if namespace is None:
        frame = inspect.currentframe()
        namespace = frame.f_back.f_globals if frame is not None and frame.f_back is not None else {}
    if question is not None:
        return run(spec, spec.question(question).key, namespace, seed=seed)
    return Outcomes(run(spec, key, namespace, seed=seed) for key in spec.keys)


def respond(assignment: str, question: str, request: str, namespace: Mapping[str, Any]) -> str:
    """The grader's entry point inside a submission's kernel: run the notebook's objects on the
    grader's ``request`` (wire text) and return the reply as wire text (see :func:`_core.respond`)."""
    spec = get(assignment)
    return _core.respond(spec, spec.question(question).key, request, namespace)
