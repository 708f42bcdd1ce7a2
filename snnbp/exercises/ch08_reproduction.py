"""Chapter 8 (book/08_reproduction.ipynb): the schedule and the exact output-layer gradient."""
from __future__ import annotations

import functools

import torch

from . import _framework
from ._framework import Case, measured

CHAPTER = "08_reproduction"

register = functools.partial(_framework.register, chapter=CHAPTER)


def _multistep_lr(epoch: int, lr: float, milestones, gamma: float) -> float:
    r"""The learning rate in (1-based) ``epoch`` under a multistep schedule: :math:`\eta_0\gamma^{m}`,
    :math:`m` = the number of milestones already passed (``milestone < epoch``), as
    ``torch.optim.lr_scheduler.MultiStepLR`` stepped once per epoch."""
    return lr * gamma ** sum(1 for m in milestones if m < epoch)


register(
    "multistep_lr", reference=_multistep_lr,
    cases=lambda: [Case((e, 0.0033, (70, 100, 125), 0.2)) for e in (1, 70, 71, 100, 101, 126, 150)]
    + [Case((e, 0.0085, (75,), 0.2)) for e in (75, 76)],
    hint=("count the milestones the schedule has passed before this epoch (milestone < epoch: the decay at "
          "milestone 70 takes effect from epoch 71 on) and multiply lr by gamma that many times."),
    mistake=lambda epoch, lr, milestones, gamma: lr * gamma ** sum(1 for m in milestones if m <= epoch),
    description="the paper's step learning-rate schedule")


def _measured_exact_shrink(steps: int, leak: float) -> float:
    """Autograd through the library's output layer, exact against the paper's: ``1 - g_exact / g_paper``
    for a current that is the same at every step (one weight feeding all ``steps``)."""
    from ..layers import OutputIntegrator

    grads = {}
    for detach in (True, False):
        weight = torch.ones((), dtype=torch.float64, requires_grad=True)
        OutputIntegrator(leak, detach_leak=detach)(weight.expand(steps, 1, 1)).sum().backward()
        grads[detach] = float(weight.grad)
    return 1 - grads[False] / grads[True]


register(
    "exact_gradient_shrink", reference=_measured_exact_shrink,
    cases=lambda: [Case((t, leak)) for t, leak in ((20, 0.99), (100, 0.99), (10, 0.9), (50, 1.0))],
    compare=measured("the shrink measured with snnbp.layers.OutputIntegrator", 1e-5, 1e-8),
    hint=("the paper's backward gives every step 1/T, T of them: 1 in all; the exact one gives step t "
          "leak ** (T - t + 1) / T. The shrink is 1 - (1/T) * sum of leak ** k for k = 1..T "
          "= 1 - leak (1 - leak**T) / ((1 - leak) T) (and 0 when leak = 1); mind k starts at 1, not 0."),
    mistake=lambda steps, leak: 1 - sum(leak ** k for k in range(steps)) / steps,
    description="predict how much smaller the exact output-layer gradient is than the paper's")
