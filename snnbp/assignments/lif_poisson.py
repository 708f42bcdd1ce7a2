r"""Assignment 1, *LIF neurons and Poisson spikes*: one neuron step in the paper's order, a whole
spike train from it, and the signed Poisson rate code (book/method.md, 'The LIF neuron' and 'Input').

Every check compares the student's function with :class:`snnbp.LIF` or with the statistics that
:func:`snnbp.poisson_encode` must have, on inputs drawn afresh for every check (plus the edge
cases where a spike is decided by ``H == V_th`` exactly).
"""
from __future__ import annotations

import torch

from ..checking import Wrong, clone, describe, expect, expect_close, expect_shape, generator
from ..neurons import LIF
from ._core import Assignment, Question, draw_float, draw_int, draw_seed


# -- question 1 ---------------------------------------------------------------------------------

def make_lif_step(gen: torch.Generator) -> dict:
    """Two edge cases (``H`` exactly at threshold: no spike) and three random ones."""
    cases = [[torch.zeros(3), torch.tensor([0.5, 1.0, 1.5]), 0.99, 1.0],
             [torch.full((2, 2), 0.6), torch.full((2, 2), 0.6), 0.5, 1.0]]
    for _ in range(3):
        shape = (draw_int(gen, 1, 6), draw_int(gen, 1, 6))
        threshold = draw_float(gen, 0.5, 1.5)
        cases.append([torch.rand(shape, generator=gen) * threshold, torch.randn(shape, generator=gen) * threshold,
                      draw_float(gen, 0.8, 1.0), threshold])
    return {"cases": cases}


def answer_lif_step(request: dict, lif_step) -> list:
    return [lif_step(clone(v), clone(current), leak, threshold) for v, current, leak, threshold in request["cases"]]


def judge_lif_step(request: dict, reply) -> None:
    """``lif_step(v, current, leak, threshold) -> (v_next, s, h)`` equals :meth:`snnbp.LIF.step`."""
    expect(len(reply) == len(request["cases"]), "lif_step was not called on every input.")
    for (v, current, leak, threshold), got in zip(request["cases"], reply):
        expected = LIF(leak, threshold).step(v, current)
        where = f"for v={describe(v)}, current={describe(current)}, leak={leak}, threshold={threshold}"
        expect(isinstance(got, (tuple, list)) and len(got) == 3,
               f"lif_step must return three tensors (v_next, s, h); {where} it returned {describe(got)}.")
        for k in (2, 1, 0):                   # h, then s, then v_next: the first thing that goes wrong
            expect_close(f"{('v_next', 's', 'h')[k]} {where}", got[k], expected[k])


# -- question 2 ---------------------------------------------------------------------------------

def make_lif_run(gen: torch.Generator) -> dict:
    """A constant current that reaches the threshold exactly, and two random spike trains."""
    cases = [[torch.full((15, 1), 0.25), 1.0, 1.0]]               # H reaches 1.0 exactly: fires at t = 5, 10, 15
    for scale in (0.5, 0.4):
        shape = (draw_int(gen, 20, 40), draw_int(gen, 1, 4), draw_int(gen, 1, 6))
        cases.append([torch.rand(shape, generator=gen) * scale, draw_float(gen, 0.85, 1.0), draw_float(gen, 0.6, 1.2)])
    return {"cases": cases}


def answer_lif_run(request: dict, lif_run) -> list:
    return [lif_run(clone(currents), leak, threshold) for currents, leak, threshold in request["cases"]]


def judge_lif_run(request: dict, reply) -> None:
    """``lif_run(currents, leak, threshold) -> spikes [T, ...]`` equals :class:`snnbp.LIF` from rest."""
    expect(len(reply) == len(request["cases"]), "lif_run was not called on every input.")
    for (currents, leak, threshold), got in zip(request["cases"], reply):
        expected = LIF(leak, threshold)(currents)
        where = f"for currents of shape {tuple(currents.shape)}, leak={leak}, threshold={threshold}"
        expect_shape(f"the spikes {where}", got, tuple(expected.shape))
        differs = torch.nonzero(got.double() != expected.double())
        if len(differs):
            t = int(differs[0, 0])
            raise Wrong(f"the spikes {where} first differ at time step {t + 1} (1-based): expected "
                        f"{int(expected[t].sum())} spikes at that step, got {float(got[t].double().sum()):g}.")


