"""Surrogate derivatives: exact step forward, the stated formula backward."""
import math

import pytest
import torch

from snnbp import surrogate


def grad_at(name, v, threshold=1.0, **params):
    rule = surrogate.get(name) if not params else type(surrogate.get(name))(**params)
    v = torch.tensor(v, requires_grad=True)
    s = surrogate.spike(v, threshold, rule)
    s.sum().backward()
    return s.detach(), v.grad


def test_forward_is_the_strict_heaviside_step():
    s, _ = grad_at("atan", [0.5, 1.0, 1.0001, 3.0])
    assert s.tolist() == [0.0, 0.0, 1.0, 1.0]


def test_paper_rule_is_straight_through_at_fired_neurons_over_threshold():
    _, g = grad_at("paper", [0.5, 1.0, 1.5, 2.0], threshold=1.25)
    assert torch.allclose(g, torch.tensor([0.0, 0.0, 1 / 1.25, 1 / 1.25]))
    _, g = grad_at("straight_through", [0.5, 1.5], threshold=1.25)
    assert g.tolist() == [0.0, 1.0]


@pytest.mark.parametrize("name, formula", [
    ("fast_sigmoid", lambda u: 1 / (1 + 25 * abs(u)) ** 2),
    ("atan", lambda u: 1.0 / (1 + (math.pi / 2 * 2.0 * u) ** 2)),
    ("sigmoid", lambda u: 25 * (1 / (1 + math.exp(-25 * u))) * (1 - 1 / (1 + math.exp(-25 * u)))),
])
def test_smooth_surrogates_follow_their_formula(name, formula):
    v = [0.7, 0.95, 1.0, 1.02, 1.4]
    _, g = grad_at(name, v)
    assert torch.allclose(g, torch.tensor([formula(x - 1.0) for x in v]), rtol=1e-3)  # float32 near the tails


def test_parameters_change_the_shape():
    _, g10 = grad_at("fast_sigmoid", [1.1], slope=10.0)
    _, g25 = grad_at("fast_sigmoid", [1.1])
    assert g10.item() == pytest.approx(1 / (1 + 10 * 0.1) ** 2, rel=1e-5) and g10 > g25


def test_get_by_name_and_instance():
    assert isinstance(surrogate.get("paper"), surrogate.Paper)
    inst = surrogate.ATan(alpha=3.0)
    assert surrogate.get(inst) is inst
    assert set(surrogate.NAMES) == {"paper", "straight_through", "fast_sigmoid", "atan", "sigmoid"}


def test_unknown_names_and_bad_parameters():
    with pytest.raises(ValueError, match="unknown surrogate 'tanh'.*'paper'.*'sigmoid'"):
        surrogate.get("tanh")
    with pytest.raises(TypeError, match="surrogate"):
        surrogate.get(3)
    with pytest.raises(ValueError, match="slope"):
        surrogate.FastSigmoid(slope=-1)
