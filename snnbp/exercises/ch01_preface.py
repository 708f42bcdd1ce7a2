"""Chapter 1 (book/01_preface.ipynb): spike trains, counts and rates; predictions from a firing probability."""
from __future__ import annotations

import functools
import math

import torch

from ..verdicts import generator
from . import _framework
from ._framework import Case, measured

CHAPTER = "01_preface"

register = functools.partial(_framework.register, chapter=CHAPTER)


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
    compare=measured("the number measured on 10,000 simulated rasters", 0.03, 0.03),
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
    compare=measured("the mean first-spike step measured on 20,000 simulated neurons", 0.03, 0.02),
    hint=("the first spike is at step k when the neuron misses k - 1 steps and then fires: probability "
          "(1 - p) ** (k - 1) * p (a geometric distribution). Its mean is 1 / p, counting steps from 1; "
          "1 / p - 1 counts the silent steps before it."),
    mistake=lambda p: 1 / p - 1,
    description="predict the mean step of a neuron's first spike from its firing probability")
