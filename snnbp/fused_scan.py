r"""The fused LIF scan: the whole time loop in one autograd node, with its backward written by hand.

:func:`snnbp.neurons.lif_reference` states the neuron (one :func:`~snnbp.neurons.lif_step` per
time step, differentiated by autograd); this module computes the same numbers faster, and
``tests/test_speed_paths.py`` checks every path of it against the reference. Nothing here is a
new equation: the forward pass is charge, fire, reset, leak, and the backward pass is

.. math::

    \frac{\partial L}{\partial H[t]} = a[t] + c\,\frac{\partial R[t]}{\partial H[t]}\,
    \frac{\partial L}{\partial H[t+1]}, \qquad
    a[t] = \frac{\partial L}{\partial s[t]}\; NG\; \frac{\partial s[t]}{\partial H[t]},

with :math:`c = 1` for a detached leak (the paper's), else :math:`\lambda`, and
:math:`\partial R/\partial H = 1 - s` (reset to zero; the reset's spike is detached) or 1 (subtract).

Speed, and why (measurements in ``benchmarks/README.md``):

* the scan runs the whole time loop on one block of :data:`CPU_BLOCK` neurons before the next, so
  the block's membrane stays in cache;
* it reads its input in memory order (:func:`_memory_order`), so a channels-last convolution's
  output is scanned without a copy and the spikes keep that layout;
* it saves only the spikes as booleans for the backward pass (and the membrane for surrogates that
  need it), and the paper's zero reset takes three kernels a step;
* ``torch.compile`` does not trace into it. For the spike-only surrogates (the paper's, straight-through)
  it is a custom operator (``torch.ops.snnbp.lif_scan`` and its backward) that a compiled graph
  calls as a whole, so a compiled network stays one graph; for the others (and with
  ``keep_membrane``) it is an autograd function behind ``torch.compiler.disable``, a graph break.
  Traced, the scan's per-step loop and per-layer constants made dynamo recompile its helpers for
  every layer, and keep recompiling in the first training steps.

Taught in chapter 10 (``book/10_cost``).
"""
from __future__ import annotations

import functools
import inspect
import math
from types import SimpleNamespace
from typing import Any

import torch

from . import validate
from .surrogate import leak_correction_factor

__all__ = ["lif_scan", "supports", "CPU_BLOCK"]

#: What the scan reads from its ``settings``: a :class:`snnbp.neurons.LIFSettings` (this module does
#: not import :mod:`snnbp.neurons`, which imports it) or anything with its fields ``leak``,
#: ``threshold``, ``reset``, ``surrogate``, ``detach_leak``, ``leak_correction``.
Settings = Any

#: Neurons per block of the CPU scan. The scan runs the whole time loop on one block of neurons
#: before the next, so the block's membrane stays in cache. 2**15 is PyTorch's parallel grain
#: size: each small kernel then runs on one thread without an OpenMP barrier, which measured
#: 5-8x faster for a VGG9 step on 2 busy cores than 2**17 (benchmarks/README.md). (Sharing the
#: blocks out over Python threads measured no faster: the GIL.) GPUs: one block.
CPU_BLOCK = 1 << 15


def supports(settings: Settings) -> str | None:
    """Why the fused scan cannot run ``settings``, or None when it can: what it supports, declared.

    It runs float leaks and thresholds (a tensor, e.g. a learnable leak, needs autograd through
    the loop) and surrogates whose self-description it can trust: ``needs_membrane = False`` only
    with a :meth:`~snnbp.surrogate.Surrogate.spike_scale` (:func:`snnbp.surrogate.register`
    checks this for registered ones). :class:`~snnbp.neurons.LIF` runs the reference loop instead
    when this gives a reason. One call per layer call, no per-step work.
    """
    for name in ("leak", "threshold"):
        if isinstance(getattr(settings, name), torch.Tensor):
            return f"{name} is a tensor (the scan's backward has no gradient for it)"
    rule = settings.surrogate
    if not rule.needs_membrane and rule.spike_scale(settings.threshold) is None:
        return (f"surrogate {rule!r} says needs_membrane=False but gives no spike_scale, so its grad "
                f"would get no membrane")
    return None


def _blocks(width: int, device: torch.device) -> list[slice]:
    """Split ``width`` neurons into the blocks the scan runs one after another."""
    size = CPU_BLOCK if device.type == "cpu" else max(width, 1)
    return [slice(start, min(start + size, width)) for start in range(0, width, size)]


