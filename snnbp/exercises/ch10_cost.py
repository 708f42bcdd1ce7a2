"""Chapter 10 (book/10_cost.ipynb): what spikes cost (time batching, the neuron scan, memory)."""
from __future__ import annotations

import functools
import math

import torch

from ..neurons import LIF
from ..verdicts import generator
from . import _framework
from ._framework import Case, measured

CHAPTER = "10_cost"

register = functools.partial(_framework.register, chapter=CHAPTER)


def _time_batched(module, x: torch.Tensor) -> torch.Tensor:
    """Run a stateless ``module`` on ``[T, B, ...]`` by merging time into the batch."""
    from ..layers import TimeBatched

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
    "epoch_seconds",
    reference=lambda step_seconds, examples, batch_size: math.ceil(examples / batch_size) * step_seconds,
    cases=lambda: [Case(a) for a in ((0.1, 50000, 16), (0.25, 1000, 64), (0.05, 73257, 16), (1.0, 10, 3))],
    hint="an epoch is ceil(examples / batch_size) optimiser steps; the last, smaller batch still costs a step.",
    mistake=lambda step_seconds, examples, batch_size: examples / batch_size * step_seconds,
    description="time of one epoch from the time of one training step")


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


def _measured_input_bytes(timesteps: int, batch: int, channels: int, size: int) -> int:
    """Measured: the bytes of the tensor that ``snnbp.PoissonEncoder`` returns for a float32 batch
    ``[batch, channels, size, size]`` over ``timesteps`` steps (the network's input spikes)."""
    from ..encoding import PoissonEncoder

    encoder = PoissonEncoder(timesteps)
    encoder.generator = generator(111)
    images = torch.rand(batch, channels, size, size, generator=generator(112))
    spikes = encoder(images)
    return spikes.numel() * spikes.element_size()


register(
    "input_spike_bytes", reference=_measured_input_bytes,
    cases=lambda: [Case(a) for a in ((100, 16, 3, 32), (20, 64, 1, 28), (8, 2, 1, 8), (25, 16, 3, 32))],
    compare=measured("the bytes measured on snnbp.PoissonEncoder's output", 0.0, 0.0),
    hint=("the encoder returns one float32 value (4 bytes) per time step, image, channel and pixel: "
          "4 * T * B * C * H * W bytes. Spikes are 0 or 1, but the tensor stores them as floats, at every step."),
    mistake=lambda timesteps, batch, channels, size: 4 * batch * channels * size * size,
    description="predict how many bytes the Poisson input spikes of a batch take")
