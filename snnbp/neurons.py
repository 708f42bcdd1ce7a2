r"""Leaky integrate-and-fire (LIF) and integrate-and-fire (IF) neurons in discrete time.

Per time step :math:`t = 1..T`, in the paper's order (paper-spec section 1):

.. math::

    H[t] &= V[t-1] + I[t]                 && \text{integrate the input current } I = W x

    s[t] &= 1[H[t] > V_{th}]              && \text{fire (strict inequality)}

    R[t] &= H[t]\,(1 - s[t])              && \text{reset to zero (or } H - V_{th} s \text{)}

    V[t] &= \lambda R[t]                  && \text{leak, after the reset}

so :math:`V[t] = \lambda (V[t-1] + I[t])(1 - s[t])`. ``H`` is the *membrane* that
``record=True`` keeps (after integration, before reset). An IF neuron is the case
:math:`\lambda = 1`.

Backward (the paper's rule, ``surrogate="paper"``): :math:`\partial s/\partial H = s / V_{th}`;
the membrane carries gradient through time with the leak treated as identity (detached) and the
factor :math:`(1 - s)` at the reset (the reset's spike is detached). With leak correction the
gradient arriving at the spike output is multiplied at every step by

.. math::

    NG = 1[LF > 10^{-3}] + \ln(\lambda)\, LF / \gamma, \quad
    LF = \sum_t \lambda^{T-t} s[t], \quad \gamma = \sum_t s[t] \;(1 \text{ where } < 10^{-3}).

Two implementations give the same numbers: ``backend="fused"`` (default) runs the whole time
loop inside one :class:`torch.autograd.Function` and writes the backward recursion by hand,
saving only the spikes (and the membrane for surrogates that need it); ``backend="reference"``
is the textbook per-step loop that autograd differentiates, kept to test the fused one against.
"""
from __future__ import annotations

import functools
import math

import torch
from torch import nn

from . import _checks
from . import surrogate as _surrogate

__all__ = ["LIF", "IF", "RESETS", "BACKENDS", "leak_correction_factor", "lif_reference", "lif_fused"]

RESETS = ("zero", "subtract")
BACKENDS = ("fused", "reference")


def leak_correction_factor(spikes: torch.Tensor, leak: float) -> torch.Tensor:
    r"""The paper's per-neuron leak correction :math:`NG` from a spike train ``[T, ...]``.

    .. math::  NG = 1[LF > 10^{-3}] + \ln(\lambda)\,LF/\gamma, \quad
               LF = \sum_{t=1}^{T} \lambda^{T-t} s[t], \quad \gamma = \sum_t s[t]

    With :math:`\lambda = 0.99` a neuron that fired has :math:`NG \in [1 + \ln 0.99, 1]
    \approx [0.98995, 1]`; a silent one has :math:`NG = 0`. Returns a tensor of shape ``[...]``.
    """
    steps = spikes.shape[0]
    spikes = spikes.float()
    powers = leak ** torch.arange(steps - 1, -1, -1, dtype=torch.float32, device=spikes.device)
    lf = torch.tensordot(powers, spikes, dims=1)
    gamma = spikes.sum(0)                                     # spikes are 0 or 1
    gamma = torch.where(gamma < 1e-3, torch.ones_like(gamma), gamma)
    return (lf > 1e-3).float() + math.log(leak) * lf / gamma


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


def lif_reference(current: torch.Tensor, leak: float, threshold: float, reset: str,
                  rule: _surrogate.Surrogate, detach_leak: bool, leak_correction: bool):
    """The textbook loop, differentiated by autograd. Returns ``(spikes, membrane)``, both ``[T, ...]``."""
    v = torch.zeros_like(current[0], dtype=torch.float32)
    spikes, membranes = [], []
    for t in range(current.shape[0]):
        h = v + current[t]                                    # integrate
        s = _surrogate.spike(h, threshold, rule)              # fire
        kept = s.detach()
        r = h * (1 - kept) if reset == "zero" else h - threshold * kept   # reset
        v = leak * r.detach() + (r - r.detach()) if detach_leak else leak * r   # leak (identity backward)
        spikes.append(s)
        membranes.append(h)
    spikes, membranes = torch.stack(spikes), torch.stack(membranes)
    if leak_correction:
        spikes = _ScaleGrad.apply(spikes, leak_correction_factor(spikes.detach(), leak))
    return spikes.to(current.dtype), membranes


