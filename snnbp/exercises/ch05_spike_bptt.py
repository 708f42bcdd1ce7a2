"""Chapter 5 (book/05_spike_bptt.ipynb): the loss, accuracy and the output layer's gradient."""
from __future__ import annotations

import functools

import torch

from ..verdicts import generator
from . import _framework
from ._framework import Case, measured

CHAPTER = "05_spike_bptt"

register = functools.partial(_framework.register, chapter=CHAPTER)


def _mse_sum(output: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    r"""Summed squared error against one-hot targets: :math:`\sum_{b,c} (o_{bc} - y_{bc})^2`."""
    target = torch.nn.functional.one_hot(labels, output.shape[1]).to(output.dtype)
    return ((output - target) ** 2).sum()


def _loss_cases():
    g = generator(5)
    return [Case((torch.rand(b, 10, generator=g), torch.randint(0, 10, (b,), generator=g))) for b in (1, 4, 32)]


register(
    "mse_sum_loss", reference=_mse_sum, cases=_loss_cases,
    hint=("turn labels into one-hot rows with torch.nn.functional.one_hot(labels, output.shape[1]), "
          "subtract, square, and SUM over everything (the batch too; not the mean)."),
    mistake=lambda output, labels: ((output - torch.nn.functional.one_hot(labels, output.shape[1])) ** 2).mean(),
    description="the paper scripts' summed squared error against one-hot targets")


def _accuracy(output: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of samples whose largest output is the label."""
    return (output.argmax(1) == labels).float().mean().item()


register(
    "accuracy", reference=_accuracy, cases=_loss_cases,
    hint="the prediction is the class with the largest output: output.argmax(dim=1); compare with labels and average.",
    mistake=lambda output, labels: (output.argmax(0)[: len(labels)] == labels).float().mean().item(),
    description="classification accuracy from outputs [B, classes] and labels [B]")


def _autograd_loss_grad(output: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Autograd of the library's ``SummedSquaredError`` with respect to the output."""
    from ..recipe import SummedSquaredError

    output = output.detach().clone().requires_grad_()
    SummedSquaredError("sum")(output, labels).backward()
    return output.grad


register(
    "mse_sum_grad", reference=_autograd_loss_grad, cases=_loss_cases,
    compare=measured("autograd of snnbp.recipe.SummedSquaredError", 1e-5, 1e-6),
    hint=("differentiate each squared term: d/do (o - y)**2 = 2 (o - y), with y the one-hot target. A SUM over "
          "the batch gives every sample this gradient in full; dividing by B is the mean's gradient, "
          "B times smaller."),
    mistake=lambda output, labels: 2 * (output - torch.nn.functional.one_hot(labels, output.shape[1]))
    / output.shape[0],
    description="derive the gradient of the summed squared error with respect to the output")


def _autograd_readout_weights(steps: int, leak: float) -> torch.Tensor:
    r"""Autograd through the library's exact output layer (``OutputIntegrator(detach_leak=False)``):
    :math:`\partial (V_{out}[T]/T) / \partial I[t]` for ``t = 1..T``."""
    from ..layers import OutputIntegrator

    current = torch.zeros(steps, 1, 1, dtype=torch.float64, requires_grad=True)
    OutputIntegrator(leak, detach_leak=False)(current).sum().backward()
    return current.grad.flatten()


register(
    "readout_weights", reference=_autograd_readout_weights,
    cases=lambda: [Case((t, leak)) for t, leak in ((5, 0.9), (20, 0.99), (100, 0.99), (3, 1.0))],
    compare=measured("autograd through snnbp.layers.OutputIntegrator(detach_leak=False)", 1e-5, 1e-8),
    hint=("unroll V_out[t] = leak * (V_out[t-1] + I[t]) from V_out[0] = 0: the current of step t is leaked "
          "at step t itself and at every later step, T - t + 1 times in all, so its weight is "
          "leak ** (T - t + 1) / T (the last step's current already has one leak)."),
    mistake=lambda steps, leak: leak ** torch.arange(steps - 1, -1, -1, dtype=torch.float64) / steps,
    description="derive the exact gradient of the output layer with respect to each step's current")
