"""Chapter 2 (book/02_lif_neuron.ipynb): one LIF neuron."""
from __future__ import annotations

import functools

import torch

from ..neurons import LIF
from ..verdicts import describe, difference, generator
from . import _framework
from ._framework import Case

CHAPTER = "02_lif_neuron"

register = functools.partial(_framework.register, chapter=CHAPTER)


#: the outputs of a LIF step, in the order :meth:`snnbp.LIF.step` returns them
LIF_STEP_OUTPUTS = ("v_next", "s", "h")
#: the one tolerance of every LIF-step check (this exercise and assignment ``lif_poisson`` q1): float32
#: rounding of ``H = V + I`` and one leak; every wrong order of the steps is off by far more
LIF_STEP_TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}


def lif_step_reference(v: torch.Tensor, current: torch.Tensor, leak: float, threshold: float):
    r"""The paper's order: integrate :math:`H = V + I`, fire :math:`s = 1[H > V_{th}]`, reset to
    zero, leak: returns ``(v_next, s, h)`` with :math:`v_{next} = \lambda H (1 - s)`."""
    return LIF(leak=leak, threshold=threshold, reset="zero").step(v, current)


def _lif_step(v: torch.Tensor, current: torch.Tensor, leak: float, threshold: float):
    """The chapter's exercise returns ``(v_next, s)`` (:func:`lif_step_reference` without ``h``)."""
    return lif_step_reference(v, current, leak, threshold)[:2]


def lif_step_cases(gen: torch.Generator, count: int = 3) -> list[Case]:
    """Inputs ``(v, current, leak, threshold)`` of a LIF-step check: two edge cases (``H`` equal to the
    threshold exactly: no spike; a leak of 0.5 that tells its place in the order) and ``count``
    random ones drawn from ``gen``."""
    cases = [Case((torch.zeros(3), torch.tensor([0.5, 1.0, 1.5]), 0.99, 1.0)),
             Case((torch.full((2, 2), 0.6), torch.full((2, 2), 0.6), 0.5, 1.0))]
    for _ in range(count):
        shape = tuple(int(n) for n in torch.randint(1, 7, (2,), generator=gen))
        threshold = round(0.5 + float(torch.rand((), generator=gen)), 3)
        leak = round(0.8 + 0.2 * float(torch.rand((), generator=gen)), 3)
        cases.append(Case((torch.rand(shape, generator=gen) * threshold, torch.randn(shape, generator=gen) * threshold,
                           leak, threshold)))
    return cases


def compare_lif_step(outputs: tuple[str, ...]):
    """A ``compare`` for a LIF step that returns ``outputs`` (names of :data:`LIF_STEP_OUTPUTS`): the
    right number of values, then ``h``, ``s`` and ``v_next`` (the first that goes wrong is named)
    within :data:`LIF_STEP_TOLERANCE`."""
    def compare(expected, got) -> str | None:
        if not isinstance(got, (tuple, list)) or len(got) != len(outputs):
            return f"lif_step must return {len(outputs)} tensors ({', '.join(outputs)}), got {describe(got)}"
        for name in reversed(LIF_STEP_OUTPUTS):
            if name in outputs:
                k = outputs.index(name)
                problem = difference(expected[k], got[k], **LIF_STEP_TOLERANCE)
                if problem is not None:
                    return f"{name} is off: {problem}"
        return None
    return compare


register(
    "lif_step", reference=_lif_step, cases=lambda: lif_step_cases(generator(2)),
    compare=compare_lif_step(LIF_STEP_OUTPUTS[:2]),
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
