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
:class:`Network` itself takes a table, the input's shape and the number of classes, no dataset.
The entries and the named tables live in :mod:`snnbp.tables` (each table names its family for
:mod:`snnbp.presets`) and are re-exported here: a new table is one entry in ``tables.TABLES``.
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

import torch
from torch import nn

from . import data, encoding, presets, validate
from .layers import Flatten, LastStep, OutputIntegrator, Residual, Subsample, TimeBatched, TimeFixedDropout
from .neurons import IF, LIF, neuron_class
from .recording import layer_name

# the tables and their entries live in snnbp.tables (presets reads their families); re-exported here
from .tables import FC, TABLES, Block, Conv, FCBlock, Pool, Table, entry

__all__ = ["SHORTCUTS", "build", "custom", "plain_twin", "Network", "NoShortcut"]

SHORTCUTS = ("conv", "subsample", "identity", "none")




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
        (self.channels, self.size, _), self.flat = net.in_shape, None
        self.weights = self.pools = self.blocks = 0           # layers so far, by kind: for the names

    def add(self, item) -> None:
        e = entry(item)
        {Conv: self.conv, Pool: self.pool, FC: self.fc, Block: self.block, FCBlock: self.fcblock}[type(e)](e)
        if self.size < 1:
            raise ValueError(f"model {self.net.name!r} shrinks the image below 1x1 {self.net._input_words()}")

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
            raise ValueError(f"model {self.net.name!r} pools below 1x1 {self.net._input_words()}")
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
    r"""A spiking network (or its ANN twin) built from a layer table, the input's shape, the number
    of classes and a :class:`~snnbp.presets.Preset`, the torchvision way:
    ``Network(layers, in_shape=(C, H, W), classes=K, config=preset)``. :func:`build` and
    :func:`custom` make one for a named dataset: they read the image shape and class count from
    the dataset's record, and ``net.dataset`` keeps its name for messages and run folders; the
    network itself reads nothing else from a dataset. Built directly, ``dataset`` is optional;
    ``net.in_shape`` (``(C, H, W)``, ``H == W``) and ``net.classes`` describe what it takes.

    Spiking: images ``[B, C, H, W]`` -> Poisson spikes ``[T, B, C, H, W]`` (``encoding="direct"``:
    the image at every step) -> :meth:`run`: hidden layers ``features`` -> output layer ``classifier``
    (currents ``[T, B, K]``) -> ``readout`` :math:`V_{out}(T)/T` ``[B, K]``, where
    :math:`V_{out}[t] = \lambda (V_{out}[t-1] + W s[t])`.
    ANN twin: the same layers at ``T = 1`` with ReLU, read out at the last (only) step.

    ``neuron`` (default: the preset's, ``"lif"``) names the hidden layers' neuron class
    (:data:`snnbp.neurons.NEURONS`, e.g. ``"learnable_leak"``; a registered class is taken too):
    every LIF layer of the table and of each residual block; the pooling IF neurons and the output
    layer stay the paper's. It is stored in ``net.config`` and so in a run folder's ``config.json``.

    ``channels_last`` is a speed switch: the encoded input (with one input channel, the first
    layer's output) is laid out channels-last (``[T, B, H, W, C]`` in memory) once, and every
    convolution, neuron and pooling after it keeps that layout; oneDNN's fastest CPU convolutions
    use it (VGG9, T = 25, batch 16, 2 threads: about 25 % less convolution time, benchmarks/README.md).
    The maths is the same, not always the numbers: the convolutions may add their products in
    another order (oneDNN picks its kernels by layout and batch size), so currents can differ in
    the last bits of a float; a membrane that close to the threshold spikes in one layout and not
    in the other, and each flipped spike changes every layer after it. The difference grows with
    depth and T (ResNet11 at T = 30 with a batch of 8 on the CPU: outputs about 11 % apart, weight
    gradients 5 to 30 %; with a batch of 2 the layouts happened to agree); compare runs made with
    the same setting. ``None`` (default): on for a convolutional network on the CPU; ``False``: the
    plain layout everywhere.

    Example::

        >>> net = snnbp.build("lenet", "mnist", timesteps=20)
        >>> net(torch.rand(4, 1, 28, 28)).shape                  # [B, classes]
        torch.Size([4, 10])
        >>> net = Network([FC(128)], in_shape=(1, 8, 8), classes=10,
        ...               config=snnbp.presets.get("paper", "mlp", "digits"))
    """

    def __init__(self, layers, in_shape: tuple[int, int, int], classes: int = 10,
                 config: presets.Preset | None = None, *, spiking: bool = True, backend: str = "fused",
                 shortcuts: bool = True, channels_last: bool | None = None, name: str = "custom",
                 dataset: str | None = None, neuron: str | type | None = None):
        super().__init__()
        if not isinstance(config, presets.Preset):
            raise TypeError(f"config must be a snnbp.presets.Preset, got {type(config).__name__}: "
                            f"use snnbp.build(...) or snnbp.presets.get(preset, model, dataset)")
        config = config.replace(neuron=neuron)                    # None keeps the preset's
        layers = layers.layers if isinstance(layers, Table) else layers
        if not isinstance(layers, (list, tuple)) or not layers:
            raise TypeError("layers must be a non-empty list of layer-table entries, e.g. [64, 'A', FC(128)]")
        channels, size = _square_shape(in_shape)
        self.name, self.dataset, self.config = name, dataset, config
        self.spiking = validate.flag("spiking", spiking)
        self.in_shape, self.classes = (channels, size, size), validate.count("classes", classes)
        self.backend = validate.choice("backend", backend, ("fused", "reference"))
        self.shortcuts = validate.flag("shortcuts", shortcuts)
        self.channels_last = None if channels_last is None else validate.flag("channels_last", channels_last)
        self.encoder = (encoding.make(config.encoding, config.timesteps, signed=config.signed,
                                      rate_scale=config.rate_scale) if spiking else None)
        if self.encoder is not None:
            self.encoder.check_input = False      # forward checks the images, encode the time steps
        builder = _Builder(self)
        for item in layers:
            builder.add(item)
        features = builder.features()
        self.features = nn.Sequential(builder.layers)
        self.classifier = TimeBatched(nn.Linear(features, self.classes, bias=False))
        self.readout = OutputIntegrator(config.leak, config.detach_leak) if spiking else LastStep()
        self._convolutional = any(isinstance(m, nn.Conv2d) for m in self.features.modules())
        self._init_weights(config.init)

    def _input_words(self) -> str:
        """How error messages name the input: the dataset, else the image shape."""
        if self.dataset is not None:
            return f"on dataset {self.dataset!r}"
        return "on {}x{}x{} input".format(*self.in_shape)

    def layer_names(self) -> list[str]:
        """The names :func:`snnbp.record` gives this network's spiking layers (every LIF and IF),
        input side first, e.g. ``['lif1', 'if1', ..., 'block1.neuron1', ...]``; none for an ANN twin.
        :func:`snnbp.recording.layer_name` gives any module's or parameter's short name."""
        return [layer_name(name) for name, module in self.named_modules() if isinstance(module, LIF)]

    # -- construction -----------------------------------------------------------------------
    def _neuron(self) -> nn.Module:
        c = self.config
        if not self.spiking:
            return nn.ReLU()
        neuron = neuron_class(c.neuron)(c.leak, c.threshold, c.reset, c.surrogate, c.leak_correction,
                                        detach_leak=c.detach_leak, backend=self.backend)
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
        network's images (``B >= 1``) without NaN or inf, on the device of the weights (not
        ``meta``), in the dtype of the weights (a float64 or integer batch is converted); values
        outside [-1, 1] warn (see :mod:`snnbp.validate`)."""
        c, s, _ = self.in_shape
        named = self.dataset is not None
        on = f"{self.name!r}" + (f" on {self.dataset!r}" if named else "")
        validate.tensor("x", x)
        if x.dim() != 4:
            raise ValueError(f"x must be images [B, C, H, W] = [B, {c}, {s}, {s}] for "
                             f"{repr(self.dataset) if named else 'this network'}, got shape {tuple(x.shape)}"
                             + (": add a batch axis, x.unsqueeze(0)" if x.dim() == 3 else ""))
        if x.shape[1] != c:
            raise ValueError(f"x has {x.shape[1]} channels; {on} expects {c}")
        if tuple(x.shape[2:]) != (s, s):
            raise ValueError(f"x has size {tuple(x.shape[2:])}; {on} expects {(s, s)}")
        x = validate.images("x", x, rate_scale=self.config.rate_scale,
                            encoding=self.config.encoding if self.spiking else "direct")
        weight = next(self.parameters(), None)
        if weight is None:
            return x
        if weight.device.type == "meta":
            raise ValueError("the network's weights are on the meta device, which holds no data: "
                             "net.to_empty(device='cpu') and load its weights, or build it on 'cpu' or 'cuda'")
        if x.device != weight.device:
            raise ValueError(f"x is on {x.device} but the network on {weight.device}: "
                             f"move the images there, x.to({str(weight.device)!r})")
        return validate.as_float("x", x, weight.dtype)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``[B, C, H, W]`` -> the network's input ``[T, B, C, H, W]`` (``T = 1`` for the ANN)."""
        if not self.spiking:
            return x.unsqueeze(0)
        if not _compiling():
            validate.time_steps("timesteps", self.timesteps, x)     # fits in memory (no read-back)
        try:
            return self.encoder(x)
        except (RuntimeError, MemoryError) as err:       # an allocation that fails all the same
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

    def run(self, spikes: torch.Tensor) -> torch.Tensor:
        """The network after its encoder: the encoded input ``spikes`` ``[T, B, C, H, W]`` (what
        :meth:`encode` gives; any T) -> hidden layers -> output layer -> read-out ``[B, K]``.
        Unchecked (:meth:`forward` checks the images), and in the layout :meth:`uses_channels_last`
        chooses (see the class docstring: the same maths, not always the same floats).

        Example::

            >>> net.eval()                                        # no dropout masks to draw
            >>> torch.manual_seed(0); out = net(images)
            >>> torch.manual_seed(0); spikes = net.encode(images)  # the same draw: [T, B, C, H, W]
            >>> torch.equal(net.run(spikes), out)
            True
        """
        if not self.uses_channels_last(spikes):
            return self.readout(self.classifier(self.features(spikes)))
        # One input channel (MNIST) carries no layout (its strides fit both), so there the first
        # layer's output is laid out instead.
        if spikes.shape[2] > 1:
            return self.readout(self.classifier(self.features(to_channels_last(spikes))))
        x = to_channels_last(self.features[0](spikes))
        return self.readout(self.classifier(self.features[1:](x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``[B, C, H, W]`` -> read-out ``[B, K]``: :meth:`check_input`, :meth:`encode`, :meth:`run`."""
        if not _compiling():                  # the NaN check reads a value back: not inside torch.compile
            x = self.check_input(x)
        return self.run(self.encode(x))


def build(name: str, dataset: str = "cifar10", *, spiking: bool = True, timesteps: int | None = None,
          dropout: float | None = None, preset: str = "paper", backend: str = "fused", shortcuts: bool = True,
          image_size: int | None = None, **overrides) -> Network:
    """Build model ``name`` (one of :data:`NAMES`) for ``dataset`` with ``preset``'s settings.

    ``timesteps``, ``dropout`` and any other :class:`~snnbp.presets.Preset` field given in
    ``overrides`` (e.g. ``surrogate="atan"``, ``leak_correction=False``) replace the preset's.
    A chosen ``surrogate`` brings its own rule (:func:`snnbp.surrogate.defaults`): the paper's
    comes with the leak correction and the detached leak, any other with neither (its
    :math:`NG = 0` would silence neurons that never fired); ``leak_correction`` or
    ``detach_leak`` given too win. ``neuron="learnable_leak"`` (or another name in
    :data:`snnbp.neurons.NEURONS`) makes every hidden LIF layer that neuron (not the paper's method).
    ``shortcuts=False`` builds a residual network's plain twin: the same layers without shortcuts.
    ``image_size``: the side of the input images if not the dataset's (e.g. ``16`` for 8x8 digits
    scaled up, so that a deep network's pooling does not shrink them below 1x1).
    The same as ``custom(TABLES[name], dataset, like=name, ...)``, named ``name``.
    """
    validate.choice("model", name, tuple(TABLES))
    return _network(TABLES[name].layers, dataset, name, spiking=spiking, timesteps=timesteps, dropout=dropout,
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
    validate.choice("like", like, tuple(TABLES))
    return _network(layers, dataset, like, spiking=spiking, timesteps=timesteps, dropout=dropout, preset=preset,
                    backend=backend, shortcuts=shortcuts, name=name, image_size=image_size, **overrides)


def _network(layers, dataset: str, like: str, *, spiking, timesteps, dropout, preset, backend, shortcuts, name,
             image_size, **overrides) -> Network:
    """What :func:`build` and :func:`custom` share: the dataset's record gives the image shape and the
    class count, the preset (:class:`~snnbp.presets.Preset` checks every field, ``timesteps`` and
    ``dropout`` included) the settings, and :class:`Network` checks the layers and its own arguments:
    each argument is checked once, by the one that reads it."""
    meta = data.info(dataset)
    size = meta.size if image_size is None else validate.count("image_size", image_size)
    if overrides.get("surrogate") is not None:        # a chosen surrogate brings its rule (LIF.defaults)
        for field, value in LIF.defaults(overrides["surrogate"]).items():
            overrides.setdefault(field, value)
    config = presets.get(preset, like, dataset).replace(timesteps=timesteps, dropout=dropout, **overrides)
    return Network(layers, (meta.channels, size, size), meta.classes, config, spiking=spiking,
                   backend=backend, shortcuts=shortcuts, name=name, dataset=dataset)


def _square_shape(in_shape) -> tuple[int, int]:
    """``(channels, size)`` of ``in_shape = (C, H, W)`` with ``H == W``, or a clear error."""
    ok = (isinstance(in_shape, (tuple, list, torch.Size)) and len(in_shape) == 3
          and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in in_shape))
    if not ok or in_shape[1] != in_shape[2]:
        raise ValueError(f"in_shape must be the shape (C, H, W) of one image, three integers >= 1 with H == W "
                         f"(square images), e.g. (1, 28, 28), got {in_shape!r}")
    return in_shape[0], in_shape[1]
