r"""Spike functions and their surrogate derivatives.

A spiking neuron fires when its membrane potential crosses the threshold:

.. math::  s = \Theta(V - V_{th}) = 1[V > V_{th}]

The Heaviside step :math:`\Theta` has zero derivative almost everywhere, so backpropagation
needs a *surrogate* :math:`\partial s / \partial V`. Every surrogate here keeps the exact step in
the forward pass and changes only the backward pass. Choose one by name::

    snnbp.surrogate.get("paper")          # Lee et al. 2020: 1[V > V_th] / V_th
    snnbp.surrogate.get("fast_sigmoid")   # Zenke & Ganguli 2018 (SuperSpike)
    snnbp.surrogate.FastSigmoid(slope=10) # or an instance with other parameters

``u = V - V_th`` below is the distance to threshold. The paper's rule has a second part, the
leak correction :math:`NG` of a LIF layer's spike output (:func:`leak_correction_factor`), and a
detached leak; :func:`defaults` is the one place that says which surrogate brings them (the
paper's), for :class:`~snnbp.neurons.LIF`, its ``.surrogate`` setter and :func:`snnbp.build`.

A new surrogate is a :class:`Surrogate` subclass; :func:`register` checks its self-description
and makes it available by name (``LIF(surrogate="box")``, ``build(..., surrogate="box")``, a run
folder's ``config.json``). An unregistered instance works in a :class:`~snnbp.neurons.LIF` too.

Taught in chapter 04 (``book/04_derivative``); chapter 11 maps these onto snnTorch's surrogates.
"""
from __future__ import annotations

import math

import torch

from . import validate

__all__ = ["Surrogate", "Paper", "StraightThrough", "FastSigmoid", "ATan", "Sigmoid",
           "NAMES", "get", "register", "defaults", "DEFAULT", "spike", "leak_correction_factor"]


class Surrogate:
    """A spike function's backward rule: :meth:`grad` returns :math:`\\partial s / \\partial V`.

    ``needs_membrane`` is False when the rule depends on the spikes alone, so the fused neuron
    can save only the (boolean) spikes for the backward pass; such a rule must then give
    :meth:`spike_scale` (a constant times the spikes). A subclass gives ``name`` and :meth:`grad`.
    :func:`register` checks all this and makes the class available by name.

    Example: a rectangular window of half-width ``w`` around the threshold::

        class Box(Surrogate):
            name = "box"
            def __init__(self, width=0.5):
                self.width = width
            def grad(self, membrane, spikes, threshold):
                return ((membrane - threshold).abs() < self.width).to(membrane.dtype) / (2 * self.width)

        snnbp.LIF(surrogate=Box())                 # an instance, or
        snnbp.surrogate.register(Box)               # by name: LIF(surrogate="box"), build(..., surrogate="box")
    """

    name: str = "surrogate"
    needs_membrane: bool = True

    def grad(self, membrane: torch.Tensor | None, spikes: torch.Tensor, threshold: float) -> torch.Tensor:
        """:math:`\\partial s/\\partial V` at the ``membrane`` :math:`V` (shape of ``spikes``)."""
        raise NotImplementedError

    def spike_scale(self, threshold: float) -> float | None:
        r"""``c`` when the rule is :math:`\partial s/\partial V = c\,s` (a constant times the spikes), else None.

        The fused neuron's backward pass then needs only the spikes, and the snnTorch twin a step
        function with a constant gradient where the neuron fired.
        """
        return None

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"


_REGISTRY: dict[str, type[Surrogate]] = {}
#: The registered surrogates' names, in the order they were registered (:func:`register`).
NAMES: tuple[str, ...] = ()


