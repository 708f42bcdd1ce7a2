"""The pieces every graded assignment is made of: questions with points, and checks in three parts.

A question's check is split so that the part which decides the verdict never has to run where
the student's code runs:

* ``make(generator) -> request``: fresh inputs (numbers, lists, dicts, tensors) drawn from a
  ``torch.Generator`` (the grader seeds it anew for every grading run);
* ``answer(request, *objects) -> reply``: runs the student's objects (looked up by name in the
  notebook's namespace) on the request and returns plain data: tensors, numbers, lists, dicts.
  This is the only part that runs student code; in a graded submission it runs in the
  submission's kernel, and its reply travels back as text (:func:`snnbp.verdicts.encode`);
* ``judge(request, reply)``: compares the reply with the reference computed from the request, and
  raises :class:`~snnbp.verdicts.Wrong` with a sentence when it differs. The grader runs it in
  its own process, so nothing a submission changes in its kernel reaches it.

:func:`respond` is the kernel's side (request text in, reply text out), :func:`verdict` the
grader's (a decoded reply in, an :class:`Outcome` out) and :func:`run` both in one process (a
student's self-check).

A :class:`Question` is an :class:`snnbp.exercises.Exercise` (the same reference, cases, comparison,
hint) with points: a question that only calls a function on inputs gets its three parts from the
exercise framework, and the checks a chapter exercise shares with a question (a LIF step, the
Poisson code, time-fixed dropout) are written once, in the chapter's exercise file.
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch

from ..exercises import Exercise
from ..verdicts import Verdict, classify, decode, encode, generator

__all__ = ["Question", "Assignment", "Outcome", "run", "respond", "verdict", "outcome",
           "question_generator",
           "draw_seed", "draw_float", "draw_int"]

#: the statuses a reply may report for itself (all worth zero points)
REPORTED = ("missing", "not attempted", "error", "wrong")


@dataclass(frozen=True, kw_only=True)
class Question(Exercise):
    """One graded question: an :class:`~snnbp.exercises.Exercise` with a ``key`` (``"q1"``), a
    ``title``, its ``points`` and the ``names`` the student defines (functions, classes, variables),
    which :meth:`~snnbp.exercises.Exercise.answer` receives in that order. ``make``, ``answer`` and
    ``judge`` are the three parts of its check (see the module docstring): built from ``reference``,
    ``draw`` and ``compare`` (or ``judge_case``) like an exercise's, or passed for a check that is
    more than "call a function on inputs". ``hint`` is shown on failure."""

    key: str
    title: str
    points: int
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.names[0])
        super().__post_init__()

    @property
    def what(self) -> str:
        return " and ".join(self.names)


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


@dataclass(repr=False)
class Outcome(Verdict):
    """The verdict on one question: ``points`` of ``max_points``, a ``status`` from :data:`STATUSES`
    and a ``message`` saying why (empty when passed)."""

    assignment: str
    question: str
    title: str
    points: int
    max_points: int
    status: str
    message: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        head = f"{self.mark} {self.question.upper()} {self.title}: {self.points}/{self.max_points}"
        return f"{head}, correct. Well done!" if self.passed else f"{head}, {self.status}. {self.message}"


def question_generator(seed: int, assignment: str, key: str) -> torch.Generator:
    """The generator a question's inputs are drawn from: one per (``seed``, assignment, question)."""
    digest = hashlib.sha256(f"{int(seed)}:{assignment}:{key}".encode()).digest()
    return generator(int.from_bytes(digest[:8], "little") >> 1)


def outcome(spec: Assignment, key: str, status: str, message: str = "") -> Outcome:
    """An :class:`Outcome` whose points come from ``spec``'s table: all of them if passed, else none."""
    q = spec.question(key)
    return Outcome(spec.name, key, q.title, q.points if status == "passed" else 0, q.points, status, message)


def respond(spec: Assignment, key: str, request_text: str, namespace: Mapping[str, Any]) -> str:
    """Run the student's objects on a request (wire text) and return the reply as wire text:
    ``{"status": "answered", "answer": ...}``, or ``{"status": "missing" | "not attempted" | "error" |
    "wrong", "message": ...}``. Runs where the student's code runs."""
    question = spec.question(key)
    missing = [name for name in question.names if name not in namespace]
    if missing:
        return encode({"status": "missing", "message": ", ".join(missing)})
    try:
        answer = question.answer(decode(request_text), *(namespace[name] for name in question.names))
        return encode({"status": "answered", "answer": answer})
    except Exception as error:  # noqa: BLE001 - an error in student code is a verdict, not a crash
        status, message = classify(error)
        return encode({"status": status, "message": message})


def verdict(spec: Assignment, key: str, request: dict, reply: Any) -> Outcome:
    """The grader's decision on a decoded reply to ``request``: only :func:`Question.judge`, run
    here, can pass a question; what a reply says about itself can only cost points."""
    question = spec.question(key)
    if not isinstance(reply, dict) or reply.get("status") not in ("answered", *REPORTED):
        return outcome(spec, key, "error", "the answer came back malformed (not a reply of the checks).")
    status = reply["status"]
    if status == "missing":
        names = [n for n in question.names if n in str(reply.get("message", ""))] or list(question.names)
        return outcome(spec, key, "missing", f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} not defined: "
                       "run the cell that defines it (did that cell raise an error?).")
    if status != "answered":
        message = str(reply.get("message", ""))[:1000]
        if status == "error":
            message = f"your code raised {message}"
        elif status == "wrong" and question.hint:
            message = f"{message} Hint: {question.hint}"
        return outcome(spec, key, status, message)
    try:
        question.judge(request, reply.get("answer"))
    except Exception as error:  # noqa: BLE001 - a reply the judge cannot read is a wrong answer
        status, message = classify(error)
        if status != "wrong":
            status, message = "wrong", f"the answer could not be read: {message}"
        return outcome(spec, key, status, f"{message} Hint: {question.hint}" if question.hint else message)
    return outcome(spec, key, "passed")


def run(spec: Assignment, key: str, namespace: Mapping[str, Any], *, seed: int | None = None) -> Outcome:
    """Check question ``key`` of ``spec`` on the objects that ``namespace`` holds, all in this process
    (a student's self-check): the same request, reply and judge as the grader's, fresh inputs
    unless ``seed`` is given."""
    seed = secrets.randbits(62) if seed is None else seed
    request = spec.question(key).make(question_generator(seed, spec.name, key))
    return verdict(spec, key, request, decode(respond(spec, key, encode(request), namespace)))


# -- drawing inputs ------------------------------------------------------------------------------

def draw_seed(gen: torch.Generator) -> int:
    """A seed for a generator (or the global RNG) that the student's code will use, drawn from ``gen``."""
    return int(torch.randint(0, 2 ** 62, (1,), generator=gen))


def draw_float(gen: torch.Generator, low: float, high: float, digits: int = 3) -> float:
    """A number in ``[low, high]`` drawn from ``gen``, rounded to ``digits`` decimals (readable in messages)."""
    return round(low + (high - low) * float(torch.rand((), generator=gen)), digits)


def draw_int(gen: torch.Generator, low: int, high: int) -> int:
    """An integer in ``[low, high]`` drawn from ``gen``."""
    return int(torch.randint(low, high + 1, (1,), generator=gen))