def _memory_order(x: torch.Tensor) -> tuple[int, ...]:
    """The order of ``x``'s dimensions in memory, outermost first, time (dimension 0) kept first.

    A channels-last convolution hands the scan ``[T, B, C, H, W]`` stored as ``[T, B, H, W, C]``;
    scanning it in that order reads and writes memory as it lies, instead of copying it to the
    default layout and back. For a default (contiguous) tensor this is ``(0, 1, ..., n-1)``.
    """
    rest = sorted(range(1, x.dim()), key=lambda d: (-x.stride(d), d))
    order = (0, *rest)
    return order if x.permute(order).is_contiguous() else tuple(range(x.dim()))


def _unlay(flat: torch.Tensor, shape: torch.Size, order: tuple[int, ...]) -> torch.Tensor:
    """A ``[T, N]`` scan result back to the caller's dimensions: undo ``x.permute(order).reshape(T, -1)``."""
    inverse = sorted(range(len(order)), key=order.__getitem__)
    return flat.view(shape).permute(inverse)


@functools.lru_cache(maxsize=64)
def _next_float_up(x: float) -> float:
    """The smallest float32 above ``x``."""
    return float(torch.nextafter(torch.tensor(x, dtype=torch.float32), torch.tensor(math.inf)))


# -- forward -------------------------------------------------------------------------------------

def _forward_block(cur, spikes, membrane, fired, factor, p: Settings, scratch):
    """The forward time loop on one block of neurons: ``cur``, ``spikes``, ... are ``[T, n]`` views."""
    if p.reset == "zero":
        _forward_zero(cur, spikes, membrane, p.leak, p.threshold, scratch)
    else:
        _forward_subtract(cur, spikes, membrane, p.leak, p.threshold)
    if factor is not None:
        factor.copy_(leak_correction_factor(spikes, p.leak))
    if fired is not None:
        fired.copy_(spikes)


def _forward_zero(cur, spikes, membrane, leak, threshold, scratch):
    r"""Reset to zero in three kernels a step, on the negated membrane :math:`u = -V`.

    :math:`-H[t] = u - I[t]`; :math:`-R[t] = -H[t]` where :math:`H[t] \le V_{th}`, else 0 (one
    ``threshold`` kernel); :math:`u \leftarrow \lambda(-R[t])`. Negation is exact in floating point,
    so these are the same numbers as the four-kernel loop; the spikes
    :math:`s[t] = 1[-H[t] < -V_{th}]` come afterwards in one kernel over all steps.
    """
    steps, width = cur.shape
    # -H[t] of every step, written where the spikes go (float32) and compared there in place
    negative_h = spikes if scratch is None else scratch[:steps, :width]
    u = torch.zeros_like(cur[0], dtype=torch.float32)
    above = -_next_float_up(threshold)                        # -H > above  <=>  H <= V_th
    for i, nh in zip(cur.unbind(0), negative_h.unbind(0)):
        torch.sub(u, i, out=nh)                               # -H[t] = -V[t-1] - I[t]
        torch.threshold(nh, above, 0.0, out=u)                # -R[t] = -H (1 - s[t])
        if leak != 1.0:
            u.mul_(leak)                                      # -V[t] = lam (-R[t])
    if membrane is not None:
        torch.neg(negative_h, out=membrane)
    torch.lt(negative_h, -threshold, out=spikes)              # s[t] = 1[H > V_th]


def _forward_subtract(cur, spikes, membrane, leak, threshold):
    """Reset by subtraction: integrate, fire, reset, leak, one kernel each per step."""
    v = torch.zeros_like(cur[0], dtype=torch.float32)
    rows = membrane.unbind(0) if membrane is not None else [None] * cur.shape[0]
    for i, s, h in zip(cur.unbind(0), spikes.unbind(0), rows):
        v.add_(i)                                             # H[t] = V[t-1] + I[t]
        if h is not None:
            h.copy_(v)
        torch.gt(v, threshold, out=s)                         # s[t] = 1[H > V_th]
        v.sub_(s, alpha=threshold)                            # R = H - V_th s
        if leak != 1.0:
            v.mul_(leak)                                      # V[t] = lam R


# -- backward ------------------------------------------------------------------------------------

