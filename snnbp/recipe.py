r"""The loss, optimiser and learning-rate schedule a :class:`~snnbp.presets.Preset` names, one
function each (book/method.md, 'The loss' and 'Optimiser and learning-rate schedule').

:mod:`snnbp.train` uses them for every step;
:mod:`snnbp.wakeup` uses the loss to probe gradients without importing the training loop.

Taught in chapter 05 (``book/05_spike_bptt``: the paper's loss and learning rate).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from . import validate
from .presets import LOSSES, OPTIMIZERS, SCHEDULES, Preset

__all__ = ["SummedSquaredError", "make_loss", "make_optimizer", "make_scheduler", "stretch_cosine"]


class SummedSquaredError(nn.Module):
    r"""The paper's loss: :math:`L = \sum_{b} \sum_{k} (\hat y_{bk} - 1[k = y_b])^2`, the squared
    error of the output :math:`\hat y = V_{out}(T)/T` against the one-hot label, summed over the
    classes **and over the mini-batch**.

    The authors' scripts sum over the batch (``MSELoss(size_average=False)``; book/method.md,
    'The loss'). With a sum, the gradient scales with the batch size, which the paper's small
    learning rates assume.

    With ``reduction="mean"`` (the named option ``"mse_mean"``, not the paper's) the sum
    over classes is averaged over the batch instead, so the learning rate does not scale with it.

    Shapes: ``output`` ``[B, classes]``, ``labels`` ``[B]`` (class indices). Example::

        SummedSquaredError()(torch.tensor([[0.9, 0.1]]), torch.tensor([0]))   # 0.1**2 + 0.1**2 = 0.02
    """

    def __init__(self, reduction: str = "sum"):
        super().__init__()
        self.reduction = validate.choice("reduction", reduction, ("sum", "mean"))

    def forward(self, output: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        target = F.one_hot(labels, output.shape[-1]).to(output.dtype)
        per_sample = ((output - target) ** 2).sum(-1)
        return per_sample.sum() if self.reduction == "sum" else per_sample.mean()


def make_loss(config: Preset) -> nn.Module:
    """``"mse_sum"`` -> :class:`SummedSquaredError` (the paper preset); ``"mse_mean"`` -> the same
    averaged over the batch (an option); ``"cross_entropy"`` -> mean cross-entropy of the outputs
    taken as logits (the modern preset)."""
    name = validate.choice("loss", config.loss, LOSSES)
    if name == "cross_entropy":
        return nn.CrossEntropyLoss()
    return SummedSquaredError("sum" if name == "mse_sum" else "mean")


def make_optimizer(model: nn.Module, config: Preset) -> torch.optim.Optimizer:
    """SGD (``lr``, ``momentum``, ``weight_decay``; the paper: no momentum, weight decay 5e-4) or Adam."""
    name = validate.choice("optimizer", config.optimizer, OPTIMIZERS)
    params = [p for p in model.parameters() if p.requires_grad]
    if name == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, config: Preset, epochs: int | None = None):
    r"""Learning rate per epoch. ``"multistep"``: :math:`\eta_e = \eta_0 \gamma^{\#\{m \le e\}}` over
    the preset's ``milestones`` (the paper's; kept as they are when fewer epochs are run);
    ``"cosine"``: :math:`\eta_e = \eta_0 (1 + \cos(\pi e / E)) / 2` over ``epochs`` :math:`E`
    (a run resumed with more epochs stretches it over the new :math:`E` from the epoch reached)."""
    name = validate.choice("schedule", config.schedule, SCHEDULES)
    if name == "multistep":
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, list(config.milestones), gamma=config.gamma)
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(epochs or config.epochs, 1))


def stretch_cosine(scheduler, optimizer, epochs: int) -> None:
    """A cosine run resumed with another number of ``epochs``: the schedule's length becomes the
    new total, and the learning rate continues from the closed form at the epoch reached
    (otherwise the checkpoint's length would win and the rate would climb again after it)."""
    if not isinstance(scheduler, torch.optim.lr_scheduler.CosineAnnealingLR) or scheduler.T_max == epochs:
        return
    scheduler.T_max = max(epochs, 1)
    done = scheduler.last_epoch
    for group, base in zip(optimizer.param_groups, scheduler.base_lrs):
        group["lr"] = scheduler.eta_min + (base - scheduler.eta_min) * (1 + math.cos(math.pi * done / epochs)) / 2
    scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]
