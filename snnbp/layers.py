r"""Building blocks that carry the time axis: tensors flow as ``[T, B, ...]``.

Nothing in these networks feeds back, so a stateless layer (convolution, linear, pooling) run
once on the merged ``[T*B, ...]`` batch gives exactly the per-step results; only the neurons
loop over time. An ANN twin runs the same blocks with ``T = 1``.

Taught in chapter 10 (``book/10_cost``: time into the batch), chapter 06 (``book/06_deep_vgg``:
dropout with one mask), chapter 07 (``book/07_residual``: the block) and chapter 05
(``book/05_spike_bptt``: the output layer).
"""
from __future__ import annotations

import torch
from torch import nn

from . import validate

__all__ = ["TimeBatched", "Flatten", "TimeFixedDropout", "OutputIntegrator", "output_membrane", "LastStep",
           "Residual", "Subsample"]


class TimeBatched(nn.Module):
    r"""Run a stateless ``module`` on ``[T, B, ...]`` by merging time into the batch: ``[T*B, ...]``.

    :math:`y[t] = f(x[t])` for every step at once: ``[T, B, ...]`` -> ``[T, B, ...']``. The memory
    layout passes through (a channels-last input gives a channels-last output; see
    :class:`snnbp.models.Network`'s ``channels_last``).

    Example::

        >>> conv = TimeBatched(nn.Conv2d(1, 8, 3, padding=1))
        >>> conv(torch.rand(20, 4, 1, 28, 28)).shape             # [T, B, C, H, W]
        torch.Size([20, 4, 8, 28, 28])
    """

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps, batch = x.shape[:2]
        y = self.module(x.reshape(steps * batch, *x.shape[2:]))
        return y.reshape(steps, batch, *y.shape[1:])