def _backward_block(grad, grad_h, fired, membrane, ng, p: Settings):
    r"""The backward recursion on one block: fills ``grad_h`` = :math:`\partial L/\partial H` ``[T, n]``."""
    steps = fired.shape[0]
    spikes = fired.float()                                    # s [T, n], 0.0 or 1.0
    carry = 1.0 if p.detach_leak else p.leak                  # dV[t]/dR[t] in the backward pass
    scale = p.surrogate.spike_scale(p.threshold)
    outs, fires = grad_h.unbind(0), spikes.unbind(0)
    if scale is not None:
        # ds/dH = c s, so a[t] = s[t] b[t] with b = dL/ds NG c: b for all steps in one kernel
        torch.mul(grad, scale if ng is None else ng * scale, out=grad_h)
        outs[-1].mul_(fires[-1])
        for t in range(steps - 2, -1, -1):
            s, out, later = fires[t], outs[t], outs[t + 1]
            if carry != 1.0:
                later = later * carry
            if p.reset == "zero":                             # dR/dH = 1 - s: one of the two terms is zero
                torch.lerp(later, out, s, out=out)            # s ? b[t] : carry dL/dH[t+1]  (exact select)
            else:                                             # dR/dH = 1
                torch.addcmul(later, out, s, out=out)         # s b[t] + carry dL/dH[t+1]
        return
    grads = grad.unbind(0)
    for t in range(steps - 1, -1, -1):
        s, out = fires[t], outs[t]
        later = None if t == steps - 1 else outs[t + 1]
        if later is not None and carry != 1.0:
            later = later * carry
        mem = None if membrane is None else membrane[t]
        torch.mul(grads[t], p.surrogate.grad(mem, s, p.threshold), out=out)
        if ng is not None:
            out.mul_(ng)
        if later is None:
            continue
        if p.reset == "zero":                                 # a + (1 - s) later, as a select on s
            torch.lerp(out + later, out, s, out=out)
        else:
            out.add_(later)


def _part(x: torch.Tensor | None, block: slice) -> torch.Tensor | None:
    """Block ``block`` of a ``[T, N]`` (or ``[N]``) buffer, or None."""
    if x is None:
        return None
    return x[..., block]


def _forward(cur: torch.Tensor, p, keep_membrane: bool, needs_grad: bool):
    """The scan over ``cur`` ``[T, N]``, block by block: ``(spikes, membrane, fired, NG)``, each or None."""
    steps = cur.shape[0]
    save_membrane = p.surrogate.needs_membrane and needs_grad
    spikes = torch.empty_like(cur)
    membrane = torch.empty_like(cur, dtype=torch.float32) if (keep_membrane or save_membrane) else None
    factor = torch.empty(cur.shape[1], device=cur.device) if (p.leak_correction and needs_grad) else None
    fired = torch.empty_like(cur, dtype=torch.bool) if needs_grad else None
    blocks = _blocks(cur.shape[1], cur.device)
    scratch = None                                            # a float32 buffer for -H when spikes are not float32
    if p.reset == "zero" and spikes.dtype != torch.float32 and blocks:
        scratch = torch.empty(steps, blocks[0].stop, device=cur.device)   # reused by every block
    for b in blocks:
        _forward_block(cur[:, b], spikes[:, b], _part(membrane, b), _part(fired, b), _part(factor, b), p, scratch)
    return spikes, membrane, fired, factor


def _backward(grad: torch.Tensor, fired: torch.Tensor, membrane, factor, p) -> torch.Tensor:
    r""":math:`\partial L/\partial H` ``[T, N]`` (float32) from the gradient at the spikes ``[T, N]``."""
    grad_h = torch.empty_like(fired, dtype=torch.float32)
    for b in _blocks(fired.shape[1], fired.device):
        _backward_block(grad[:, b], grad_h[:, b], fired[:, b], _part(membrane, b), _part(factor, b), p)
    return grad_h


def _flat(current: torch.Tensor):
    """``current`` ``[T, ...]`` as ``[T, N]`` in memory order (a view when it is dense), and how to undo it."""
    order = _memory_order(current)
    laid = current.permute(order)
    return laid.reshape(current.shape[0], -1), (laid.shape, order)


