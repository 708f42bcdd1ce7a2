r"""Assignment 2, *the paper's approximate derivative*: a spike function whose backward pass is
:math:`\partial s/\partial H = s / V_{th}`, a LIF layer that uses it with the paper's detached
leak and reset, and the same gradient written out by hand (paper-spec section 3).

The reference is snnbp's per-step LIF (``backend="reference"``, no leak correction), which
``tests/test_neurons.py`` checks against the hand formula; the student's three answers must all
agree with it.
"""
from __future__ import annotations

import torch

from ..neurons import LIF
from ..surrogate import spike
from ._core import Assignment, Question, Wrong, clone, expect, expect_close, expect_equal, expect_shape


def _membranes(seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(6, 5, generator=g) * 2


def check_paper_spike(PaperSpike) -> None:
    """``PaperSpike.apply(membrane, threshold)``: Heaviside forward, ``grad * s / threshold`` backward."""
    expect(isinstance(PaperSpike, type) and issubclass(PaperSpike, torch.autograd.Function),
           "PaperSpike must be a subclass of torch.autograd.Function.")
    for seed, threshold in ((0, 1.0), (1, 0.8), (2, 1.3)):
        membrane = _membranes(seed)
        membrane[0, 0] = threshold                                   # exactly at threshold: no spike
        upstream = torch.randn(membrane.shape, generator=torch.Generator().manual_seed(seed + 10))
        ours = membrane.clone().requires_grad_()
        expected = spike(ours, threshold, "paper")
        (expected * upstream).sum().backward()
        theirs = membrane.clone().requires_grad_()
        got = PaperSpike.apply(theirs, threshold)
        expect_equal(f"PaperSpike.apply(membrane, {threshold}) (the forward pass)", got, expected.detach())
        expect(got.requires_grad, "the spikes must be connected to the graph: return a new tensor from forward.")
        (got * upstream).sum().backward()
        expect(theirs.grad is not None, "no gradient reached the membrane: backward must return one.")
        expect_close(f"the gradient of PaperSpike with threshold {threshold}", theirs.grad, ours.grad)


def _currents(seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(25, 3, 4, generator=g) * 0.6


def _reference(current: torch.Tensor, leak: float, threshold: float, upstream: torch.Tensor):
    current = current.clone().requires_grad_()
    spikes = LIF(leak, threshold, leak_correction=False, backend="reference")(current)
    (spikes * upstream).sum().backward()
    return spikes.detach(), current.grad


def check_paper_lif(paper_lif) -> None:
    """``paper_lif(current, leak, threshold) -> spikes`` whose gradient is the paper's rule."""
    for seed, leak, threshold in ((0, 0.99, 1.0), (1, 0.9, 0.8)):
        current = _currents(seed)
        upstream = torch.randn(current.shape, generator=torch.Generator().manual_seed(seed + 20))
        expected_spikes, expected_grad = _reference(current, leak, threshold, upstream)
        x = current.clone().requires_grad_()
        spikes = paper_lif(x, leak, threshold)
        where = f"for currents [T, B, N] = {list(current.shape)}, leak={leak}, threshold={threshold}"
        expect_equal(f"the spikes {where}", spikes.detach() if isinstance(spikes, torch.Tensor) else spikes,
                     expected_spikes)
        expect(spikes.requires_grad, f"the spikes {where} carry no gradient: build them with PaperSpike.apply.")
        (spikes * upstream).sum().backward()
        expect(x.grad is not None, "no gradient reached the input currents.")
        try:
            expect_close(f"the gradient dL/dI {where}", x.grad, expected_grad, atol=1e-5)
        except Wrong as wrong:
            raise Wrong(f"{wrong} Is the leak treated as the identity in the backward pass, and the spike "
                        "in the reset detached?") from None


def check_gradient_by_hand(paper_gradient_by_hand) -> None:
    """``paper_gradient_by_hand(spikes, grad_spikes, threshold) -> dL/dI`` equals autograd's."""
    for seed, leak, threshold in ((2, 0.99, 1.0), (3, 0.95, 0.7)):
        current = _currents(seed)
        upstream = torch.randn(current.shape, generator=torch.Generator().manual_seed(seed + 30))
        spikes, expected = _reference(current, leak, threshold, upstream)
        got = paper_gradient_by_hand(clone(spikes), clone(upstream), threshold)
        expect_shape("paper_gradient_by_hand(...)", got, tuple(spikes.shape))
        expect_close(f"paper_gradient_by_hand for threshold {threshold}", got, expected, atol=1e-5)


ASSIGNMENT = Assignment("surrogate_gradient", "The paper's approximate derivative", (
    Question("q1", "the spike function as a torch.autograd.Function", 4, ("PaperSpike",), check_paper_spike,
             "forward: save s = (membrane > threshold).float() with ctx.save_for_backward and keep the threshold "
             "on ctx; backward returns (grad_output * s / threshold, None): one gradient per forward input."),
    Question("q2", "a LIF layer with the paper's backward rule", 3, ("paper_lif",), check_paper_lif,
             "h = v + current[t]; s = PaperSpike.apply(h, threshold); r = h * (1 - s.detach()); "
             "v = r + (leak - 1) * r.detach() keeps the value leak * r but passes gradient straight through."),
    Question("q3", "the same gradient by hand", 3, ("paper_gradient_by_hand",), check_gradient_by_hand,
             "go backwards in time: d[t] = g[t] * s[t] / threshold + (1 - s[t]) * d[t+1], with d[T+1] = 0."),
))
