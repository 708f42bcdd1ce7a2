"""Chapter 3 (book/03_spike_encoding.ipynb): the signed Poisson rate code."""
from __future__ import annotations

import functools
import math

import torch

from ..encoding import poisson_encode
from ..verdicts import describe, generator
from . import _framework
from ._framework import Case

CHAPTER = "03_spike_encoding"

register = functools.partial(_framework.register, chapter=CHAPTER)


def poisson_tolerance(p: torch.Tensor, steps: int) -> torch.Tensor:
    r"""The one tolerance of every Poisson-code check (this exercise and assignment ``lif_poisson`` q3):
    a pixel's measured rate may lie five standard deviations of the rate estimate,
    :math:`5\sqrt{p(1-p)/T}`, plus :math:`10^{-3}`, from its firing probability :math:`p`."""
    return 5 * torch.sqrt(p * (1 - p) / steps) + 1e-3


def poisson_problem(x: torch.Tensor, steps: int, spikes) -> str | None:
    r"""``None`` when ``spikes`` can be the signed Poisson code of ``x`` over ``steps`` steps: shape
    ``[steps, *x.shape]``, values -1, 0, +1 with the pixel's sign, and every pixel's rate within
    :func:`poisson_tolerance` of :math:`\min(|x|, 1)`; else a sentence saying what is wrong."""
    shape = (steps, *x.shape)
    if not isinstance(spikes, torch.Tensor):
        return f"expected a tensor of spikes of shape {shape}, got {describe(spikes)}"
    if tuple(spikes.shape) != shape:
        return f"expected shape {shape} = [steps, *x.shape], got {tuple(spikes.shape)}"
    spikes = spikes.detach().double()
    values = set(torch.unique(spikes).tolist())
    if not values <= {-1.0, 0.0, 1.0}:
        return f"spikes must be -1, 0 or +1, got the values {sorted(values)[:6]}"
    fired = spikes != 0
    if not bool((torch.sign(spikes) == torch.sign(x.double())).where(fired, True).all()):
        return "a spike must carry the sign of its pixel: +1 for x > 0, -1 for x < 0"
    rate, p = fired.double().mean(0), x.double().abs().clamp(max=1.0)
    gap = (rate - p).abs() - poisson_tolerance(p, steps)
    if bool((gap > 0).any()):
        k = int(gap.flatten().argmax())
        return (f"the firing rate of pixel x = {x.flatten()[k].item():.4g} is {rate.flatten()[k].item():.3f} "
                f"over {steps} steps; it should be about min(|x|, 1) = {p.flatten()[k].item():.3f}")
    return None


def _encode_cases():
    x = torch.tensor([[0.0, 0.1, 0.5], [0.9, 1.0, -0.6]])
    return [Case((x, 2000)), Case((torch.linspace(-1, 1, 9), 2000))]


register(
    "poisson_encode", reference=lambda x, steps: poisson_encode(x, steps, generator=generator(0)),
    cases=_encode_cases, judge_case=lambda case, got: poisson_problem(*case.args, got),
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