def _description_problem(cls) -> str | None:
    """What is wrong with a surrogate class's self-description, or None."""
    if not (isinstance(cls, type) and issubclass(cls, Surrogate)):
        return f"{cls!r} is not a subclass of snnbp.surrogate.Surrogate"
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name or name == Surrogate.name:
        return "it has no name of its own: set the class attribute name = '...' (how LIF and build will call it)"
    if not callable(getattr(cls, "grad", None)) or cls.grad is Surrogate.grad:
        return "it has no grad(membrane, spikes, threshold) method: the backward rule dS/dV"
    if not isinstance(cls.needs_membrane, bool):
        return f"needs_membrane must be True or False, got {cls.needs_membrane!r}"
    try:
        rule = cls()
    except TypeError as error:
        return f"{cls.__name__}() failed ({error}): a surrogate taken by name is made without arguments"
    threshold, spikes = 2.0, torch.tensor([0.0, 1.0])
    if cls.needs_membrane:
        grad = rule.grad(torch.tensor([1.5, 2.5]), spikes, threshold)
        if not isinstance(grad, torch.Tensor) or grad.shape != spikes.shape:
            return f"grad must return a tensor of the membrane's shape, got {grad!r}"
        return None
    scale = rule.spike_scale(threshold)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale):
        return (f"needs_membrane=False says the rule depends on the spikes alone, so spike_scale(threshold) "
                f"must return the constant c of dS/dV = c * spikes, got {scale!r}; or set needs_membrane = True")
    try:
        grad = rule.grad(None, spikes, threshold)
    except Exception as error:                               # noqa: BLE001 - reported, with what to fix
        return (f"needs_membrane=False, but grad(None, spikes, threshold) failed ({type(error).__name__}: "
                f"{error}); a rule that reads the membrane must set needs_membrane = True")
    if not isinstance(grad, torch.Tensor) or not torch.allclose(grad.float(), scale * spikes):
        return (f"needs_membrane=False: grad(None, spikes, threshold) must equal spike_scale(threshold) * spikes "
                f"= {(scale * spikes).tolist()}, got {grad!r}")
    return None


def register(cls: type[Surrogate]) -> type[Surrogate]:
    """Make a :class:`Surrogate` subclass available by its ``name`` (in :data:`NAMES`), after checking
    its self-description: a ``name`` of its own (not taken), a ``grad`` method, a made-without-arguments
    instance, and for ``needs_membrane = False`` a ``spike_scale`` that returns the number :math:`c` with
    ``grad(None, s, V_th) == c * s``. Otherwise a ``TypeError`` (``ValueError`` for a taken name)
    says what to fix. Usable as a decorator; returns ``cls``."""
    global NAMES
    problem = _description_problem(cls)
    if problem is not None:
        raise TypeError(f"cannot register surrogate {getattr(cls, '__name__', cls)!r}: {problem}")
    if _REGISTRY.get(cls.name, cls) is not cls:
        raise ValueError(f"cannot register surrogate {cls.__name__!r}: the name {cls.name!r} is taken by "
                         f"{_REGISTRY[cls.name].__name__}; choose another name")
    _REGISTRY[cls.name] = cls
    NAMES = tuple(_REGISTRY)
    return cls


@register
class Paper(Surrogate):
    r"""The paper's approximate derivative of a spiking neuron seen as a rate unit.

    Over a window an IF neuron emits about :math:`a \approx net / V_{th}` spikes for a total
    input :math:`net`, so :math:`\partial a / \partial net \approx 1 / V_{th}`. The scripts pass
    this straight through at the neurons that fired:

    .. math::  \partial s / \partial V = 1[V > V_{th}] / V_{th} = s / V_{th}

    The leak correction (``LIF(leak_correction=True)``) multiplies the gradient at the spike
    output by :math:`NG = 1[LF > 10^{-3}] + \ln(\lambda) LF / \gamma`; see :mod:`snnbp.neurons`.

    Shapes: ``membrane`` and ``spikes`` alike (any shape). Example::

        v = torch.tensor([0.5, 1.5], requires_grad=True)
        snnbp.surrogate.spike(v, threshold=1.0, surrogate="paper").sum().backward()
        v.grad                                   # tensor([0., 1.]): 1/V_th where it fired
    """

    name = "paper"
    needs_membrane = False

    def grad(self, membrane, spikes, threshold):
        return spikes / threshold

    def spike_scale(self, threshold):
        return 1.0 / threshold


