r"""The snnTorch twin of an snnbp network: the same weights, run the way an snnTorch user writes it.

:func:`to_snntorch` rebuilds a spiking :class:`~snnbp.models.Network` with ``snntorch.Leaky``
neurons called once per time step, in an explicit loop over :math:`t = 1..T`::

    for t in range(T):
        cur1 = conv1(x[t]);  spk1, mem1 = lif1(cur1, mem1)
        ...
        v_out = lam * (v_out + fc(spk))
    return v_out / T

The two libraries use the same neuron. snnTorch's ``Leaky`` with ``reset_mechanism="zero"``
updates :math:`m[t] = \beta\,(1 - r[t-1])\,m[t-1] + I[t]` with the detached reset
:math:`r[t-1] = 1[m[t-1] > V_{th}]` and fires :math:`s[t] = 1[m[t] > V_{th}]`; with
:math:`\beta = \lambda` its ``mem`` is snnbp's :math:`H[t] = V[t-1] + I[t]` and its spikes are
snnbp's. The pooling IF neuron is ``Leaky(beta=1.0, threshold=0.75)``. The output integrator
:math:`V_{out}[t] = \lambda (V_{out}[t-1] + W s[t])` has no snnTorch neuron: the twin collects the
currents :math:`W s[t]` of every step and reads them out with the network's own
:class:`~snnbp.layers.OutputIntegrator` (the same equation, and for the paper preset the same
identity leak in the backward pass).
With ``reset="subtract"`` the two differ when :math:`\lambda < 1`: snnTorch subtracts
:math:`V_{th}` *after* the leak (:math:`m = \beta m + I - V_{th} r`), snnbp before it
(:math:`V = \lambda (H - V_{th} s)`).

Surrogates (the backward pass). snnTorch calls ``spike_grad`` on :math:`u = m - V_{th}`:

* ``"paper"`` and ``"straight_through"``: :class:`StepSpike`, a Heaviside whose derivative is
  :math:`c\,1[u > 0]` (:math:`c = 1/V_{th}` for the paper's rule, 1 for straight-through);
  snnTorch's own ``straight_through_estimator`` passes the gradient everywhere, not only where
  the neuron fired, so it is not used;
* ``"fast_sigmoid"``, ``"atan"``: snnTorch's built-ins with the same parameters (the same
  formulas as :mod:`snnbp.surrogate`);
* ``"sigmoid"`` (and any other :class:`~snnbp.surrogate.Surrogate`): :class:`SurrogateSpike`,
  which calls snnbp's own ``grad``; snnTorch 1.0's built-in ``sigmoid`` computes
  :math:`k e^{-ku}/(e^{-ku}+1)^2`, which is NaN in float32 once :math:`e^{-ku}` overflows
  (:math:`u < -3.5` at slope 25).

What the twin does not have: the paper's leak correction :math:`NG` (a factor in
:math:`[0.99, 1]` for :math:`\lambda = 0.99`, computed from the whole spike train) and the
detached leak of the ``"paper"`` surrogate in the hidden layers (snnTorch's membrane carries
:math:`\beta` in the backward pass). So the forward passes agree exactly, and the gradients agree
exactly for snnbp networks built with ``leak_correction=False`` and a surrogate other than ``"paper"``.

Taught in chapter 11 (``book/11_snntorch``).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from . import surrogate as _surrogate
from . import validate
from .encoding import PoissonEncoder
from .layers import Flatten, OutputIntegrator, Residual, TimeBatched, TimeFixedDropout
from .neurons import LIF

__all__ = ["StepSpike", "SurrogateSpike", "spike_grad_for", "leaky_run", "to_snntorch", "SnnTorchTwin", "Comparison",
           "compare"]


def _snntorch():
    try:
        import snntorch
        import snntorch.surrogate  # noqa: F401
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("snnbp.snntorch_twin needs snnTorch: pip install snntorch") from err
    return snntorch


class StepSpike(torch.autograd.Function):
    r"""Heaviside :math:`s = 1[u > 0]` with derivative :math:`\partial s/\partial u = c\,1[u > 0]`."""

    @staticmethod
    def forward(ctx, u: torch.Tensor, scale: float) -> torch.Tensor:
        spikes = (u > 0).to(u.dtype)
        ctx.save_for_backward(spikes)
        ctx.scale = scale
        return spikes

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (spikes,) = ctx.saved_tensors
        return grad * spikes * ctx.scale, None


class SurrogateSpike(torch.autograd.Function):
    r"""Heaviside :math:`s = 1[u > 0]` whose derivative is an snnbp surrogate's ``grad`` at
    :math:`V = u + V_{th}` (e.g. the sigmoid, computed without overflow)."""

    @staticmethod
    def forward(ctx, u: torch.Tensor, rule: _surrogate.Surrogate, threshold: float) -> torch.Tensor:
        spikes = (u > 0).to(u.dtype)
        ctx.save_for_backward(u, spikes)
        ctx.rule, ctx.threshold = rule, threshold
        return spikes

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        u, spikes = ctx.saved_tensors
        return grad * ctx.rule.grad(u + ctx.threshold, spikes, ctx.threshold), None, None


#: snnbp surrogates that snnTorch has built in, by name: the same formula with the same parameters.
_SNNTORCH_BUILTIN = {
    "fast_sigmoid": lambda sg, rule: sg.fast_sigmoid(slope=rule.slope),
    "atan": lambda sg, rule: sg.atan(alpha=rule.alpha),
}


def spike_grad_for(rule: _surrogate.Surrogate, threshold: float):
    """The snnTorch ``spike_grad`` (a function of :math:`u = m - V_{th}`) matching snnbp's ``rule``."""
    scale = rule.spike_scale(threshold)
    if scale is not None:                                    # paper (1/V_th), straight-through (1)
        return lambda u: StepSpike.apply(u, scale)
    if rule.name in _SNNTORCH_BUILTIN:
        return _SNNTORCH_BUILTIN[rule.name](_snntorch().surrogate, rule)
    return lambda u: SurrogateSpike.apply(u, rule, threshold)


