"""Chapter 4 (book/04_derivative.ipynb): the derivative problem and surrogates."""
from __future__ import annotations

import functools
import math

import torch

from ..surrogate import FastSigmoid, leak_correction_factor
from ..verdicts import generator
from . import _framework
from ._framework import Case, measured

CHAPTER = "04_derivative"

register = functools.partial(_framework.register, chapter=CHAPTER)


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
    compare=measured("the half width measured on snnbp.surrogate.FastSigmoid", 1e-4, 1e-7),
    hint=("the surrogate is 1 at the threshold; solve 1 / (1 + k u) ** 2 = 1 / 2 for u >= 0: the SQUARE "
          "means 1 + k u = sqrt(2), so u = (sqrt(2) - 1) / k, not 1 / k."),
    mistake=lambda slope: 1.0 / slope,
    description="derive the distance to threshold where the fast-sigmoid surrogate halves")
