r"""Assignment 2, *the paper's approximate derivative*: a spike function whose backward pass is
:math:`\partial s/\partial H = s / V_{th}`, a LIF layer that uses it with the paper's detached
leak and reset, and the same gradient written out by hand (book/method.md, 'The derivative').

The reference is snnbp's per-step LIF (``backend="reference"``, no leak correction), which
``tests/test_neurons.py`` checks against the hand formula; the student's three answers must all
agree with it. Where a question is about a gradient, the student's code computes it on the
checks' inputs (in a graded submission: in the submission's kernel) and the numbers are compared.
"""
from __future__ import annotations

import torch

from ..neurons import LIF
from ..surrogate import spike
from ..verdicts import Wrong, clone, expect, expect_close, expect_equal, expect_shape
from ._core import Assignment, Question, draw_float, draw_int


def _backward(output, inputs: torch.Tensor, upstream: torch.Tensor) -> dict:
    """Backpropagate ``upstream`` through a student's ``output`` (if it is connected to the graph):
    the output, whether it carried a gradient, and the gradient that reached ``inputs``."""
    flows = isinstance(output, torch.Tensor) and output.requires_grad
    if flows:
        (output * upstream).sum().backward()
    return {"output": output.detach() if isinstance(output, torch.Tensor) else output, "flows": flows,
            "grad": inputs.grad}


# -- question 1 ---------------------------------------------------------------------------------

def make_paper_spike(gen: torch.Generator) -> dict:
    """Three membranes (one entry exactly at threshold: no spike), thresholds and upstream gradients."""
    cases = []
    for _ in range(3):
        threshold = draw_float(gen, 0.5, 1.5)
        membrane = torch.rand(draw_int(gen, 3, 8), draw_int(gen, 3, 8), generator=gen) * 2 * threshold
        membrane[0, 0] = threshold
        cases.append([membrane, threshold, torch.randn(membrane.shape, generator=gen)])
    return {"cases": cases}


def answer_paper_spike(request: dict, PaperSpike) -> dict:
    expect(isinstance(PaperSpike, type) and issubclass(PaperSpike, torch.autograd.Function),
           "PaperSpike must be a subclass of torch.autograd.Function.")
    runs = []
    for membrane, threshold, upstream in request["cases"]:
        x = clone(membrane).requires_grad_()
        runs.append(_backward(PaperSpike.apply(x, threshold), x, upstream))
    return {"runs": runs}


def judge_paper_spike(request: dict, reply) -> None:
    """``PaperSpike.apply(membrane, threshold)``: Heaviside forward, ``grad * s / threshold`` backward."""
    runs = reply["runs"]
    expect(len(runs) == len(request["cases"]), "PaperSpike was not applied to every input.")
    for (membrane, threshold, upstream), got in zip(request["cases"], runs):
        ours = membrane.clone().requires_grad_()
        expected = spike(ours, threshold, "paper")
        (expected * upstream).sum().backward()
        expect_equal(f"PaperSpike.apply(membrane, {threshold}) (the forward pass)", got["output"], expected.detach())
        expect(got["flows"] is True,
               "the spikes must be connected to the graph: return a new tensor from forward.")
        expect(got["grad"] is not None, "no gradient reached the membrane: backward must return one.")
        expect_close(f"the gradient of PaperSpike with threshold {threshold}", got["grad"], ours.grad)


# -- questions 2 and 3: a LIF layer and its gradient ---------------------------------------------

def _reference(current: torch.Tensor, leak: float, threshold: float, upstream: torch.Tensor):
    current = current.clone().requires_grad_()
    spikes = LIF(leak, threshold, leak_correction=False, backend="reference")(current)
    (spikes * upstream).sum().backward()
    return spikes.detach(), current.grad


def _layer_cases(gen: torch.Generator, count: int) -> list:
    """``[current [T, B, N], leak, threshold, upstream]`` drawn from ``gen``."""
    cases = []
    for _ in range(count):
        current = torch.rand(draw_int(gen, 15, 30), draw_int(gen, 1, 4), draw_int(gen, 2, 6), generator=gen) * 0.6
        cases.append([current, draw_float(gen, 0.9, 1.0), draw_float(gen, 0.6, 1.2),
                      torch.randn(current.shape, generator=gen)])
    return cases


