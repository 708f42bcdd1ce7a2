r"""Rate coding of images as Poisson (Bernoulli-per-step) spike trains (book/method.md, 'Input').

At every step :math:`t` and pixel :math:`x`, draw :math:`u \sim U[0, 1)` and emit

.. math::  s[t] = \mathrm{sign}(x) \cdot 1[\,|x| \cdot r > u\,]

so a pixel fires with probability :math:`\min(|x| r, 1)` per step, where :math:`r` is the
``rate_scale`` (the paper's MNIST scripts fire with probability :math:`|x|/2`: ``rate_scale=0.5``).
Negative normalised pixels give :math:`-1` spikes (``signed=True``); ``signed=False`` drops the sign.

Beyond the paper, :class:`DirectEncoder` feeds the analog image itself at every step (the first
layer then does multiply-accumulates, not spike accumulates); :func:`make` picks one by name.

Taught in chapter 03 (``book/03_spike_encoding``).
"""
from __future__ import annotations

import torch
from torch import nn

from . import validate

__all__ = ["poisson_encode", "PoissonEncoder", "DirectEncoder", "NAMES", "make"]

NAMES = ("poisson", "direct")


def _encode(x: torch.Tensor, steps: int, signed: bool, rate_scale: float,
            generator: torch.Generator | None) -> torch.Tensor:
    dtype = x.dtype if x.is_floating_point() else torch.float32
    u = torch.rand((steps, *x.shape), generator=generator, device=x.device, dtype=dtype)
    spikes = (x.abs() * rate_scale > u).to(dtype)
    return spikes * torch.sign(x).to(dtype) if signed else spikes


def _checked(encoder: nn.Module, x, **policy) -> torch.Tensor:
    """An encoder's images ``x`` checked (:func:`snnbp.validate.images`, with ``policy``), its
    ``.steps`` (:func:`snnbp.validate.time_steps`) and its ``.generator``, unless its
    ``check_input`` is off or it is being compiled (the NaN check reads a value back)."""
    if not encoder.check_input or torch.compiler.is_compiling():
        return x
    x = validate.images("x", x, **policy)
    validate.time_steps("steps", encoder.steps, x)
    _check_generator(encoder.generator, x)
    return x


def poisson_encode(x: torch.Tensor, steps: int, *, signed: bool = True, rate_scale: float = 1.0,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Encode ``x`` (any shape) as spikes of shape ``[steps, *x.shape]``; see the module docstring.

    Pass a seeded :class:`torch.Generator` (on ``x``'s device) for reproducible spikes.
    ``x`` should lie in [-1, 1] (see :mod:`snnbp.validate`: integer pixels above 1 are an error,
    floats outside [-1, 1] a warning; empty or NaN images are errors); bool and 0/1 integer images
    become float32 spikes. ``steps`` whose spikes would not fit in memory are an error that says
    how much they would take (:func:`snnbp.validate.time_steps`; more than 10,000 warn).
    """
    validate.positive("rate_scale", rate_scale)
    x = validate.images("x", x, rate_scale=rate_scale)
    steps = validate.time_steps("steps", steps, x)
    signed = validate.flag("signed", signed)
    _check_generator(generator, x)
    return _encode(x, steps, signed, float(rate_scale), generator)


def _check_generator(generator, x: torch.Tensor) -> None:
    """None, or a :class:`torch.Generator` on ``x``'s kind of device."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}: "
                        f"write generator=torch.Generator().manual_seed({generator!r})"
                        if isinstance(generator, int) else
                        f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if generator is not None and generator.device.type != x.device.type:
        raise ValueError(f"generator is on {generator.device} but x is on {x.device}: "
                         f"make it with torch.Generator(device=x.device)")


class PoissonEncoder(nn.Module):
    r"""Module form of :func:`poisson_encode`: images ``[B, ...]`` -> spikes ``[T, B, ...]``,
    :math:`s[t] = \mathrm{sign}(x)\,1[|x|\,r > u_t]` with fresh :math:`u_t \sim U[0, 1)` every call.

    Example::

        >>> encoder = PoissonEncoder(100, rate_scale=0.5)         # the paper's MNIST coding
        >>> spikes = encoder(torch.full((2, 1, 28, 28), 0.6))
        >>> spikes.shape, round(spikes.mean().item(), 1)           # fires with probability 0.3
        (torch.Size([100, 2, 1, 28, 28]), 0.3)

    Set ``.generator`` to a seeded :class:`torch.Generator` for reproducible spikes. Every call
    checks its images as :func:`poisson_encode` does (no NaN, not empty, ...) and that ``.steps``
    is a number of steps whose spikes fit in memory.
    """

    #: Check the images and ``.steps`` at every call (one read-back). A
    #: :class:`~snnbp.models.Network` checks its images once and turns this off in its encoder.
    check_input = True

    def __init__(self, steps: int, *, signed: bool = True, rate_scale: float = 1.0):
        super().__init__()
        self.steps = validate.count("steps", steps)
        self.signed = validate.flag("signed", signed)
        self.rate_scale = validate.positive("rate_scale", rate_scale)
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _checked(self, x, rate_scale=self.rate_scale)
        return _encode(x, self.steps, self.signed, self.rate_scale, self.generator)

    def extra_repr(self) -> str:
        return f"steps={self.steps}, signed={self.signed}, rate_scale={self.rate_scale}"


class DirectEncoder(nn.Module):
    r"""Direct (analog) input, an option beyond the paper: images ``[B, ...]`` -> ``[T, B, ...]``,
    :math:`s[t] = x` at every step. The first layer's LIF neurons turn the constant current into
    spikes, so no information is lost to sampling (modern SNN recipes, e.g. Rathi & Roy 2021).

    Example::

        >>> DirectEncoder(10)(torch.rand(2, 1, 28, 28)).shape
        torch.Size([10, 2, 1, 28, 28])

    ``.generator`` exists for the same interface as :class:`PoissonEncoder` and is never used.
    Every call checks its images and ``.steps`` as :class:`PoissonEncoder` does.
    """

    check_input = True                                  #: as :attr:`PoissonEncoder.check_input`

    def __init__(self, steps: int):
        super().__init__()
        self.steps = validate.count("steps", steps)
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _checked(self, x, encoding="direct")
        return x.unsqueeze(0).expand(self.steps, *x.shape).contiguous()

    def extra_repr(self) -> str:
        return f"steps={self.steps}"


def make(encoding: str, steps: int, *, signed: bool = True, rate_scale: float = 1.0) -> nn.Module:
    """The encoder named ``encoding`` (one of :data:`NAMES`): ``"poisson"`` (the paper's) or ``"direct"``."""
    validate.choice("encoding", encoding, NAMES)
    if encoding == "direct":
        return DirectEncoder(steps)
    return PoissonEncoder(steps, signed=signed, rate_scale=rate_scale)
