r"""Leaky integrate-and-fire (LIF) and integrate-and-fire (IF) neurons in discrete time.

Per time step :math:`t = 1..T`, in the paper's order (book/method.md, 'The LIF neuron'), one function each:

.. math::

    H[t] &= V[t-1] + I[t]                 && \text{charge: integrate the input current } I = W x

    s[t] &= 1[H[t] > V_{th}]              && \text{fire (strict inequality)}

    R[t] &= H[t]\,(1 - s[t])              && \text{reset to zero (or } H - V_{th} s \text{)}

    V[t] &= \lambda R[t]                  && \text{leak, after the reset}

so :math:`V[t] = \lambda (V[t-1] + I[t])(1 - s[t])`. ``H`` is the *membrane* that
``record=True`` keeps (after integration, before reset). An IF neuron is the case
:math:`\lambda = 1`. :func:`lif_step` is one step; :func:`lif_reference` loops it over time.

Backward (the paper's rule, ``surrogate="paper"``): :math:`\partial s/\partial H = s / V_{th}`;
the membrane carries gradient through time with the leak treated as identity (``detach_leak``)
and the factor :math:`(1 - s)` at the reset (the reset's spike is detached). With leak correction
the gradient arriving at the spike output is multiplied at every step by :math:`NG`
(:func:`leak_correction_factor`).

Two implementations give the same numbers: ``backend="fused"`` (default) runs the whole time
loop in one autograd node with a hand-written backward (:mod:`snnbp.fused_scan`);
``backend="reference"`` is :func:`lif_reference`, which autograd differentiates, kept to test the
fused one against (and run for settings the fused scan does not support, :func:`snnbp.fused_scan.supports`).

The neuron's contract, for a subclass (a new neuron overrides one method):

* the settings of one call come from :meth:`LIF.dynamics`: override it to make a setting learnable
  (a 0-dimensional tensor ``leak`` or ``threshold``, e.g. from an ``nn.Parameter``; run on the
  reference loop, which autograd differentiates), as :mod:`snnbp.learnable` does;
* the equations of one step are the methods :meth:`LIF.charge`, :meth:`LIF.fire` and
  :meth:`LIF.reset_and_leak` (each calls the function of the same name here): override one to
  change an equation. The fused scan computes LIF's own equations only, so a class that overrides
  one of them runs the reference loop (``LIF.fused`` is then False, unless the class sets it);
* which leak correction and detached leak a surrogate brings is :func:`snnbp.surrogate.defaults`
  (:meth:`LIF.defaults` for a subclass's own rule, as :class:`IF` has);
* :func:`register` names a subclass, so that ``snnbp.build(..., neuron=name)`` uses it for every
  hidden layer and a run folder's ``config.json`` rebuilds it (:data:`NEURONS`).

Taught in chapter 02 (``book/02_lif_neuron``); the derivative in chapter 04, the fused scan in chapter 10.
"""
from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, fields, replace

import torch
from torch import nn

from . import fused_scan, validate
from . import surrogate as _surrogate
from .surrogate import DEFAULT, leak_correction_factor

__all__ = ["LIF", "IF", "Equations", "LIFSettings", "RESETS", "BACKENDS", "STEPS", "NEURONS", "register", "neuron_class", "neuron_name", "neuron_names",
           "lif_step", "lif_reference"]

RESETS = ("zero", "subtract")
BACKENDS = ("fused", "reference")


@dataclass(frozen=True)
class LIFSettings:
    """What a layer of LIF neurons computes: its dynamics and its backward rule (checked here).

    ``leak`` :math:`\\lambda \\in (0, 1]`, ``threshold`` :math:`V_{th} > 0` (either may be a
    0-dimensional float tensor: a learnable setting, whose range is then the caller's to keep, run
    by the reference loop),
    ``reset`` (``"zero"`` or ``"subtract"``), ``surrogate`` (a :class:`~snnbp.surrogate.Surrogate`
    or its name), ``detach_leak`` (the leak is identity in the backward pass) and
    ``leak_correction`` (multiply the spike-output gradient by :math:`NG`); those two left at
    :data:`~snnbp.surrogate.DEFAULT` take the surrogate's (:func:`snnbp.surrogate.defaults`).
    Example: ``LIFSettings(leak=1.0, threshold=0.75)``. ``replace`` changes the fields it is given
    and keeps the others (as they are, not re-derived from a new surrogate).
    """

    leak: float | torch.Tensor = 0.99
    threshold: float | torch.Tensor = 1.0
    reset: str = "zero"
    surrogate: _surrogate.Surrogate = _surrogate.Paper()
    detach_leak: bool = DEFAULT
    leak_correction: bool = DEFAULT

    def __post_init__(self):
        check = {"leak": _leak, "threshold": _threshold,
                 "reset": lambda v: validate.choice("reset", v, RESETS), "surrogate": _surrogate.get,
                 "detach_leak": lambda v: validate.flag("detach_leak", v),
                 "leak_correction": lambda v: validate.flag("leak_correction", v)}
        given = {name: getattr(self, name) for name in check}
        given.update({k: v for k, v in _surrogate.defaults(given["surrogate"]).items() if given[k] is DEFAULT})
        for name, fix in check.items():
            object.__setattr__(self, name, fix(given[name]))

    replace = replace


