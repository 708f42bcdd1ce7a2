r"""Assignment 1, *LIF neurons and Poisson spikes*: one neuron step in the paper's order, a whole
spike train from it, and the signed Poisson rate code (paper-spec sections 1 and 2).

Every check compares the student's function with :class:`snnbp.LIF` or with the statistics that
:func:`snnbp.poisson_encode` must have, on inputs fixed by seeds.
"""
from __future__ import annotations

import torch

from ..neurons import LIF
from ._core import Assignment, Question, Wrong, clone, describe, expect, expect_close, expect_shape


def _step_cases():
    g = torch.Generator().manual_seed(11)
    yield torch.zeros(3), torch.tensor([0.5, 1.0, 1.5]), 0.99, 1.0        # 1.0 is not > 1: no spike
    yield torch.rand(4, 5, generator=g), torch.rand(4, 5, generator=g), 0.9, 0.8
    yield torch.rand(7, generator=g) * 2, torch.randn(7, generator=g), 1.0, 1.5
    yield torch.full((2, 2), 0.6), torch.full((2, 2), 0.6), 0.5, 1.0


def check_lif_step(lif_step) -> None:
    """``lif_step(v, current, leak, threshold) -> (v_next, s, h)`` equals :meth:`snnbp.LIF.step`."""
    for v, current, leak, threshold in _step_cases():
        expected = LIF(leak, threshold).step(v, current)
        got = lif_step(clone(v), clone(current), leak, threshold)
        where = f"for v={describe(v)}, current={describe(current)}, leak={leak}, threshold={threshold}"
        expect(isinstance(got, (tuple, list)) and len(got) == 3,
               f"lif_step must return three tensors (v_next, s, h); {where} it returned {describe(got)}.")
        for k in (2, 1, 0):                   # h, then s, then v_next: the first thing that goes wrong
            expect_close(f"{('v_next', 's', 'h')[k]} {where}", got[k], expected[k])


def check_lif_run(lif_run) -> None:
    """``lif_run(currents, leak, threshold) -> spikes [T, ...]`` equals :class:`snnbp.LIF` from rest."""
    g = torch.Generator().manual_seed(12)
    cases = [(torch.full((15, 1), 0.25), 1.0, 1.0),               # H reaches 1.0 exactly: fires at t = 5, 10, 15
             (torch.rand(40, 3, 6, generator=g) * 0.5, 0.99, 1.0),
             (torch.rand(30, 8, generator=g) * 0.4, 0.9, 0.7)]
    for currents, leak, threshold in cases:
        expected = LIF(leak, threshold)(currents)
        got = lif_run(clone(currents), leak, threshold)
        where = f"for currents of shape {tuple(currents.shape)}, leak={leak}, threshold={threshold}"
        expect_shape(f"the spikes {where}", got, tuple(expected.shape))
        if not torch.equal(got.float(), expected):
            t, *_ = torch.nonzero(got.float() != expected)[0].tolist()
            raise Wrong(f"the spikes {where} first differ at time step {t + 1} (1-based): expected "
                        f"{int(expected[t].sum())} spikes at that step, got {float(got[t].sum()):g}.")


def check_poisson_encode(poisson_encode) -> None:
    """``poisson_encode(x, steps, generator=None)``: shape, values, signs, rates and reproducibility."""
    x = torch.tensor([[0.0, 0.1, 0.5, 0.9], [1.0, 1.7, -0.3, -1.0]])
    steps = 4000
    spikes = poisson_encode(clone(x), steps, generator=torch.Generator().manual_seed(0))
    expect_shape(f"poisson_encode(x, {steps}) for x of shape {tuple(x.shape)}", spikes, (steps, *x.shape))
    values = set(torch.unique(spikes.float()).tolist())
    expect(values <= {-1.0, 0.0, 1.0}, f"spikes must be -1, 0 or +1, got the values {sorted(values)[:6]}.")
    fired = spikes.float() != 0
    expect(bool((torch.sign(spikes.float()) == torch.sign(x)).where(fired, True).all()),
           "a spike must carry the sign of its pixel: +1 for x > 0, -1 for x < 0.")
    rate, p = fired.float().mean(0), x.abs().clamp(max=1.0)
    allowed = 5 * torch.sqrt(p * (1 - p) / steps) + 1e-3           # five standard deviations
    worst = int(((rate - p).abs() - allowed).flatten().argmax())
    expect(bool(((rate - p).abs() <= allowed).all()),
           f"the firing rate of pixel x = {x.flatten()[worst].item():g} is {rate.flatten()[worst].item():.3f} "
           f"over {steps} steps; it should be about min(|x|, 1) = {p.flatten()[worst].item():.3f}.")
    one, two = (poisson_encode(clone(x), 50, generator=torch.Generator().manual_seed(7)) for _ in range(2))
    expect(torch.equal(one, two), "two calls with generators seeded alike must give the same spikes: "
           "pass generator=generator to torch.rand.")
    other = poisson_encode(clone(x), 50, generator=torch.Generator().manual_seed(8))
    expect(not torch.equal(one, other), "generators with different seeds gave the same spikes: draw the "
           "random numbers from `generator`, not from a fixed seed.")
    image = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(9))
    expect_shape("poisson_encode(images [2, 1, 8, 8], 5)", poisson_encode(image, 5), (5, 2, 1, 8, 8))


ASSIGNMENT = Assignment("lif_poisson", "LIF neurons and Poisson spikes", (
    Question("q1", "one LIF step in the paper's order", 3, ("lif_step",), check_lif_step,
             "integrate h = v + current; fire s = 1[h > threshold] (strictly greater); reset r = h (1 - s); "
             "leak v_next = leak * r. Return (v_next, s, h)."),
    Question("q2", "a spike train from rest", 3, ("lif_run",), check_lif_run,
             "start from v = torch.zeros_like(currents[0]), call lif_step at every step t, collect s, "
             "and torch.stack the list of spikes along a new first dimension."),
    Question("q3", "signed Poisson rate code", 4, ("poisson_encode",), check_poisson_encode,
             "u = torch.rand((steps, *x.shape), generator=generator); spikes = (x.abs() > u) times torch.sign(x)."),
))
