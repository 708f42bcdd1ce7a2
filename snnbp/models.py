"""The paper's networks as layer tables, one builder, and the ANN twin from the same table.

A table lists the hidden layers in order (the output layer, fully connected to the classes, is
implicit), in the spirit of torchvision's ``vgg.py``:

* ``64``: a 3x3 convolution (padding 1) with 64 output channels, then LIF neurons;
* ``("conv", 20, 5, 2)``: a 5x5 convolution, padding 2, then LIF neurons;
* ``"A"``: 2x2 average pooling, then IF neurons (threshold 0.75);
* ``("fc", 1024)``: a fully connected layer, then LIF neurons;
* ``("block", 256, 2, "conv")``: a residual block of two 3x3 convolutions, the second with
  stride 2, whose shortcut (``"conv"``: 1x1 convolution with that stride; ``"subsample"``:
  parameter-free ``x[..., ::2, ::2]``; ``"none"``: no shortcut, two plain layers) adds the block's
  input spikes into the second neuron's membrane;
* ``("fcblock", 128)``: the same with two fully connected layers and an identity shortcut.

:func:`build` makes the named networks; :func:`custom` makes one from your own table (chapters
use it for deep stacks); ``shortcuts=False`` gives a residual network's plain twin of the same depth.

No biases anywhere. Dropout (one mask per forward call, shared by all time steps) follows every
hidden LIF layer, convolutional and fully connected, not the pooling IF neurons; the next layer and
a residual shortcut take the masked spikes (paper-spec section 5, as the authors' scripts do it).
The ANN twin (``spiking=False``) uses the same table with ReLU for LIF, no neuron after
pooling, and a plain linear read-out: the same weight shapes.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from . import _checks, presets
from .data import info as dataset_info
from .encoding import PoissonEncoder
from .layers import Flatten, LastStep, OutputIntegrator, Residual, Subsample, TimeBatched, TimeFixedDropout
from .neurons import IF, LIF

__all__ = ["Table", "TABLES", "NAMES", "SHORTCUTS", "build", "custom", "plain_twin", "Network", "NoShortcut"]


@dataclass(frozen=True)
class Table:
    """A network's hidden layers and where the table comes from."""

    layers: tuple
    confirmed: bool
    source: str


TABLES: dict[str, Table] = {
    "mlp": Table((("fc", 128),), False, "not in the paper: a one-hidden-layer network for digits"),
    "lenet": Table((("conv", 20, 5, 2), "A", ("conv", 50, 5, 2), "A", ("fc", 200)), True,
                   "paper-spec section 4 (MNIST LeNet)"),
    "vgg7": Table((64, 64, "A", 128, 128, "A", 256, "A", ("fc", 1024)), False,
                  "layer table not confirmed (SVHN VGG7)"),
    "vgg9": Table((64, 64, "A", 128, 128, "A", 256, 256, 256, "A", ("fc", 1024)), True,
                  "paper-spec section 4 (CIFAR-10 VGG9)"),
    "vgg11": Table((64, "A", 128, "A", 256, 256, "A", 512, 512, "A", 512, 512, ("fc", 1024), ("fc", 1024)),
                   False, "not in the paper: a VGG11 in the same style"),
    "resnet7": Table((("conv", 64, 3, 1), "A", ("block", 128, 2, "conv"), ("block", 256, 2, "conv"),
                      ("fc", 1024)), False, "layer table not confirmed (SVHN ResNet7)"),
    "resnet9": Table((("conv", 64, 3, 1), "A", ("block", 128, 1, "conv"), ("block", 256, 2, "conv"),
                      ("block", 512, 2, "conv"), ("fc", 1024)), False,
                     "layer table not confirmed (CIFAR-10 ResNet9)"),
    "resnet11": Table((("conv", 64, 3, 1), "A", ("block", 128, 1, "conv"), ("block", 256, 2, "conv"),
                       ("block", 512, 1, "conv"), ("block", 512, 2, "subsample"), ("fc", 1024)), True,
                      "paper-spec section 4 (CIFAR-10 ResNet11)"),
}
NAMES: tuple[str, ...] = tuple(TABLES)
SHORTCUTS = ("conv", "subsample", "identity", "none")


def _conv(cin: int, cout: int, kernel: int = 3, padding: int = 1, stride: int = 1) -> nn.Module:
    return TimeBatched(nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False))


def _compiling() -> bool:
    compiler = getattr(torch, "compiler", None)
    return bool(getattr(compiler, "is_compiling", lambda: False)())


def _linear(fan_in: int, fan_out: int) -> nn.Module:
    return TimeBatched(nn.Linear(fan_in, fan_out, bias=False))


class NoShortcut(nn.Module):
    """The plain twin's "shortcut": adds nothing, so a residual block becomes two plain layers."""

    def forward(self, x: torch.Tensor) -> float:
        return 0.0


