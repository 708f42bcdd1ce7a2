"""The paper's networks as layer tables, one builder, and the ANN twin from the same table.

A table lists the hidden layers in order (the output layer, fully connected to the classes, is
implicit), in the spirit of torchvision's ``vgg.py``. Each entry is one of these, with the fields
named as in ``nn.Conv2d`` (kernel, stride, padding):

* ``Conv(64)`` or just ``64``: a 3x3 convolution (stride 1, padding 1) with 64 output channels,
  then LIF neurons; ``Conv(20, kernel=5, padding=2)``: a 5x5 one;
* ``Pool()`` or ``"A"``: 2x2 average pooling, then IF neurons (threshold 0.75);
* ``FC(1024)``: a fully connected layer, then LIF neurons;
* ``Block(256, stride=2, shortcut="conv")``: a residual block of two 3x3 convolutions, the second
  with that stride, whose shortcut (``"conv"``: 1x1 convolution with that stride; ``"subsample"``:
  parameter-free ``x[..., ::2, ::2]``; ``"identity"``; ``"none"``: two plain layers) adds the
  block's input spikes into the second neuron's membrane;
* ``FCBlock(128)``: the same with two fully connected layers and an identity shortcut.

The older tuple spellings still work: ``("conv", out, kernel, padding, stride)`` (note: padding
before stride), ``("fc", out)``, ``("block", out, stride, shortcut)``, ``("fcblock", width[, shortcut])``.

:func:`build` makes the named networks; :func:`custom` makes one from your own table (chapters
use it for deep stacks); ``shortcuts=False`` gives a residual network's plain twin of the same depth.
Layers are named by kind and number: ``conv{k}``/``fc{k}``, ``lif{k}`` and ``drop{k}`` for the
k-th weight layer (a block holds two: its dropout after the block is ``drop{k}`` of the second),
``pool{j}``/``if{j}`` for the j-th pooling, ``block{i}`` for the i-th block, ``flatten`` once.

No biases anywhere. Dropout (one mask per forward call, shared by all time steps) follows every
hidden LIF layer, convolutional and fully connected, not the pooling IF neurons; the next layer and
a residual shortcut take the masked spikes (the authors' scripts do this; book/method.md, 'Dropout').
The ANN twin (``spiking=False``) uses the same table with ReLU for LIF, no neuron after
pooling, and a plain linear read-out: the same weight shapes.

Taught in chapter 06 (``book/06_deep_vgg``) and chapter 07 (``book/07_residual``).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace

import torch
from torch import nn

from . import presets, validate
from .data import info as dataset_info
from . import encoding
from .layers import Flatten, LastStep, OutputIntegrator, Residual, Subsample, TimeBatched, TimeFixedDropout
from .neurons import IF, LIF

__all__ = ["Table", "TABLES", "NAMES", "SHORTCUTS", "Conv", "Pool", "FC", "Block", "FCBlock", "entry",
           "build", "custom", "plain_twin", "Network", "NoShortcut"]

SHORTCUTS = ("conv", "subsample", "identity", "none")


# -- the table's entries ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Conv:
    """A convolution (``nn.Conv2d(in, out, kernel, stride, padding)``, no bias), then LIF neurons."""

    out: int
    kernel: int = 3
    stride: int = 1
    padding: int = 1


@dataclass(frozen=True)
class Pool:
    """2x2 average pooling, then IF neurons."""


@dataclass(frozen=True)
class FC:
    """A fully connected layer with ``out`` neurons (no bias), then LIF neurons."""

    out: int


@dataclass(frozen=True)
class Block:
    """A residual block: 3x3 conv (stride 1) - LIF - 3x3 conv (``stride``) + shortcut - LIF."""

    out: int
    stride: int = 1
    shortcut: str = "conv"


@dataclass(frozen=True)
class FCBlock:
    """A residual block of two fully connected layers of ``width`` neurons."""

    width: int
    shortcut: str = "identity"


_ENTRIES = (Conv, Pool, FC, Block, FCBlock)


def entry(item) -> Conv | Pool | FC | Block | FCBlock:
    """One layer-table entry in its named form; also accepts ``64``, ``"A"`` and the older tuples."""
    if isinstance(item, _ENTRIES):
        return item
    if isinstance(item, int) and not isinstance(item, bool):
        return Conv(item)
    if item == "A":
        return Pool()
    if isinstance(item, (tuple, list)) and item and item[0] in ("conv", "fc", "block", "fcblock"):
        kind, *args = item
        if kind == "conv":                                    # the old order: out, kernel, padding, stride
            return Conv(**dict(zip(("out", "kernel", "padding", "stride"), args)))
        return {"fc": FC, "block": Block, "fcblock": FCBlock}[kind](*args)
    raise ValueError(f"unknown layer-table entry {item!r}")


@dataclass(frozen=True)
class Table:
    """A network's hidden layers and where the table comes from."""

    layers: tuple
    confirmed: bool
    source: str


