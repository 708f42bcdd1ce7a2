"""Chapter 6 (book/06_deep_vgg.ipynb): going deep (He initialisation, time-fixed dropout)."""
from __future__ import annotations

import functools
import math

import torch

from ..verdicts import describe, generator
from . import _framework
from ._framework import Case, measured

CHAPTER = "06_deep_vgg"

register = functools.partial(_framework.register, chapter=CHAPTER)


def _he_std(weight_shape) -> float:
    r"""He initialisation's standard deviation :math:`\sqrt{2/\text{fan-in}}`, fan-in = the product
    of all but the first dimension of the weight (``C_in k k`` for a convolution, ``in_features``)."""
    fan_in = 1
    for n in tuple(weight_shape)[1:]:
        fan_in *= int(n)
    return math.sqrt(2.0 / fan_in)


register(
    "he_std", reference=_he_std,
    cases=lambda: [Case((shape,)) for shape in ((64, 3, 3, 3), (128, 64, 3, 3), (20, 1, 5, 5), (10, 200),
                                               (1024, 4096))],
    hint=("the fan-in is the number of inputs ONE output neuron sums: every dimension of the weight except "
          "the first (out channels). For a convolution that is C_in * k * k. The std is sqrt(2 / fan_in)."),
    mistake=lambda weight_shape: math.sqrt(2.0 / weight_shape[1]),
    description="the standard deviation of He-normal initialisation from a weight's shape")


def _time_fixed_dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """Dropout of ``x`` ``[T, B, ...]`` with one mask per sample, reused at every time step."""
    from ..layers import TimeFixedDropout

    return TimeFixedDropout(p).train()(x)


def dropout_problem(x: torch.Tensor, p: float, out) -> str | None:
    """``None`` when ``out`` can be time-fixed dropout of ``x`` ``[T, B, ...]`` (no zeros in ``x``):
    ``x``'s shape, every output 0 or ``x / (1 - p)``, the same units dropped at every step, and the
    dropped fraction of a step within five standard deviations, :math:`5\\sqrt{p(1-p)/n}` for the
    ``n`` units of a step, of ``p``: the one tolerance of this exercise and of assignment
    ``deep_dropout`` q1. Else a sentence saying what is wrong."""
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != tuple(x.shape):
        return f"expected a tensor of the input's shape {tuple(x.shape)}, got {describe(out)}"
    out, x = out.detach().double(), x.double()
    dropped = out == 0
    if not bool((dropped == dropped[:1]).all()):
        return ("the mask changes from one time step to the next: draw ONE mask of shape [1, B, ...] and "
                "reuse it for all T steps")
    kept = x / (1 - p)
    if not torch.allclose(out[~dropped], kept[~dropped], rtol=1e-5, atol=1e-7):
        k = int(((out - kept).abs() * ~dropped).flatten().argmax())
        return (f"every output must be 0 (dropped) or x / (1 - p) (kept): expected {kept.flatten()[k].item():.4g} "
                f"or 0, got {out.flatten()[k].item():.4g}")
    fraction, units = float(dropped[0].double().mean()), dropped[0].numel()
    if abs(fraction - p) > 5 * math.sqrt(p * (1 - p) / units):
        return f"{fraction:.3f} of the units were dropped, expected about p = {p}"
    return None


register(
    "time_fixed_dropout", reference=_time_fixed_dropout,
    cases=lambda: [Case((torch.full((8, 4, 500), value), p)) for value, p in ((1.0, 0.2), (0.7, 0.5), (1.0, 0.25))],
    judge_case=lambda case, got: dropout_problem(*case.args, got),
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
    compare=measured("the std measured on a He-initialised layer", 0.06, 1e-4),
    hint=("I = sum over fan_in inputs of w_i s_i, each term with mean 0 and variance Var(w) E[s**2]. A 0/1 spike "
          "has E[s**2] = rate (not rate**2), and Var(w) = gain**2 * 2 / fan_in, so the fan-in cancels: "
          "std = gain * sqrt(2 * rate)."),
    mistake=lambda rate, fan_in, gain: gain * math.sqrt(2.0) * rate,
    description="predict the std of a He-initialised layer's input current from the input rate")
