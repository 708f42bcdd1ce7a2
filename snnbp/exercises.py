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

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch

from . import validate
from .checking import Verdict, classify, clone, describe, difference, generator
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
        parts = [describe(a) for a in self.args] + [f"{k}={describe(v)}" for k, v in self.kwargs.items()]
        return "(" + ", ".join(parts) + ")"


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

    def __str__(self) -> str:
        if self.passed:
            return f"{self.mark} {self.name}: correct on all {self.cases} test cases. Well done!"
        if not self.attempted:
            return f"{self.mark} {self.name}: not attempted yet. {self.message}"
        return f"{self.mark} {self.name}: not yet. {self.message}\n   Hint: {self.hint}"


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
    return REGISTRY[validate.choice("exercise", name, names())]


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
        expected = exercise.reference(*clone(case.args), **clone(case.kwargs))
        try:
            got = fn(*clone(case.args), **clone(case.kwargs))
        except Exception as error:  # noqa: BLE001 - any error in student code is feedback, not a crash
            status, message = classify(error)
            if status != "not attempted":
                message = f"calling it with {case.describe()} raised {message}"
            return Result(exercise.name, status, message, exercise.hint, len(cases))
        problem = exercise.compare(expected, got)
        if problem is not None:
            return Result(exercise.name, "wrong", f"for the input {case.describe()}: {problem}", exercise.hint, len(cases))
    return Result(exercise.name, "passed", "", "", len(cases))


def allclose(rtol: float = 1e-5, atol: float = 1e-6) -> Callable[[Any, Any], str | None]:
    """A ``compare`` for :func:`register`: numbers, tensors, or tuples/lists of them, elementwise within
    tolerances (:func:`snnbp.checking.difference`)."""
    return functools.partial(difference, rtol=rtol, atol=atol)


# -- Chapter 1: warm-up -------------------------------------------------------------------------

def _spike_count(spikes: torch.Tensor) -> torch.Tensor:
    """Spikes per neuron: sum a spike train ``[T, N]`` over time."""
    return spikes.sum(0)


register(
    "spike_count", reference=_spike_count,
    cases=lambda: [Case(((torch.rand(20, 5, generator=generator(s)) < 0.3).float(),)) for s in range(3)],
    hint="time is the first dimension: sum over dim 0, so you keep one number per neuron.",
    mistake=lambda spikes: spikes.sum(1),
    description="count the spikes of each neuron in a spike train [T, N]")


def _firing_rate(spikes: torch.Tensor) -> torch.Tensor:
    """Spikes per neuron per time step: the mean of ``[T, N]`` over time."""
    return spikes.float().mean(0)