TABLES: dict[str, Table] = {
    "mlp": Table((FC(128),), False, "not in the paper: a one-hidden-layer network for digits"),
    "lenet": Table((Conv(20, kernel=5, padding=2), "A", Conv(50, kernel=5, padding=2), "A", FC(200)), True,
                   "the paper's MNIST LeNet (script mnist_LeNet.py)"),
    "vgg7": Table((64, 64, "A", 128, 128, "A", 256, "A", FC(1024)), False,
                  "layer table not confirmed (SVHN VGG7)"),
    "vgg9": Table((64, 64, "A", 128, 128, "A", 256, 256, 256, "A", FC(1024)), True,
                  "the paper's CIFAR-10 VGG9 (script cifar10_VGG9.py)"),
    "vgg11": Table((64, "A", 128, "A", 256, 256, "A", 512, 512, "A", 512, 512, FC(1024), FC(1024)),
                   False, "not in the paper: a VGG11 in the same style"),
    "resnet7": Table((64, "A", Block(128, stride=2), Block(256, stride=2), FC(1024)), False,
                     "layer table not confirmed (SVHN ResNet7)"),
    "resnet9": Table((64, "A", Block(128), Block(256, stride=2), Block(512, stride=2), FC(1024)), False,
                     "layer table not confirmed (CIFAR-10 ResNet9)"),
    "resnet11": Table((64, "A", Block(128), Block(256, stride=2), Block(512),
                       Block(512, stride=2, shortcut="subsample"), FC(1024)), True,
                      "the paper's CIFAR-10 ResNet11 (script cifar10_ResNet11.py)"),
}
NAMES: tuple[str, ...] = tuple(TABLES)


def _conv(cin: int, cout: int, kernel: int = 3, stride: int = 1, padding: int = 1) -> nn.Module:
    return TimeBatched(nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False))


def _linear(fan_in: int, fan_out: int) -> nn.Module:
    return TimeBatched(nn.Linear(fan_in, fan_out, bias=False))


def _compiling() -> bool:
    compiler = getattr(torch, "compiler", None)
    return bool(getattr(compiler, "is_compiling", lambda: False)())


def to_channels_last(x: torch.Tensor) -> torch.Tensor:
    """``[T, B, C, H, W]`` laid out as ``[T, B, H, W, C]`` in memory (the same values)."""
    merged = x.flatten(0, 1)
    return torch.empty_like(merged, memory_format=torch.channels_last).copy_(merged).view(x.shape)


class NoShortcut(nn.Module):
    """The plain twin's "shortcut": adds nothing, so a residual block becomes two plain layers."""

    def forward(self, x: torch.Tensor) -> float:
        return 0.0