class _LIFScan(torch.autograd.Function):
    """The whole time loop as one autograd node: no per-step graph (any surrogate; the membrane on request).

    Tensors are viewed as ``[T, N]`` (N neurons, in memory order) and scanned block by block
    (:data:`CPU_BLOCK`). Saved for the backward pass: the spikes as booleans (1 byte, not 4: the
    float output is often dropped-out before the next layer saves it, so it need not stay alive),
    the leak-correction factor ``NG`` ``[N]`` and, for surrogates that need it, the membrane ``H``.
    """

    @staticmethod
    def forward(ctx, current, p, keep_membrane, needs_grad):
        cur, layout = _flat(current)
        spikes, membrane, fired, factor = _forward(cur, p, keep_membrane, needs_grad)
        ctx.p, ctx.layout = p, layout
        ctx.save_for_backward(fired, membrane if (p.surrogate.needs_membrane and needs_grad) else None, factor)
        spikes = _unlay(spikes, *layout)
        if membrane is None:
            return spikes, None
        ctx.mark_non_differentiable(membrane)
        return spikes, (_unlay(membrane, *layout) if keep_membrane else None)

    @staticmethod
    def backward(ctx, grad_spikes, _grad_membrane):
        (shape, order), p = ctx.layout, ctx.p
        fired, membrane, factor = ctx.saved_tensors
        grad = grad_spikes.permute(order).reshape(fired.shape[0], -1)
        grad_h = _backward(grad, fired, membrane, factor, p)
        return _unlay(grad_h, shape, order).to(grad_spikes.dtype), None, None, None


# -- the same scan as two custom operators, for spike-only surrogates -----------------------------
# torch.compile keeps an operator in its graph without tracing into it: a compiled network stays one
# graph (no graph break at every neuron layer). The operators see the settings as plain numbers.

class _SpikeOnly:
    """A spike-only rule rebuilt from its scale: :math:`\\partial s/\\partial H = c\\,s`."""

    needs_membrane = False

    def __init__(self, scale: float):
        self.scale = scale

    def spike_scale(self, threshold: float) -> float:
        return self.scale


#: The settings the operators take as plain arguments, in order, with their types: the one place
#: their argument list is written (the schemas, :func:`_op_settings` and :func:`_plain` read it).
#: ``scale`` is the surrogate's :meth:`~snnbp.surrogate.Surrogate.spike_scale`.
_OP_SETTINGS = (("leak", float), ("threshold", float), ("reset", str), ("scale", float),
                ("detach_leak", bool), ("leak_correction", bool))
_ARGS = ", ".join(f"{kind.__name__} {name}" for name, kind in _OP_SETTINGS)


def _op_settings(p, scale: float) -> tuple:
    """``settings`` (and the surrogate's ``scale``) as the operators' plain arguments."""
    values = {"scale": scale} | {name: getattr(p, name) for name, _ in _OP_SETTINGS if name != "scale"}
    return tuple(kind(values[name]) for name, kind in _OP_SETTINGS)


def _plain(args) -> SimpleNamespace:
    """The settings the scan reads, from the operators' plain arguments."""
    values = dict(zip((name for name, _ in _OP_SETTINGS), args))
    return SimpleNamespace(**values, surrogate=_SpikeOnly(values.pop("scale")))


def _can_define_ops() -> bool:
    """torch.library.custom_op with an explicit schema: torch >= 2.4."""
    return (hasattr(torch.library, "custom_op")
            and "schema" in inspect.signature(torch.library.custom_op).parameters)


_HAS_CUSTOM_OP = _can_define_ops()
_custom_op = torch.library.custom_op if _HAS_CUSTOM_OP else (lambda name, **kwargs: lambda fn: fn)


@_custom_op("snnbp::lif_scan", mutates_args=(),
            schema=f"(Tensor cur, {_ARGS}, bool needs_grad) -> (Tensor, Tensor, Tensor)")
def _scan_op(cur: torch.Tensor, *args):
    *settings, needs_grad = args
    spikes, _, fired, factor = _forward(cur, _plain(settings), False, needs_grad)
    none = cur.new_empty(0)
    return spikes, none.bool() if fired is None else fired, none.float() if factor is None else factor


def _scan_op_fake(cur, *args):
    *settings, needs_grad = args
    fired = cur.new_empty(cur.shape if needs_grad else (0,), dtype=torch.bool)
    factor_shape = (cur.shape[1],) if (needs_grad and _plain(settings).leak_correction) else (0,)
    factor = cur.new_empty(factor_shape, dtype=torch.float32)
    return torch.empty_like(cur, memory_format=torch.contiguous_format), fired, factor


