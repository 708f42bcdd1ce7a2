"""Recording what a network does: per-layer spikes (and membranes) for rasters and firing rates.

    with snnbp.record(model, membranes=True) as rec:
        model(images)
    rec.spikes["lif1"]      # [T, B, ...] of the last forward call, on the CPU
    rec.rates()             # mean spikes per neuron per time step, per layer, over all calls

Used from chapter 04 (``book/04_derivative``) on; the per-layer firing rates of deep networks are
the subject of chapter 06 (``book/06_deep_vgg``).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

from . import validate
from .encoding import DirectEncoder, PoissonEncoder
from .neurons import LIF

__all__ = ["Recording", "NotRecorded", "record", "capture", "spike_rate", "INPUT", "layer_name"]

#: The key of the input spikes (the encoder's output) in a :class:`Recording`: not a layer.
INPUT = "input"
#: Where a :class:`~snnbp.models.Network` keeps its hidden layers (``net.features``).
_HIDDEN = "features."


class NotRecorded(KeyError, ValueError):
    """A layer (or anything at all) that a :class:`Recording` did not record: a ``KeyError`` for
    a lookup, a ``ValueError`` for the mistake behind it (no forward call inside ``with``)."""

    def __str__(self) -> str:                      # the message as written, not KeyError's repr of it
        return str(self.args[0]) if self.args else ""


_NO_CALL = ("nothing was recorded: no forward call ran inside the with block; call the model there, "
            "with snnbp.record(net) as rec: net(images), then read rec.{what}")


class _State:
    """What a :class:`Recording`'s layer dicts need to explain a missing key: the counts and whether
    membranes were kept. Shared by the dicts instead of the recording itself: a dict that held its
    recording would make a reference cycle (recording -> dict -> recording) that only the garbage
    collector frees, keeping every step's recorded spikes alive until it runs."""

    def __init__(self, membranes_kept: bool):
        self.membranes_kept, self.counts = membranes_kept, {}


class _Layers(dict):
    """A :class:`Recording`'s layer name -> value dict whose missing keys say what was recorded."""

    def __init__(self, what: str, state: _State):
        super().__init__()
        self.what, self.state = what, state

    def __missing__(self, name):
        if not self.state.counts:
            raise NotRecorded(_NO_CALL.format(what=f"{self.what}[{name!r}]"))
        if self.what == "membranes" and not self.state.membranes_kept:
            raise NotRecorded(f"membranes[{name!r}]: membranes were not kept; record them with "
                              f"snnbp.record(net, membranes=True)")
        kept = [k for k in self.state.counts if self.what != "membranes" or k != INPUT]
        raise NotRecorded(f"{self.what}[{name!r}]: no such layer was recorded; recorded layers: "
                          f"{', '.join(map(repr, kept))}")


class Recording:
    r"""Spikes and membranes captured by :func:`record`; the rate of layer ``l`` is
    :math:`\sum |s| / (\text{neurons} \times T \times B)` over every recorded call.

    ``spikes``/``membranes``: layer name -> tensor ``[T, B, ...]`` of the last call (CPU, detached).
    ``counts``: layer name -> total |spikes| over every call; ``neuron_steps``: the matching
    number of neuron-time-steps, so ``counts / neuron_steps`` is the mean firing rate.
    Reading what no forward call recorded (``rates()``, ``names`` or a layer of ``spikes`` before
    any call; a layer that was not recorded) is a :class:`NotRecorded` error that says why.
    """

    def __init__(self, *, membranes: bool = False) -> None:
        state = self._state = _State(membranes)
        self.counts: dict[str, float] = _Layers("counts", state)
        state.counts = self.counts                 # a cycle of the small counts dict only, no tensors
        self.spikes: dict[str, torch.Tensor] = _Layers("spikes", state)
        self.membranes: dict[str, torch.Tensor] = _Layers("membranes", state)
        self.neuron_steps: dict[str, int] = _Layers("neuron_steps", state)

    @property
    def membranes_kept(self) -> bool:
        """Whether the membranes are recorded (``record(net, membranes=True)``)."""
        return self._state.membranes_kept

    def _recorded(self, what: str) -> None:
        if not self.counts:
            raise NotRecorded(_NO_CALL.format(what=what))

    @property
    def names(self) -> list[str]:
        """The recorded layers, input first (an error before any forward call)."""
        self._recorded("names")
        return list(self.spikes)

    def _store(self, name: str, spikes: torch.Tensor, membrane: torch.Tensor | None) -> None:
        spikes = spikes.detach()
        self.counts[name] = self.counts.get(name, 0.0) + float(spikes.abs().sum())
        self.neuron_steps[name] = self.neuron_steps.get(name, 0) + spikes.numel()
        self.spikes[name] = spikes.cpu()
        if membrane is not None:
            self.membranes[name] = membrane.detach().cpu()

    def rates(self) -> dict[str, float]:
        """Mean firing rate per layer: spikes per neuron per time step, over all recorded calls
        (an error before any forward call: there is no rate to give)."""
        self._recorded("rates()")
        return {name: spike_rate(self.counts, self.neuron_steps, [name]) or 0.0 for name in self.counts}

    def hidden_rate(self) -> float | None:
        """The firing rate of all hidden neurons together (every layer but :data:`INPUT`, each
        neuron-step weighted once); ``None`` when nothing hidden was recorded (an ANN twin)."""
        return spike_rate(self.counts, self.neuron_steps, [k for k in self.counts if k != INPUT])