def _leaky(neuron: LIF) -> nn.Module:
    """``snntorch.Leaky`` with ``neuron``'s leak, threshold, reset and surrogate: the values it runs
    with now (:meth:`~snnbp.neurons.LIF.dynamics`: a learnable leak or threshold as learnt so far,
    taken as constants). A neuron whose equations are not LIF's has no Leaky twin."""
    if not type(neuron).fused:
        raise TypeError(f"{type(neuron).__name__} overrides LIF's equations (charge, fire or reset_and_leak), "
                        f"which snntorch.Leaky does not compute: to_snntorch converts LIF neurons and those "
                        f"that change only their settings (snnbp.learnable)")
    p = neuron.dynamics()
    leak, threshold = (float(v.detach()) if isinstance(v, torch.Tensor) else v for v in (p.leak, p.threshold))
    return _snntorch().Leaky(beta=leak, threshold=threshold, spike_grad=spike_grad_for(p.surrogate, threshold),
                             reset_mechanism=p.reset)


#: The reset rules :func:`leaky_run` passes to snnTorch (``"none"``: snnTorch's, no reset at all).
LEAKY_RESETS = ("zero", "subtract", "none")


def leaky_run(current: torch.Tensor, leak: float, threshold: float = 1.0, reset: str = "zero"):
    """Run ``snntorch.Leaky(beta=leak, threshold, reset_mechanism=reset)`` the idiomatic way, one call per
    step from rest, on currents ``[T, ...]``. Returns ``(spikes, mem)``, both ``[T, ...]``; ``mem`` is
    snnTorch's membrane after integration (snnbp's ``LIF.membrane``).

    Checked as for :class:`snnbp.LIF`: ``current`` a non-empty tensor ``[T, ...]`` without NaN
    (integer and bool currents become float32), ``leak`` in (0, 1], ``threshold`` > 0, ``reset``
    one of :data:`LEAKY_RESETS`."""
    validate.tensor("current", current, min_dim=1)
    if current.numel() == 0:
        raise ValueError(f"current is empty (shape {tuple(current.shape)}): it needs currents [T, ...], "
                         f"T >= 1")
    current = validate.as_float("current", current)
    leak, threshold = validate.leak("leak", leak), validate.positive("threshold", threshold)
    neuron = _snntorch().Leaky(beta=leak, threshold=threshold,
                               reset_mechanism=validate.choice("reset", reset, LEAKY_RESETS))
    mem, spikes, membranes = neuron.reset_mem(), [], []
    for step in current:
        spk, mem = neuron(step, mem)
        spikes.append(spk)
        membranes.append(mem)
    return torch.stack(spikes), torch.stack(membranes)


