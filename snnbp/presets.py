"""Hyperparameters: the paper's (``"paper"``, paper-spec section 5) and a separate ``"modern"`` recipe.

A preset is resolved per (model, dataset). The paper fixes its values for three runs, LeNet on
MNIST, VGG9 and ResNet11 on CIFAR-10 (``confirmed=True``); every other pair borrows the values of
its model family and dataset and says so in ``note``. ``digits`` is not in the paper at all.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from . import _checks

__all__ = ["Preset", "NAMES", "get", "FAMILIES"]

NAMES = ("paper", "modern")
FAMILIES = {"mlp": "lenet", "lenet": "lenet", "vgg7": "vgg", "vgg9": "vgg", "vgg11": "vgg",
            "resnet7": "resnet", "resnet9": "resnet", "resnet11": "resnet"}
_CONFIRMED = {("lenet", "mnist"), ("vgg9", "cifar10"), ("resnet11", "cifar10")}


@dataclass(frozen=True)
class Preset:
    """Every setting a run needs. Neuron: ``leak`` (lambda), ``threshold`` (V_th of LIF layers),
    ``pool_threshold`` (IF after pooling). Input: ``timesteps`` (T), ``rate_scale``, ``signed``.
    ``detach_leak``: the leak is identity in the backward pass, in the hidden LIF layers and the
    output layer (the authors' scripts; False differentiates the leak exactly, an option).
    Network: ``init`` (``"he"``: N(0, sqrt(2/fan_in)); ``"resnet"``: N(0, sqrt(1/fan_in))), ``init_gain``
    (a factor on that standard deviation, 1 in the paper), ``dropout``.
    Training: ``loss`` (``"mse_sum"``: summed squared error of V_out(T)/T against one-hot;
    ``"cross_entropy"``), optimiser, learning-rate schedule, batch size, epochs, augmentation."""

    name: str
    model: str
    dataset: str
    timesteps: int = 100
    leak: float = 0.99
    threshold: float = 1.0
    pool_threshold: float = 0.75
    reset: str = "zero"
    surrogate: str = "paper"
    leak_correction: bool = True
    detach_leak: bool = True
    rate_scale: float = 1.0
    signed: bool = True
    init: str = "he"
    init_gain: float = 1.0
    dropout: float = 0.0
    loss: str = "mse_sum"
    optimizer: str = "sgd"
    lr: float = 0.0033
    momentum: float = 0.0
    weight_decay: float = 5e-4
    schedule: str = "multistep"
    milestones: tuple[int, ...] = ()
    gamma: float = 0.2
    batch_size: int = 16
    epochs: int = 150
    augment: bool = False
    confirmed: bool = False
    note: str = ""

    def replace(self, **changes) -> "Preset":
        """A copy with ``changes``; ``None`` values are ignored (they mean "keep the preset's")."""
        unknown = set(changes) - set(self.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown preset field(s) {sorted(unknown)}; valid: {sorted(self.__dataclass_fields__)}")
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict:
        return asdict(self)


def _paper(model: str, dataset: str) -> Preset:
    family = FAMILIES[model]
    by_family = {
        "lenet": dict(lr=0.0085, dropout=0.0, init="he"),
        "vgg": dict(lr=0.0033, dropout=0.2, init="he"),
        "resnet": dict(lr=0.0025, dropout=0.25, init="resnet"),
    }[family]
    by_dataset = {
        "mnist": dict(batch_size=64, epochs=125, milestones=(75,), augment=False, rate_scale=0.5),
        "cifar10": dict(batch_size=16, epochs=150, milestones=(70, 100, 125), augment=True),
        "svhn": dict(batch_size=16, epochs=150, milestones=(70, 100, 125), augment=False),
        # Not in the paper: sized so a CPU trains it in about a minute.
        "digits": dict(timesteps=20, batch_size=32, epochs=20, milestones=(15,), rate_scale=1.0),
    }[dataset]
    confirmed = (model, dataset) in _CONFIRMED
    if confirmed:
        note = "paper-spec section 5"
    elif dataset == "digits":
        note = "digits is not in the paper: paper neuron and loss, sizes chosen for a CPU"
    else:
        note = f"not confirmed: borrows the {family} family's and {dataset}'s values"
    return Preset("paper", model, dataset, confirmed=confirmed, note=note, **by_family, **by_dataset)


def _modern(model: str, dataset: str) -> Preset:
    paper = _paper(model, dataset)
    epochs = {"digits": 20, "mnist": 20, "svhn": 40, "cifar10": 100}[dataset]
    return replace(
        paper, name="modern", timesteps=16 if dataset == "digits" else 25,
        loss="cross_entropy", optimizer="adam", lr=1e-3, momentum=0.9, weight_decay=0.0,
        schedule="cosine", milestones=(), batch_size=max(paper.batch_size, 64) if dataset != "digits" else 32,
        epochs=epochs, confirmed=False,
        note="modern recipe (not the paper's): cross-entropy, Adam, cosine schedule, fewer time steps")


def get(preset: str, model: str, dataset: str) -> Preset:
    """Resolve ``preset`` (``"paper"`` or ``"modern"``) for ``model`` on ``dataset``."""
    from .data import NAMES as DATASET_NAMES

    _checks.choice("preset", preset, NAMES)
    _checks.choice("model", model, tuple(FAMILIES))
    _checks.choice("dataset", dataset, DATASET_NAMES)
    return _paper(model, dataset) if preset == "paper" else _modern(model, dataset)