def make_paper_lif(gen: torch.Generator) -> dict:
    return {"cases": _layer_cases(gen, 2)}


def answer_paper_lif(request: dict, paper_lif) -> dict:
    runs = []
    for current, leak, threshold, upstream in request["cases"]:
        x = clone(current).requires_grad_()
        runs.append(_backward(paper_lif(x, leak, threshold), x, upstream))
    return {"runs": runs}


def judge_paper_lif(request: dict, reply) -> None:
    """``paper_lif(current, leak, threshold) -> spikes`` whose gradient is the paper's rule."""
    runs = reply["runs"]
    expect(len(runs) == len(request["cases"]), "paper_lif was not called on every input.")
    for (current, leak, threshold, upstream), got in zip(request["cases"], runs):
        expected_spikes, expected_grad = _reference(current, leak, threshold, upstream)
        where = f"for currents [T, B, N] = {list(current.shape)}, leak={leak}, threshold={threshold}"
        expect_equal(f"the spikes {where}", got["output"], expected_spikes)
        expect(got["flows"] is True, f"the spikes {where} carry no gradient: build them with PaperSpike.apply.")
        expect(got["grad"] is not None, "no gradient reached the input currents.")
        try:
            expect_close(f"the gradient dL/dI {where}", got["grad"], expected_grad, atol=1e-5)
        except Wrong as wrong:
            raise Wrong(f"{wrong} Is the leak treated as the identity in the backward pass, and the spike "
                        "in the reset detached?") from None


def make_gradient_by_hand(gen: torch.Generator) -> dict:
    """The spikes of the reference layer on random currents, and upstream gradients."""
    cases = []
    for current, leak, threshold, upstream in _layer_cases(gen, 2):
        spikes, _ = _reference(current, leak, threshold, upstream)
        cases.append({"spikes": spikes, "grad_spikes": upstream, "threshold": threshold, "current": current,
                      "leak": leak})
    return {"cases": cases}


def answer_gradient_by_hand(request: dict, paper_gradient_by_hand) -> list:
    return [paper_gradient_by_hand(clone(c["spikes"]), clone(c["grad_spikes"]), c["threshold"])
            for c in request["cases"]]


def judge_gradient_by_hand(request: dict, reply) -> None:
    """``paper_gradient_by_hand(spikes, grad_spikes, threshold) -> dL/dI`` equals autograd's."""
    expect(len(reply) == len(request["cases"]), "paper_gradient_by_hand was not called on every input.")
    for case, got in zip(request["cases"], reply):
        _, expected = _reference(case["current"], case["leak"], case["threshold"], case["grad_spikes"])
        expect_shape("paper_gradient_by_hand(...)", got, tuple(case["spikes"].shape))
        expect_close(f"paper_gradient_by_hand for threshold {case['threshold']}", got, expected, atol=1e-5)


ASSIGNMENT = Assignment("surrogate_gradient", "The paper's approximate derivative", (
    Question(key="q1", title="the spike function as a torch.autograd.Function", points=4, names=("PaperSpike",),
             make=make_paper_spike, answer=answer_paper_spike, judge=judge_paper_spike,
             hint="forward: save s = (membrane > threshold).float() with ctx.save_for_backward and keep the threshold "
             "on ctx; backward returns (grad_output * s / threshold, None): one gradient per forward input."),
    Question(key="q2", title="a LIF layer with the paper's backward rule", points=3, names=("paper_lif",),
             make=make_paper_lif, answer=answer_paper_lif, judge=judge_paper_lif,
             hint="h = v + current[t]; s = PaperSpike.apply(h, threshold); r = h * (1 - s.detach()); "
             "v = r + (leak - 1) * r.detach() keeps the value leak * r but passes gradient straight through."),
    Question(key="q3", title="the same gradient by hand", points=3, names=("paper_gradient_by_hand",),
             make=make_gradient_by_hand, answer=answer_gradient_by_hand, judge=judge_gradient_by_hand,
             hint="go backwards in time: d[t] = g[t] * s[t] / threshold + (1 - s[t]) * d[t+1], with d[T+1] = 0."),
))