class Network(nn.Module):
    """A spiking network (or its ANN twin) built from a :class:`Table` and a :class:`~snnbp.presets.Preset`.

    Spiking: images ``[B, C, H, W]`` -> Poisson spikes ``[T, B, C, H, W]`` -> hidden layers ->
    output integrator -> ``V_out(T) / T`` ``[B, classes]``. ANN twin: the same layers at ``T = 1``.
    """

    def __init__(self, name: str, dataset: str, config: presets.Preset, *, spiking: bool = True,
                 backend: str = "fused", layers: tuple | list | None = None, shortcuts: bool = True):
        super().__init__()
        self.name, self.dataset, self.config, self.spiking = name, dataset, config, bool(spiking)
        self.info = dataset_info(dataset)
        self.backend = backend
        self.shortcuts = bool(shortcuts)
        self.encoder = (PoissonEncoder(config.timesteps, signed=config.signed, rate_scale=config.rate_scale)
                        if spiking else None)
        layers, features = self._hidden_layers(TABLES[name].layers if layers is None else tuple(layers))
        self.features = nn.Sequential(layers)
        self.classifier = TimeBatched(nn.Linear(features, self.info.classes, bias=False))
        self.readout = OutputIntegrator(config.leak, config.detach_leak) if spiking else LastStep()
        self._init_weights(config.init)

    # -- construction -----------------------------------------------------------------------
    def _neuron(self) -> nn.Module:
        c = self.config
        if not self.spiking:
            return nn.ReLU()
        return LIF(c.leak, c.threshold, c.reset, c.surrogate, c.leak_correction, detach_leak=c.detach_leak,
                   backend=self.backend)

    def _pool_neuron(self) -> nn.Module:
        return IF(self.config.pool_threshold, backend=self.backend) if self.spiking else nn.Identity()

    def _dropout(self) -> nn.Module | None:
        return TimeFixedDropout(self.config.dropout) if self.config.dropout > 0 else None

    def _hidden_layers(self, table) -> tuple[OrderedDict, int]:
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        channels, size, flat = self.info.channels, self.info.size, None
        n_weight = n_pool = n_block = 0

        def add_neuron_and_dropout(index: int) -> None:
            layers[f"lif{index}"] = self._neuron()
            drop = self._dropout()
            if drop is not None:
                layers[f"drop{index}"] = drop

        for item in table:
            if isinstance(item, int):
                item = ("conv", item)
            if item == "A":
                if flat is not None or size < 2:
                    raise ValueError(f"model {self.name!r} pools below 1x1 on dataset {self.dataset!r}")
                n_pool += 1
                layers[f"pool{n_pool}"] = TimeBatched(nn.AvgPool2d(2))
                layers[f"if{n_pool}"] = self._pool_neuron()
                size //= 2
            elif item[0] == "conv":
                _, cout, *rest = item
                kernel, padding, stride = (list(rest) + [3, 1, 1][len(rest):])
                n_weight += 1
                layers[f"conv{n_weight}"] = _conv(channels, cout, kernel, padding, stride)
                add_neuron_and_dropout(n_weight)
                channels, size = cout, (size + 2 * padding - kernel) // stride + 1
            elif item[0] in ("block", "fcblock"):
                n_block += 1
                n_weight += 2
                if item[0] == "block":
                    _, cout, stride, shortcut = item
                    if flat is not None:
                        raise ValueError("a convolutional 'block' cannot follow a fully connected layer")
                    first, second = _conv(channels, cout), _conv(cout, cout, stride=stride)
                    skip = self._shortcut(shortcut, channels, cout, stride)
                    channels, size = cout, (size - 1) // stride + 1
                else:
                    _, width, *rest = item
                    if flat is None:
                        layers["flatten"] = Flatten()
                        flat = channels * size * size
                    first, second = _linear(flat, width), _linear(width, width)
                    skip = self._shortcut(rest[0] if rest else "identity", flat, width, 1)
                    flat = width
                layers[f"block{n_block}"] = Residual(
                    first, self._neuron(), self._dropout() or nn.Identity(), second, skip, self._neuron())
                drop = self._dropout()
                if drop is not None:
                    layers[f"drop{n_weight}"] = drop
            elif item[0] == "fc":
                if flat is None:
                    layers["flatten"] = Flatten()
                    flat = channels * size * size
                n_weight += 1
                layers[f"fc{n_weight}"] = _linear(flat, item[1])
                add_neuron_and_dropout(n_weight)
                flat = item[1]
            else:
                raise ValueError(f"unknown layer-table entry {item!r}")
            if size < 1:
                raise ValueError(f"model {self.name!r} shrinks the image below 1x1 on dataset {self.dataset!r}")
        if flat is None:
            layers["flatten"] = Flatten()
            flat = channels * size * size
        return layers, flat

    def _shortcut(self, kind: str, cin: int, cout: int, stride: int) -> nn.Module:
        """The block's shortcut S(x); ``shortcuts=False`` (the plain twin) drops every one."""
        _checks.choice("shortcut", kind, SHORTCUTS)
        if not self.shortcuts or kind == "none":
            return NoShortcut()
        if kind == "conv":
            return _conv(cin, cout, kernel=1, padding=0, stride=stride)
        if cin != cout:
            raise ValueError(f"a {kind!r} shortcut needs equal input and output sizes, got {cin} and {cout}")
        return Subsample(stride) if kind == "subsample" else nn.Identity()

    def _init_weights(self, init: str) -> None:
        r"""Normal init :math:`N(0, g\,\sqrt{k/fan_{in}})`: k = 2 (``"he"``) or 1 (``"resnet"``), g = ``init_gain``."""
        k = {"he": 2.0, "resnet": 1.0}[_checks.choice("init", init, ("he", "resnet"))]
        gain = self.config.init_gain * k ** 0.5
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                nn.init.normal_(module.weight, 0.0, gain / fan_in ** 0.5)

    # -- use ------------------------------------------------------------------------------------
    @property
    def timesteps(self) -> int:
        return self.encoder.steps if self.spiking else 1

    @timesteps.setter
    def timesteps(self, steps: int) -> None:
        if not self.spiking:
            raise ValueError("an ANN twin (spiking=False) has no time steps")
        self.encoder.steps = _checks.count("timesteps", steps)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a clear error unless ``x`` is a batch of this dataset's images without NaN."""
        c, s = self.info.channels, self.info.size
        _checks.tensor("x", x)
        if x.dim() != 4:
            raise ValueError(f"x must be images [B, C, H, W] = [B, {c}, {s}, {s}] for {self.dataset!r}, "
                             f"got shape {tuple(x.shape)}")
        if x.shape[1] != c:
            raise ValueError(f"x has {x.shape[1]} channels; {self.name!r} on {self.dataset!r} expects {c}")
        if tuple(x.shape[2:]) != (s, s):
            raise ValueError(f"x has size {tuple(x.shape[2:])}; {self.name!r} on {self.dataset!r} expects {(s, s)}")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``[B, C, H, W]`` -> the network's input ``[T, B, C, H, W]`` (``T = 1`` for the ANN)."""
        return self.encoder(x) if self.spiking else x.unsqueeze(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _compiling():                  # the NaN check reads a value back: not inside torch.compile
            self.check_input(x)
        return self.readout(self.classifier(self.features(self.encode(x))))


def build(name: str, dataset: str = "cifar10", *, spiking: bool = True, timesteps: int | None = None,
          dropout: float | None = None, preset: str = "paper", backend: str = "fused", shortcuts: bool = True,
          **overrides) -> Network:
    """Build model ``name`` (one of :data:`NAMES`) for ``dataset`` with ``preset``'s settings.

    ``timesteps``, ``dropout`` and any other :class:`~snnbp.presets.Preset` field given in
    ``overrides`` (e.g. ``surrogate="atan"``, ``leak_correction=False``) replace the preset's.
    The leak correction belongs to the paper's derivative: choosing another ``surrogate`` turns it
    off unless ``leak_correction`` is given too (its :math:`NG = 0` would silence neurons that never fired).
    ``shortcuts=False`` builds a residual network's plain twin: the same layers without shortcuts.
    """
    _checks.choice("model", name, NAMES)
    dataset_info(dataset)
    if timesteps is not None:
        _checks.count("timesteps", timesteps)
    if dropout is not None:
        _checks.probability("dropout", dropout)
    if overrides.get("surrogate", "paper") != "paper":
        overrides.setdefault("leak_correction", False)
        overrides.setdefault("detach_leak", False)
    config = presets.get(preset, name, dataset).replace(timesteps=timesteps, dropout=dropout, **overrides)
    return Network(name, dataset, config, spiking=spiking, backend=backend, shortcuts=shortcuts)


def plain_twin(net: Network) -> Network:
    """A copy of ``net`` with the same weights and every residual shortcut removed (:class:`NoShortcut`):
    a plain network of the same depth, to compare trainability with."""
    import copy

    twin = copy.deepcopy(net)
    for module in twin.modules():
        if isinstance(module, Residual):
            module.shortcut = NoShortcut()
    twin.shortcuts = False
    return twin


def custom(layers, dataset: str = "digits", *, like: str = "mlp", spiking: bool = True,
           timesteps: int | None = None, dropout: float | None = None, preset: str = "paper",
           backend: str = "fused", shortcuts: bool = True, **overrides) -> Network:
    """A network from your own layer table (same grammar as :data:`TABLES`), with the settings of
    ``preset`` for model ``like``, e.g. ``custom([("fc", 128)] * 9, "digits", like="vgg9")``."""
    if isinstance(layers, Table):
        layers = layers.layers
    if not isinstance(layers, (list, tuple)) or not layers:
        raise TypeError("layers must be a non-empty list of layer-table entries, e.g. [64, 'A', ('fc', 128)]")
    _checks.choice("like", like, NAMES)
    dataset_info(dataset)
    if overrides.get("surrogate", "paper") != "paper":
        overrides.setdefault("leak_correction", False)
        overrides.setdefault("detach_leak", False)
    config = presets.get(preset, like, dataset).replace(timesteps=timesteps, dropout=dropout, **overrides)
    return Network("custom", dataset, config, spiking=spiking, backend=backend, layers=layers, shortcuts=shortcuts)
