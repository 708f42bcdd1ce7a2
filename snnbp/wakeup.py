r"""How many time steps a deep spiking network needs before it is awake, and a way to wake it.

A spiking layer fires only once its membrane has charged past the threshold, and the layer above
it charges only from those spikes. With the paper's initialisation the firing rate therefore falls
layer by layer, and at a small number of time steps :math:`T` the top layers of a deep network do
not fire at all: the output is zero and, since the paper's derivative passes gradient only where a
neuron fired, **every weight gradient is exactly zero**. Two tools:

* :func:`probe` measures, for a batch of images and a list of :math:`T`, each layer's firing rate
  and each weight layer's gradient norm, and says at which :math:`T` every layer fires and gradient
  reaches the first layer (:attr:`Probe.awake_at`).
* :func:`choose_timesteps` picks the smallest such T from a list, or refuses with what to change.
* :func:`wake` is a data-dependent initialisation, **not the paper's method**: after the paper's
  initialisation it multiplies the weights that drive each LIF layer, first layer first, by the
  gain at which that layer fires at a target rate on one batch of training images (in the spirit
  of layer-sequential data-dependent initialisations of ANNs). A preset asks for it with
  ``init_rate > 0``, and :func:`snnbp.train.fit` then wakes the network on its first training batch.

Example::

    >>> net = snnbp.build("vgg9", "mnist")
    >>> p = snnbp.wakeup.probe(net, images, labels, timesteps=(8, 16, 32, 64, 100))
    >>> p.awake_at                    # smallest T at which every layer fires (None: none of them)
    >>> gains = snnbp.wakeup.wake(net, images, rate=0.05, timesteps=16)

Taught in chapter 07b (``book/07b_deep_cifar``); chapters 06 and 07 use the probe.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from . import validate
from .neurons import IF, LIF
from .recipe import make_loss
from .recording import INPUT, layer_name, record

__all__ = ["Probe", "probe", "choose_timesteps", "wake", "driven_layers", "SilentNetwork"]


@dataclass
class Probe:
    """What :func:`probe` measured. ``rates[T][layer]``: spikes per neuron per step (``"input"``
    included); ``grads[T][weight]``: the gradient norm of each weight tensor, input side first
    (the output layer ``classifier`` last); ``min_rate``: the rate below which a layer counts as silent."""

    timesteps: list[int]
    rates: dict[int, dict[str, float]] = field(default_factory=dict)
    grads: dict[int, dict[str, float]] = field(default_factory=dict)
    min_rate: float = 0.0

    def silent(self, steps: int) -> list[str]:
        """The layers that do not fire (rate <= ``min_rate``) at ``steps`` time steps."""
        return [k for k, v in self.rates[steps].items() if k != INPUT and v <= self.min_rate]

    def first_grad(self, steps: int) -> float:
        """The gradient norm of the first weight layer at ``steps`` time steps."""
        return next(iter(self.grads[steps].values()))

    def awake(self, steps: int) -> bool:
        """Every layer fires and gradient reaches the first weight layer at ``steps`` steps."""
        return not self.silent(steps) and self.first_grad(steps) > 0

    @property
    def awake_at(self) -> int | None:
        """The smallest probed T at which the network is :meth:`awake`; ``None`` if at none."""
        return next((t for t in self.timesteps if self.awake(t)), None)

    def summary(self) -> str:
        """One line per T: the lowest layer rate, the silent layers, the first layer's gradient."""
        lines = []
        for t in self.timesteps:
            silent = self.silent(t)
            lowest = min(v for k, v in self.rates[t].items() if k != INPUT)
            lines.append(f"T = {t:3d}: lowest rate {lowest:.4f}, "
                         f"first-layer gradient {self.first_grad(t):.3g}, "
                         + (f"silent: {', '.join(silent)}" if silent else "every layer fires"))
        return "\n".join(lines)


def _weights(net: nn.Module) -> dict[str, nn.Parameter]:
    """The network's weight tensors by short name (``conv1``, ``block1.conv2``, ``classifier``)."""
    return {layer_name(name): p for name, p in net.named_parameters() if name.endswith("weight")}


def probe(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, timesteps=(4, 8, 16, 32, 64, 100), *,
          seed: int = 0, min_rate: float = 0.0) -> Probe:
    """Measure ``net`` (a spiking :class:`~snnbp.models.Network`) on one batch at each T in ``timesteps``.

    For each T: one forward pass (evaluation mode: no dropout; the Poisson input drawn with
    ``seed``, so every T sees the same draw's first steps) recording each layer's firing rate, and
    one backward pass of the network's own loss (its preset's) against ``labels``, recording each
    weight tensor's gradient norm. The weights are not changed; the network's T and mode are
    restored afterwards. ``images`` ``[B, C, H, W]``, ``labels`` ``[B]``.
    """
    if not getattr(net, "spiking", False):
        raise ValueError("probe needs a spiking network (snnbp.build(..., spiking=True))")
    steps = [validate.count("timesteps", t) for t in timesteps]
    if not steps:
        raise ValueError("timesteps must list at least one number of time steps, e.g. (8, 16, 32)")
    loss_fn = make_loss(net.config)
    device = next(net.parameters()).device
    images, labels = images.to(device), labels.to(device)
    weights = _weights(net)
    result = Probe(timesteps=sorted(steps), min_rate=min_rate)
    was_training, was_steps = net.training, net.timesteps
    saved_grads = {k: (None if p.grad is None else p.grad.clone()) for k, p in weights.items()}
    net.eval()
    try:
        for t in result.timesteps:
            net.timesteps = t
            for p in weights.values():
                p.grad = None
            with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                torch.manual_seed(seed)
                with record(net) as rec:
                    loss = loss_fn(net(images), labels)
            loss.backward()
            result.rates[t] = rec.rates()
            result.grads[t] = {k: float(p.grad.norm()) if p.grad is not None else 0.0 for k, p in weights.items()}
    finally:
        net.timesteps = was_steps
        net.train(was_training)
        for k, p in weights.items():
            p.grad = saved_grads[k]
    return result


