"""Chapter 7 (book/07_residual.ipynb): residual networks."""
from __future__ import annotations

import functools

import torch

from ..neurons import LIF
from ..verdicts import generator
from . import _framework
from ._framework import Case, measured
from .ch02_lif_neuron import _lif_step

CHAPTER = "07_residual"

register = functools.partial(_framework.register, chapter=CHAPTER)


def _residual_lif_step(v, conv_current, shortcut_current, leak: float, threshold: float):
    r"""One step of a residual block's second neuron: the shortcut enters the membrane,
    :math:`H = V + W_2 h + S(x)`, then fire, reset to zero and leak. Returns ``(v_next, s)``."""
    return _lif_step(v, conv_current + shortcut_current, leak, threshold)


def _residual_cases():
    g = generator(7)
    cases = [Case((torch.tensor([0.0, 0.5, 0.9]), torch.tensor([0.3, 0.2, 0.0]), torch.tensor([0.0, 1.0, 0.2]),
                   0.99, 1.0))]
    for leak, th in ((0.99, 1.0), (0.9, 0.5)):
        cases.append(Case((torch.rand(8, generator=g), torch.rand(8, generator=g) * 0.5,
                           (torch.rand(8, generator=g) < 0.5).float(), leak, th)))
    return cases


register(
    "residual_lif_step", reference=_residual_lif_step, cases=_residual_cases,
    hint=("the shortcut is part of the input current: h = v + conv_current + shortcut_current, then the usual "
          "LIF step (s = h > threshold; v_next = leak * h * (1 - s)). Return (v_next, s)."),
    mistake=lambda v, conv_current, shortcut_current, leak, threshold: (
        leak * (v + conv_current) * (1 - (v + conv_current > threshold).float()),
        ((v + conv_current > threshold).float() + shortcut_current).clamp(max=1)),
    description="one step of the neuron a residual shortcut feeds into")


def _conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output height/width of a convolution: ``(size + 2 padding - kernel) // stride + 1``."""
    return (size + 2 * padding - kernel) // stride + 1


register(
    "conv_output_size", reference=_conv_output_size,
    cases=lambda: [Case(a) for a in ((32, 3, 1, 1), (16, 3, 2, 1), (7, 3, 2, 1), (28, 5, 1, 2), (8, 1, 2, 0),
                                     (5, 3, 2, 1))],
    hint="count the positions the kernel can take: (size + 2 * padding - kernel) // stride + 1.",
    mistake=lambda size, kernel, stride, padding: size // stride,
    description="the spatial size after a convolution")


register(
    "subsample_shortcut", reference=lambda x, stride: x[..., ::stride, ::stride],
    cases=lambda: [Case((torch.arange(2 * 3 * n * n, dtype=torch.float32).reshape(2, 3, n, n), 2)) for n in (4, 7)],
    hint=("the parameter-free shortcut keeps every stride-th row and column, starting with the first: "
          "x[..., ::stride, ::stride] (no averaging, no weights)."),
    mistake=lambda x, stride: torch.nn.functional.avg_pool2d(x, stride),
    description="ResNet11's parameter-free stride-2 shortcut")


@functools.lru_cache(maxsize=1)
def _resnet11():
    from ..models import build

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return build("resnet11", "cifar10", timesteps=1).eval()


def _measured_resnet11_sizes(size: int) -> list[int]:
    """The height of the maps after ``conv1``, ``pool1`` and each of the four blocks of the library's
    ResNet11, measured by running an image of ``size`` x ``size`` through its layers."""
    net = _resnet11()
    x, sizes = torch.zeros(1, 1, 3, size, size), []
    with torch.no_grad():
        for name, layer in net.features.named_children():
            if name == "flatten":
                break
            x = layer(x)
            if name in ("conv1", "pool1") or name.startswith("block"):
                sizes.append(int(x.shape[-1]))
    return sizes


register(
    "resnet11_sizes", reference=_measured_resnet11_sizes,
    cases=lambda: [Case((n,)) for n in (32, 20, 18)],
    compare=measured("the sizes measured by running snnbp's ResNet11", 0.0, 0.0),
    hint=("apply (size + 2 * padding - kernel) // stride + 1 layer by layer: the stem conv (3x3, padding 1) "
          "keeps the size, the 2x2 pooling halves it, a stride-2 block's 3x3 conv (padding 1) gives "
          "(size - 1) // 2 + 1, which ROUNDS UP for an odd size (5 -> 3), as does the x[::2] shortcut."),
    mistake=lambda size: [size, size // 2, size // 2, size // 4, size // 4, size // 8],
    description="predict the map size after each stage of ResNet11")


def _measured_shortcut_output(spikes: torch.Tensor, leak: float) -> torch.Tensor:
    """Simulated with the library's LIF (threshold 1, reset to zero): the output spikes of a block's
    second neuron when only an identity shortcut feeds it (``W_2 h = 0``), per neuron."""
    with torch.no_grad():
        return LIF(leak=leak, threshold=1.0)(spikes.unsqueeze(1)).squeeze(1).sum(0)


def _shortcut_cases():
    g = generator(107)
    return [Case(((torch.rand(40, 6, generator=g) < rate).float(), leak))
            for rate, leak in ((0.3, 0.99), (0.8, 0.9), (0.1, 1.0))]


register(
    "shortcut_output_spikes", reference=_measured_shortcut_output, cases=_shortcut_cases,
    compare=measured("the count simulated with snnbp.neurons.LIF", 0.0, 1e-6),
    hint=("follow the membrane: a lone input spike gives H = 1, which is NOT > 1, so no spike, but it leaves "
          "V = leak > 0 behind (leaked further while nothing arrives); the next input spike gives H = 1 + V > 1 "
          "and fires, resetting V to 0. So every second input spike gets through: n // 2 of n."),
    mistake=lambda spikes, leak: spikes.sum(0),
    description="predict how many input spikes an identity shortcut alone passes through N2")