def _frozen(self, name, value):
    """``settings.threshold = 0.5`` on a frozen :class:`LIFSettings`: say how to change a field."""
    if type(self) is not LIFSettings and name not in FIELDS:   # as dataclasses' own: a subclass's other attributes
        return object.__setattr__(self, name, value)
    raise _Frozen(f"LIFSettings is frozen: cannot assign {name!r}; change one field with "
                  f"neuron.{name} = ... (it checks the value), or make new settings, "
                  f"neuron.settings = neuron.settings.replace({name}=...)")


class _Frozen(FrozenInstanceError, TypeError):
    """Assigning a field of a frozen :class:`LIFSettings` (a ``TypeError`` too: it is not how settings change)."""


LIFSettings.__setattr__ = _frozen           # after @dataclass, which refuses a class that defines its own

#: The fields of :class:`LIFSettings`, in order.
FIELDS = tuple(f.name for f in fields(LIFSettings))


def as_settings(value, what: str = "settings") -> LIFSettings:
    """``value`` if it is a :class:`LIFSettings`, else a ``TypeError`` naming ``what`` and how to make one.
    A type check only (one ``isinstance`` per call): the values were checked when it was made."""
    if isinstance(value, LIFSettings):
        return value
    hint = (": make them from the dict, LIFSettings(**fields)" if isinstance(value, dict) else
            ": one number is not settings; e.g. LIFSettings(leak=0.9)" if isinstance(value, (int, float)) else "")
    raise TypeError(f"{what} must be a snnbp.neurons.LIFSettings (fields {', '.join(FIELDS)}; "
                    f"e.g. LIFSettings(leak=0.99, threshold=1.0)), got {type(value).__name__}{hint}")


def _checked_settings(value) -> LIFSettings:
    """What ``neuron.settings = value`` stores: a :class:`LIFSettings` whose every field is checked
    again (one made by going around its checks, e.g. ``object.__setattr__``, is caught here)."""
    value = as_settings(value)
    LIFSettings.__post_init__(value)
    return value


def _leak(value):
    """A leak factor (:func:`snnbp.validate.leak`), or a 0-dimensional float tensor (a learnable leak)."""
    if isinstance(value, torch.Tensor):
        return validate.setting_tensor("leak", value)
    return validate.leak("leak", value)


def _threshold(value):
    """A threshold > 0, or a 0-dimensional float tensor (a learnable threshold)."""
    if isinstance(value, torch.Tensor):
        return validate.setting_tensor("threshold", value)
    return validate.positive("threshold", value)


# -- one time step, in four named parts ----------------------------------------------------------