register(
    "firing_rate", reference=_firing_rate,
    cases=lambda: [Case(((torch.rand(t, 4, generator=generator(t)) < 0.2).float(),)) for t in (10, 25, 100)],
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
    g = generator(2)
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
    "poisson_encode", reference=lambda x, steps: poisson_encode(x, steps, generator=generator(0)),
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
    g = generator(4)
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
    g = generator(5)
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


# -- Chapter 6: going deep ----------------------------------------------------------------------

def _he_std(weight_shape) -> float:
    r"""He initialisation's standard deviation :math:`\sqrt{2/\text{fan-in}}`, fan-in = the product
    of all but the first dimension of the weight (``C_in k k`` for a convolution, ``in_features``)."""
    fan_in = 1
    for n in tuple(weight_shape)[1:]:
        fan_in *= int(n)
    return math.sqrt(2.0 / fan_in)


register(
    "he_std", reference=_he_std,
    cases=lambda: [Case((shape,)) for shape in ((64, 3, 3, 3), (128, 64, 3, 3), (20, 1, 5, 5), (10, 200), (1024, 4096))],
    hint=("the fan-in is the number of inputs ONE output neuron sums: every dimension of the weight except "
          "the first (out channels). For a convolution that is C_in * k * k. The std is sqrt(2 / fan_in)."),
    mistake=lambda weight_shape: math.sqrt(2.0 / weight_shape[1]),
    description="the standard deviation of He-normal initialisation from a weight's shape")


def _time_fixed_dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """Dropout of ``x`` ``[T, B, ...]`` with one mask per sample, reused at every time step."""
    from .layers import TimeFixedDropout

    return TimeFixedDropout(p).train()(x)


def _compare_dropout(expected: torch.Tensor, got) -> str | None:
    """Random masks: check shape, values (0 or the scaled input), one mask for all steps, kept fraction."""
    if not isinstance(got, torch.Tensor):
        return f"expected a tensor, got {type(got).__name__}"
    if got.shape != expected.shape:
        return f"expected shape {tuple(expected.shape)} (the input's), got {tuple(got.shape)}"
    scaled = float(expected.abs().max())
    values = torch.unique(got.float())
    if not all(abs(float(v)) < 1e-6 or abs(float(v) - scaled) < 1e-4 for v in values):
        return (f"every output must be 0 (dropped) or the input / (1 - p) = {scaled:.4g} (kept), got values "
                f"{[round(float(v), 4) for v in values[:5]]}")
    zero = got == 0
    if not bool((zero == zero[:1]).all()):
        return "the mask changes from one time step to the next: draw ONE mask of shape [1, B, ...] and reuse it"
    kept, want = float((~zero[0]).float().mean()), float((expected[0] != 0).float().mean())
    if abs(kept - want) > 0.05:
        return f"it keeps {kept:.3f} of the neurons; with this p about {want:.3f} should be kept"
    return None


register(
    "time_fixed_dropout", reference=_time_fixed_dropout,
    cases=lambda: [Case((torch.full((8, 4, 500), value), p)) for value, p in ((1.0, 0.2), (0.7, 0.5), (1.0, 0.25))],
    compare=_compare_dropout,
    hint=("draw the mask once for all time steps: mask = (torch.rand_like(x[:1]) >= p).float(), shape [1, B, ...], "
          "and return x * mask / (1 - p); broadcasting reuses it at every step."),
    mistake=lambda x, p: torch.nn.functional.dropout(x, p, training=True),
    description="dropout with one mask per sample, shared by all time steps")


def _first_spike_step(spikes: torch.Tensor) -> torch.Tensor:
    """Time step (1-based) of each neuron's first spike in ``[T, N]``; 0 where it never fires."""
    fired = spikes != 0
    first = fired.float().argmax(0) + 1
    return torch.where(fired.any(0), first, torch.zeros_like(first))


def _first_spike_cases():
    g = generator(6)
    trains = [(torch.rand(20, 6, generator=g) < rate).float() for rate in (0.05, 0.2)]
    silent = torch.zeros(10, 3)
    silent[0, 1] = 1.0
    silent[9, 2] = -1.0
    return [Case((t,)) for t in trains] + [Case((silent,))]


register(
    "first_spike_step", reference=_first_spike_step, cases=_first_spike_cases,
    hint=("for each neuron find the first t with spikes[t] != 0 (e.g. argmax over dim 0 of the boolean mask), "
          "count steps from 1, and write 0 for neurons that never fire (their argmax is also 0: check .any(0))."),
    mistake=lambda spikes: (spikes != 0).float().argmax(0),
    description="the first spike time of every neuron (1-based; 0 = never)")


# -- Chapter 7: residual networks -----------------------------------------------------------------

def _residual_lif_step(v, conv_current, shortcut_current, leak: float, threshold: float):
    r"""One step of a residual block's second neuron: the shortcut enters the membrane,
    :math:`H = V + W_2 h + S(x)`, then fire, reset to zero and leak. Returns ``(v_next, s)``."""
    return _lif_step(v, conv_current + shortcut_current, leak, threshold)


def _residual_cases():
    g = generator(7)
    cases = [Case((torch.tensor([0.0, 0.5, 0.9]), torch.tensor([0.3, 0.2, 0.0]), torch.tensor([0.0, 1.0, 0.2]),
                   0.99, 1.0))]
    for leak, th in ((0.99, 1.0), (0.9, 0.5)):
        cases.append(Case((torch.rand(8, generator=g), torch.rand(8, generator=g) * 0.5,
                           (torch.rand(8, generator=g) < 0.5).float(), leak, th)))
    return cases


register(
    "residual_lif_step", reference=_residual_lif_step, cases=_residual_cases,
    hint=("the shortcut is part of the input current: h = v + conv_current + shortcut_current, then the usual "
          "LIF step (s = h > threshold; v_next = leak * h * (1 - s)). Return (v_next, s)."),
    mistake=lambda v, conv_current, shortcut_current, leak, threshold: (
        leak * (v + conv_current) * (1 - (v + conv_current > threshold).float()),
        ((v + conv_current > threshold).float() + shortcut_current).clamp(max=1)),
    description="one step of the neuron a residual shortcut feeds into")


def _conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output height/width of a convolution: ``(size + 2 padding - kernel) // stride + 1``."""
    return (size + 2 * padding - kernel) // stride + 1


register(
    "conv_output_size", reference=_conv_output_size,
    cases=lambda: [Case(a) for a in ((32, 3, 1, 1), (16, 3, 2, 1), (7, 3, 2, 1), (28, 5, 1, 2), (8, 1, 2, 0), (5, 3, 2, 1))],
    hint="count the positions the kernel can take: (size + 2 * padding - kernel) // stride + 1.",
    mistake=lambda size, kernel, stride, padding: size // stride,
    description="the spatial size after a convolution")


register(
    "subsample_shortcut", reference=lambda x, stride: x[..., ::stride, ::stride],
    cases=lambda: [Case((torch.arange(2 * 3 * n * n, dtype=torch.float32).reshape(2, 3, n, n), 2)) for n in (4, 7)],
    hint=("the parameter-free shortcut keeps every stride-th row and column, starting with the first: "
          "x[..., ::stride, ::stride] (no averaging, no weights)."),
    mistake=lambda x, stride: torch.nn.functional.avg_pool2d(x, stride),
    description="ResNet11's parameter-free stride-2 shortcut")


# -- Chapter 9: sparse computation ----------------------------------------------------------------

def _linear_synaptic_ops(spikes: torch.Tensor, out_features: int) -> float:
    """Accumulates a linear layer performs: every nonzero input spike (+1 or -1) reaches ``out_features`` targets."""
    return float((spikes != 0).sum()) * out_features


def _signed_spikes():
    g = generator(9)
    return [Case(((torch.rand(10, 2, 30, generator=g) < r).float() * torch.sign(torch.rand(10, 2, 30, generator=g) - 0.5),
                  n)) for r, n in ((0.1, 100), (0.3, 10))]


register(
    "linear_synaptic_ops", reference=_linear_synaptic_ops, cases=_signed_spikes,
    hint=("each spike, +1 or -1, costs one addition per target: count the NONZERO entries (spikes != 0) over all "
          "steps and samples, then multiply by out_features. Summing the spikes lets +1 and -1 cancel."),
    mistake=lambda spikes, out_features: float(spikes.sum()) * out_features,
    description="synaptic operations of a linear layer driven by signed spikes")


register(
    "conv_macs", reference=lambda c_in, c_out, kernel, h_out, w_out: c_out * h_out * w_out * c_in * kernel * kernel,
    cases=lambda: [Case(a) for a in ((3, 64, 3, 32, 32), (64, 128, 3, 16, 16), (1, 20, 5, 28, 28), (128, 256, 1, 8, 8))],
    hint="every output element (c_out * h_out * w_out of them) sums its fan-in, c_in * kernel * kernel products.",
    mistake=lambda c_in, c_out, kernel, h_out, w_out: c_out * h_out * w_out * kernel * kernel,
    description="multiply-accumulates of one image through a convolution in an ANN")


register(
    "energy_ratio", reference=lambda synaptic_ops, macs, e_ac=0.9, e_mac=4.6: macs * e_mac / (synaptic_ops * e_ac),
    cases=lambda: [Case((1e6, 5e6)), Case((2.5e7, 1e7)), Case((3e5, 3e5), {"e_ac": 0.03, "e_mac": 0.23})],
    hint="E_ANN = MACs * E_MAC and E_SNN = synaptic ops * E_AC; the ratio is E_ANN / E_SNN (ANN over SNN).",
    mistake=lambda synaptic_ops, macs, e_ac=0.9, e_mac=4.6: synaptic_ops * e_ac / (macs * e_mac),
    description="the ANN-over-SNN energy ratio from operation counts")


# -- Chapter 10: what spikes cost ------------------------------------------------------------------

def _time_batched(module, x: torch.Tensor) -> torch.Tensor:
    """Run a stateless ``module`` on ``[T, B, ...]`` by merging time into the batch."""
    from .layers import TimeBatched

    return TimeBatched(module)(x)


def _time_batched_cases():
    g = generator(10)
    linear, conv = torch.nn.Linear(6, 4, bias=False), torch.nn.Conv2d(2, 3, 3, padding=1, bias=False)
    with torch.no_grad():                 # weights from the local generator: the global RNG is left alone
        for module in (linear, conv):
            module.weight.copy_(torch.rand(module.weight.shape, generator=g) - 0.5)
    return [Case((linear, torch.rand(5, 3, 6, generator=g))), Case((conv, torch.rand(4, 2, 2, 6, 6, generator=g))),
            Case((linear, torch.rand(3, 3, 6, generator=g)))]


def _time_batched_mistake(module, x):
    y = module(x.transpose(0, 1).reshape(-1, *x.shape[2:]))
    return y.reshape(x.shape[0], x.shape[1], *y.shape[1:])


register(
    "time_batched", reference=_time_batched, cases=_time_batched_cases, mistake=_time_batched_mistake,
    hint=("merge the first two dimensions in place with x.reshape(T * B, ...) (time-major, no transpose), run the "
          "module once, and split them again with y.reshape(T, B, *y.shape[1:])."),
    description="apply a stateless layer to all time steps at once")


register(
    "epoch_seconds", reference=lambda step_seconds, examples, batch_size: math.ceil(examples / batch_size) * step_seconds,
    cases=lambda: [Case(a) for a in ((0.1, 50000, 16), (0.25, 1000, 64), (0.05, 73257, 16), (1.0, 10, 3))],
    hint="an epoch is ceil(examples / batch_size) optimiser steps; the last, smaller batch still costs a step.",
    mistake=lambda step_seconds, examples, batch_size: examples / batch_size * step_seconds,
    description="time of one epoch from the time of one training step")


# -- Chapter 11: the snnTorch bridge ---------------------------------------------------------------

def _snntorch_zero_step(mem, current, beta: float, threshold: float):
    r"""``snntorch.Leaky(reset_mechanism="zero")``: the reset of the previous spike is applied before
    integrating, :math:`m = \beta (1 - r) m + I` with :math:`r = 1[m_{prev} > V_{th}]`; then fire."""
    reset = (mem > threshold).to(mem.dtype)
    mem = beta * mem * (1 - reset) + current
    return (mem > threshold).to(mem.dtype), mem


def _snntorch_subtract_step(mem, current, beta: float, threshold: float):
    r"""``snntorch.Leaky(reset_mechanism="subtract")``: :math:`m = \beta m + I - V_{th} r`, the threshold
    subtracted AFTER the leak, with :math:`r = 1[m_{prev} > V_{th}]`; then fire."""
    reset = (mem > threshold).to(mem.dtype)
    mem = beta * mem + current - threshold * reset
    return (mem > threshold).to(mem.dtype), mem


def _snntorch_cases():
    g = generator(11)
    return [Case((torch.tensor([0.0, 0.5, 1.2, 0.95, 2.5]), torch.tensor([0.2, 0.6, 0.1, 0.3, 0.0]), 0.9, 1.0))] + [
        Case((torch.rand(8, generator=g) * 2 * th, torch.rand(8, generator=g) * th, beta, th))
        for beta, th in ((0.99, 1.0), (0.8, 0.5))]


def _snntorch_subtract_before_leak(mem, current, beta: float, threshold: float):
    """A typical mistake: the threshold is subtracted BEFORE the leak, ``beta (m - V_th r) + I``."""
    mem = beta * (mem - threshold * (mem > threshold).float()) + current
    return (mem > threshold).float(), mem


register(
    "snntorch_zero_step", reference=_snntorch_zero_step, cases=_snntorch_cases,
    hint=("snnTorch resets at the START of the next step: r = (mem > threshold) from the previous step, "
          "mem = beta * mem * (1 - r) + current, spk = (mem > threshold). Return (spk, mem)."),
    mistake=lambda mem, current, beta, threshold: (
        ((mem + current) > threshold).float(), beta * (mem + current) * (1 - ((mem + current) > threshold).float())),
    description="one step of snntorch.Leaky with reset to zero")


register(
    "snntorch_subtract_step", reference=_snntorch_subtract_step, cases=_snntorch_cases,
    hint=("r = (mem > threshold) from the previous step; the new membrane leaks FIRST and then loses the threshold: "
          "mem = beta * mem + current - threshold * r; spk = (mem > threshold). Return (spk, mem)."),
    mistake=_snntorch_subtract_before_leak,
    description="one step of snntorch.Leaky with subtractive reset")


# -- Chapter 8 and 10: schedules and the neuron scan -------------------------------------------------

def _multistep_lr(epoch: int, lr: float, milestones, gamma: float) -> float:
    r"""The learning rate in (1-based) ``epoch`` under a multistep schedule: :math:`\eta_0\gamma^{m}`,
    :math:`m` = the number of milestones already passed (``milestone < epoch``), as
    ``torch.optim.lr_scheduler.MultiStepLR`` stepped once per epoch."""
    return lr * gamma ** sum(1 for m in milestones if m < epoch)


register(
    "multistep_lr", reference=_multistep_lr,
    cases=lambda: [Case((e, 0.0033, (70, 100, 125), 0.2)) for e in (1, 70, 71, 100, 101, 126, 150)]
    + [Case((e, 0.0085, (75,), 0.2)) for e in (75, 76)],
    hint=("count the milestones the schedule has passed before this epoch (milestone < epoch: the decay at "
          "milestone 70 takes effect from epoch 71 on) and multiply lr by gamma that many times."),
    mistake=lambda epoch, lr, milestones, gamma: lr * gamma ** sum(1 for m in milestones if m <= epoch),
    description="the paper's step learning-rate schedule")


def _lif_scan(current: torch.Tensor, leak: float, threshold: float) -> torch.Tensor:
    """Spikes ``[T, N]`` of LIF neurons (reset to zero) driven by ``current`` ``[T, N]``: the loop over time."""
    with torch.no_grad():
        return LIF(leak=leak, threshold=threshold)(current.unsqueeze(1)).squeeze(1)


register(
    "lif_scan", reference=_lif_scan,
    cases=lambda: [Case((torch.rand(30, 6, generator=generator(12 + k)) * 0.6, leak, th))
                   for k, (leak, th) in enumerate(((0.99, 1.0), (0.9, 0.5), (1.0, 1.0)))],
    hint=("keep one membrane per neuron across the loop: v = zeros(N); for each t: h = v + current[t]; "
          "s = (h > threshold); v = leak * h * (1 - s); collect s. Return torch.stack of the spikes."),
    mistake=lambda current, leak, threshold: (current > threshold).float(),
    description="the time loop of a layer of LIF neurons")


# == Exercises that predict, measure or derive (issue 12) ===========================================
# Each reference below MEASURES its answer with PyTorch or the library (a simulation, autograd, a
# model's own shapes), and the reader's answer is a prediction or a derived formula compared with
# that measurement within a tolerance; the message says how far off the prediction is.

def _measured(what: str, rtol: float, atol: float) -> Callable[[Any, Any], str | None]:
    """A ``compare`` for a prediction against a measurement: within ``rtol``/``atol``, or a
    sentence giving the prediction, the measurement and the gap."""
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


# -- Chapter 1: predict from a firing probability -----------------------------------------------

def _measured_silent(probability: torch.Tensor, steps: int) -> float:
    """Simulated: the mean number of neurons (firing probabilities ``probability``) that do not
    fire once in ``steps`` steps, over 10,000 random rasters."""
    g = generator(101)
    trials = 10_000
    silent = torch.zeros(())
    for _ in range(0, trials, 5_000):
        spikes = torch.rand(5_000, steps, probability.numel(), generator=g) < probability
        silent += (~spikes.any(1)).sum()
    return float(silent) / trials


register(
    "expected_silent", reference=_measured_silent,
    cases=lambda: [Case((torch.linspace(0.05, 0.6, 8), 20)), Case((torch.full((10,), 0.01), 50)),
                   Case((torch.tensor([0.1, 0.3, 0.02]), 5))],
    compare=_measured("the number measured on 10,000 simulated rasters", 0.03, 0.03),
    hint=("a neuron stays silent only if it misses EVERY step: probability (1 - p) ** steps, the steps are "
          "independent. Add that up over the neurons. 1 - p * steps is the first term of a series, not the "
          "answer (it even goes negative)."),
    mistake=lambda probability, steps: float((1 - probability * steps).clamp(min=0).sum()),
    description="predict how many neurons of a random raster never fire")


def _measured_first_spike(p: float) -> float:
    """Simulated: the mean (1-based) step of the first spike of a neuron that fires with
    probability ``p`` per step, over 20,000 runs long enough that every one fires."""
    g = generator(102)
    steps = math.ceil(25 / p)
    fired = torch.rand(20_000, steps, generator=g) < p
    return float((fired.float().argmax(1) + 1).float().mean())


register(
    "mean_first_spike", reference=_measured_first_spike,
    cases=lambda: [Case((p,)) for p in (0.05, 0.2, 0.5, 0.9)],
    compare=_measured("the mean first-spike step measured on 20,000 simulated neurons", 0.03, 0.02),
    hint=("the first spike is at step k when the neuron misses k - 1 steps and then fires: probability "
          "(1 - p) ** (k - 1) * p (a geometric distribution). Its mean is 1 / p, counting steps from 1; "
          "1 / p - 1 counts the silent steps before it."),
    mistake=lambda p: 1 / p - 1,
    description="predict the mean step of a neuron's first spike from its firing probability")


# -- Chapter 4: the width of a surrogate --------------------------------------------------------

def _measured_half_width(slope: float) -> float:
    """Bisection on the library's fast-sigmoid surrogate: the distance to threshold
    ``|H - V_th|`` where ``FastSigmoid(slope).grad`` falls to half its value at the threshold."""
    surrogate, threshold = FastSigmoid(slope), 1.0
    def grad(u):
        return float(surrogate.grad(torch.tensor(threshold + u, dtype=torch.float64), None, threshold))
    peak, low, high = grad(0.0), 0.0, 1.0
    while grad(high) > peak / 2:
        high *= 2
    for _ in range(80):
        mid = (low + high) / 2
        low, high = (mid, high) if grad(mid) > peak / 2 else (low, mid)
    return (low + high) / 2


register(
    "fast_sigmoid_half_width", reference=_measured_half_width,
    cases=lambda: [Case((k,)) for k in (25.0, 5.0, 1.0, 100.0)],
    compare=_measured("the half width measured on snnbp.surrogate.FastSigmoid", 1e-4, 1e-7),
    hint=("the surrogate is 1 at the threshold; solve 1 / (1 + k u) ** 2 = 1 / 2 for u >= 0: the SQUARE "
          "means 1 + k u = sqrt(2), so u = (sqrt(2) - 1) / k, not 1 / k."),
    mistake=lambda slope: 1.0 / slope,
    description="derive the distance to threshold where the fast-sigmoid surrogate halves")


# -- Chapter 5: the gradients of the loss and of the output layer --------------------------------

def _autograd_loss_grad(output: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Autograd of the library's ``SummedSquaredError`` with respect to the output."""
    from .train import SummedSquaredError

    output = output.detach().clone().requires_grad_()
    SummedSquaredError("sum")(output, labels).backward()
    return output.grad


register(
    "mse_sum_grad", reference=_autograd_loss_grad, cases=_loss_cases,
    compare=_measured("autograd of snnbp.train.SummedSquaredError", 1e-5, 1e-6),
    hint=("differentiate each squared term: d/do (o - y)**2 = 2 (o - y), with y the one-hot target. A SUM over "
          "the batch gives every sample this gradient in full; dividing by B is the mean's gradient, "
          "B times smaller."),
    mistake=lambda output, labels: 2 * (output - torch.nn.functional.one_hot(labels, output.shape[1]))
    / output.shape[0],
    description="derive the gradient of the summed squared error with respect to the output")


def _autograd_readout_weights(steps: int, leak: float) -> torch.Tensor:
    r"""Autograd through the library's exact output layer (``OutputIntegrator(detach_leak=False)``):
    :math:`\partial (V_{out}[T]/T) / \partial I[t]` for ``t = 1..T``."""
    from .layers import OutputIntegrator

    current = torch.zeros(steps, 1, 1, dtype=torch.float64, requires_grad=True)
    OutputIntegrator(leak, detach_leak=False)(current).sum().backward()
    return current.grad.flatten()


register(
    "readout_weights", reference=_autograd_readout_weights,
    cases=lambda: [Case((t, leak)) for t, leak in ((5, 0.9), (20, 0.99), (100, 0.99), (3, 1.0))],
    compare=_measured("autograd through snnbp.layers.OutputIntegrator(detach_leak=False)", 1e-5, 1e-8),
    hint=("unroll V_out[t] = leak * (V_out[t-1] + I[t]) from V_out[0] = 0: the current of step t is leaked "
          "at step t itself and at every later step, T - t + 1 times in all, so its weight is "
          "leak ** (T - t + 1) / T (the last step's current already has one leak)."),
    mistake=lambda steps, leak: leak ** torch.arange(steps - 1, -1, -1, dtype=torch.float64) / steps,
    description="derive the exact gradient of the output layer with respect to each step's current")


# -- Chapter 6: what a spike train does to the next layer's current ------------------------------

def _measured_current_std(rate: float, fan_in: int, gain: float) -> float:
    """Measured: the standard deviation of ``I = W s`` for He-normal weights (PyTorch's
    ``kaiming_normal_``, times ``gain``) and random 0/1 input spikes firing at ``rate``."""
    g = generator(106)
    weight = torch.nn.init.kaiming_normal_(torch.empty(400, fan_in), mode="fan_in", nonlinearity="relu",
                                           generator=g) * gain
    spikes = (torch.rand(4_000, fan_in, generator=g) < rate).float()
    return float((spikes @ weight.T).std())


register(
    "he_current_std", reference=_measured_current_std,
    cases=lambda: [Case(a) for a in ((0.3, 9, 1.0), (0.05, 576, 1.0), (0.1, 1152, 2.0), (0.5, 200, 0.5))],
    compare=_measured("the std measured on a He-initialised layer", 0.06, 1e-4),
    hint=("I = sum over fan_in inputs of w_i s_i, each term with mean 0 and variance Var(w) E[s**2]. A 0/1 spike "
          "has E[s**2] = rate (not rate**2), and Var(w) = gain**2 * 2 / fan_in, so the fan-in cancels: "
          "std = gain * sqrt(2 * rate)."),
    mistake=lambda rate, fan_in, gain: gain * math.sqrt(2.0) * rate,
    description="predict the std of a He-initialised layer's input current from the input rate")


# -- Chapter 7: shapes through ResNet11; what an identity shortcut passes on ----------------------

@functools.lru_cache(maxsize=1)
def _resnet11():
    from .models import build

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return build("resnet11", "cifar10", timesteps=1).eval()


def _measured_resnet11_sizes(size: int) -> list[int]:
    """The height of the maps after ``conv1``, ``pool1`` and each of the four blocks of the library's
    ResNet11, measured by running an image of ``size`` x ``size`` through its layers."""
    net = _resnet11()
    x, sizes = torch.zeros(1, 1, 3, size, size), []
    with torch.no_grad():
        for name, layer in net.features.named_children():
            if name == "flatten":
                break
            x = layer(x)
            if name in ("conv1", "pool1") or name.startswith("block"):
                sizes.append(int(x.shape[-1]))
    return sizes


register(
    "resnet11_sizes", reference=_measured_resnet11_sizes,
    cases=lambda: [Case((n,)) for n in (32, 20, 18)],
    compare=_measured("the sizes measured by running snnbp's ResNet11", 0.0, 0.0),
    hint=("apply (size + 2 * padding - kernel) // stride + 1 layer by layer: the stem conv (3x3, padding 1) "
          "keeps the size, the 2x2 pooling halves it, a stride-2 block's 3x3 conv (padding 1) gives "
          "(size - 1) // 2 + 1, which ROUNDS UP for an odd size (5 -> 3), as does the x[::2] shortcut."),
    mistake=lambda size: [size, size // 2, size // 2, size // 4, size // 4, size // 8],
    description="predict the map size after each stage of ResNet11")


def _measured_shortcut_output(spikes: torch.Tensor, leak: float) -> torch.Tensor:
    """Simulated with the library's LIF (threshold 1, reset to zero): the output spikes of a block's
    second neuron when only an identity shortcut feeds it (``W_2 h = 0``), per neuron."""
    with torch.no_grad():
        return LIF(leak=leak, threshold=1.0)(spikes.unsqueeze(1)).squeeze(1).sum(0)


def _shortcut_cases():
    g = generator(107)
    return [Case(((torch.rand(40, 6, generator=g) < rate).float(), leak))
            for rate, leak in ((0.3, 0.99), (0.8, 0.9), (0.1, 1.0))]


register(
    "shortcut_output_spikes", reference=_measured_shortcut_output, cases=_shortcut_cases,
    compare=_measured("the count simulated with snnbp.neurons.LIF", 0.0, 1e-6),
    hint=("follow the membrane: a lone input spike gives H = 1, which is NOT > 1, so no spike, but it leaves "
          "V = leak > 0 behind (leaked further while nothing arrives); the next input spike gives H = 1 + V > 1 "
          "and fires, resetting V to 0. So every second input spike gets through: n // 2 of n."),
    mistake=lambda spikes, leak: spikes.sum(0),
    description="predict how many input spikes an identity shortcut alone passes through N2")


# -- Chapter 8: how much the exact output-layer gradient shrinks ---------------------------------

def _measured_exact_shrink(steps: int, leak: float) -> float:
    """Autograd through the library's output layer, exact against the paper's: ``1 - g_exact / g_paper``
    for a current that is the same at every step (one weight feeding all ``steps``)."""
    from .layers import OutputIntegrator

    grads = {}
    for detach in (True, False):
        weight = torch.ones((), dtype=torch.float64, requires_grad=True)
        OutputIntegrator(leak, detach_leak=detach)(weight.expand(steps, 1, 1)).sum().backward()
        grads[detach] = float(weight.grad)
    return 1 - grads[False] / grads[True]


register(
    "exact_gradient_shrink", reference=_measured_exact_shrink,
    cases=lambda: [Case((t, leak)) for t, leak in ((20, 0.99), (100, 0.99), (10, 0.9), (50, 1.0))],
    compare=_measured("the shrink measured with snnbp.layers.OutputIntegrator", 1e-5, 1e-8),
    hint=("the paper's backward gives every step 1/T, T of them: 1 in all; the exact one gives step t "
          "leak ** (T - t + 1) / T. The shrink is 1 - (1/T) * sum of leak ** k for k = 1..T "
          "= 1 - leak (1 - leak**T) / ((1 - leak) T) (and 0 when leak = 1); mind k starts at 1, not 0."),
    mistake=lambda steps, leak: 1 - sum(leak ** k for k in range(steps)) / steps,
    description="predict how much smaller the exact output-layer gradient is than the paper's")


# -- Chapter 9: accumulates per multiply-accumulate of a padded convolution ----------------------

def _measured_acs_per_mac(rate: float, timesteps: int, size: int, kernel: int) -> float:
    """Counted with the library (``snnbp.evaluate.synaptic_ops`` and ``dense_macs``): the expected
    accumulates per multiply-accumulate of a stride-1 'same' convolution (padding ``kernel // 2``)
    whose ``size`` x ``size`` input fires at ``rate`` per step for ``timesteps`` steps."""
    from .evaluate import dense_macs, synaptic_ops

    with torch.random.fork_rng(devices=[]):          # its random weights are not used
        conv = torch.nn.Conv2d(1, 1, kernel, padding=kernel // 2, bias=False)
    every_input_once = synaptic_ops(conv, torch.ones(1, 1, size, size))
    return rate * timesteps * every_input_once / dense_macs(conv, (1, size, size))


register(
    "acs_per_mac", reference=_measured_acs_per_mac,
    cases=lambda: [Case(a) for a in ((0.1, 100, 8, 3), (0.05, 20, 32, 3), (0.2, 10, 28, 5), (0.3, 5, 6, 1),
                                     (0.02, 100, 4, 3))],
    compare=_measured("the count of snnbp.evaluate.synaptic_ops / dense_macs", 1e-6, 1e-9),
    hint=("without padding it would be rate * timesteps. With padding p = kernel // 2 an input near the border "
          "reaches fewer outputs: along one axis the fan-outs add up to size * kernel - p (p + 1) instead of "
          "size * kernel; the 2-D factor is the square of (1 - p (p + 1) / (size * kernel))."),
    mistake=lambda rate, timesteps, size, kernel: rate * timesteps,
    description="derive the accumulates per MAC of a padded convolution from its input rate")


# -- Chapter 9: what the Poisson input costs the first layer --------------------------------------

def _measured_input_acs(images: torch.Tensor, timesteps: int, out_features: int, rate_scale: float) -> float:
    """Counted with the library: the accumulates per image that a linear layer of ``out_features``
    outputs performs on the Poisson code of ``images`` ``[B, N]`` (``snnbp.poisson_encode``, signed,
    ``rate_scale``) over ``timesteps`` steps, averaged over many draws (``snnbp.evaluate.synaptic_ops``)."""
    from .evaluate import synaptic_ops

    draws = 200
    with torch.random.fork_rng(devices=[]):
        layer = torch.nn.Linear(images.shape[1], out_features, bias=False)
    spikes = poisson_encode(images, timesteps * draws, rate_scale=rate_scale, generator=generator(109))
    return synaptic_ops(layer, spikes) / (draws * images.shape[0])


def _input_acs_cases():
    g = generator(110)
    return [Case((torch.rand(6, 64, generator=g), 20, 128, 1.0)),
            Case((torch.rand(4, 30, generator=g) * 2 - 1, 10, 50, 1.0)),        # signed pixels
            Case((torch.rand(5, 40, generator=g) * 2 - 1, 100, 10, 0.5)),       # the MNIST code
            Case((torch.rand(3, 16, generator=g) * 2 - 1, 8, 7, 2.0))]           # r |x| above 1


register(
    "poisson_input_acs", reference=_measured_input_acs, cases=_input_acs_cases,
    compare=_measured("the count of snnbp.evaluate.synaptic_ops on Poisson spikes", 0.03, 1e-6),
    hint=("a pixel x fires with probability min(r |x|, 1) per step, a -1 spike for a negative pixel, and every "
          "spike, +1 or -1, costs one accumulate per output: ACs per image = T * out_features * (sum over "
          "pixels of min(r |x|, 1)), averaged over the images. Negative pixels count too."),
    mistake=lambda images, timesteps, out_features, rate_scale: timesteps * out_features * float(
        (images.clamp(min=0) * rate_scale).clamp(max=1).sum(1).mean()),
    description="predict the accumulates a Poisson-coded image drives in a linear first layer")


# -- Chapter 10: what the input spikes weigh -------------------------------------------------------

def _measured_input_bytes(timesteps: int, batch: int, channels: int, size: int) -> int:
    """Measured: the bytes of the tensor that ``snnbp.PoissonEncoder`` returns for a float32 batch
    ``[batch, channels, size, size]`` over ``timesteps`` steps (the network's input spikes)."""
    from .encoding import PoissonEncoder

    encoder = PoissonEncoder(timesteps)
    encoder.generator = generator(111)
    images = torch.rand(batch, channels, size, size, generator=generator(112))
    spikes = encoder(images)
    return spikes.numel() * spikes.element_size()


register(
    "input_spike_bytes", reference=_measured_input_bytes,
    cases=lambda: [Case(a) for a in ((100, 16, 3, 32), (20, 64, 1, 28), (8, 2, 1, 8), (25, 16, 3, 32))],
    compare=_measured("the bytes measured on snnbp.PoissonEncoder's output", 0.0, 0.0),
    hint=("the encoder returns one float32 value (4 bytes) per time step, image, channel and pixel: "
          "4 * T * B * C * H * W bytes. Spikes are 0 or 1, but the tensor stores them as floats, at every step."),
    mistake=lambda timesteps, batch, channels, size: 4 * batch * channels * size * size,
    description="predict how many bytes the Poisson input spikes of a batch take")
