r"""The one kind of check behind the book's exercises and the graded assignments' questions.

An :class:`Exercise` holds what a check is made of: the ``reference`` function, the input
:class:`Case` s (fixed ones for the notebook, ``draw``-n ones for a grading run), the comparison
(``compare(expected, got)``, default :func:`allclose`; or ``judge_case(case, got)`` for answers
that are random and are judged against their inputs), a ``hint`` and a typical ``mistake``.

It runs in two places, from the same per-case decision :meth:`Exercise.problem`:

* the notebook runner (:func:`snnbp.exercises.check` -> :meth:`Exercise.run`): the reader's
  function on every case, a :class:`Result` printed in the notebook;
* the grader's three parts (:mod:`snnbp.assignments`, :mod:`snnbp.grade`): ``make(generator) ->
  request`` (plain data), ``answer(request, *objects) -> reply`` (the only part that runs the
  student's code; in a graded submission in the submission's kernel) and ``judge(request, reply)``
  (raises :class:`~snnbp.verdicts.Wrong`; in the grader's process). An exercise builds the three
  parts from its cases and reference; a graded question whose check is more than "call a function
  on inputs" (a training loop, a network) passes its own. :class:`snnbp.assignments.Question` is
  this class with a key, a title, points and the names the notebook defines.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch

from .. import validate
from ..verdicts import Verdict, Wrong, classify, clone, describe, difference, expect

__all__ = ["Case", "Exercise", "Result", "REGISTRY", "register", "names", "get", "check", "allclose", "measured"]


@dataclass(frozen=True)
class Case:
    """One set of inputs for the function under test: ``fn(*args, **kwargs)``."""

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def describe(self) -> str:
        parts = [describe(a) for a in self.args] + [f"{k}={describe(v)}" for k, v in self.kwargs.items()]
        return "(" + ", ".join(parts) + ")"

    def call(self, fn: Callable) -> Any:
        """``fn`` on copies of the inputs (so it cannot change them)."""
        return fn(*clone(self.args), **clone(self.kwargs))


#: The words of :attr:`Result.label` by status (any other status is said as it is: ``[wrong]``).
LABELS = {"passed": "passed", "not attempted": "to do"}


@dataclass(repr=False)
class Result(Verdict):
    """The verdict of :func:`check`: a ``status`` (``passed``, ``wrong``, ``not attempted`` or
    ``error``), a ``message`` (what happened, on which input) and a ``hint`` (what to look at).
    ``passed`` and ``attempted`` say the same; truthy when passed."""

    name: str
    status: str
    message: str
    hint: str = ""
    cases: int = 0

    @property
    def attempted(self) -> bool:
        return self.status != "not attempted"

    def __bool__(self) -> bool:
        return self.passed

    @property
    def label(self) -> str:
        """The status in plain ASCII words beside the :attr:`mark`, e.g. ``[passed]``: the emoji
        marks render as empty boxes where no emoji font is installed, the words everywhere."""
        return f"[{LABELS.get(self.status, self.status)}]"

    def __str__(self) -> str:
        head = f"{self.mark} {self.label} {self.name}"
        if self.passed:
            return f"{head}: correct on all {self.cases} test cases. Well done!"
        if not self.attempted:
            return f"{head}: not attempted yet. {self.message}"
        return f"{head}: not yet. {self.message}\n   Hint: {self.hint}"


def allclose(rtol: float = 1e-5, atol: float = 1e-6) -> Callable[[Any, Any], str | None]:
    """A ``compare``: numbers, tensors, or tuples/lists of them, elementwise within tolerances
    (:func:`snnbp.verdicts.difference`)."""
    return functools.partial(difference, rtol=rtol, atol=atol)


@dataclass(frozen=True, kw_only=True)
class Exercise:
    """One check (see the module docstring). ``cases()`` builds fresh inputs for every notebook
    check; ``draw(generator)`` fresh random ones for a grading run (default: ``cases()``).
    ``make``, ``answer`` and ``judge`` default to the ones built from the cases and the reference
    (:meth:`default_make`, :meth:`default_answer`, :meth:`default_judge`)."""

    name: str = ""
    hint: str = ""
    reference: Callable | None = None
    cases: Callable[[], Iterable[Case]] | None = None
    draw: Callable[[torch.Generator], Iterable[Case]] | None = None
    compare: Callable[[Any, Any], str | None] = field(default_factory=allclose)
    judge_case: Callable[[Case, Any], str | None] | None = None
    mistake: Callable | None = None
    description: str = ""
    chapter: str = ""
    make: Callable[[torch.Generator], dict] | None = None
    answer: Callable[..., Any] | None = None
    judge: Callable[[dict, Any], None] | None = None

    def __post_init__(self) -> None:
        for part in ("make", "answer", "judge"):
            if getattr(self, part) is None:
                object.__setattr__(self, part, getattr(self, f"default_{part}"))

    @property
    def what(self) -> str:
        """The function's name in messages."""
        return self.name

    def problem(self, case: Case, got: Any) -> str | None:
        """``None`` when ``got`` is a right answer for ``case``, else a sentence saying what differs."""
        if self.judge_case is not None:
            return self.judge_case(case, got)
        return self.compare(case.call(self.reference), got)

    # -- the notebook runner ------------------------------------------------------------------------

    def run(self, fn: Callable) -> Result:
        """``fn`` on every case of ``cases()``; the first case that raises or differs decides."""
        cases = list(self.cases())
        for case in cases:
            try:
                got = case.call(fn)
            except Exception as error:  # noqa: BLE001 - any error in student code is feedback, not a crash
                status, message = classify(error)
                if status != "not attempted":
                    message = f"calling it with {case.describe()} raised {message}"
                return Result(self.name, status, message, self.hint, len(cases))
            problem = self.problem(case, got)
            if problem is not None:
                return Result(self.name, "wrong", f"for the input {case.describe()}: {problem}", self.hint, len(cases))
        return Result(self.name, "passed", "", "", len(cases))

    # -- the grader's three parts ---------------------------------------------------------------------

    def default_make(self, gen: torch.Generator) -> dict:
        """``{"cases": [[arg, ...], ...]}``: the drawn cases' positional inputs, as plain data."""
        cases = list(self.draw(gen) if self.draw is not None else self.cases())
        if any(case.kwargs for case in cases):
            raise ValueError(f"{self.what}: a graded check passes its inputs by position only")
        return {"cases": [list(case.args) for case in cases]}

    def default_answer(self, request: dict, fn: Callable) -> list:
        """The student's function on every case of the request (runs where the student's code runs)."""
        return [Case(tuple(args)).call(fn) for args in request["cases"]]

    def default_judge(self, request: dict, reply: Any) -> None:
        """Raise :class:`~snnbp.verdicts.Wrong` at the first case whose answer :meth:`problem` rejects."""
        cases = [Case(tuple(args)) for args in request["cases"]]
        expect(len(reply) == len(cases), f"{self.what} was not called on every input.")  # no len(): unreadable
        expect(isinstance(reply, list), f"the answers came back as {describe(reply)}, not as a list.")
        for case, got in zip(cases, reply):
            problem = self.problem(case, got)
            if problem is not None:
                raise Wrong(f"for the input {case.describe()}: {problem}")