#: Neurons per block of the CPU scan. The scan runs the whole time loop on one block of neurons
#: before the next, so the block's membrane stays in cache. 2**15 is PyTorch's parallel grain
#: size: each small kernel then runs on one thread without an OpenMP barrier, which measured
#: 5-8x faster for a VGG9 step on 2 busy cores than 2**17 (benchmarks/README.md). (Sharing the
#: blocks out over Python threads measured no faster: the GIL.) GPUs: one block.
CPU_BLOCK = 1 << 15


def _blocks(width: int, device: torch.device) -> list[slice]:
    """Split ``width`` neurons into the blocks the scan runs one after another."""
    size = CPU_BLOCK if device.type == "cpu" else max(width, 1)
    return [slice(start, min(start + size, width)) for start in range(0, width, size)]


def _simple_rule_scale(rule: _surrogate.Surrogate, threshold: float) -> float | None:
    r"""``c`` when ``rule`` is :math:`\partial s/\partial H = c\,s` (paper: :math:`1/V_{th}`; straight-through: 1)."""
    if type(rule) is _surrogate.Paper:
        return 1.0 / threshold
    if type(rule) is _surrogate.StraightThrough:
        return 1.0
    return None


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


def _scan_forward(cur, spikes, membrane, fired, factor, leak, threshold, reset, scratch):
    """The forward time loop on one block of neurons: ``cur``, ``spikes``, ... are ``[T, n]`` views."""
    if reset == "zero":
        _scan_forward_zero(cur, spikes, membrane, leak, threshold, scratch)
    else:
        _scan_forward_subtract(cur, spikes, membrane, leak, threshold)
    if factor is not None:
        factor.copy_(leak_correction_factor(spikes, leak))
    if fired is not None:
        fired.copy_(spikes)


def _scan_forward_zero(cur, spikes, membrane, leak, threshold, scratch):
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


def _scan_forward_subtract(cur, spikes, membrane, leak, threshold):
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


@functools.lru_cache(maxsize=64)
def _next_float_up(x: float) -> float:
    """The smallest float32 above ``x``."""
    return float(torch.nextafter(torch.tensor(x, dtype=torch.float32), torch.tensor(math.inf)))


def _scan_backward(grad, grad_h, fired, membrane, ng, leak, threshold, reset, rule, carry):
    r"""The backward recursion on one block: fills ``grad_h`` = :math:`\partial L/\partial H` ``[T, n]``.

    :math:`\partial L/\partial H[t] = a[t] + c_{leak}\,\partial R[t]/\partial H[t]\;\partial L/\partial H[t+1]`,
    with :math:`a[t] = \partial L/\partial s[t]\; NG\; \partial s[t]/\partial H[t]`.
    """
    steps = fired.shape[0]
    spikes = fired.float()                                    # s [T, n], 0.0 or 1.0
    scale = _simple_rule_scale(rule, threshold)
    outs, fires = grad_h.unbind(0), spikes.unbind(0)
    if scale is not None:
        # ds/dH = c s, so a[t] = s[t] b[t] with b = dL/ds NG c: b for all steps in one kernel
        torch.mul(grad, scale if ng is None else ng * scale, out=grad_h)
        outs[-1].mul_(fires[-1])
        for t in range(steps - 2, -1, -1):
            s, out, later = fires[t], outs[t], outs[t + 1]
            if carry != 1.0:
                later = later * carry
            if reset == "zero":                               # dR/dH = 1 - s: one of the two terms is zero
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
        torch.mul(grads[t], rule.grad(mem, s, threshold), out=out)
        if ng is not None:
            out.mul_(ng)
        if later is None:
            continue
        if reset == "zero":                                   # a + (1 - s) later, as a select on s
            torch.lerp(out + later, out, s, out=out)
        else:
            out.add_(later)


