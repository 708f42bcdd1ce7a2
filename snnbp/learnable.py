r"""Learnable neurons: a step beyond the paper, each one subclass of :class:`~snnbp.neurons.LIF`.

The paper's neurons have a fixed leak :math:`\lambda = 0.99` and threshold :math:`V_{th} = 1`.
Later work learns them with the weights: PLIF (Fang et al., ICCV 2021) learns one leak per layer
as :math:`\lambda = \sigma(w)`, snnTorch offers ``learn_beta`` and ``learn_threshold``. Here each
is a subclass that overrides one method, :meth:`~snnbp.neurons.LIF.dynamics`, to hand the time
loop a leak or a threshold computed from an ``nn.Parameter``:

* :class:`LearnableLeakLIF` (``"learnable_leak"``): :math:`\lambda = \sigma(w)`, one per layer,
  so it stays in (0, 1);
* :class:`LearnableThresholdLIF` (``"learnable_threshold"``): :math:`V_{th} = e^{w}`, one per
  layer, so it stays above 0. The spike is a function of :math:`H - V_{th}`, so its surrogate
  gives :math:`\partial s/\partial V_{th} = -\partial s/\partial H` (:func:`snnbp.surrogate.spike`);
  with reset by subtraction the reset's :math:`-V_{th} s` adds its own term.

Both run on the reference loop (the fused scan declines tensor settings, :func:`snnbp.fused_scan.supports`),
which autograd differentiates, so their parameters train in :func:`snnbp.train.fit` beside the
weights (the same optimiser, weight decay included). Use them in a network with
``snnbp.build(model, dataset, neuron="learnable_leak")``: every hidden LIF layer (not the pooling
IF neurons, not the output layer) is then one, and ``config.json`` records the name. ``.leak`` and
``.threshold`` read the live value as a float and assigning one sets the parameter.

Not the paper's method: taught as a labelled step beyond it in chapter 05 (``book/05_spike_bptt``,
"Beyond the paper: a learnable leak and threshold").
"""
from __future__ import annotations

import math

import torch
from torch import nn

from . import validate
from .neurons import LIF, LIFSettings, register

__all__ = ["LearnableLeakLIF", "LearnableThresholdLIF"]


def _learnt(raw: str, to_value, to_raw, doc: str) -> property:
    """A setting that lives in the parameter ``raw``: read as ``to_value(raw)``, assigned through
    ``to_raw`` (which checks the value). During ``LIF.__init__`` the parameter does not exist yet and
    the settings hold the starting value, which the subclass's ``__init__`` then copies into it."""
    def get(self) -> float:
        return float(to_value(getattr(self, raw).detach()))

    def set(self, value: float) -> None:
        w = to_raw(value)
        if raw in self._parameters:
            with torch.no_grad():
                getattr(self, raw).fill_(w)
    return property(get, set, doc=doc)


def _logit(leak: float) -> float:
    """:math:`\\mathrm{logit}(\\lambda)` of a leak in (0, 1), or a clear error."""
    leak = validate.leak("leak", leak)
    if leak >= 1:
        raise ValueError("a learnable leak must lie in (0, 1): it is sigmoid(w), which never reaches 1 "
                         "(for no leak at all, use snnbp.IF or LIF(leak=1.0))")
    return math.log(leak / (1 - leak))


@register("learnable_leak")
class LearnableLeakLIF(LIF):
    r"""LIF neurons whose leak is learnt, one per layer: :math:`\lambda = \sigma(w)` (PLIF).

    Takes :class:`~snnbp.neurons.LIF`'s arguments; ``leak`` (in (0, 1), not 1: the sigmoid never
    reaches it) is the starting value, :math:`w = \mathrm{logit}(\lambda)`. Example::

        >>> neuron = LearnableLeakLIF(leak=0.9)
        >>> neuron(torch.full((10, 1, 4), 0.3)).sum().backward()
        >>> neuron.raw_leak.grad is not None
        True
    """

    def __init__(self, leak: float = 0.99, *args, **kwargs):
        super().__init__(leak, *args, **kwargs)
        self.raw_leak = nn.Parameter(torch.tensor(_logit(self.settings.leak)))

    def dynamics(self) -> LIFSettings:
        return self.settings.replace(leak=torch.sigmoid(self.raw_leak))

    leak = _learnt("raw_leak", torch.sigmoid, _logit,
                   "The live leak :math:`\\sigma(w)`; assigning one (in (0, 1)) sets :math:`w`.")


@register("learnable_threshold")
class LearnableThresholdLIF(LIF):
    r"""LIF neurons whose threshold is learnt, one per layer: :math:`V_{th} = e^{w}`.

    Takes :class:`~snnbp.neurons.LIF`'s arguments; ``threshold`` is the starting value,
    :math:`w = \ln V_{th}`. Example::

        >>> neuron = LearnableThresholdLIF(threshold=1.0)
        >>> neuron(torch.full((10, 1, 4), 0.3)).sum().backward()
        >>> float(neuron.log_threshold.grad) < 0        # a lower threshold gives more spikes
        True
    """

    def __init__(self, leak: float = 0.99, threshold: float = 1.0, *args, **kwargs):
        super().__init__(leak, threshold, *args, **kwargs)
        self.log_threshold = nn.Parameter(torch.tensor(math.log(self.settings.threshold)))

    def dynamics(self) -> LIFSettings:
        return self.settings.replace(threshold=torch.exp(self.log_threshold))

    threshold = _learnt("log_threshold", torch.exp, lambda v: math.log(validate.positive("threshold", v)),
                        "The live threshold :math:`e^{w}`; assigning one (> 0) sets :math:`w`.")