class _Builder:
    """Walks a layer table: one method per kind of entry, adding named modules and tracking the
    activation's shape (``channels`` x ``size`` x ``size`` images, or ``flat`` features)."""

    def __init__(self, net: "Network"):
        self.net, self.layers = net, OrderedDict()
        self.channels, self.size, self.flat = net.info.channels, net.info.size, None
        self.weights = self.pools = self.blocks = 0           # layers so far, by kind: for the names

    def add(self, item) -> None:
        e = entry(item)
        {Conv: self.conv, Pool: self.pool, FC: self.fc, Block: self.block, FCBlock: self.fcblock}[type(e)](e)
        if self.size < 1:
            raise ValueError(f"model {self.net.name!r} shrinks the image below 1x1 on dataset {self.net.dataset!r}")

    def features(self) -> int:
        """Flatten the images once (the first time a fully connected layer asks); their number."""
        if self.flat is None:
            self.layers["flatten"] = Flatten()
            self.flat = self.channels * self.size * self.size
        return self.flat

    def neuron_and_dropout(self) -> None:
        self.layers[f"lif{self.weights}"] = self.net._neuron()
        self.dropout()

    def dropout(self) -> None:
        drop = self.net._dropout()
        if drop is not None:
            self.layers[f"drop{self.weights}"] = drop

    def conv(self, e: Conv) -> None:
        self.weights += 1
        self.layers[f"conv{self.weights}"] = _conv(self.channels, e.out, e.kernel, e.stride, e.padding)
        self.neuron_and_dropout()
        self.channels, self.size = e.out, (self.size + 2 * e.padding - e.kernel) // e.stride + 1

    def pool(self, e: Pool) -> None:
        if self.flat is not None or self.size < 2:
            raise ValueError(f"model {self.net.name!r} pools below 1x1 on dataset {self.net.dataset!r}")
        self.pools += 1
        self.layers[f"pool{self.pools}"] = TimeBatched(nn.AvgPool2d(2))
        self.layers[f"if{self.pools}"] = self.net._pool_neuron()
        self.size //= 2

    def fc(self, e: FC) -> None:
        fan_in = self.features()
        self.weights += 1
        self.layers[f"fc{self.weights}"] = _linear(fan_in, e.out)
        self.neuron_and_dropout()
        self.flat = e.out

    def block(self, e: Block) -> None:
        if self.flat is not None:
            raise ValueError("a convolutional 'block' cannot follow a fully connected layer")
        first, second = _conv(self.channels, e.out), _conv(e.out, e.out, stride=e.stride)
        self.residual(first, second, self.net._shortcut(e.shortcut, self.channels, e.out, e.stride))
        self.channels, self.size = e.out, (self.size - 1) // e.stride + 1

    def fcblock(self, e: FCBlock) -> None:
        fan_in = self.features()
        first, second = _linear(fan_in, e.width), _linear(e.width, e.width)
        self.residual(first, second, self.net._shortcut(e.shortcut, fan_in, e.width, 1))
        self.flat = e.width

    def residual(self, first: nn.Module, second: nn.Module, shortcut: nn.Module) -> None:
        net = self.net
        self.blocks += 1
        self.weights += 2
        self.layers[f"block{self.blocks}"] = Residual(first, net._neuron(), net._dropout() or nn.Identity(),
                                                      second, shortcut, net._neuron())
        self.dropout()