def charge(v: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
    """:math:`H[t] = V[t-1] + I[t]`."""
    return v + current


def fire(h: torch.Tensor, p: LIFSettings) -> torch.Tensor:
    """:math:`s[t] = 1[H[t] > V_{th}]`, with the surrogate derivative in the backward pass."""
    return _surrogate.spike(h, p.threshold, p.surrogate)


def reset(h: torch.Tensor, s: torch.Tensor, p: LIFSettings) -> torch.Tensor:
    """:math:`R[t] = H[t](1 - s[t])` or :math:`H[t] - V_{th} s[t]`; the reset's spike is detached."""
    s = s.detach()
    return h * (1 - s) if p.reset == "zero" else h - p.threshold * s


def leak(r: torch.Tensor, p: LIFSettings) -> torch.Tensor:
    r""":math:`V[t] = \lambda R[t]`; with ``detach_leak`` the backward pass sees :math:`V[t] = R[t]`."""
    if p.detach_leak:
        return p.leak * r.detach() + (r - r.detach())      # forward: lam R exactly; backward: identity
    return p.leak * r


def lif_step(v: torch.Tensor, current: torch.Tensor, p: LIFSettings):
    """One time step. Returns ``(v_next, s, h)``: the membrane after reset and leak, the spikes,
    and the membrane :math:`H` after integration. Differentiable (``p.surrogate`` in the backward pass).

    ``v`` and ``current`` must be tensors of one shape (no broadcasting: ``v`` is the membrane of
    the neurons that ``current`` drives; from rest, ``v = torch.zeros_like(current)``), not empty,
    on one device; ``p`` a :class:`LIFSettings`. Checked once per call, without reading values."""
    _check_step(v, current)
    return _step(v, current, as_settings(p, "p"))


def _check_step(v: torch.Tensor, current: torch.Tensor) -> None:
    """What one step takes: ``v`` and ``current`` tensors of one shape, not empty."""
    validate.tensor("current", current, nonempty="a step needs at least one neuron (every dimension >= 1)",
                    read=False)
    validate.tensor("v", v, read=False)
    validate.same_shape(("v", "current"), v, current,
                        "v is the membrane of the neurons current drives; from rest, v = torch.zeros_like(current)")


class Equations:
    """One time step's three equations as methods, and the one place their order is written
    (:meth:`step_equations`). :class:`LIF` inherits them; a subclass of it overrides one to change
    the neuron. Each method is the function of the same name above."""

    def charge(self, v: torch.Tensor, current: torch.Tensor, p: LIFSettings) -> torch.Tensor:
        """:math:`H[t] = V[t-1] + I[t]` (:func:`snnbp.neurons.charge`)."""
        return charge(v, current)

    def fire(self, h: torch.Tensor, p: LIFSettings) -> torch.Tensor:
        """:math:`s[t] = 1[H[t] > V_{th}]` with the surrogate backward (:func:`snnbp.neurons.fire`)."""
        return fire(h, p)

    def reset_and_leak(self, h: torch.Tensor, s: torch.Tensor, p: LIFSettings) -> torch.Tensor:
        r""":math:`V[t] = \lambda R[t]` after the reset :math:`R[t]` (:func:`snnbp.neurons.reset`, then
        :func:`snnbp.neurons.leak`)."""
        return leak(reset(h, s, p), p)

    def step_equations(self, v: torch.Tensor, current: torch.Tensor, p: LIFSettings):
        """One time step from the three equations: ``(v_next, s, h)``, differentiable."""
        h = self.charge(v, current, p)
        s = self.fire(h, p)
        return self.reset_and_leak(h, s, p), s, h


#: :func:`lif_step` without its checks, the body of the reference loop: the plain equations.
_step = Equations().step_equations


#: The methods of :class:`LIF` that are one step's equations (override one to change the neuron).
STEPS = ("charge", "fire", "reset_and_leak")

#: Why a current with a dimension of size 0 is refused.
_EMPTY = "neurons need T >= 1 time steps, B >= 1 examples and at least one neuron (every dimension >= 1)"


class _ScaleGrad(torch.autograd.Function):
    """Identity forward; multiplies the incoming gradient by a fixed ``scale`` (broadcast over T)."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(scale)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        (scale,) = ctx.saved_tensors
        return grad * scale.to(grad.dtype), None


def lif_reference(current: torch.Tensor, p: LIFSettings):
    """The textbook loop: :func:`lif_step` for t = 1..T, from rest, differentiated by autograd.

    ``current`` ``[T, ...]`` (not empty); returns ``(spikes, membrane)``, both ``[T, ...]``.
    """
    validate.tensor("current", current, min_dim=1, shape="[T, ...]", nonempty=_EMPTY, read=False)
    return _reference(current, as_settings(p, "p"))


def _reference(current: torch.Tensor, p: LIFSettings, step=_step):
    """:func:`lif_reference` without its checks (:class:`LIF` checks its input once); ``step`` is
    one time step ``(v, current, p) -> (v_next, s, h)`` (a neuron's own, :meth:`LIF.step_equations`)."""
    v = torch.zeros_like(current[0], dtype=torch.float32)
    spikes, membranes = [], []
    for i in current:
        v, s, h = step(v, i, p)
        spikes.append(s)
        membranes.append(h)
    spikes, membranes = torch.stack(spikes), torch.stack(membranes)
    if p.leak_correction:                                     # NG: known only after the last step
        lam = p.leak.detach() if isinstance(p.leak, torch.Tensor) else p.leak
        spikes = _ScaleGrad.apply(spikes, leak_correction_factor(spikes.detach(), lam))
    return spikes.to(current.dtype), membranes


def _setting(name: str) -> property:
    """A LIF attribute that reads and replaces one field of its :class:`LIFSettings`."""
    def get(self):
        return getattr(self.settings, name)

    def set(self, value):
        self.settings = self.settings.replace(**{name: value})
    return property(get, set, doc=f"``settings.{name}`` (assigning it replaces ``settings``)")


class LIF(Equations, nn.Module):
    r"""A layer of leaky integrate-and-fire neurons: currents ``[T, B, ...]`` -> spikes ``[T, B, ...]``.

    .. math::  H[t] = V[t-1] + I[t], \quad s[t] = 1[H[t] > V_{th}], \quad
               V[t] = \lambda\,H[t]\,(1 - s[t]) \;\; (\text{or } \lambda (H[t] - V_{th} s[t]))

    from :math:`V[0] = 0` at every call: one call is one window of T steps. Spikes come back in the
    current's dtype and memory layout.

    Args:
        leak: :math:`\lambda \in (0, 1]`, the factor the membrane keeps per step (0.99: :math:`\tau \approx 100` steps).
        threshold: :math:`V_{th} > 0`.
        reset: ``"zero"`` (:math:`V \leftarrow V(1-s)`, the paper's) or ``"subtract"``
            (:math:`V \leftarrow V - s V_{th}`).
        surrogate: a name from :data:`snnbp.surrogate.NAMES` or a :class:`~snnbp.surrogate.Surrogate`.
        leak_correction: multiply the spike-output gradient by the paper's :math:`NG` (part of the paper's
            rule; :math:`NG = 0` for a neuron that never fired, which silences smooth surrogates).
            Default: the surrogate's (:func:`snnbp.surrogate.defaults`: True for ``"paper"``, False
            for the others, as in :func:`snnbp.build`).
        record: keep ``.membrane`` (:math:`H`, after integration, before reset) and ``.spikes``
            of the last call, detached, for plotting.
        detach_leak: treat the leak as identity in the backward pass. Default: the surrogate's
            (True for ``"paper"``, as in the authors' scripts, False for the others).
        backend: ``"fused"`` (one autograd node for all T steps) or ``"reference"`` (per-step autograd).
            The fused backend runs the reference loop, silently, for settings the fused scan does not
            support (:func:`snnbp.fused_scan.supports` says why: e.g. a tensor leak) and for a class
            whose equations are not LIF's (:attr:`fused` False).

    A subclass changes the neuron by overriding one method: :meth:`dynamics` for settings computed
    at each call (learnable ones: :mod:`snnbp.learnable`), or one step's equation, :meth:`charge`,
    :meth:`fire` or :meth:`reset_and_leak`.

    All but ``record`` and ``backend`` live in ``.settings`` (a :class:`LIFSettings`); ``.leak``,
    ``.threshold``, ... read and replace its fields. Every assignment is checked as the arguments
    are: ``.settings`` takes a :class:`LIFSettings` only (its fields checked again), ``.record``
    and ``.backend`` what ``__init__`` takes, and a method such as :meth:`dynamics` cannot be
    replaced by a value. Assigning ``.surrogate`` also sets
    ``leak_correction`` and ``detach_leak`` to that surrogate's defaults (:meth:`defaults`), whatever
    they were: set them after the surrogate to keep other values. An explicit argument (or an
    assignment after the surrogate's) always wins.

    Example::

        >>> neuron = LIF(leak=0.99, threshold=1.0)
        >>> spikes = neuron(torch.full((12, 1, 3), 0.3))        # [T=12, B=1, 3 neurons]
        >>> spikes[:, 0, 0].nonzero().flatten().tolist()   # 0-based: H = 0.3, 0.597, 0.891, 1.182 fires at step 4
        [3, 7, 11]
    """

    leak = _setting("leak")
    threshold = _setting("threshold")
    reset = _setting("reset")
    detach_leak = _setting("detach_leak")
    leak_correction = _setting("leak_correction")

    @property
    def surrogate(self) -> _surrogate.Surrogate:
        """``settings.surrogate``; assigning one replaces ``settings`` with that surrogate and its
        :meth:`defaults` for ``leak_correction`` and ``detach_leak``."""
        return self.settings.surrogate

    @surrogate.setter
    def surrogate(self, value):
        rule = _surrogate.get(value)
        self.settings = self.settings.replace(surrogate=rule, **self.defaults(rule))

    @classmethod
    def defaults(cls, surrogate: str | _surrogate.Surrogate) -> dict[str, bool]:
        """The ``leak_correction`` and ``detach_leak`` that ``surrogate`` brings to this kind of neuron:
        :func:`snnbp.surrogate.defaults` (a subclass with a fixed rule overrides this, as :class:`IF`)."""
        return _surrogate.defaults(surrogate)

    def __init__(self, leak: float = 0.99, threshold: float = 1.0, reset: str = "zero",
                 surrogate: str | _surrogate.Surrogate = "paper", leak_correction: bool = DEFAULT,
                 record: bool = False, *, detach_leak: bool = DEFAULT, backend: str = "fused"):
        super().__init__()
        rule = _surrogate.get(surrogate)
        # detach_leak=None (its default before DEFAULT) still means the surrogate's default
        given = {"leak_correction": leak_correction, "detach_leak": DEFAULT if detach_leak is None else detach_leak}
        flags = {k: v for k, v in self.defaults(rule).items() if given[k] is DEFAULT}
        self.settings = LIFSettings(leak, threshold, reset, rule, **{**given, **flags})
        self.record = record                  # record, backend: checked by __setattr__, as later assignments
        self.backend = backend
        self.membrane: torch.Tensor | None = None
        self.spikes: torch.Tensor | None = None

    #: Whether the fused scan (:mod:`snnbp.fused_scan`) computes this class's equations: True for
    #: LIF and IF; set to False for a subclass that overrides :meth:`charge`, :meth:`fire` or
    #: :meth:`reset_and_leak` (unless its own class body sets it: only where the scan computes the
    #: same thing).
    fused = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "fused" not in cls.__dict__ and any(name in cls.__dict__ for name in STEPS):
            cls.fused = False

    #: Refuse NaN and inf currents (one read-back per call). A :class:`~snnbp.models.Network`
    #: checks its images once and turns this off in its layers.
    check_input = True

    #: What an assignment to these attributes must be, checked at every assignment (in ``__init__``
    #: too): ``neuron.settings = ...`` takes a :class:`LIFSettings` only, and checks its fields again.
    _CHECKED = {"settings": _checked_settings,
                "record": lambda v: validate.flag("record", v),
                "check_input": lambda v: validate.flag("check_input", v),
                "backend": lambda v: validate.choice("backend", v, BACKENDS)}
    #: Methods: assigning something that cannot be called in their place is refused.
    _METHODS = ("dynamics", "defaults", "step", "forward", "charge", "fire", "reset_and_leak", "step_equations")

    def __setattr__(self, name: str, value) -> None:
        check = self._CHECKED.get(name)
        if check is not None:
            value = check(value)
        elif name in self._METHODS and not callable(value):
            hint = (f"write neuron.settings = {type(value).__name__}(...) instead"
                    if isinstance(value, LIFSettings) else "to change the settings, assign neuron.settings = "
                    "LIFSettings(...) or one field (neuron.threshold = 0.5); to compute them, override "
                    "dynamics() in a subclass")
            raise TypeError(f"{name} is a method of {type(self).__name__} (dynamics() returns the settings of "
                            f"one call), not a value; got {type(value).__name__}: {hint}")
        super().__setattr__(name, value)

    def forward(self, current: torch.Tensor) -> torch.Tensor:
        validate.tensor("current", current, min_dim=2, shape="[T, B, ...]", nonempty=_EMPTY,
                        read=self.check_input and not torch.compiler.is_compiling())
        if not current.is_floating_point():
            current = validate.as_float("current", current)
        p = as_settings(self.dynamics(), f"what {type(self).__name__}.dynamics() returns")
        if self.backend == "fused" and self.fused and fused_scan.supports(p) is None:
            spikes, membrane = fused_scan.scan_unchecked(current, p, self.record)
        else:
            spikes, membrane = _reference(current, p, self.step_equations)
        if self.record:
            self.membrane, self.spikes = membrane.detach(), spikes.detach()
        return spikes

    def dynamics(self) -> LIFSettings:
        """The settings one call runs with: ``.settings``. A subclass with learnable settings returns
        them here, e.g. ``self.settings.replace(leak=torch.sigmoid(self.raw_leak))``."""
        return self.settings

    # one time step's equations, charge, fire and reset_and_leak, and their order, step_equations:
    # inherited from Equations (override one to change the neuron)

    @torch.no_grad()
    def step(self, v: torch.Tensor, current: torch.Tensor):
        r"""One time step without gradients, for teaching and for naive loops (checked as :func:`lif_step`).

        Returns ``(v_next, s, h)``: the membrane after reset and leak, the spikes, and the
        membrane after integration :math:`H = V + I`; all of ``current``'s shape, which ``v``
        must have too.
        """
        _check_step(v, current)
        return self.step_equations(v, current, as_settings(self.dynamics(), "dynamics()"))

    def extra_repr(self) -> str:
        return (f"leak={self.leak}, threshold={self.threshold}, reset={self.reset!r}, "
                f"surrogate={self.surrogate.name!r}, leak_correction={self.leak_correction}")


class IF(LIF):
    r"""Non-leaky integrate-and-fire neurons (:math:`\lambda = 1`), the paper's neuron after
    2x2 average pooling: threshold 0.75, hard reset, gradient straight through at the neurons
    that fired (:math:`\partial s/\partial H = s`), no leak correction.

    .. math::  H[t] = V[t-1] + I[t], \quad s[t] = 1[H[t] > V_{th}], \quad V[t] = H[t]\,(1 - s[t])

    Currents ``[T, B, ...]`` -> spikes ``[T, B, ...]``. Example: ``IF()(torch.full((4, 1, 1), 0.4))``
    fires at steps 2 and 4 (``H = 0.4, 0.8``: spike, ``0.4, 0.8``: spike).
    """

    def __init__(self, threshold: float = 0.75, reset: str = "zero",
                 surrogate: str | _surrogate.Surrogate = "straight_through",
                 leak_correction: bool = False, record: bool = False, *, backend: str = "fused"):
        super().__init__(leak=1.0, threshold=threshold, reset=reset, surrogate=surrogate,
                         leak_correction=leak_correction, record=record, backend=backend)

    @classmethod
    def defaults(cls, surrogate: str | _surrogate.Surrogate) -> dict[str, bool]:
        """An IF neuron's rule is fixed whatever the surrogate: no leak correction (there is no
        leak to correct), and the leak (1) is not detached (it makes no difference at 1)."""
        return {"leak_correction": False, "detach_leak": False}


#: Hidden-layer neurons by name, for ``snnbp.build(..., neuron=name)`` and a run folder's
#: ``config.json``: ``"lif"`` (the paper's) and those :func:`register` adds; ``import snnbp`` registers
#: the shipped learnable ones (:mod:`snnbp.learnable`), so every import sees all three.
NEURONS: dict[str, type[LIF]] = {"lif": LIF}


def register(name: str, cls: type[LIF] | None = None):
    """Make a :class:`LIF` subclass available by ``name`` (``build(..., neuron=name)``); usable as a
    class decorator, ``@register("mine")``. The class is built with LIF's arguments (``leak,
    threshold, reset, surrogate, leak_correction, detach_leak=..., backend=...``), so it must take them."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"a neuron's name must be a plain identifier such as 'learnable_leak', got {name!r}")

    def add(cls):
        if not (isinstance(cls, type) and issubclass(cls, LIF)):
            raise TypeError(f"register({name!r}) takes a subclass of snnbp.LIF, got {cls!r}")
        if NEURONS.get(name, cls) is not cls:
            raise ValueError(f"neuron name {name!r} is taken by {NEURONS[name].__qualname__}")
        NEURONS[name] = cls
        return cls
    return add if cls is None else add(cls)


def neuron_names() -> tuple[str, ...]:
    """The names ``neuron=`` takes: ``"lif"``, the shipped learnable ones, and any registered since."""
    return tuple(NEURONS)


def neuron_class(name: str) -> type[LIF]:
    """The hidden-layer neuron registered as ``name`` (one of :data:`NEURONS`), or a clear error."""
    return NEURONS[validate.choice("neuron", name, tuple(NEURONS))]


def neuron_name(neuron: str | type[LIF]) -> str:
    """``neuron`` as :data:`NEURONS` names it: a name (checked), or a registered class's name."""
    if isinstance(neuron, type):
        for name, cls in NEURONS.items():
            if cls is neuron:
                return name
        raise TypeError(f"neuron={neuron.__qualname__} is not registered: a preset (and so build and a run "
                        f"folder) takes a neuron by name; register it first, "
                        f"snnbp.neurons.register('my_neuron', {neuron.__qualname__}) (registered: "
                        f"{', '.join(NEURONS)})")
    neuron_class(neuron)
    return neuron
