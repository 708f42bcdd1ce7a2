"""Chapter 9 (book/09_efficiency.ipynb): sparse computation, operations and energy."""
from __future__ import annotations

import functools

import torch

from ..encoding import poisson_encode
from ..verdicts import generator
from . import _framework
from ._framework import Case, measured

CHAPTER = "09_efficiency"

register = functools.partial(_framework.register, chapter=CHAPTER)


def _linear_synaptic_ops(spikes: torch.Tensor, out_features: int) -> float:
    """Accumulates a linear layer performs: every nonzero input spike (+1 or -1) reaches ``out_features`` targets."""
    return float((spikes != 0).sum()) * out_features


def _signed_spikes():
    g = generator(9)
    return [Case(((torch.rand(10, 2, 30, generator=g) < r).float()
                  * torch.sign(torch.rand(10, 2, 30, generator=g) - 0.5),
                  n)) for r, n in ((0.1, 100), (0.3, 10))]


register(
    "linear_synaptic_ops", reference=_linear_synaptic_ops, cases=_signed_spikes,
    hint=("each spike, +1 or -1, costs one addition per target: count the NONZERO entries (spikes != 0) over all "
          "steps and samples, then multiply by out_features. Summing the spikes lets +1 and -1 cancel."),
    mistake=lambda spikes, out_features: float(spikes.sum()) * out_features,
    description="synaptic operations of a linear layer driven by signed spikes")


register(
    "conv_macs", reference=lambda c_in, c_out, kernel, h_out, w_out: c_out * h_out * w_out * c_in * kernel * kernel,
    cases=lambda: [Case(a) for a in ((3, 64, 3, 32, 32), (64, 128, 3, 16, 16), (1, 20, 5, 28, 28),
                                     (128, 256, 1, 8, 8))],
    hint="every output element (c_out * h_out * w_out of them) sums its fan-in, c_in * kernel * kernel products.",
    mistake=lambda c_in, c_out, kernel, h_out, w_out: c_out * h_out * w_out * kernel * kernel,
    description="multiply-accumulates of one image through a convolution in an ANN")


register(
    "energy_ratio", reference=lambda synaptic_ops, macs, e_ac=0.9, e_mac=4.6: macs * e_mac / (synaptic_ops * e_ac),
    cases=lambda: [Case((1e6, 5e6)), Case((2.5e7, 1e7)), Case((3e5, 3e5), {"e_ac": 0.03, "e_mac": 0.23})],
    hint="E_ANN = MACs * E_MAC and E_SNN = synaptic ops * E_AC; the ratio is E_ANN / E_SNN (ANN over SNN).",
    mistake=lambda synaptic_ops, macs, e_ac=0.9, e_mac=4.6: synaptic_ops * e_ac / (macs * e_mac),
    description="the ANN-over-SNN energy ratio from operation counts")


def _measured_acs_per_mac(rate: float, timesteps: int, size: int, kernel: int) -> float:
    """Counted with the library (``snnbp.evaluate.synaptic_ops`` and ``dense_macs``): the expected
    accumulates per multiply-accumulate of a stride-1 'same' convolution (padding ``kernel // 2``)
    whose ``size`` x ``size`` input fires at ``rate`` per step for ``timesteps`` steps."""
    from ..evaluate import dense_macs, synaptic_ops

    with torch.random.fork_rng(devices=[]):          # its random weights are not used
        conv = torch.nn.Conv2d(1, 1, kernel, padding=kernel // 2, bias=False)
    every_input_once = synaptic_ops(conv, torch.ones(1, 1, size, size))
    return rate * timesteps * every_input_once / dense_macs(conv, (1, size, size))


register(
    "acs_per_mac", reference=_measured_acs_per_mac,
    cases=lambda: [Case(a) for a in ((0.1, 100, 8, 3), (0.05, 20, 32, 3), (0.2, 10, 28, 5), (0.3, 5, 6, 1),
                                     (0.02, 100, 4, 3))],
    compare=measured("the count of snnbp.evaluate.synaptic_ops / dense_macs", 1e-6, 1e-9),
    hint=("without padding it would be rate * timesteps. With padding p = kernel // 2 an input near the border "
          "reaches fewer outputs: along one axis the fan-outs add up to size * kernel - p (p + 1) instead of "
          "size * kernel; the 2-D factor is the square of (1 - p (p + 1) / (size * kernel))."),
    mistake=lambda rate, timesteps, size, kernel: rate * timesteps,
    description="derive the accumulates per MAC of a padded convolution from its input rate")


def _measured_input_acs(images: torch.Tensor, timesteps: int, out_features: int, rate_scale: float) -> float:
    """Counted with the library: the accumulates per image that a linear layer of ``out_features``
    outputs performs on the Poisson code of ``images`` ``[B, N]`` (``snnbp.poisson_encode``, signed,
    ``rate_scale``) over ``timesteps`` steps, averaged over many draws (``snnbp.evaluate.synaptic_ops``)."""
    from ..evaluate import synaptic_ops

    draws = 200
    with torch.random.fork_rng(devices=[]):
        layer = torch.nn.Linear(images.shape[1], out_features, bias=False)
    spikes = poisson_encode(images, timesteps * draws, rate_scale=rate_scale, generator=generator(109))
    return synaptic_ops(layer, spikes) / (draws * images.shape[0])


def _input_acs_cases():
    g = generator(110)
    return [Case((torch.rand(6, 64, generator=g), 20, 128, 1.0)),
            Case((torch.rand(4, 30, generator=g) * 2 - 1, 10, 50, 1.0)),        # signed pixels
            Case((torch.rand(5, 40, generator=g) * 2 - 1, 100, 10, 0.5)),       # the MNIST code
            Case((torch.rand(3, 16, generator=g) * 2 - 1, 8, 7, 2.0))]           # r |x| above 1


register(
    "poisson_input_acs", reference=_measured_input_acs, cases=_input_acs_cases,
    compare=measured("the count of snnbp.evaluate.synaptic_ops on Poisson spikes", 0.03, 1e-6),
    hint=("a pixel x fires with probability min(r |x|, 1) per step, a -1 spike for a negative pixel, and every "
          "spike, +1 or -1, costs one accumulate per output: ACs per image = T * out_features * (sum over "
          "pixels of min(r |x|, 1)), averaged over the images. Negative pixels count too."),
    mistake=lambda images, timesteps, out_features, rate_scale: timesteps * out_features * float(
        (images.clamp(min=0) * rate_scale).clamp(max=1).sum(1).mean()),
    description="predict the accumulates a Poisson-coded image drives in a linear first layer")