class _StepDropout(nn.Module):
    """Dropout whose mask is drawn at the first step of a forward pass and reused at every step."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p
        self.mask: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        if self.mask is None:
            self.mask = torch.empty_like(x).bernoulli_(1 - self.p) / (1 - self.p)
        return x * self.mask


class _Block(nn.Module):
    r"""A residual block, one time step: :math:`y = N_2(W_2 * N_1(W_1 * x) + S(x))`."""

    def __init__(self, block: Residual):
        super().__init__()
        self.conv1, self.lif1 = _stateless(block.conv1), _leaky(block.neuron1)
        self.dropout = _convert(block.dropout)
        self.conv2, self.shortcut = _stateless(block.conv2), _stateless(block.shortcut)
        self.lif2 = _leaky(block.neuron2)

    def init_state(self):
        return self.lif1.reset_mem(), self.lif2.reset_mem()

    def forward(self, x, state):
        mem1, mem2 = state
        spk1, mem1 = self.lif1(self.conv1(x), mem1)
        spk2, mem2 = self.lif2(self.conv2(self.dropout(spk1)) + self.shortcut(x), mem2)
        return spk2, (mem1, mem2)


def _stateless(module: nn.Module) -> nn.Module:
    """The per-step form of a stateless layer: ``TimeBatched(m)`` -> ``m`` (the same weights)."""
    return module.module if isinstance(module, TimeBatched) else module


def _convert(module: nn.Module) -> nn.Module:
    if isinstance(module, LIF):
        return _leaky(module)
    if isinstance(module, TimeFixedDropout):
        return _StepDropout(module.p)
    if isinstance(module, Flatten):
        return nn.Flatten(1)
    if isinstance(module, Residual):
        return _Block(module)
    if isinstance(module, (nn.ReLU, nn.Sigmoid, nn.Tanh)):
        raise ValueError("to_snntorch needs a spiking network (spiking=True), not an ANN twin")
    return _stateless(module)


class SnnTorchTwin(nn.Module):
    """An snnbp network rebuilt with ``snntorch.Leaky`` and a per-time-step loop.

    Input: the encoded spikes ``[T, B, ...]`` (``net.encode(images)``); output ``V_out(T)/T``
    ``[B, classes]``. Convolutions and linear layers are the snnbp network's own modules, so the
    twin shares its weight tensors (and an optimizer over either updates both). Per step ``t`` each
    stage computes ``spk, mem = lif(conv(x[t]), mem)``: snnTorch's
    :math:`m[t] = \beta (1 - r[t-1]) m[t-1] + I[t]`, :math:`s[t] = 1[m[t] > V_{th}]`.

    Example::

        net = snnbp.build("lenet", "mnist", timesteps=20).eval()
        spikes = net.encode(images)
        twin = to_snntorch(net)
        torch.testing.assert_close(twin(spikes), net.run(spikes))
    """

    def __init__(self, net: nn.Module):
        super().__init__()
        _check_net(net)
        self.stages = nn.ModuleList(_convert(m) for m in net.features)
        self.classifier = _stateless(net.classifier)
        self.readout = net.readout                            # snnbp's OutputIntegrator: no weights

    def _initial_state(self) -> dict:
        """Index of each stateful stage -> its initial membrane(s), as snnTorch's ``reset_mem``."""
        state = {}
        for i, stage in enumerate(self.stages):
            if isinstance(stage, _Block):
                state[i] = stage.init_state()
            elif hasattr(stage, "reset_mem"):
                state[i] = stage.reset_mem()
        return state

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        for module in self.modules():
            if isinstance(module, _StepDropout):
                module.mask = None                              # a new mask per forward pass
        state, currents = self._initial_state(), []
        for x in spikes:                                        # t = 1..T
            for i, stage in enumerate(self.stages):
                if i in state:
                    x, state[i] = stage(x, state[i])
                else:
                    x = stage(x)
            currents.append(self.classifier(x))                 # the output layer's current W s[t]
        return self.readout(torch.stack(currents))              # V_out(T) / T