class Network(nn.Module):
    r"""A spiking network (or its ANN twin) built from a :class:`Table` and a :class:`~snnbp.presets.Preset`.

    Spiking: images ``[B, C, H, W]`` -> Poisson spikes ``[T, B, C, H, W]`` (``encoding="direct"``:
    the image at every step) -> hidden layers ``features`` -> output layer ``classifier`` (currents
    ``[T, B, K]``) -> ``readout`` :math:`V_{out}(T)/T` ``[B, K]``, where :math:`V_{out}[t] = \lambda (V_{out}[t-1] + W s[t])`.
    ANN twin: the same layers at ``T = 1`` with ReLU, read out at the last (only) step.

    ``channels_last`` is a speed switch only (the same numbers): the encoded input (with one input
    channel, the first layer's output) is laid out channels-last (``[T, B, H, W, C]`` in memory)
    once, and every convolution, neuron and pooling after it keeps that layout; oneDNN's fastest CPU convolutions use it (VGG9, T = 25, batch 16,
    2 threads: about 25 % less convolution time, benchmarks/README.md). ``None`` (default): on for
    a convolutional network on the CPU; ``False``: the plain layout everywhere.

    Example::

        >>> net = snnbp.build("lenet", "mnist", timesteps=20)
        >>> net(torch.rand(4, 1, 28, 28)).shape                  # [B, classes]
        torch.Size([4, 10])
    """

    def __init__(self, name: str, dataset: str, config: presets.Preset, *, spiking: bool = True,
                 backend: str = "fused", layers: tuple | list | None = None, shortcuts: bool = True,
                 channels_last: bool | None = None, image_size: int | None = None):
        super().__init__()
        if not isinstance(config, presets.Preset):
            raise TypeError(f"config must be a snnbp.presets.Preset, got {type(config).__name__}: "
                            f"use snnbp.build(...) or snnbp.presets.get(preset, model, dataset)")
        self.name, self.dataset, self.config = name, dataset, config
        self.spiking = validate.flag("spiking", spiking)
        self.info = dataset_info(dataset)
        if image_size is not None:                # e.g. 8x8 digits scaled up to 16x16
            self.info = replace(self.info, size=validate.count("image_size", image_size))
        self.backend = validate.choice("backend", backend, ("fused", "reference"))
        self.shortcuts = validate.flag("shortcuts", shortcuts)
        self.channels_last = None if channels_last is None else validate.flag("channels_last", channels_last)
        self.encoder = (encoding.make(config.encoding, config.timesteps, signed=config.signed,
                                      rate_scale=config.rate_scale) if spiking else None)
        builder = _Builder(self)
        for item in TABLES[name].layers if layers is None else layers:
            builder.add(item)
        features = builder.features()
        self.features = nn.Sequential(builder.layers)
        self.classifier = TimeBatched(nn.Linear(features, self.info.classes, bias=False))
        self.readout = OutputIntegrator(config.leak, config.detach_leak) if spiking else LastStep()
        self._convolutional = any(isinstance(m, nn.Conv2d) for m in self.features.modules())
        self._init_weights(config.init)

    # -- construction -----------------------------------------------------------------------
    def _neuron(self) -> nn.Module:
        c = self.config
        if not self.spiking:
            return nn.ReLU()
        neuron = LIF(c.leak, c.threshold, c.reset, c.surrogate, c.leak_correction, detach_leak=c.detach_leak,
                     backend=self.backend)
        neuron.check_input = False                # the network checks its images once, in forward
        return neuron

    def _pool_neuron(self) -> nn.Module:
        if not self.spiking:
            return nn.Identity()
        neuron = IF(self.config.pool_threshold, backend=self.backend)
        neuron.check_input = False
        return neuron

    def _dropout(self) -> nn.Module | None:
        return TimeFixedDropout(self.config.dropout) if self.config.dropout > 0 else None

    def _shortcut(self, kind: str, cin: int, cout: int, stride: int) -> nn.Module:
        """The block's shortcut S(x); ``shortcuts=False`` (the plain twin) drops every one."""
        validate.choice("shortcut", kind, SHORTCUTS)
        if not self.shortcuts or kind == "none":
            return NoShortcut()
        if kind == "conv":
            return _conv(cin, cout, kernel=1, stride=stride, padding=0)
        if cin != cout:
            raise ValueError(f"a {kind!r} shortcut needs equal input and output sizes, got {cin} and {cout}")
        return Subsample(stride) if kind == "subsample" else nn.Identity()

    def _init_weights(self, init: str) -> None:
        r"""Normal init :math:`N(0, g\,\sqrt{k/fan_{in}})`: k = 2 (``"he"``) or 1 (``"resnet"``), g = ``init_gain``."""
        k = {"he": 2.0, "resnet": 1.0}[validate.choice("init", init, ("he", "resnet"))]
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
        self.encoder.steps = validate.count("timesteps", steps)

    def check_input(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` as this network takes it, or a clear error: a batch ``[B, C, H, W]`` of this
        dataset's images without NaN or inf, in the dtype of the weights (a float64 or integer
        batch is converted); values outside [-1, 1] warn (see :mod:`snnbp.validate`)."""
        c, s = self.info.channels, self.info.size
        validate.tensor("x", x)
        if x.dim() != 4:
            raise ValueError(f"x must be images [B, C, H, W] = [B, {c}, {s}, {s}] for {self.dataset!r}, "
                             f"got shape {tuple(x.shape)}" + (": add a batch axis, x.unsqueeze(0)"
                                                               if x.dim() == 3 else ""))
        if x.shape[1] != c:
            raise ValueError(f"x has {x.shape[1]} channels; {self.name!r} on {self.dataset!r} expects {c}")
        if tuple(x.shape[2:]) != (s, s):
            raise ValueError(f"x has size {tuple(x.shape[2:])}; {self.name!r} on {self.dataset!r} expects {(s, s)}")
        x = validate.images("x", x, rate_scale=self.config.rate_scale,
                            encoding=self.config.encoding if self.spiking else "direct")
        weight = next(self.parameters(), None)
        return x if weight is None else validate.as_float("x", x, weight.dtype)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``[B, C, H, W]`` -> the network's input ``[T, B, C, H, W]`` (``T = 1`` for the ANN)."""
        if not self.spiking:
            return x.unsqueeze(0)
        try:
            return self.encoder(x)
        except (RuntimeError, MemoryError) as err:       # e.g. timesteps=10**9
            if "alloc" not in str(err).lower() and not isinstance(err, MemoryError):
                raise
            need = self.timesteps * x.numel() * x.element_size() / 2**30
            raise MemoryError(f"timesteps={self.timesteps} with a batch of {len(x)} needs {need:.3g} GiB for the "
                              f"input spikes alone: use fewer time steps (the paper uses at most 100) or a "
                              f"smaller batch") from None

    def uses_channels_last(self, x: torch.Tensor) -> bool:
        """Whether :meth:`forward` lays the encoded input ``x`` out channels-last (see the class docstring)."""
        if self.channels_last is None:
            return self._convolutional and x.device.type == "cpu" and x.dim() == 5
        return bool(self.channels_last) and x.dim() == 5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _compiling():                  # the NaN check reads a value back: not inside torch.compile
            x = self.check_input(x)
        x = self.encode(x)
        if not self.uses_channels_last(x):
            return self.readout(self.classifier(self.features(x)))
        # speed only: the same values in another memory layout. One input channel (MNIST) carries no
        # layout (its strides fit both), so there the first layer's output is laid out instead.
        if x.shape[2] > 1:
            return self.readout(self.classifier(self.features(to_channels_last(x))))
        x = to_channels_last(self.features[0](x))
        return self.readout(self.classifier(self.features[1:](x)))


def build(name: str, dataset: str = "cifar10", *, spiking: bool = True, timesteps: int | None = None,
          dropout: float | None = None, preset: str = "paper", backend: str = "fused", shortcuts: bool = True,
          image_size: int | None = None, **overrides) -> Network:
    """Build model ``name`` (one of :data:`NAMES`) for ``dataset`` with ``preset``'s settings.

    ``timesteps``, ``dropout`` and any other :class:`~snnbp.presets.Preset` field given in
    ``overrides`` (e.g. ``surrogate="atan"``, ``leak_correction=False``) replace the preset's.
    A chosen ``surrogate`` brings its own rule (:func:`snnbp.surrogate.defaults`): the paper's
    comes with the leak correction and the detached leak, any other with neither (its
    :math:`NG = 0` would silence neurons that never fired); ``leak_correction`` or
    ``detach_leak`` given too win.
    ``shortcuts=False`` builds a residual network's plain twin: the same layers without shortcuts.
    ``image_size``: the side of the input images if not the dataset's (e.g. ``16`` for 8x8 digits
    scaled up, so that a deep network's pooling does not shrink them below 1x1).
    The same as ``custom(TABLES[name], dataset, like=name, ...)``, named ``name``.
    """
    validate.choice("model", name, NAMES)
    return custom(TABLES[name], dataset, like=name, spiking=spiking, timesteps=timesteps, dropout=dropout,
                  preset=preset, backend=backend, shortcuts=shortcuts, name=name, image_size=image_size,
                  **overrides)


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
           backend: str = "fused", shortcuts: bool = True, name: str = "custom", image_size: int | None = None,
           **overrides) -> Network:
    """A network from your own layer table (same grammar as :data:`TABLES`), with the settings of
    ``preset`` for model ``like``, e.g. ``custom([FC(128)] * 9, "digits", like="vgg9")``."""
    if isinstance(layers, Table):
        layers = layers.layers
    if not isinstance(layers, (list, tuple)) or not layers:
        raise TypeError("layers must be a non-empty list of layer-table entries, e.g. [64, 'A', FC(128)]")
    validate.choice("like", like, NAMES)
    dataset_info(dataset)
    if timesteps is not None:
        validate.count("timesteps", timesteps)
    if dropout is not None:
        validate.probability("dropout", dropout)
    if overrides.get("surrogate") is not None:        # a chosen surrogate brings its rule (LIF.defaults)
        for field, value in LIF.defaults(overrides["surrogate"]).items():
            overrides.setdefault(field, value)
    config = presets.get(preset, like, dataset).replace(timesteps=timesteps, dropout=dropout, **overrides)
    return Network(name, dataset, config, spiking=spiking, backend=backend, layers=tuple(layers), shortcuts=shortcuts,
                   image_size=image_size)
