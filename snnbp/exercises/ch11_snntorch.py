"""Chapter 11 (book/11_snntorch.ipynb): the snnTorch bridge."""
from __future__ import annotations

import functools

import torch

from ..verdicts import generator
from . import _framework
from ._framework import Case

CHAPTER = "11_snntorch"

register = functools.partial(_framework.register, chapter=CHAPTER)


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
