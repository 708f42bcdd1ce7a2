r"""Assignment 1, *LIF neurons and Poisson spikes*: one neuron step in the paper's order, a whole
spike train from it, and the signed Poisson rate code (book/method.md, 'The LIF neuron' and 'Input').

Every check compares the student's function with :class:`snnbp.LIF` or with the statistics that
:func:`snnbp.poisson_encode` must have, on inputs drawn afresh for every check (plus the edge
cases where a spike is decided by ``H == V_th`` exactly).
"""
from __future__ import annotations

import torch

from ..exercises.ch02_lif_neuron import LIF_STEP_OUTPUTS, compare_lif_step, lif_step_cases, lif_step_reference
from ..exercises.ch03_spike_encoding import poisson_problem
from ..neurons import LIF
from ..verdicts import Wrong, clone, expect, expect_shape, generator
from ._core import Assignment, Question, draw_float, draw_int, draw_seed

# -- question 1: the check of chapter 2's exercise (snnbp.exercises.ch02_lif_neuron) ----------------
# edge cases where H equals the threshold exactly (no spike) and random ones; h, s and v_next
# compared with snnbp.LIF.step within LIF_STEP_TOLERANCE


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
    """``poisson_encode(x, steps, generator=None)``: shape, values, signs and rates (chapter 3's check,
    :func:`snnbp.exercises.ch03_spike_encoding.poisson_problem`), then reproducibility."""
    x, steps = request["x"], request["steps"]
    problem = poisson_problem(x, steps, reply["spikes"])
    expect(problem is None, f"poisson_encode(x, {steps}) for x of shape {tuple(x.shape)}: {problem}.")
    one, two = (expect_shape("poisson_encode(x, 50)", s, (50, *x.shape)) for s in reply["same"])
    expect(torch.equal(one, two), "two calls with generators seeded alike must give the same spikes: "
           "pass generator=generator to torch.rand.")
    other = expect_shape("poisson_encode(x, 50)", reply["other"], (50, *x.shape))
    expect(not torch.equal(one.double(), other.double()), "generators with different seeds gave the same spikes: "
           "draw the random numbers from `generator`, not from a fixed seed.")
    expect_shape("poisson_encode(images [2, 1, 8, 8], 5)", reply["image"], (5, 2, 1, 8, 8))


ASSIGNMENT = Assignment("lif_poisson", "LIF neurons and Poisson spikes", (
    Question(key="q1", title="one LIF step in the paper's order", points=3, names=("lif_step",),
             reference=lif_step_reference, draw=lif_step_cases, compare=compare_lif_step(LIF_STEP_OUTPUTS),
             hint="integrate h = v + current; fire s = 1[h > threshold] (strictly greater); reset r = h (1 - s); "
             "leak v_next = leak * r. Return (v_next, s, h)."),
    Question(key="q2", title="a spike train from rest", points=3, names=("lif_run",), make=make_lif_run,
             answer=answer_lif_run, judge=judge_lif_run,
             hint="start from v = torch.zeros_like(currents[0]), call lif_step at every step t, collect s, "
             "and torch.stack the list of spikes along a new first dimension."),
    Question(key="q3", title="signed Poisson rate code", points=4, names=("poisson_encode",),
             make=make_poisson_encode, answer=answer_poisson_encode, judge=judge_poisson_encode,
             hint="u = torch.rand((steps, *x.shape), generator=generator); spikes = (x.abs() > u) times "
             "torch.sign(x)."),
))