@_custom_op("snnbp::lif_scan_backward", mutates_args=(),
            schema=f"(Tensor grad, Tensor fired, Tensor factor, {_ARGS}) -> Tensor")
def _scan_backward_op(grad: torch.Tensor, fired: torch.Tensor, factor: torch.Tensor, *settings):
    p = _plain(settings)
    return _backward(grad, fired, None, factor if p.leak_correction else None, p)


def _scan_backward_op_fake(grad, fired, factor, *settings):
    return torch.empty_like(fired, dtype=torch.float32, memory_format=torch.contiguous_format)


def _setup(ctx, inputs, output):
    ctx.settings = inputs[1:1 + len(_OP_SETTINGS)]
    ctx.save_for_backward(output[1], output[2])


def _scan_op_backward(ctx, grad_spikes, _grad_fired, _grad_factor):
    fired, factor = ctx.saved_tensors
    grad_h = torch.ops.snnbp.lif_scan_backward(grad_spikes, fired, factor, *ctx.settings)
    return (grad_h.to(grad_spikes.dtype),) + (None,) * (len(_OP_SETTINGS) + 1)   # settings, needs_grad


if _HAS_CUSTOM_OP:
    _scan_op.register_fake(_scan_op_fake)
    _scan_backward_op.register_fake(_scan_backward_op_fake)
    _scan_op.register_autograd(_scan_op_backward, setup_context=_setup)


@torch.compiler.disable
def _scan_function(current: torch.Tensor, settings: Settings, keep_membrane: bool, needs_grad: bool):
    return _LIFScan.apply(current, settings, keep_membrane, needs_grad)


#: The fields the scan reads from its settings (those of :class:`snnbp.neurons.LIFSettings`).
FIELDS = ("leak", "threshold", "reset", "surrogate", "detach_leak", "leak_correction")


def lif_scan(current: torch.Tensor, settings: Settings, keep_membrane: bool = False):
    """Spikes ``[T, ...]`` (and the membrane :math:`H` ``[T, ...]`` if ``keep_membrane``, else None)
    of LIF neurons with ``settings`` driven by ``current`` ``[T, ...]``: the numbers of
    :func:`snnbp.neurons.lif_reference`, computed by the fused scan. ``settings`` must be ones it
    :func:`supports` (a ``ValueError`` says why not); ``current`` a tensor ``[T, ...]`` with no
    dimension of size 0, on a device with data. Checked once per call (no read-back; the values are
    :class:`snnbp.LIF`'s to check), then :func:`scan_unchecked`."""
    validate.tensor("current", current, min_dim=1, shape="[T, ...]", read=False,
                    nonempty="the scan needs T >= 1 time steps and at least one neuron (every dimension >= 1)")
    missing = [name for name in FIELDS if not hasattr(settings, name)]
    if missing:
        raise TypeError(f"settings must be a snnbp.neurons.LIFSettings (or have its fields {', '.join(FIELDS)}), "
                        f"got {type(settings).__name__} without {', '.join(missing)}")
    keep_membrane = validate.flag("keep_membrane", keep_membrane)
    reason = supports(settings)
    if reason is not None:
        raise ValueError(f"the fused LIF scan does not support these settings: {reason}; "
                         f"use snnbp.neurons.lif_reference (LIF(backend='reference'))")
    return scan_unchecked(current, settings, keep_membrane)


def scan_unchecked(current: torch.Tensor, settings: Settings, keep_membrane: bool = False):
    """:func:`lif_scan` without its checks, for :class:`snnbp.LIF`, which checks its current and
    asks :func:`supports` once per call itself."""
    needs_grad = torch.is_grad_enabled() and current.requires_grad
    scale = settings.surrogate.spike_scale(settings.threshold)
    if scale is None or keep_membrane or not _HAS_CUSTOM_OP:   # any surrogate, or the membrane: one autograd node
        return _scan_function(current, settings, keep_membrane, needs_grad)
    cur, layout = _flat(current)
    spikes, _, _ = torch.ops.snnbp.lif_scan(cur, *_op_settings(settings, scale), needs_grad)
    return _unlay(spikes, *layout), None
