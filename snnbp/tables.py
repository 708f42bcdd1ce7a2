"""The paper's networks as layer tables: the entries a table is written in, and the named tables.

:mod:`snnbp.models` builds networks from them (and re-exports every name here); the table
grammar is described there. Each :class:`Table` names its ``family``, whose paper values
(learning rate, dropout, initialisation) :mod:`snnbp.presets` holds, so a new table of an
existing family is one entry in :data:`TABLES` and nothing else. This module imports nothing
of snnbp, so that presets and models can both import it.

Taught in chapter 06 (``book/06_deep_vgg``) and chapter 07 (``book/07_residual``).
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Conv", "Pool", "FC", "Block", "FCBlock", "entry", "Table", "TABLES", "NAMES"]


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
    """A network's hidden layers, whether the paper's scripts confirm them, where the table comes
    from, and its ``family``: the key of the paper's per-family values (learning rate, dropout,
    initialisation) in :mod:`snnbp.presets`, e.g. ``"vgg"``."""

    layers: tuple
    confirmed: bool
    source: str
    family: str


TABLES: dict[str, Table] = {
    "mlp": Table((FC(128),), False, "not in the paper: a one-hidden-layer network for digits", family="lenet"),
    "lenet": Table((Conv(20, kernel=5, padding=2), "A", Conv(50, kernel=5, padding=2), "A", FC(200)), True,
                   "the paper's MNIST LeNet (script mnist_LeNet.py)", family="lenet"),
    "vgg7": Table((64, 64, "A", 128, 128, "A", 256, "A", FC(1024)), False,
                  "layer table not confirmed (SVHN VGG7)", family="vgg"),
    "vgg9": Table((64, 64, "A", 128, 128, "A", 256, 256, 256, "A", FC(1024)), True,
                  "the paper's CIFAR-10 VGG9 (script cifar10_VGG9.py)", family="vgg"),
    "vgg11": Table((64, "A", 128, "A", 256, 256, "A", 512, 512, "A", 512, 512, FC(1024), FC(1024)),
                   False, "not in the paper: a VGG11 in the same style", family="vgg"),
    "resnet7": Table((64, "A", Block(128, stride=2), Block(256, stride=2), FC(1024)), False,
                     "layer table not confirmed (SVHN ResNet7)", family="resnet"),
    "resnet9": Table((64, "A", Block(128), Block(256, stride=2), Block(512, stride=2), FC(1024)), False,
                     "layer table not confirmed (CIFAR-10 ResNet9)", family="resnet"),
    "resnet11": Table((64, "A", Block(128), Block(256, stride=2), Block(512),
                       Block(512, stride=2, shortcut="subsample"), FC(1024)), True,
                      "the paper's CIFAR-10 ResNet11 (script cifar10_ResNet11.py)", family="resnet"),
}
NAMES: tuple[str, ...] = tuple(TABLES)
