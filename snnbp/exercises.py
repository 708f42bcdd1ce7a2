r"""Exercise checkers: test a student's function against the reference, with tolerances and hints.

A chapter (or a graded assignment) asks the student to write a function, then calls::

    from snnbp import exercises
    exercises.check("lif_step", lif_step)      # prints a friendly verdict, returns a Result

:func:`check` runs the student's function and the reference on the same inputs (fixed seeds),
compares the answers, and prints a hint on failure. A stub that still raises
``NotImplementedError`` is reported as *not attempted yet* (never an error), so a notebook with
unsolved exercises still runs from top to bottom.

The checkers live in a small registry: :func:`register` adds one (name, reference, input cases,
hint and a typical mistake used by the tests); :func:`names` lists them; :func:`get` returns one.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from . import _checks
from .encoding import poisson_encode
from .neurons import LIF, leak_correction_factor
from .surrogate import FastSigmoid

__all__ = ["Case", "Exercise", "Result", "register", "check", "get", "names", "REGISTRY"]


@dataclass(frozen=True)
class Case:
    """One set of inputs for the function under test: ``fn(*args, **kwargs)``."""

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def describe(self) -> str:
        parts = [_short(a) for a in self.args] + [f"{k}={_short(v)}" for k, v in self.kwargs.items()]
        return "(" + ", ".join(parts) + ")"


@dataclass
class Result:
    """The verdict of :func:`check`: ``passed``, whether the stub was ``attempted``, a ``message``
    (what happened, on which input) and a ``hint`` (what to look at). Truthy when passed."""

    name: str
    passed: bool
    attempted: bool
    message: str
    hint: str = ""
    cases: int = 0

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        if self.passed:
            return f"\u2705 {self.name}: correct on all {self.cases} test cases. Well done!"
        if not self.attempted:
            return f"\u270f\ufe0f  {self.name}: not attempted yet. {self.message}"
        return f"\u274c {self.name}: not yet. {self.message}\n   Hint: {self.hint}"

    def _repr_pretty_(self, printer, cycle) -> None:   # IPython shows the verdict, not the dataclass
        printer.text(str(self))


@dataclass(frozen=True)
class Exercise:
    """A registered checker.

    ``reference``: the correct function. ``cases``: a function returning the input
    :class:`Case` s (built fresh for every check, so students cannot mutate them). ``compare(expected,
    got)`` returns ``None`` when ``got`` is acceptable, else a sentence saying what differs.
    ``mistake``: a typical wrong answer (the tests check it fails with a hint).
    """

    name: str
    reference: Callable
    cases: Callable[[], Iterable[Case]]
    hint: str
    compare: Callable[[Any, Any], str | None]
    mistake: Callable | None = None
    description: str = ""


REGISTRY: dict[str, Exercise] = {}


def register(name: str, *, reference: Callable, cases: Callable[[], Iterable[Case]], hint: str,
             compare: Callable[[Any, Any], str | None] | None = None, mistake: Callable | None = None,
             description: str = "") -> Exercise:
    """Add an exercise to :data:`REGISTRY` (``compare`` defaults to :func:`allclose`)."""
    if name in REGISTRY:
        raise ValueError(f"exercise {name!r} is already registered")
    exercise = Exercise(name, reference, cases, hint, compare or allclose(), mistake, description)
    REGISTRY[name] = exercise
    return exercise


def names() -> tuple[str, ...]:
    """The registered exercise names."""
    return tuple(REGISTRY)


def get(name: str) -> Exercise:
    """The :class:`Exercise` called ``name`` (one of :func:`names`)."""
    return REGISTRY[_checks.choice("exercise", name, names())]


def check(name: str, fn: Callable, *, quiet: bool = False) -> Result:
    """Run ``fn`` on every case of exercise ``name``, compare with the reference, print the verdict."""
    exercise = get(name)
    if not callable(fn):
        raise TypeError(f"check({name!r}, fn): fn must be the function you wrote, got {type(fn).__name__}")
    result = _run(exercise, fn)
    if not quiet:
        print(result)
    return result


def _run(exercise: Exercise, fn: Callable) -> Result:
    cases = list(exercise.cases())
    for case in cases:
        expected = exercise.reference(*_clone(case.args), **_clone(case.kwargs))
        try:
            got = fn(*_clone(case.args), **_clone(case.kwargs))
        except NotImplementedError:
            return Result(exercise.name, False, False, "Replace `raise NotImplementedError` with your code, "
                          "run the cell, then run this check again.", exercise.hint, len(cases))
        except Exception as error:  # noqa: BLE001 - any error in student code is feedback, not a crash
            return Result(exercise.name, False, True, f"calling it with {case.describe()} raised "
                          f"{type(error).__name__}: {error}", exercise.hint, len(cases))
        problem = exercise.compare(expected, got)
        if problem is not None:
            return Result(exercise.name, False, True, f"for the input {case.describe()}: {problem}",
                          exercise.hint, len(cases))
    return Result(exercise.name, True, True, "", "", len(cases))


# -- comparing answers --------------------------------------------------------------------------

def allclose(rtol: float = 1e-5, atol: float = 1e-6) -> Callable[[Any, Any], str | None]:
    """Compare numbers, tensors, or tuples/lists of them, elementwise within tolerances."""

    def compare(expected, got) -> str | None:
        if isinstance(expected, (tuple, list)):
            if not isinstance(got, (tuple, list)) or len(got) != len(expected):
                return f"expected {len(expected)} values (a tuple), got {_short(got)}"
            for k, (e, g) in enumerate(zip(expected, got)):
                problem = compare(e, g)
                if problem is not None:
                    return f"value {k + 1} of {len(expected)}: {problem}"
            return None
        try:
            g = torch.as_tensor(got, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError):
            return f"expected a number or tensor, got {type(got).__name__}"
        e = torch.as_tensor(expected, dtype=torch.float64)
        if g.shape != e.shape:
            return f"expected shape {tuple(e.shape)}, got {tuple(g.shape)}"
        if not torch.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
            k = int((g - e).abs().flatten().argmax())
            return (f"expected {_short(expected)}, got {_short(got)} "
                    f"(largest difference at position {k}: {e.flatten()[k].item():.6g} vs {g.flatten()[k].item():.6g})")
        return None

    return compare


def _clone(value):
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, tuple):
        return tuple(_clone(v) for v in value)
    if isinstance(value, list):
        return [_clone(v) for v in value]
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    return value


def _short(value) -> str:
    if isinstance(value, torch.Tensor):
        if value.numel() <= 6:
            return f"tensor({[round(v, 4) for v in value.flatten().tolist()]}, shape={tuple(value.shape)})"
        return f"tensor of shape {tuple(value.shape)}"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_short(v) for v in value) + ")"
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -- Chapter 1: warm-up -------------------------------------------------------------------------

def _spike_count(spikes: torch.Tensor) -> torch.Tensor:
    """Spikes per neuron: sum a spike train ``[T, N]`` over time."""
    return spikes.sum(0)


register(
    "spike_count", reference=_spike_count,
    cases=lambda: [Case(((torch.rand(20, 5, generator=_gen(s)) < 0.3).float(),)) for s in range(3)],
    hint="time is the first dimension: sum over dim 0, so you keep one number per neuron.",
    mistake=lambda spikes: spikes.sum(1),
    description="count the spikes of each neuron in a spike train [T, N]")


def _firing_rate(spikes: torch.Tensor) -> torch.Tensor:
    """Spikes per neuron per time step: the mean of ``[T, N]`` over time."""
    return spikes.float().mean(0)


register(
    "firing_rate", reference=_firing_rate,
    cases=lambda: [Case(((torch.rand(t, 4, generator=_gen(t)) < 0.2).float(),)) for t in (10, 25, 100)],
    hint="a rate is spikes per time step: divide each neuron's spike count by T = spikes.shape[0].",
    mistake=lambda spikes: spikes.sum(0) / spikes.shape[1],
    description="firing rate of each neuron: spikes per time step")


# -- Chapter 2: one LIF neuron ------------------------------------------------------------------

def _lif_step(v: torch.Tensor, current: torch.Tensor, leak: float, threshold: float):
    r"""The paper's order: integrate :math:`H = V + I`, fire :math:`s = 1[H > V_{th}]`, reset to
    zero, leak: returns ``(v_next, s)`` with :math:`v_{next} = \lambda H (1 - s)`."""
    v_next, s, _ = LIF(leak=leak, threshold=threshold, reset="zero").step(v, current)
    return v_next, s


def _lif_cases():
    g = _gen(2)
    cases = [Case((torch.tensor([0.0, 0.5, 0.95, 0.2]), torch.tensor([0.5, 0.6, 0.04, 0.8]), 0.99, 1.0))]
    for leak, threshold in ((0.99, 1.0), (0.9, 0.5), (1.0, 1.5)):
        cases.append(Case((torch.rand(8, generator=g) * threshold, torch.rand(8, generator=g) * threshold,
                           leak, threshold)))
    cases.append(Case((torch.tensor([0.5]), torch.tensor([0.5]), 0.99, 1.0)))   # H == V_th exactly: no spike
    return cases


register(
    "lif_step", reference=_lif_step, cases=_lif_cases,
    hint=("follow the paper's order: h = v + current; s = (h > threshold) as float (strictly greater); "
          "reset: h * (1 - s); then leak: v_next = leak * (reset value). Return (v_next, s)."),
    mistake=lambda v, current, leak, threshold: (
        (leak * v + current) * (1 - (leak * v + current > threshold).float()),
        (leak * v + current > threshold).float()),
    description="one time step of a LIF neuron in the paper's order")


def _rheobase(leak: float, threshold: float) -> float:
    r"""The smallest constant input a LIF neuron needs to fire at all: at rest without spikes
    :math:`H^* = \lambda H^* + I`, so :math:`H^* = I/(1-\lambda)`, which must exceed :math:`V_{th}`:
    :math:`I > (1 - \lambda) V_{th}`."""
    return (1.0 - leak) * threshold


register(
    "lif_rheobase", reference=_rheobase,
    cases=lambda: [Case((leak, th)) for leak, th in ((0.99, 1.0), (0.9, 1.0), (0.95, 0.5), (1.0, 1.0))],
    hint=("without spikes the membrane settles where it stops changing: H = leak * H + I. "
          "Solve for H and ask when it exceeds the threshold."),
    mistake=lambda leak, threshold: threshold / (1.0 - leak) if leak < 1 else 0.0,
    description="the smallest constant current that makes a LIF neuron fire")


# -- Chapter 3: spike encoding ------------------------------------------------------------------

def _encode_stats(spikes) -> tuple[torch.Tensor, torch.Tensor]:
    return spikes.float().mean(0), spikes.float().abs().mean(0)


def _compare_encoding(expected: torch.Tensor, got) -> str | None:
    """Poisson spikes are random: compare shape, values and per-pixel rates, not exact spikes."""
    if not isinstance(got, torch.Tensor):
        return f"expected a tensor of spikes, got {type(got).__name__}"
    if got.shape != expected.shape:
        return f"expected shape {tuple(expected.shape)} = [steps, *x.shape], got {tuple(got.shape)}"
    values = set(torch.unique(got.float()).tolist())
    if not values <= {-1.0, 0.0, 1.0}:
        return f"spikes must be -1, 0 or +1, got values {sorted(values)[:6]}"
    steps = expected.shape[0]
    (e_signed, e_abs), (g_signed, g_abs) = _encode_stats(expected), _encode_stats(got)
    tolerance = 5 * 0.5 / math.sqrt(steps) + 1e-6             # 5 standard deviations at p = 1/2
    for what, e, g in (("signed mean", e_signed, g_signed), ("rate |s|", e_abs, g_abs)):
        if (e - g).abs().max() > 2 * tolerance:
            k = int((e - g).abs().flatten().argmax())
            return (f"the {what} per pixel is off: pixel {k} has {g.flatten()[k]:.3f}, expected about "
                    f"{e.flatten()[k]:.3f} (over {steps} steps)")
    return None


def _encode_cases():
    x = torch.tensor([[0.0, 0.1, 0.5], [0.9, 1.0, -0.6]])
    return [Case((x, 2000)), Case((torch.linspace(-1, 1, 9), 2000))]


register(
    "poisson_encode", reference=lambda x, steps: poisson_encode(x, steps, generator=_gen(0)),
    cases=_encode_cases, compare=_compare_encoding,
    hint=("draw u = torch.rand(steps, *x.shape); a pixel fires when |x| > u; multiply by torch.sign(x) "
          "so negative pixels give -1 spikes. The result has shape [steps, *x.shape]."),
    mistake=lambda x, steps: (x > torch.rand(steps, *x.shape)).float(),
    description="signed Poisson rate code of x over `steps` time steps")


def _rate_std(p: float, steps: int) -> float:
    r"""Standard deviation of the rate estimate :math:`\hat p = \frac1T \sum_t s[t]` of a Bernoulli
    spike train with probability :math:`p`: :math:`\sqrt{p(1-p)/T}`."""
    return math.sqrt(p * (1 - p) / steps)


register(
    "rate_std", reference=_rate_std,
    cases=lambda: [Case((p, t)) for p, t in ((0.5, 10), (0.2, 100), (0.9, 25), (0.0, 50), (0.05, 1000))],
    hint=("the spike count over T steps is binomial, with variance T p (1 - p); the rate is the count "
          "divided by T, so its variance is divided by T squared."),
    mistake=lambda p, steps: math.sqrt(p * (1 - p)) / steps,
    description="the standard deviation of a Poisson rate estimate after T steps")


# -- Chapter 4: the derivative problem ----------------------------------------------------------

def _spike_trains():
    g = _gen(4)
    trains = (torch.rand(30, 6, generator=g) < torch.linspace(0.0, 0.6, 6)).float()
    trains[:, 0] = 0                      # a silent neuron: NG = 0
    trains[:, 1] = 0
    trains[-1, 1] = 1                     # one spike at the very last step
    return trains


register(
    "leak_correction", reference=leak_correction_factor,
    cases=lambda: [Case((_spike_trains(), leak)) for leak in (0.99, 0.9, 1.0)],
    hint=("LF = sum over t of leak**(T - t) * s[t] (t = 1..T, so the last step has weight 1); gamma = "
          "number of spikes (use 1 where it is 0); NG = (LF > 1e-3) + ln(leak) * LF / gamma."),
    mistake=lambda spikes, leak: (spikes.sum(0) > 0).float() + math.log(leak) * (
        (leak ** torch.arange(spikes.shape[0])).unsqueeze(1) * spikes).sum(0)
        / spikes.sum(0).clamp(min=1),
    description="the paper's leak-correction factor NG from a spike train [T, N]")


def _fast_sigmoid_grad(membrane: torch.Tensor, threshold: float, slope: float) -> torch.Tensor:
    r"""SuperSpike's surrogate :math:`\partial s/\partial V = 1/(1 + k|V - V_{th}|)^2`."""
    return FastSigmoid(slope).grad(membrane, None, threshold)