def measured(what: str, rtol: float, atol: float) -> Callable[[Any, Any], str | None]:
    """A ``compare`` for a prediction against a measurement (the reference measures): within
    ``rtol``/``atol``, or a sentence giving the prediction, the measurement and the gap."""
    def compare(expected, got) -> str | None:
        problem = difference(expected, got, rtol=rtol, atol=atol)
        if problem is None:
            return None
        try:
            e = torch.as_tensor(expected, dtype=torch.float64)
            g = torch.as_tensor(got, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError):
            return problem
        if e.shape != g.shape or e.numel() > 8:
            return problem

        def show(t):
            return f"{t.item():.4g}" if t.numel() == 1 else str([round(v, 4) for v in t.flatten().tolist()])
        return (f"your answer {show(g)} is off from {what} {show(e)} (gap {show(g - e)}; "
                f"tolerance {rtol:.0%} + {atol:g})")
    return compare


# -- the registry ----------------------------------------------------------------------------------

REGISTRY: dict[str, Exercise] = {}


def register(name: str, *, reference: Callable, cases: Callable[[], Iterable[Case]], hint: str,
             compare: Callable[[Any, Any], str | None] | None = None, mistake: Callable | None = None,
             description: str = "", chapter: str = "", **parts: Any) -> Exercise:
    """Add an exercise to :data:`REGISTRY` (``compare`` defaults to :func:`allclose`); ``chapter`` is
    the book notebook (file stem) that checks it; ``parts``: more :class:`Exercise` fields
    (``draw``, ``judge_case``)."""
    if name in REGISTRY:
        raise ValueError(f"exercise {name!r} is already registered")
    exercise = Exercise(name=name, reference=reference, cases=cases, hint=hint, compare=compare or allclose(),
                        mistake=mistake, description=description, chapter=chapter, **parts)
    REGISTRY[name] = exercise
    return exercise


def names() -> tuple[str, ...]:
    """The registered exercise names."""
    return tuple(REGISTRY)


def get(name: str) -> Exercise:
    """The :class:`Exercise` called ``name`` (one of :func:`names`)."""
    return REGISTRY[validate.choice("exercise", name, names())]


def check(name: str, fn: Callable, *, quiet: bool = False) -> Result:
    """Run ``fn`` on every case of exercise ``name``, compare with the reference, print the verdict."""
    exercise = get(name)
    if not callable(fn):
        raise TypeError(f"check({name!r}, fn): fn must be the function you wrote, got {type(fn).__name__}")
    result = exercise.run(fn)
    if not quiet:
        print(result)
    return result