@register
class StraightThrough(Surrogate):
    r"""Straight-through at the neurons that fired, unscaled: :math:`\partial s/\partial V = s`.

    The paper's rule for the IF neurons after average pooling (no :math:`1/V_{th}`).
    """

    name = "straight_through"
    needs_membrane = False

    def grad(self, membrane, spikes, threshold):
        return spikes

    def spike_scale(self, threshold):
        return 1.0


@register
class FastSigmoid(Surrogate):
    r"""Fast sigmoid (SuperSpike, Zenke & Ganguli 2018):
    :math:`\partial s/\partial V = 1 / (1 + k|u|)^2`, slope :math:`k` (default 25, as snnTorch).

    ``grad`` takes and returns tensors of the membrane's shape; e.g. ``LIF(surrogate=FastSigmoid(10))``.
    """

    name = "fast_sigmoid"

    def __init__(self, slope: float = 25.0):
        self.slope = validate.positive("slope", slope)

    def grad(self, membrane, spikes, threshold):
        return 1.0 / (1.0 + self.slope * (membrane - threshold).abs()) ** 2


@register
class ATan(Surrogate):
    r"""Arc-tangent (Fang et al. 2021):
    :math:`\partial s/\partial V = \frac{\alpha/2}{1 + (\frac{\pi}{2}\alpha u)^2}`, default :math:`\alpha = 2`."""

    name = "atan"

    def __init__(self, alpha: float = 2.0):
        self.alpha = validate.positive("alpha", alpha)

    def grad(self, membrane, spikes, threshold):
        u = membrane - threshold
        return (self.alpha / 2) / (1 + (math.pi / 2 * self.alpha * u) ** 2)


@register
class Sigmoid(Surrogate):
    r"""Logistic sigmoid: :math:`\partial s/\partial V = k\,\sigma(ku)(1-\sigma(ku))`, slope
    :math:`k` (default 25, as snnTorch)."""

    name = "sigmoid"

    def __init__(self, slope: float = 25.0):
        self.slope = validate.positive("slope", slope)

    def grad(self, membrane, spikes, threshold):
        sig = torch.sigmoid(self.slope * (membrane - threshold))
        return self.slope * sig * (1 - sig)


def get(surrogate: str | Surrogate) -> Surrogate:
    """Return a surrogate instance from its name (one of :data:`NAMES`) or pass an instance through."""
    if isinstance(surrogate, Surrogate):
        return surrogate
    return _REGISTRY[validate.choice("surrogate", surrogate, NAMES)]()


class _Default:
    """The value of an argument left to the surrogate's default (:data:`DEFAULT`)."""

    def __repr__(self) -> str:
        return "DEFAULT"


#: "The surrogate's default" for ``leak_correction`` and ``detach_leak`` (see :func:`defaults`):
#: the default value of those arguments of :class:`~snnbp.neurons.LIF` and ``LIFSettings``.
DEFAULT = _Default()


def defaults(surrogate: str | Surrogate) -> dict[str, bool]:
    """The backward rule's other two settings that come with a surrogate: the one place of this policy.

    The paper's rule (:class:`Paper`) comes with its leak correction :math:`NG` and a detached leak
    (``{"leak_correction": True, "detach_leak": True}``, as in the authors' scripts); any other
    surrogate with neither (``False``, ``False``): :math:`NG = 0` for a neuron that never fired would
    silence a smooth surrogate's gradient there, and the exact leak is the usual BPTT. Used by
    :class:`~snnbp.neurons.LIF` for the arguments left at :data:`DEFAULT`, by its ``.surrogate``
    setter, and by :func:`snnbp.build` when ``surrogate`` is given. Example::

        >>> defaults("atan")
        {'leak_correction': False, 'detach_leak': False}
    """
    paper = isinstance(get(surrogate), Paper)
    return {"leak_correction": paper, "detach_leak": paper}


