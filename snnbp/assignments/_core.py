"""The pieces every graded assignment is made of: questions with points, checks, outcomes.

A *check* is a function of the student's objects (looked up by name in the notebook's
namespace) that returns quietly when the answer is right and raises :class:`Wrong` with a
sentence saying what differs when it is not. :func:`run` turns whatever happens into an
:class:`Outcome`: a stub that still raises ``NotImplementedError`` is *not attempted*, a name
that was never defined is *missing*, any other exception is an *error* in the student's code.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch

__all__ = ["Wrong", "Question", "Assignment", "Outcome", "STATUSES", "run",
           "expect", "expect_close", "expect_equal", "expect_shape", "clone", "describe"]

#: what can happen to a question, best first
STATUSES = ("passed", "wrong", "not attempted", "missing", "error", "timeout", "not run")


class Wrong(AssertionError):
    """A wrong answer; the message says, for which input, what was expected and what came back."""


@dataclass(frozen=True)
class Question:
    """One graded question: ``names`` are what the student defines (functions, classes, variables);
    ``check(*objects)`` raises :class:`Wrong` unless they are right. ``hint`` is shown on failure."""

    key: str
    title: str
    points: int
    names: tuple[str, ...]
    check: Callable[..., None]
    hint: str = ""


@dataclass(frozen=True)
class Assignment:
    """A notebook's questions, in order; ``name`` is the notebook's file stem and metadata tag."""

    name: str
    title: str
    questions: tuple[Question, ...]

    @property
    def total(self) -> int:
        return sum(q.points for q in self.questions)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(q.key for q in self.questions)

    def question(self, key: str) -> Question:
        for q in self.questions:
            if q.key == key:
                return q
        raise ValueError(f"assignment {self.name!r} has no question {key!r}; valid choices: "
                         + ", ".join(map(repr, self.keys)))


@dataclass
class Outcome:
    """The verdict on one question: ``points`` of ``max_points``, a ``status`` from :data:`STATUSES`
    and a ``message`` saying why (empty when passed)."""

    assignment: str
    question: str
    title: str
    points: int
    max_points: int
    status: str
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def __str__(self) -> str:
        head = f"{self.question.upper()} {self.title}: {self.points}/{self.max_points}"
        if self.passed:
            return f"\u2705 {head}, correct. Well done!"
        mark = "\u270f\ufe0f " if self.status == "not attempted" else "\u274c"
        return f"{mark} {head}, {self.status}. {self.message}"

    def _repr_pretty_(self, printer, cycle) -> None:   # IPython shows the verdict, not the dataclass
        printer.text(str(self))


def run(assignment: Assignment, key: str, namespace: Mapping[str, Any]) -> Outcome:
    """Check question ``key`` of ``assignment`` on the objects that ``namespace`` holds."""
    question = assignment.question(key)

    def outcome(status: str, message: str = "") -> Outcome:
        points = question.points if status == "passed" else 0
        return Outcome(assignment.name, key, question.title, points, question.points, status, message)

    missing = [name for name in question.names if name not in namespace]
    if missing:
        return outcome("missing", f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not defined: "
                       "run the cell that defines it (did that cell raise an error?).")
    try:
        question.check(*(namespace[name] for name in question.names))
    except NotImplementedError:
        return outcome("not attempted", "Replace `raise NotImplementedError` with your code and run the cell.")
    except Wrong as wrong:
        return outcome("wrong", f"{wrong} Hint: {question.hint}" if question.hint else str(wrong))
    except Exception as error:  # noqa: BLE001 - an error in student code is a verdict, not a crash
        return outcome("error", f"your code raised {type(error).__name__}: {error}")
    return outcome("passed")


# -- helpers the checks share --------------------------------------------------------------------

def expect(condition: bool, message: str) -> None:
    """Raise :class:`Wrong` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise Wrong(message)


def expect_shape(what: str, got: Any, shape: tuple[int, ...]) -> torch.Tensor:
    """``got`` must be a tensor of ``shape``; returns it."""
    expect(isinstance(got, torch.Tensor), f"{what} must be a torch.Tensor, got {type(got).__name__}.")
    expect(tuple(got.shape) == tuple(shape), f"{what} must have shape {tuple(shape)}, got {tuple(got.shape)}.")
    return got


def expect_close(what: str, got: Any, expected: torch.Tensor, *, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """``got`` must be a tensor of ``expected``'s shape and equal to it within tolerances."""
    got = expect_shape(what, got, tuple(expected.shape))
    g, e = got.detach().double(), expected.detach().double()
    if not torch.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
        k = int((g - e).abs().flatten().nan_to_num(math.inf).argmax())
        raise Wrong(f"{what} is off: at flat position {k} expected {e.flatten()[k].item():.6g}, "
                    f"got {g.flatten()[k].item():.6g}.")


def expect_equal(what: str, got: Any, expected: torch.Tensor) -> None:
    """``got`` must equal ``expected`` exactly (e.g. spikes)."""
    expect_close(what, got, expected, rtol=0.0, atol=0.0)


def clone(value: Any) -> Any:
    """A deep copy of tensors (and tuples/lists/dicts of them), so student code cannot change our inputs."""
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, (tuple, list)):
        return type(value)(clone(v) for v in value)
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    return value


def describe(value: Any) -> str:
    """A short description of an input for a message: small tensors in full, large ones by shape."""
    if isinstance(value, torch.Tensor):
        if value.numel() <= 6:
            return f"tensor({[round(v, 4) for v in value.flatten().tolist()]})"
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)