def _check_net(net: nn.Module) -> nn.Module:
    """``net`` must be a spiking snnbp network (``snnbp.build``/``snnbp.custom``, ``spiking=True``)."""
    wanted = "a spiking snnbp network (snnbp.build(...) or snnbp.custom(...) with spiking=True)"
    if not isinstance(net, nn.Module) or not all(hasattr(net, a) for a in ("features", "classifier", "readout", "run")):
        raise TypeError(f"net must be {wanted}, got {type(net).__name__}: the bridge rebuilds snnbp's own layers "
                        f"(LIF, TimeBatched, Residual ...) and cannot convert another module")
    if getattr(net, "spiking", True) is False or not isinstance(net.readout, OutputIntegrator):
        raise ValueError(f"net is an ANN twin (spiking=False), which has no spiking layers: the bridge needs {wanted}")
    if not any(isinstance(m, LIF) for m in net.modules()):
        raise ValueError(f"net has no spiking layers (LIF): the bridge needs {wanted}")
    return net


def _check_spikes(net: nn.Module, spikes) -> torch.Tensor:
    """``spikes`` as ``net``'s encoded input ``[T, B, C, H, W]`` in the dtype of its weights."""
    fix = "compare takes encoded input spikes [T, B, C, H, W]: use net.encode(images)"
    validate.tensor("spikes", spikes)
    chw = tuple(net.in_shape) if getattr(net, "in_shape", None) is not None else None
    expected = f"[T, B, {', '.join(map(str, chw))}]" if chw else "[T, B, C, H, W]"
    if spikes.dim() == 4 and (chw is None or tuple(spikes.shape[1:]) == chw):
        raise ValueError(f"spikes has shape {tuple(spikes.shape)}, images [B, C, H, W] rather than spikes: {fix}")
    if spikes.dim() != 5 or (chw is not None and tuple(spikes.shape[2:]) != chw):
        raise ValueError(f"spikes must be {expected} for this net, got shape {tuple(spikes.shape)}: {fix}")
    if spikes.numel() == 0:
        raise ValueError(f"spikes is empty (shape {tuple(spikes.shape)}): T and B must be >= 1; {fix}")
    if isinstance(getattr(net, "encoder", None), PoissonEncoder):        # direct input is analog
        validate.spike_values("spikes", spikes, f"images rather than Poisson spikes? {fix}")
    weight = next(net.parameters())
    if spikes.device != weight.device:
        raise ValueError(f"spikes is on {spikes.device} but net on {weight.device}: spikes.to('{weight.device}')")
    return spikes if spikes.dtype == weight.dtype else spikes.to(weight.dtype)


def to_snntorch(net: nn.Module) -> SnnTorchTwin:
    """The snnTorch twin of the spiking snnbp network ``net`` (lenet, vgg*, resnet*, mlp), sharing its weights.

    An ANN twin (``spiking=False``) is a ``ValueError``, a module that is not an snnbp network
    (e.g. an ``nn.Sequential``) a ``TypeError``."""
    twin = SnnTorchTwin(net)
    twin.train(net.training)
    return twin


@dataclass
class Comparison:
    """How far an snnbp network and its snnTorch twin agree on one input."""

    layers: int                 # neuron layers compared
    spikes: int                 # spike decisions compared (neurons x steps x batch, all layers)
    mismatched: int             # decisions that differ
    max_output_diff: float      # max |V_out(T)/T| difference
    max_grad_diff: float | None = None   # max |dL/dW| difference, when gradients were compared

    @property
    def equal(self) -> bool:
        """Same spikes everywhere and outputs equal up to float rounding."""
        return self.mismatched == 0 and self.max_output_diff <= 1e-5

    def __str__(self) -> str:
        grad = "" if self.max_grad_diff is None else f", max |grad diff| {self.max_grad_diff:.2e}"
        return (f"{self.layers} neuron layers, {self.mismatched} of {self.spikes} spikes differ, "
                f"max |output diff| {self.max_output_diff:.2e}{grad}")