def spike_rate(counts: dict[str, float], neuron_steps: dict[str, int], layers) -> float | None:
    r"""The firing rate of ``layers`` together: :math:`\sum_l \text{spikes}_l / \sum_l
    \text{neuron-steps}_l` (spikes per neuron per time step), ``None`` when they hold no
    neuron-steps. The one rate formula of the library: :meth:`Recording.rates`, the test pass
    :func:`snnbp.evaluate.measure` (after summing the counts over processes) and
    :func:`snnbp.evaluate.analyse` use it."""
    layers = list(layers)
    steps = sum(neuron_steps[k] for k in layers)
    return sum(counts[k] for k in layers) / steps if steps else None


def layer_name(name: str) -> str:
    """The short name of a network's module or parameter, as :func:`record`, the probes and the
    plots show it: ``model.named_modules()``/``named_parameters()`` names without the hidden
    layers' ``features.`` and without a trailing ``.weight``/``.bias`` or the ``.module`` of a
    time-batched layer.

    Example::

        >>> [layer_name(n) for n in ("features.lif1", "features.conv1.module.weight",
        ...                          "features.block1.shortcut.module", "classifier.module.weight")]
        ['lif1', 'conv1', 'block1.shortcut', 'classifier']
    """
    name = name.removeprefix(_HIDDEN).removesuffix(".weight").removesuffix(".bias")
    return name.removesuffix(".module")


def record(model: nn.Module, *, membranes: bool = False):
    """Capture the input spikes (key :data:`INPUT`, ``"input"``) and the output of every LIF/IF
    layer of ``model``: a context manager yielding a :class:`Recording`.

    Layer names are :func:`layer_name` of ``model``'s module names (``"lif1"``, ``"if1"``,
    ``"block1.neuron2"``, ...; ``net.layer_names()`` lists them); each tensor is ``[T, B, ...]``.
    ``membranes=True`` also keeps each layer's membrane :math:`H` (after integration, before reset).
    A model without LIF/IF layers (an ANN twin, a plain torch model) is an error: it has no spikes
    to record.

    Example::

        >>> net = snnbp.build("lenet", "mnist", timesteps=4)
        >>> with snnbp.record(net) as rec:
        ...     net(torch.rand(2, 1, 28, 28))
        >>> rec.names[:3]
        ['input', 'lif1', 'if1']
    """
    if not isinstance(model, nn.Module):
        hint = f": build it first, snnbp.build({model!r}, ...)" if isinstance(model, str) else ""
        raise TypeError(f"model must be a torch.nn.Module with LIF/IF layers, got {type(model).__name__}{hint}")
    membranes = validate.flag("membranes", membranes)
    if not any(isinstance(m, LIF) for m in model.modules()):
        raise ValueError(f"model ({type(model).__name__}) has no spiking layers (snnbp.LIF or IF) to record: "
                         f"an ANN twin (spiking=False) or a plain torch model has no spikes")
    return capture(model, membranes=membranes)


@contextmanager
def capture(model: nn.Module, *, membranes: bool = False) -> Iterator[Recording]:
    """:func:`record` without its checks, for the library's own loops, which also run ANN twins
    (then nothing is recorded)."""
    rec = Recording(membranes=membranes)
    handles, saved_flags = [], []
    for name, module in model.named_modules():
        if isinstance(module, (PoissonEncoder, DirectEncoder)):
            handles.append(module.register_forward_hook(
                lambda m, args, out: rec._store(INPUT, out, None)))
        elif isinstance(module, LIF):
            saved_flags.append((module, module.record))
            module.record = module.record or membranes
            handles.append(module.register_forward_hook(
                lambda m, args, out, key=layer_name(name): rec._store(key, out, m.membrane if membranes else None)))
    try:
        yield rec
    finally:
        for handle in handles:
            handle.remove()
        for module, flag in saved_flags:
            module.record = flag
