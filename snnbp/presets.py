"""Hyperparameters: the paper's (``"paper"``, book/method.md) and a separate ``"modern"`` recipe.

A preset is resolved per (model, dataset). The authors released three scripts, LeNet on MNIST,
VGG9 and ResNet11 on CIFAR-10 (``confirmed=True`` for exactly those pairs); each sets its own
training values, held here in :data:`SCRIPTS` by model family (a table names its family,
:attr:`snnbp.tables.Table.family`). Under the paper's loss, summed over the batch, the learning
rate and the batch size are one setting (each step is the rate times the sum of the batch's
gradients, so the step grows with the batch): a pair the paper did not run takes *all* of its
family's script values together, never the rate of one script with the batch of another, and
says so in ``note``. A dataset record (:class:`snnbp.data.DatasetInfo`) describes the data only:
its images, and how the paper presents them (``augment``, ``rate_scale``). ``digits`` is not in the
paper: it keeps its script's rate and batch and is made short enough for a CPU
(:data:`NOT_IN_THE_PAPER`).

Taught in chapter 05 (``book/05_spike_bptt``: the paper's loss and learning rate) and chapter 08
(``book/08_reproduction``: the presets beside each other).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from . import data, encoding, neurons, surrogate, tables, validate

__all__ = ["Preset", "NAMES", "get", "FAMILIES", "SCRIPTS", "NOT_IN_THE_PAPER", "MODERN_EPOCHS", "saved_fields",
           "LOSSES", "OPTIMIZERS", "SCHEDULES"]

NAMES = ("paper", "modern")
LOSSES = ("mse_sum", "mse_mean", "cross_entropy")
OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("multistep", "cosine")
#: The values each of the authors' scripts sets, by the model family it trains (book/method.md,
#: 'Training'): ``script`` names it; the rest are :class:`Preset` fields. ``lr`` and ``batch_size``
#: belong together (the loss is summed over the batch), and so do ``epochs`` and ``milestones``.
SCRIPTS = {
    "lenet": dict(script="mnist_LeNet.py", lr=0.0085, batch_size=64, epochs=125, milestones=(75,),
                  dropout=0.0, init="he"),
    "vgg": dict(script="cifar10_VGG9.py", lr=0.0033, batch_size=16, epochs=150, milestones=(70, 100, 125),
                dropout=0.2, init="he"),
    "resnet": dict(script="cifar10_ResNet11.py", lr=0.0025, batch_size=16, epochs=150, milestones=(70, 100, 125),
                   dropout=0.25, init="resnet"),
}
#: Datasets the paper never used, made short enough for a CPU: these fields replace the script's
#: (the learning rate and the batch stay the script's, together).
NOT_IN_THE_PAPER = {
    "digits": dict(timesteps=20, epochs=20, milestones=(15,)),
}
#: The modern preset's epochs per dataset (a dataset not listed: :data:`MODERN_DEFAULT_EPOCHS`).
MODERN_EPOCHS = {"digits": 20, "mnist": 5, "svhn": 40, "cifar10": 100}
MODERN_DEFAULT_EPOCHS = 20
#: Model -> family, from the tables when snnbp was imported (:func:`get` reads the tables themselves).
FAMILIES = {name: table.family for name, table in tables.TABLES.items()}
_CONFIRMED = {("lenet", "mnist"), ("vgg9", "cifar10"), ("resnet11", "cifar10")}


@dataclass(frozen=True)
class Preset:
    """Every setting a run needs. Neuron: ``leak`` (lambda), ``threshold`` (V_th of LIF layers),
    ``pool_threshold`` (IF after pooling). Input: ``timesteps`` (T), ``encoding`` (``"poisson"``, the
    paper's, or ``"direct"``: the analog image every step), ``rate_scale``, ``signed``.
    ``detach_leak``: the leak is identity in the backward pass, in the hidden LIF layers and the
    output layer (the authors' scripts; False differentiates the leak exactly, an option).
    ``neuron``: the hidden layers' neuron by name (:data:`snnbp.neurons.NEURONS`): ``"lif"``, the
    paper's; ``"learnable_leak"`` or ``"learnable_threshold"`` (:mod:`snnbp.learnable`) are not
    the paper's method.
    Network: ``init`` (``"he"``: N(0, sqrt(2/fan_in)); ``"resnet"``: N(0, sqrt(1/fan_in))), ``init_gain``
    (a factor on that standard deviation, 1 in the paper), ``init_rate`` (0 in the paper; > 0: not the
    paper's method, :func:`snnbp.train.fit` first wakes the network with :func:`snnbp.wakeup.wake` so
    that every LIF layer fires at that rate on the first training batch), ``dropout``.
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
    neuron: str = "lif"
    rate_scale: float = 1.0
    signed: bool = True
    encoding: str = "poisson"
    init: str = "he"
    init_gain: float = 1.0
    init_rate: float = 0.0
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

    def __post_init__(self):
        """Every field checked (:mod:`snnbp.validate`), so that a mistake in ``build(...,
        field=value)`` is an error that names the field, never a silently different run."""
        v, fix = validate, lambda name, value: object.__setattr__(self, name, value)
        if isinstance(self.surrogate, surrogate.Surrogate):      # an instance: saved by its name
            rule = self.surrogate
            if rule.name not in surrogate.NAMES or repr(surrogate.get(rule.name)) != repr(rule):
                raise TypeError(f"surrogate={rule!r}: a preset (and so build and a run folder) takes a surrogate "
                                f"by name, one of {list(surrogate.NAMES)}; for other parameters, set "
                                f"it on the neurons after building (layer.surrogate = ...)")
            fix("surrogate", rule.name)
        fix("neuron", neurons.neuron_name(self.neuron))          # a registered class: saved by its name
        v.count("timesteps", self.timesteps)
        v.leak("leak", self.leak)
        for name in ("threshold", "pool_threshold", "rate_scale", "lr", "gamma"):
            fix(name, v.positive(name, getattr(self, name)))
        v.choice("reset", self.reset, ("zero", "subtract"))
        v.choice("surrogate", self.surrogate, surrogate.NAMES)
        v.choice("encoding", self.encoding, encoding.NAMES)
        v.choice("init", self.init, ("he", "resnet"))
        v.choice("loss", self.loss, LOSSES)
        v.choice("optimizer", self.optimizer, OPTIMIZERS)
        v.choice("schedule", self.schedule, SCHEDULES)
        for name in ("leak_correction", "detach_leak", "signed", "augment", "confirmed"):
            v.flag(name, getattr(self, name))
        fix("init_gain", v.positive("init_gain", self.init_gain))
        fix("init_rate", v.rate("init_rate", self.init_rate, zero="the paper's initialisation"))
        fix("dropout", v.probability("dropout", self.dropout))
        for name in ("momentum", "weight_decay"):
            fix(name, v.non_negative(name, getattr(self, name)))
        v.count("batch_size", self.batch_size)
        v.count("epochs", self.epochs)
        milestones = tuple(self.milestones) if isinstance(self.milestones, (list, tuple)) else self.milestones
        if not isinstance(milestones, tuple) or not all(isinstance(m, int) and not isinstance(m, bool) and m > 0
                                                        for m in milestones):
            raise TypeError(f"milestones must be a tuple of epochs >= 1, got {self.milestones!r}")
        fix("milestones", milestones)

    def replace(self, **changes) -> "Preset":
        """A copy with ``changes``; ``None`` values are ignored (they mean "keep the preset's")."""
        unknown = set(changes) - set(self.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown preset field(s) {sorted(unknown)}; valid: {sorted(self.__dataclass_fields__)}")
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict:
        return asdict(self)


def _script(model: str) -> dict:
    """The values of the script that trains ``model``'s family (:data:`SCRIPTS`)."""
    family = tables.TABLES[model].family
    if family not in SCRIPTS:
        raise ValueError(f"model {model!r} is of family {family!r}, which has no script values: add them to "
                         f"snnbp.presets.SCRIPTS (families: {', '.join(map(repr, SCRIPTS))})")
    return dict(SCRIPTS[family])


def _paper(model: str, dataset: str) -> Preset:
    values = _script(model)
    script = values.pop("script")
    record = data.info(dataset)
    confirmed = (model, dataset) in _CONFIRMED
    sized = NOT_IN_THE_PAPER.get(dataset, {})
    step = f"lr {values['lr']:g} with batch {values['batch_size']}"
    if confirmed:
        note = f"the paper's settings, as the authors' {script} sets them (book: The method, precisely)"
    elif sized:
        note = (f"{dataset} is not in the paper: the paper's neuron and loss, {script}'s {step}, dropout and "
                f"init; sized for a CPU: " + ", ".join(f"{k}={v}" for k, v in sized.items()))
    else:
        note = (f"not run in the paper: {script}'s settings ({step}, its epochs, schedule, dropout and init) "
                f"on {dataset}")
    return Preset("paper", model, dataset, confirmed=confirmed, note=note, augment=record.augment,
                  rate_scale=record.rate_scale, **{**values, **sized})


def _modern(model: str, dataset: str) -> Preset:
    """Beyond the paper (every field that differs is named in ``note``): direct input, an
    arc-tangent surrogate with reset by subtraction and the exact leak derivative, cross-entropy,
    Adam with a cosine schedule, batch 32, T = 10. On MNIST it is meant to train in 5 epochs."""
    epochs = MODERN_EPOCHS.get(dataset, MODERN_DEFAULT_EPOCHS)
    modern = dict(
        name="modern", timesteps=10, encoding="direct",
        surrogate="atan", reset="subtract", leak_correction=False, detach_leak=False,
        loss="cross_entropy", optimizer="adam", lr=1e-3, momentum=0.9, weight_decay=0.0,
        schedule="cosine", milestones=(), batch_size=32, epochs=epochs, confirmed=False,
        note="modern recipe (not the paper's): direct input, atan surrogate, reset by subtraction, "
             "exact leak derivative, cross-entropy, Adam, cosine schedule, batch 32, T = 10"
             + ("" if dataset in MODERN_EPOCHS else f"; {epochs} epochs, not tuned for {dataset}"))
    return replace(_paper(model, dataset), **modern)


def get(preset: str, model: str, dataset: str) -> Preset:
    """Resolve ``preset`` (``"paper"`` or ``"modern"``) for ``model`` on ``dataset``."""
    validate.choice("preset", preset, NAMES)
    validate.choice("model", model, tuple(tables.TABLES))
    validate.choice("dataset", dataset, tuple(data.DATASETS))
    return _paper(model, dataset) if preset == "paper" else _modern(model, dataset)


# Fields added after runs were saved, with the value every older run used.
_BEFORE_FIELD = {"encoding": "poisson", "neuron": "lif"}


def saved_fields(saved: dict) -> dict:
    """The fields of a preset saved in a run's ``config.json``, as ``build(..., **fields)`` takes them:
    lists back to tuples, and a field the file predates set to the value the run used (a run saved
    before ``encoding`` existed had Poisson input), so a run is rebuilt as it was trained even
    when the named preset has changed since."""
    fields = {k: (tuple(v) if isinstance(v, list) else v) for k, v in saved.items()
              if k not in ("name", "model", "dataset")}
    return {**_BEFORE_FIELD, **fields}