class _LIFScan(torch.autograd.Function):
    """The whole time loop as one autograd node: no per-step graph.

    Tensors are viewed as ``[T, N]`` (N neurons, in memory order) and scanned block by block
    (:data:`CPU_BLOCK`). Saved for the backward pass: the spikes as booleans (1 byte, not 4: the
    float output is often dropped-out before the next layer saves it, so it need not stay alive),
    the leak-correction factor ``NG`` ``[N]`` and, for surrogates that need it, the membrane ``H``.
    """

    @staticmethod
    def forward(ctx, current, leak, threshold, reset, rule, detach_leak, leak_correction, keep_membrane,
                save_membrane, needs_grad):
        steps, order = current.shape[0], _memory_order(current)
        laid = current.permute(order)                         # the scan runs in memory order
        cur = laid.reshape(steps, -1)
        spikes = torch.empty_like(cur)
        membrane = torch.empty_like(cur, dtype=torch.float32) if (keep_membrane or save_membrane) else None
        factor = torch.empty(cur.shape[1], device=cur.device) if (leak_correction and needs_grad) else None
        fired = torch.empty_like(cur, dtype=torch.bool) if needs_grad else None

        blocks = _blocks(cur.shape[1], cur.device)
        scratch = None                                        # a float32 buffer for -H when spikes are not float32
        if reset == "zero" and spikes.dtype != torch.float32 and blocks:
            scratch = torch.empty(steps, blocks[0].stop, device=cur.device)   # reused by every block
        for b in blocks:
            _scan_forward(cur[:, b], spikes[:, b], None if membrane is None else membrane[:, b],
                          None if fired is None else fired[:, b], None if factor is None else factor[b],
                          leak, threshold, reset, scratch)
        ctx.params = (leak, threshold, reset, rule, detach_leak, laid.shape, order)
        ctx.save_for_backward(fired, membrane if rule.needs_membrane else None, factor)
        spikes = _unlay(spikes, laid.shape, order)
        if membrane is None:
            return spikes, None
        ctx.mark_non_differentiable(membrane)
        return spikes, (_unlay(membrane, laid.shape, order) if keep_membrane else None)

    @staticmethod
    def backward(ctx, grad_spikes, _grad_membrane):
        leak, threshold, reset, rule, detach_leak, shape, order = ctx.params
        fired, membrane, factor = ctx.saved_tensors
        steps = fired.shape[0]
        grad = grad_spikes.permute(order).reshape(steps, -1)
        grad_h = torch.empty_like(fired, dtype=torch.float32)
        carry = 1.0 if detach_leak else leak                  # dV[t]/dR[t]

        for b in _blocks(fired.shape[1], fired.device):
            _scan_backward(grad[:, b], grad_h[:, b], fired[:, b], None if membrane is None else membrane[:, b],
                           None if factor is None else factor[b], leak, threshold, reset, rule, carry)
        return (_unlay(grad_h, shape, order).to(grad_spikes.dtype),) + (None,) * 9


def lif_fused(current: torch.Tensor, leak: float, threshold: float, reset: str,
              rule: _surrogate.Surrogate, detach_leak: bool, leak_correction: bool,
              keep_membrane: bool = False):
    """The fused scan. Returns ``(spikes, membrane or None)``; same numbers as :func:`lif_reference`."""
    needs_grad = torch.is_grad_enabled() and current.requires_grad
    save_membrane = rule.needs_membrane and needs_grad
    return _LIFScan.apply(current, leak, threshold, reset, rule, detach_leak, leak_correction,
                          keep_membrane, save_membrane, needs_grad)