class _Spike(torch.autograd.Function):
    r"""Heaviside forward, surrogate backward: the single-step spike of the reference neuron.

    ``threshold`` is a float, or a tensor (a learnable threshold) that gets the gradient
    :math:`\partial s/\partial V_{th} = -\partial s/\partial V` (the spike is a function of
    :math:`V - V_{th}`), summed over the neurons that share it."""

    @staticmethod
    def forward(ctx, membrane, threshold, rule):
        spikes = (membrane > threshold).to(membrane.dtype)
        ctx.tensor_threshold = isinstance(threshold, torch.Tensor)
        if ctx.tensor_threshold:
            ctx.save_for_backward(membrane, spikes, threshold)
        else:
            ctx.save_for_backward(membrane, spikes)
            ctx.threshold = threshold
        ctx.rule = rule
        return spikes

    @staticmethod
    def backward(ctx, grad_spikes):
        if ctx.tensor_threshold:
            membrane, spikes, threshold = ctx.saved_tensors
        else:
            (membrane, spikes), threshold = ctx.saved_tensors, ctx.threshold
        grad = grad_spikes * ctx.rule.grad(membrane, spikes, threshold)
        grad_threshold = None
        if ctx.tensor_threshold and ctx.needs_input_grad[1]:
            grad_threshold = -grad.sum_to_size(threshold.shape).to(threshold.dtype)
        return grad, grad_threshold, None


def spike(membrane: torch.Tensor, threshold: float | torch.Tensor = 1.0,
          surrogate: str | Surrogate = "paper") -> torch.Tensor:
    r"""One spike decision :math:`s = 1[V > V_{th}]` whose backward is the chosen surrogate.

    ``membrane``: any shape; returns spikes of that shape and dtype. ``threshold``: a number, or a
    tensor that broadcasts to ``membrane`` (a learnable threshold: it gets
    :math:`-\partial s/\partial V`, summed over the neurons that share it). Example::

        >>> v = torch.tensor([0.5, 1.0, 1.5], requires_grad=True)
        >>> s = spike(v, 1.0, "paper"); s.sum().backward()
        >>> s.tolist(), v.grad.tolist()          # strict threshold; gradient s / V_th
        ([0.0, 0.0, 1.0], [0.0, 0.0, 1.0])
    """
    if not isinstance(threshold, torch.Tensor):
        threshold = float(threshold)
    return _Spike.apply(membrane, threshold, get(surrogate))


def leak_correction_factor(spikes: torch.Tensor, leak: float) -> torch.Tensor:
    r"""The paper's per-neuron leak correction :math:`NG` from a spike train ``[T, ...]``.

    .. math::  NG = 1[LF > 10^{-3}] + \ln(\lambda)\,LF/\gamma, \quad
               LF = \sum_{t=1}^{T} \lambda^{T-t} s[t], \quad \gamma = \sum_t s[t]
               \;(1 \text{ where } < 10^{-3})

    A LIF layer with ``leak_correction=True`` multiplies the gradient reaching its spike output
    by :math:`NG` at every step. With :math:`\lambda = 0.99` a neuron that fired has
    :math:`NG \in [1 + \ln 0.99, 1] \approx [0.98995, 1]`; a silent one has :math:`NG = 0`.
    Returns a tensor of shape ``[...]``.
    """
    steps = spikes.shape[0]
    spikes = spikes.float()
    powers = leak ** torch.arange(steps - 1, -1, -1, dtype=torch.float32, device=spikes.device)
    lf = torch.tensordot(powers, spikes, dims=1)
    gamma = spikes.sum(0)                                     # spikes are 0 or 1
    gamma = torch.where(gamma < 1e-3, torch.ones_like(gamma), gamma)
    return (lf > 1e-3).float() + math.log(leak) * lf / gamma