class Flatten(nn.Module):
    """``[T, B, C, H, W]`` -> ``[T, B, C*H*W]`` (in ``C, H, W`` order, whatever the memory layout).

    Example: ``Flatten()(torch.rand(20, 4, 50, 7, 7)).shape == (20, 4, 2450)``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2)


class TimeFixedDropout(nn.Module):
    r"""Dropout with ONE mask per forward call, reused at every time step (book/method.md, 'Dropout').

    :math:`y[t] = x[t] \odot m / (1 - p)`, :math:`m \sim \mathrm{Bernoulli}(1-p)` of shape
    ``[1, B, ...]``; identity in ``eval()`` mode. With ``T = 1`` this is ordinary dropout.
    ``.mask`` holds the last call's scaled mask :math:`m/(1-p)` (``None`` before the first
    training call), e.g. to feed the same masks to another implementation.

    Example::

        >>> y = TimeFixedDropout(0.5)(torch.ones(10, 2, 6))      # [T, B, ...] -> same shape
        >>> bool((y == y[0]).all())                               # the same neurons dropped at every step
        True
    """

    def __init__(self, p: float):
        super().__init__()
        self.p = validate.probability("p", p)
        self.mask: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        # drawn in the default layout, so that a seed gives the same mask whatever x's memory layout,
        # then laid out like x (a channels-last x times a default-layout mask runs several times slower)
        drawn = torch.empty(x[:1].shape, dtype=x.dtype, device=x.device).bernoulli_(1 - self.p)
        mask = torch.empty_like(x[:1]).copy_(drawn).div_(1 - self.p)
        self.mask = mask
        return x * mask

    def extra_repr(self) -> str:
        return f"p={self.p}"


def output_membrane(current: torch.Tensor, leak: float) -> torch.Tensor:
    r"""The output layer's membrane at every step: :math:`V_{out}[t] = \lambda (V_{out}[t-1] + I[t])`.

    ``[T, B, K]`` -> ``[T, B, K]``, one step at a time (for accuracy by time step).
    :class:`OutputIntegrator` needs only the last step and computes it in one sum; the tests check
    that the two agree.
    """
    v = torch.zeros_like(current[0])
    out = torch.empty_like(current)
    for t in range(current.shape[0]):
        v = leak * (v + current[t])
        out[t] = v
    return out


class OutputIntegrator(nn.Module):
    r"""The non-spiking output layer's membrane, read out at the end of the window.

    Forward: :math:`V_{out}[t] = \lambda (V_{out}[t-1] + I[t])`, so the output is
    :math:`V_{out}[T]/T = \frac{1}{T}\sum_{t=1}^{T} \lambda^{T-t+1} I[t]`. Input ``[T, B, K]``,
    output ``[B, K]``.

    Backward, ``detach_leak=True`` (the paper's: the authors' scripts detach it;
    book/method.md, 'The output layer'): the leak is identity, as in the hidden layers, so every step's current gets the
    same gradient, :math:`\partial (V_{out}[T]/T) / \partial I[t] = 1/T`. ``detach_leak=False``
    (an option, not the paper's) differentiates the forward pass exactly:
    :math:`\lambda^{T-t+1}/T`, which at :math:`\lambda = 0.99, T = 100` gives the first step's
    current 0.37 of the last one's gradient and shrinks every layer's gradient by about a third.

    Example::

        >>> readout = OutputIntegrator(leak=0.99)          # paper preset
        >>> readout(torch.ones(100, 2, 10)).shape
        torch.Size([2, 10])
    """

    def __init__(self, leak: float = 0.99, detach_leak: bool = True):
        super().__init__()
        self.leak = validate.leak("leak", leak)
        self.detach_leak = bool(detach_leak)

    def forward(self, current: torch.Tensor) -> torch.Tensor:
        steps = current.shape[0]
        if steps == 0:                                        # the mean over no steps: 0 / 0
            raise ValueError(f"current has no time steps (shape {tuple(current.shape)}): the read-out averages "
                             f"over T, which must be >= 1")
        weights = self.leak ** torch.arange(steps, 0, -1, device=current.device, dtype=torch.float32)
        leaky = torch.tensordot(weights.to(current.dtype) / steps, current, dims=1)
        if not self.detach_leak:
            return leaky
        plain = current.sum(0) / steps                        # gradient 1/T for every step
        return plain + (leaky - plain).detach()               # forward: the leaky value

    def extra_repr(self) -> str:
        return f"leak={self.leak}, detach_leak={self.detach_leak}"


class LastStep(nn.Module):
    """The ANN twin's read-out :math:`y = x[T]`: ``[1, B, K]`` -> ``[B, K]``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[-1]


class Subsample(nn.Module):
    """Parameter-free stride-``s`` subsampling, ``x[..., ::s, ::s]`` (the last ResNet11 shortcut).

    ``[T, B, C, H, W]`` -> ``[T, B, C, ceil(H/s), ceil(W/s)]``; e.g. ``Subsample(2)`` on 4x4 images gives 2x2.
    """

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., :: self.stride, :: self.stride]


class Residual(nn.Module):
    r"""A residual block of two 3x3 convolutions whose shortcut enters the second neuron's membrane.

    .. math::  h = N_1(W_1 * x), \quad y = N_2(W_2 * h + S(x))

    where :math:`x` are the block's input *spikes*, :math:`S` the shortcut (1x1 convolution,
    subsampling or identity) and :math:`N_2` integrates the sum as its input current, i.e. the
    shortcut is added into the membrane potential before thresholding (book/method.md, 'The three networks').
    Spikes ``[T, B, C, H, W]`` -> spikes ``[T, B, C', H', W']``. ``dropout`` (one mask for all
    steps) sits on :math:`h`.

    Example (what ``snnbp.build("resnet11")``'s first block is)::

        conv = lambda cin, cout, **kw: TimeBatched(nn.Conv2d(cin, cout, kw.pop("k", 3), padding=kw.pop("p", 1),
                                                             bias=False, **kw))
        block = Residual(conv(64, 128), LIF(), TimeFixedDropout(0.25), conv(128, 128),
                         conv(64, 128, k=1, p=0), LIF())
        block(spikes)          # [T, B, 64, 16, 16] -> [T, B, 128, 16, 16]
    """

    def __init__(self, conv1: nn.Module, neuron1: nn.Module, dropout: nn.Module,
                 conv2: nn.Module, shortcut: nn.Module, neuron2: nn.Module):
        super().__init__()
        self.conv1, self.neuron1, self.dropout = conv1, neuron1, dropout
        self.conv2, self.shortcut, self.neuron2 = conv2, shortcut, neuron2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.dropout(self.neuron1(self.conv1(x)))
        return self.neuron2(self.conv2(h) + self.shortcut(x))