class LIF(nn.Module):
    r"""A layer of leaky integrate-and-fire neurons: currents ``[T, B, ...]`` -> spikes ``[T, B, ...]``.

    Args:
        leak: :math:`\lambda \in (0, 1]`, the factor the membrane keeps per step (0.99: :math:`\tau \approx 100` steps).
        threshold: :math:`V_{th} > 0`.
        reset: ``"zero"`` (:math:`V \leftarrow V(1-s)`, the paper's) or ``"subtract"`` (:math:`V \leftarrow V - s V_{th}`).
        surrogate: a name from :data:`snnbp.surrogate.NAMES` or a :class:`~snnbp.surrogate.Surrogate`.
        leak_correction: multiply the spike-output gradient by the paper's :math:`NG` (part of the paper's
            rule; :math:`NG = 0` for a neuron that never fired, which silences smooth surrogates).
        record: keep ``.membrane`` (:math:`H`, after integration, before reset) and ``.spikes``
            of the last call, detached, for plotting.
        detach_leak: treat the leak as identity in the backward pass. Default: True for the
            ``"paper"`` surrogate (as in the authors' scripts), False for the others.
        backend: ``"fused"`` (one autograd node for all T steps) or ``"reference"`` (per-step autograd).
    """

    def __init__(self, leak: float = 0.99, threshold: float = 1.0, reset: str = "zero",
                 surrogate: str | _surrogate.Surrogate = "paper", leak_correction: bool = True,
                 record: bool = False, *, detach_leak: bool | None = None, backend: str = "fused"):
        super().__init__()
        self.leak = _checks.leak("leak", leak)
        self.threshold = _checks.positive("threshold", threshold)
        self.reset = _checks.choice("reset", reset, RESETS)
        self.surrogate = _surrogate.get(surrogate)
        self.leak_correction = bool(leak_correction)
        self.record = bool(record)
        self.detach_leak = isinstance(self.surrogate, _surrogate.Paper) if detach_leak is None else bool(detach_leak)
        self.backend = _checks.choice("backend", backend, BACKENDS)
        self.membrane: torch.Tensor | None = None
        self.spikes: torch.Tensor | None = None

    def forward(self, current: torch.Tensor) -> torch.Tensor:
        if not isinstance(current, torch.Tensor):
            raise TypeError(f"current must be a torch.Tensor [T, B, ...], got {type(current).__name__}")
        if current.dim() < 2:
            raise ValueError(f"current must have shape [T, B, ...] (at least 2 dimensions), got {tuple(current.shape)}")
        args = (self.leak, self.threshold, self.reset, self.surrogate, self.detach_leak, self.leak_correction)
        if self.backend == "fused":
            spikes, membrane = lif_fused(current, *args, keep_membrane=self.record)
        else:
            spikes, membrane = lif_reference(current, *args)
        if self.record:
            self.membrane, self.spikes = membrane.detach(), spikes.detach()
        return spikes

    @torch.no_grad()
    def step(self, v: torch.Tensor, current: torch.Tensor):
        r"""One time step without gradients, for teaching and for naive loops.

        Returns ``(v_next, s, h)``: the membrane after reset and leak, the spikes, and the
        membrane after integration :math:`H = V + I`.
        """
        h = v + current
        s = (h > self.threshold).to(h.dtype)
        r = h * (1 - s) if self.reset == "zero" else h - self.threshold * s
        return self.leak * r, s, h

    def extra_repr(self) -> str:
        return (f"leak={self.leak}, threshold={self.threshold}, reset={self.reset!r}, "
                f"surrogate={self.surrogate.name!r}, leak_correction={self.leak_correction}")


class IF(LIF):
    r"""Non-leaky integrate-and-fire neurons (:math:`\lambda = 1`), the paper's neuron after
    2x2 average pooling: threshold 0.75, hard reset, gradient straight through at the neurons
    that fired (:math:`\partial s/\partial H = s`), no leak correction."""

    def __init__(self, threshold: float = 0.75, reset: str = "zero",
                 surrogate: str | _surrogate.Surrogate = "straight_through",
                 leak_correction: bool = False, record: bool = False, *, backend: str = "fused"):
        super().__init__(leak=1.0, threshold=threshold, reset=reset, surrogate=surrogate,
                         leak_correction=leak_correction, record=record, backend=backend)
