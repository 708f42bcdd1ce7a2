r"""LIF neurons driven by a given input current, run with :class:`snnbp.LIF` itself: the data that
the neuron figures of :mod:`snnbp.plots` draw (membrane traces, f-I curves). Nothing here is a
second neuron model: every step is :meth:`snnbp.LIF.step` or :meth:`snnbp.LIF.forward`.

A private module: :func:`simulate` and :func:`fi_rates` are public as :mod:`snnbp.plots`'s
(``plots.simulate``, ``plots.fi_rates``), where the chapters call them.

Taught in chapter 02 (``book/02_lif_neuron``).
"""
from __future__ import annotations

import torch

from . import validate
from .neurons import LIF

__all__ = ["simulate", "fi_rates", "as_current", "as_currents"]


def as_current(current) -> torch.Tensor:
    """The input of :func:`simulate`: a number (a 0-d tensor), or finite numbers ``[T, ...]``, as
    float32 (a list or numpy array is converted); anything else is a clear error naming ``current``."""
    return validate.numbers("current", current, shape="a number or a tensor [T, ...] (one input per step)"
                            ).to(torch.float32)


def as_currents(currents) -> torch.Tensor:
    """The input of :func:`fi_rates`: finite numbers ``[N]`` (one constant input per neuron) as
    float32; anything else is a clear error naming ``currents``."""
    hint = "a tensor [N] of constant inputs (one number: wrap it, [0.5])"
    return validate.numbers("currents", currents, dims=(1,), shape=hint).to(torch.float32)


def simulate(current, *, steps: int = 100, leak: float = 0.99, threshold: float = 1.0,
             reset: str = "zero") -> dict[str, torch.Tensor]:
    r"""Run LIF neurons step by step with :meth:`snnbp.LIF.step` and return their traces.

    ``current`` is a number (a constant input :math:`I` per step, for ``steps`` steps) or a tensor
    ``[T, ...]`` (one input per step and neuron). Returns ``h`` (:math:`H[t] = V[t-1] + I[t]`,
    the value compared with :math:`V_{th}`), ``v`` (after reset and leak), ``s`` (spikes) and
    ``current``, each ``[T, ...]``.

    Checked: ``steps`` an integer >= 1, ``leak`` in (0, 1], ``threshold`` > 0, ``reset`` one of
    ``"zero"``, ``"subtract"``; ``current`` finite numbers, not empty (a list or numpy array is
    converted). A tensor ``current`` sets ``T`` itself (``steps`` is then not used).

    Example: ``simulate(0.3, steps=8, leak=1.0)["s"]`` is ``[0, 0, 0, 1, 0, 0, 0, 1]``
    (:math:`H = 0.3, 0.6, 0.9, 1.2 > 1`: a spike, reset to 0).
    """
    steps = validate.count("steps", steps)
    neuron = LIF(leak=leak, threshold=threshold, reset=reset)        # it checks its settings
    drive = as_current(current)
    drive = drive.expand(steps).clone() if drive.dim() == 0 else drive
    v = torch.zeros_like(drive[0])
    hs, vs, ss = [], [], []
    for t in range(drive.shape[0]):
        v, s, h = neuron.step(v, drive[t])
        hs.append(h), vs.append(v), ss.append(s)
    return {"h": torch.stack(hs), "v": torch.stack(vs), "s": torch.stack(ss), "current": drive}


def fi_rates(currents: torch.Tensor, *, steps: int = 1000, leak: float = 0.99, threshold: float = 1.0,
             reset: str = "zero") -> torch.Tensor:
    r"""Firing rate (spikes per step) of a LIF neuron for each constant input in ``currents``.

    All currents run in parallel through one :class:`snnbp.LIF` layer for ``steps`` steps.
    Checked: ``currents`` finite numbers ``[N]`` (a list is converted), ``steps`` >= 1, and the
    neuron's ``leak``, ``threshold`` and ``reset`` as in :func:`simulate`.
    """
    currents = as_currents(currents)
    steps = validate.count("steps", steps)
    neuron = LIF(leak=leak, threshold=threshold, reset=reset)        # it checks its settings
    with torch.no_grad():
        spikes = neuron(currents.expand(steps, 1, -1).contiguous())
    return spikes.mean(0)[0]