register(
    "fast_sigmoid_grad", reference=_fast_sigmoid_grad,
    cases=lambda: [Case((torch.linspace(-1, 3, 17), th, k)) for th, k in ((1.0, 25.0), (0.5, 5.0), (1.0, 1.0))],
    hint="u = membrane - threshold is the distance to threshold; the surrogate is 1 / (1 + slope * |u|)**2.",
    mistake=lambda membrane, threshold, slope: 1.0 / (1.0 + slope * (membrane - threshold).abs()),
    description="the fast-sigmoid surrogate derivative")


# -- Chapter 5: training ------------------------------------------------------------------------

def _mse_sum(output: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    r"""Summed squared error against one-hot targets: :math:`\sum_{b,c} (o_{bc} - y_{bc})^2`."""
    target = torch.nn.functional.one_hot(labels, output.shape[1]).to(output.dtype)
    return ((output - target) ** 2).sum()


def _loss_cases():
    g = _gen(5)
    return [Case((torch.rand(b, 10, generator=g), torch.randint(0, 10, (b,), generator=g))) for b in (1, 4, 32)]


register(
    "mse_sum_loss", reference=_mse_sum, cases=_loss_cases,
    hint=("turn labels into one-hot rows with torch.nn.functional.one_hot(labels, output.shape[1]), "
          "subtract, square, and SUM over everything (the batch too; not the mean)."),
    mistake=lambda output, labels: ((output - torch.nn.functional.one_hot(labels, output.shape[1])) ** 2).mean(),
    description="the paper scripts' summed squared error against one-hot targets")


def _accuracy(output: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of samples whose largest output is the label."""
    return (output.argmax(1) == labels).float().mean().item()


register(
    "accuracy", reference=_accuracy, cases=_loss_cases,
    hint="the prediction is the class with the largest output: output.argmax(dim=1); compare with labels and average.",
    mistake=lambda output, labels: (output.argmax(0)[: len(labels)] == labels).float().mean().item(),
    description="classification accuracy from outputs [B, classes] and labels [B]")