class SilentNetwork(ValueError):
    """A network whose top layers do not fire at any of the time steps it may train with."""


def choose_timesteps(net: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                     candidates=(8, 16, 25, 32, 50, 64, 100), *, seed: int = 0) -> tuple[int, Probe]:
    """The smallest T in ``candidates`` at which ``net`` is awake on ``images`` (every layer fires and
    the first layer gets gradient), with the :class:`Probe` that shows it. Raises
    :class:`SilentNetwork`, naming the silent layers and what to change, when it is awake at none."""
    result = probe(net, images, labels, candidates, seed=seed)
    if result.awake_at is None:
        longest = result.timesteps[-1]
        silent = result.silent(longest)
        raise SilentNetwork(
            f"{getattr(net, 'name', 'the network')} is not awake at any T up to {longest}: "
            + (f"{', '.join(silent)} never fire" if silent else "no gradient reaches the first layer")
            + ", so every weight gradient is zero and training would change nothing. Allow a larger T "
              "(candidates), or wake the network first (snnbp.wakeup.wake, or the preset field "
              "init_rate=0.05: not the paper's method)")
    return result.awake_at, result


def driven_layers(net: nn.Module) -> list[tuple[str, LIF, list[nn.Parameter]]]:
    """Each LIF layer (not the pooling IF neurons) with the weight tensors that drive it, in forward
    order: the weights registered since the previous LIF layer (a residual block's second neuron is
    driven by its second convolution and a convolutional shortcut)."""
    out, pending = [], []
    for name, module in net.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)) and not name.startswith("classifier"):
            pending.append(module.weight)
        elif isinstance(module, LIF) and not isinstance(module, IF):
            out.append((layer_name(name), module, pending))
            pending = []
    return out


class _Stop(Exception):
    """Raised by a hook to end a forward pass once the layer of interest has fired."""


def _rate_of(net: nn.Module, neuron: nn.Module, images: torch.Tensor, seed: int) -> float:
    """The firing rate of ``neuron`` on ``images``; the forward pass stops right after it."""
    seen = {}

    def hook(module, args, out):
        seen["rate"] = float(out.abs().mean())
        raise _Stop

    handle = neuron.register_forward_hook(hook)
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[images.device] if images.is_cuda else []):
            torch.manual_seed(seed)
            net(images)
    except _Stop:
        pass
    finally:
        handle.remove()
    return seen["rate"]


@torch.no_grad()
def wake(net: nn.Module, images: torch.Tensor, rate: float = 0.05, *, timesteps: int | None = None,
         seed: int = 0, max_gain: float = 64.0, steps: int = 10) -> dict[str, float]:
    """Rescale ``net``'s weights so that every LIF layer fires at about ``rate`` on ``images``.

    Not the paper's method (the paper keeps its normal initialisation): a data-dependent
    initialisation that lets a deep network train at a T where its top layers would otherwise be
    silent. Going up the network, for each LIF layer the weights that drive it (:func:`driven_layers`)
    are multiplied by one gain :math:`g \\in [1/\\text{max\\_gain}, \\text{max\\_gain}]`, found by
    bisection on :math:`\\log g` (``steps`` halvings) so that the layer's rate, measured in
    evaluation mode at ``timesteps`` (default: the network's T) with the Poisson input drawn with
    ``seed``, is as close to ``rate`` as the bisection gets. The output layer keeps its weights.
    Returns the gain per layer (> 1: the paper's weights were too small to make it fire at that rate),
    also kept as ``net.wake_gains`` (and written to ``config.json`` by :func:`snnbp.train.fit`).
    """
    if not getattr(net, "spiking", False):
        raise ValueError("wake needs a spiking network (snnbp.build(..., spiking=True))")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate < 1:
        raise ValueError(f"rate must be a firing rate in (0, 1) spikes per neuron per step, got {rate!r}")
    validate.positive("max_gain", max_gain)
    device = next(net.parameters()).device
    images = images.to(device)
    was_training, was_steps = net.training, net.timesteps
    if timesteps is not None:
        net.timesteps = validate.count("timesteps", timesteps)
    net.eval()
    gains = {}
    try:
        for name, neuron, weights in driven_layers(net):
            original = [w.detach().clone() for w in weights]

            def rate_at(log_gain: float) -> float:
                for w, w0 in zip(weights, original):
                    w.copy_(w0 * math.exp(log_gain))
                return _rate_of(net, neuron, images, seed)

            lo, hi = -math.log(max_gain), math.log(max_gain)
            for _ in range(steps):
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if rate_at(mid) < rate else (lo, mid)
            gains[name] = math.exp((lo + hi) / 2)
            rate_at((lo + hi) / 2)
    finally:
        net.timesteps = was_steps
        net.train(was_training)
    net.wake_gains = gains                      # fit() does not wake a network that was woken
    return gains