# -- question 3 ---------------------------------------------------------------------------------

def make_poisson_encode(gen: torch.Generator) -> dict:
    """Pixels from -1.2 to 1.8 (zero, above one and negative ones always included: an encoder that
    drops the sign must fail on every draw), generator seeds, an image batch."""
    x = torch.rand(2, 4, generator=gen) * 3.0 - 1.2
    x[0, 0], x[1, 0] = 0.0, 1.0 + float(torch.rand((), generator=gen))
    x[0, 1] = -0.2 - 0.7 * float(torch.rand((), generator=gen))      # a negative pixel, |x| < 1
    return {"x": x, "steps": 4000, "seeds": [draw_seed(gen) for _ in range(3)],
            "image": torch.rand(2, 1, 8, 8, generator=gen)}


def answer_poisson_encode(request: dict, poisson_encode) -> dict:
    x, (first, same, other) = request["x"], request["seeds"]
    return {"spikes": poisson_encode(clone(x), request["steps"], generator=generator(first)),
            "same": [poisson_encode(clone(x), 50, generator=generator(same)) for _ in range(2)],
            "other": poisson_encode(clone(x), 50, generator=generator(other)),
            "image": poisson_encode(clone(request["image"]), 5)}


def judge_poisson_encode(request: dict, reply) -> None:
    """``poisson_encode(x, steps, generator=None)``: shape, values, signs, rates and reproducibility."""
    x, steps = request["x"], request["steps"]
    spikes = expect_shape(f"poisson_encode(x, {steps}) for x of shape {tuple(x.shape)}", reply["spikes"],
                          (steps, *x.shape)).double()
    values = set(torch.unique(spikes).tolist())
    expect(values <= {-1.0, 0.0, 1.0}, f"spikes must be -1, 0 or +1, got the values {sorted(values)[:6]}.")
    fired = spikes != 0
    expect(bool((torch.sign(spikes) == torch.sign(x)).where(fired, True).all()),
           "a spike must carry the sign of its pixel: +1 for x > 0, -1 for x < 0.")
    rate, p = fired.double().mean(0), x.double().abs().clamp(max=1.0)
    allowed = 5 * torch.sqrt(p * (1 - p) / steps) + 1e-3           # five standard deviations
    worst = int(((rate - p).abs() - allowed).flatten().argmax())
    expect(bool(((rate - p).abs() <= allowed).all()),
           f"the firing rate of pixel x = {x.flatten()[worst].item():.4g} is {rate.flatten()[worst].item():.3f} "
           f"over {steps} steps; it should be about min(|x|, 1) = {p.flatten()[worst].item():.3f}.")
    one, two = (expect_shape("poisson_encode(x, 50)", s, (50, *x.shape)) for s in reply["same"])
    expect(torch.equal(one, two), "two calls with generators seeded alike must give the same spikes: "
           "pass generator=generator to torch.rand.")
    other = expect_shape("poisson_encode(x, 50)", reply["other"], (50, *x.shape))
    expect(not torch.equal(one.double(), other.double()), "generators with different seeds gave the same spikes: "
           "draw the random numbers from `generator`, not from a fixed seed.")
    expect_shape("poisson_encode(images [2, 1, 8, 8], 5)", reply["image"], (5, 2, 1, 8, 8))


ASSIGNMENT = Assignment("lif_poisson", "LIF neurons and Poisson spikes", (
    Question("q1", "one LIF step in the paper's order", 3, ("lif_step",), make_lif_step, answer_lif_step,
             judge_lif_step,
             "integrate h = v + current; fire s = 1[h > threshold] (strictly greater); reset r = h (1 - s); "
             "leak v_next = leak * r. Return (v_next, s, h)."),
    Question("q2", "a spike train from rest", 3, ("lif_run",), make_lif_run, answer_lif_run, judge_lif_run,
             "start from v = torch.zeros_like(currents[0]), call lif_step at every step t, collect s, "
             "and torch.stack the list of spikes along a new first dimension."),
    Question("q3", "signed Poisson rate code", 4, ("poisson_encode",), make_poisson_encode, answer_poisson_encode,
             judge_poisson_encode,
             "u = torch.rand((steps, *x.shape), generator=generator); spikes = (x.abs() > u) times torch.sign(x)."),
))