def _capture(modules: list[nn.Module], store: list[list[torch.Tensor]]):
    """Forward hooks appending each module's output spikes (the first output) to ``store[k]``."""
    def hook(k):
        def fn(module, args, out):
            store[k].append((out[0] if isinstance(out, tuple) else out).detach())
        return fn
    return [m.register_forward_hook(hook(k)) for k, m in enumerate(modules)]


def _spiking_layers(net: nn.Module, kind: type) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, kind)]


def compare(net: nn.Module, spikes: torch.Tensor, twin: SnnTorchTwin | None = None, *,
            gradients: bool = False, seed: int = 0) -> Comparison:
    """Run ``net`` (:meth:`~snnbp.models.Network.run`, as its forward pass does after encoding) and its
    snnTorch ``twin`` on the same encoded input ``spikes [T, B, ...]``. On the CPU a convolutional
    ``net`` runs channels-last by default, where float sums in another order can flip a spike near
    threshold in a deep network (see :class:`~snnbp.models.Network`); ``net.channels_last = False``
    compares the twin with the plain layout.

    Compares every neuron layer's spikes and the outputs; with ``gradients=True`` also the
    weight gradients of the loss ``sum(output**2)`` (which agree only where the twin's backward
    equals snnbp's, see the module docstring). Dropout masks agree when both draw them from the
    same ``seed`` (the generator is reseeded before each side runs).

    Checked before anything runs: ``net`` a spiking snnbp network (see :func:`to_snntorch`);
    ``spikes`` its encoded input ``[T, B, C, H, W]`` (``net.encode(images)``; any T), holding
    only -1, 0 and 1 when the net encodes with Poisson spikes (images, or spikes of another
    shape, are an error rather than a meaningless count); integer, bool and other floating
    dtypes are converted to the weights' dtype (a net moved with ``.double()`` works); ``twin``
    None or the :class:`SnnTorchTwin` of this very ``net`` (sharing its weights);
    ``gradients`` True or False; ``seed`` an integer.
    """
    _check_net(net)
    spikes = _check_spikes(net, spikes)
    gradients = validate.flag("gradients", gradients)
    validate.instance("seed", seed, int, "an integer (the seed of both sides' dropout masks)")
    if twin is not None:
        validate.instance("twin", twin, SnnTorchTwin, "None or the SnnTorchTwin of net",
                          "build it with bridge.to_snntorch(net), or leave twin out")
        ours = {id(p) for p in net.parameters()}
        if not all(id(p) in ours for p in twin.parameters()):
            raise ValueError("twin was built from another network (it does not share net's weights): "
                             "use bridge.to_snntorch(net), or leave twin out")
    twin = to_snntorch(net) if twin is None else twin
    ours, theirs = _spiking_layers(net, LIF), _spiking_layers(twin, _snntorch().Leaky)
    if len(ours) != len(theirs):
        raise ValueError(f"{len(ours)} snnbp neuron layers but {len(theirs)} in the twin")
    got_ours, got_theirs = [[] for _ in ours], [[] for _ in theirs]
    handles = _capture(ours, got_ours) + _capture(theirs, got_theirs)
    params = [p for p in net.parameters() if p.requires_grad]
    try:
        with torch.set_grad_enabled(gradients):
            torch.manual_seed(seed)
            out_ours = net.run(spikes)
            grads_ours = torch.autograd.grad(out_ours.pow(2).sum(), params) if gradients else None
            torch.manual_seed(seed)
            out_theirs = twin(spikes)
            grads_theirs = torch.autograd.grad(out_theirs.pow(2).sum(), params) if gradients else None
    finally:
        for handle in handles:
            handle.remove()
    total = mismatched = 0
    for a, b in zip(got_ours, got_theirs):
        a, b = a[0], torch.stack(b)                   # snnbp: one [T, B, ...] call; twin: T steps
        total += a.numel()
        mismatched += int((a != b).sum())
    grad_diff = None
    if gradients:
        grad_diff = max(float((g1 - g2).abs().max()) for g1, g2 in zip(grads_ours, grads_theirs))
    return Comparison(len(ours), total, mismatched, float((out_ours - out_theirs).detach().abs().max()), grad_diff)
