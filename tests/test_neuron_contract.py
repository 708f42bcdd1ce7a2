"""The neuron's contract (issue 23, item 1): one surrogate policy, checked surrogate descriptions,
a fused kernel that declares what it supports, and a seam a learnable-leak neuron fits through.

The oracles here are written from the definitions, not from the library: the policy's table
("the paper's rule brings its leak correction and a detached leak, any other surrogate neither"),
and for the learnable leak a literal time loop of plain tensor operations differentiated by autograd.
"""
import ast
import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch

import snnbp
from snnbp import IF, LIF, fused_scan, presets, surrogate
from snnbp.learnable import LearnableLeakLIF
from snnbp.neurons import LIFSettings, lif_reference

PAPER_RULE = {"leak_correction": True, "detach_leak": True}
OTHER_RULE = {"leak_correction": False, "detach_leak": False}


def rule_of(neuron):
    return {"leak_correction": neuron.leak_correction, "detach_leak": neuron.detach_leak}


def hidden_lif_layers(net):
    return [m for m in net.modules() if type(m) is LIF]


# -- (1) one policy: LIF, its setter, LIFSettings and build agree -------------------------------

@pytest.mark.parametrize("name", surrogate.NAMES)
def test_one_policy_for_lif_setter_settings_and_build(name):
    expected = PAPER_RULE if name == "paper" else OTHER_RULE
    assert surrogate.defaults(name) == expected
    assert rule_of(LIF(surrogate=name)) == expected
    assert rule_of(LIFSettings(surrogate=name)) == expected
    later = LIF()                                                    # the paper's rule first ...
    later.surrogate = name                                           # ... then another surrogate
    assert rule_of(later) == expected and later.surrogate.name == name
    net = snnbp.build("lenet", "mnist", surrogate=name)
    assert rule_of(net.config) == expected
    assert all(rule_of(layer) == expected for layer in hidden_lif_layers(net))


def test_explicit_arguments_win():
    assert rule_of(LIF(surrogate="atan", leak_correction=True, detach_leak=True)) == PAPER_RULE
    assert rule_of(LIF(surrogate="paper", leak_correction=False, detach_leak=False)) == OTHER_RULE
    assert rule_of(LIF(surrogate="atan", leak_correction=True)) == {"leak_correction": True, "detach_leak": False}
    net = snnbp.build("lenet", "mnist", surrogate="atan", leak_correction=True)
    assert net.config.leak_correction and not net.config.detach_leak
    assert all(layer.leak_correction for layer in hidden_lif_layers(net))
    # the setter brings the new surrogate's defaults; an assignment after it wins (documented order)
    neuron = LIF(surrogate="atan", leak_correction=True)
    neuron.surrogate = "fast_sigmoid"
    assert rule_of(neuron) == OTHER_RULE
    neuron.leak_correction = True
    assert neuron.leak_correction and neuron.surrogate.name == "fast_sigmoid"


def test_a_built_networks_layer_follows_a_new_surrogate():
    """presets.py tells users to set a surrogate with parameters on the layers after building."""
    net = snnbp.build("lenet", "mnist")
    layer = hidden_lif_layers(net)[0]
    assert rule_of(layer) == PAPER_RULE
    layer.surrogate = surrogate.ATan(alpha=5.0)
    assert rule_of(layer) == OTHER_RULE and layer.surrogate.alpha == 5.0


def test_if_keeps_its_fixed_rule():
    for neuron in (IF(), IF(surrogate="paper")):
        assert not neuron.leak_correction
    neuron = IF()
    neuron.surrogate = "paper"
    assert rule_of(neuron) == OTHER_RULE


def test_detach_leak_none_still_means_the_surrogates_default():
    assert LIF(detach_leak=None).detach_leak and not LIF(surrogate="sigmoid", detach_leak=None).detach_leak


# -- (2) a surrogate's self-description, checked at registration ----------------------------------

class _BoxWithoutScale(surrogate.Surrogate):
    """Says it needs no membrane, but its rule uses the membrane and it gives no spike_scale."""
    name = "box_without_scale"
    needs_membrane = False

    def grad(self, membrane, spikes, threshold):
        return ((membrane - threshold).abs() < 0.5).to(spikes.dtype)


@pytest.fixture
def registry(monkeypatch):
    """Register surrogates for one test only."""
    monkeypatch.setattr(surrogate, "_REGISTRY", dict(surrogate._REGISTRY))
    monkeypatch.setattr(surrogate, "NAMES", surrogate.NAMES)


def test_registration_refuses_needs_membrane_false_without_spike_scale(registry):
    with pytest.raises(TypeError, match="box_without_scale|_BoxWithoutScale") as error:
        surrogate.register(_BoxWithoutScale)
    assert "spike_scale" in str(error.value) and "needs_membrane" in str(error.value)
    assert "box_without_scale" not in surrogate.NAMES


@pytest.mark.parametrize("body, match", [
    ({"grad": lambda self, m, s, th: s}, "name"),                                    # no name of its own
    ({"name": "nograd"}, "grad"),
    ({"name": "lying", "needs_membrane": False, "grad": lambda self, m, s, th: 2 * s,
      "spike_scale": lambda self, th: 1.0}, "spike_scale"),                          # grad != scale * s
    ({"name": "reads_membrane", "needs_membrane": False, "spike_scale": lambda self, th: 1.0,
      "grad": lambda self, m, s, th: (m > th).to(s.dtype)}, "needs_membrane = True"),  # membrane is None there
    ({"name": "needsargs", "__init__": lambda self, width: None, "grad": lambda self, m, s, th: s},
     "without arguments"),
    ({"name": "paper", "grad": lambda self, m, s, th: s}, "taken"),
])
def test_registration_names_what_to_fix(registry, body, match):
    cls = type("Custom", (surrogate.Surrogate,), body)
    with pytest.raises((TypeError, ValueError), match=match):
        surrogate.register(cls)


def test_a_registered_surrogate_works_by_name_end_to_end(registry):
    @surrogate.register
    class Box(surrogate.Surrogate):
        name = "box"

        def grad(self, membrane, spikes, threshold):
            return ((membrane - threshold).abs() < 0.5).to(membrane.dtype)

    assert "box" in surrogate.NAMES and rule_of(LIF(surrogate="box")) == OTHER_RULE
    net = snnbp.build("lenet", "mnist", surrogate=Box())                    # an instance, saved by its name
    assert net.config.surrogate == "box" and rule_of(net.config) == OTHER_RULE


def test_an_unregistered_lying_surrogate_falls_back_to_the_reference_loop():
    """No TypeError from the fused backend: it declares the settings unsupported and LIF runs the reference."""
    settings = LIFSettings(surrogate=_BoxWithoutScale())
    assert "spike_scale" in fused_scan.supports(settings)
    with pytest.raises(ValueError, match="does not support.*spike_scale"):
        fused_scan.lif_scan(torch.rand(4, 3, requires_grad=True), settings)
    torch.manual_seed(0)
    current = torch.rand(12, 2, 6) * 0.6
    grads = []
    for backend in ("fused", "reference"):
        x = current.clone().requires_grad_()
        LIF(surrogate=_BoxWithoutScale(), backend=backend)(x).sum().backward()
        grads.append(x.grad)
    assert torch.equal(grads[0], grads[1]) and grads[0].abs().sum() > 0


def test_every_registered_surrogate_is_supported_by_the_fused_scan():
    for name in surrogate.NAMES:
        assert fused_scan.supports(LIFSettings(surrogate=name)) is None


# -- (3) surrogate instances through build: kept as the paper's rule, saved by name, rebuilt -------

def test_a_paper_instance_through_build_keeps_the_papers_rule_and_rebuilds(tmp_path):
    net = snnbp.build("lenet", "mnist", surrogate=surrogate.Paper())
    assert net.config.surrogate == "paper" and rule_of(net.config) == PAPER_RULE
    assert all(rule_of(layer) == PAPER_RULE and isinstance(layer.surrogate, surrogate.Paper)
               for layer in hidden_lif_layers(net))
    saved = tmp_path / "config.json"                                 # what a run folder keeps
    saved.write_text(json.dumps(dataclasses.asdict(net.config)))
    assert presets.Preset(**json.loads(saved.read_text())) == net.config


def test_a_surrogate_with_other_parameters_is_refused_by_build():
    with pytest.raises(TypeError, match="by name"):
        snnbp.build("lenet", "mnist", surrogate=surrogate.ATan(alpha=5.0))


# -- (4) the seam: a learnable-leak neuron as a small subclass ---------------------------------

# The library's learnable-leak neuron (snnbp.learnable): one subclass that overrides dynamics();
# the library supplies the rest (LIFSettings takes a 0-dimensional tensor leak, the fused scan
# declares it unsupported, so the default backend runs the reference loop, which autograd
# differentiates with respect to the leak).


def literal_loop(current, lam, threshold, reset, detach_leak, alpha=2.0):
    """The LIF neuron written out with plain tensor operations (no snnbp): charge, fire, reset, leak.

    Spike forward: 1[H > V_th]; backward: the arc-tangent surrogate, through its primitive
    atan(pi/2 alpha u) / pi, whose derivative is (alpha/2) / (1 + (pi/2 alpha u)^2). The reset uses
    the detached spike; with ``detach_leak`` the leak is identity in the backward pass for the membrane
    (its own gradient stays R)."""
    v = torch.zeros_like(current[0])
    out = []
    for i in current:
        h = v + i
        fired = (h > threshold).to(h.dtype)
        smooth = torch.atan(math.pi / 2 * alpha * (h - threshold)) / math.pi
        out.append(fired + (smooth - smooth.detach()))            # forward: exactly 0 or 1
        r = h * (1 - fired) if reset == "zero" else h - threshold * fired
        v = lam * r.detach() + (r - r.detach()) if detach_leak else lam * r
    return torch.stack(out)


@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("detach_leak", [False, True])
def test_learnable_leak_gradient_equals_the_literal_loop(reset, detach_leak):
    torch.manual_seed(3)
    current = torch.rand(25, 3, 8) * 0.5
    grad_out = torch.randn(25, 3, 8)
    neuron = LearnableLeakLIF(leak=0.9, threshold=0.8, reset=reset, surrogate="atan", detach_leak=detach_leak)
    assert neuron.backend == "fused" and "leak is a tensor" in fused_scan.supports(neuron.dynamics())
    x = current.clone().requires_grad_()
    spikes = neuron(x)
    (spikes * grad_out).sum().backward()

    raw = torch.logit(torch.tensor(0.9)).requires_grad_()
    y = current.clone().requires_grad_()
    expected = literal_loop(y, torch.sigmoid(raw), 0.8, reset, detach_leak)
    (expected * grad_out).sum().backward()

    assert torch.equal(spikes.detach(), expected.detach()) and 0 < spikes.sum() < spikes.numel()
    assert raw.grad.abs() > 0
    torch.testing.assert_close(neuron.raw_leak.grad, raw.grad, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(x.grad, y.grad, rtol=1e-5, atol=1e-6)


def test_learnable_leak_learns_and_the_leak_is_a_parameter():
    neuron = LearnableLeakLIF(leak=0.9, surrogate="atan")
    assert [name for name, _ in neuron.named_parameters()] == ["raw_leak"]
    optimiser = torch.optim.SGD(neuron.parameters(), lr=1.0)
    before = neuron.raw_leak.item()
    neuron(torch.full((10, 1, 4), 0.3)).sum().backward()
    optimiser.step()
    assert neuron.raw_leak.item() != before


def test_a_tensor_leak_must_be_one_number():
    with pytest.raises(ValueError, match="0-dimensional"):
        LIF(leak=torch.tensor([0.9, 0.8]))


def test_fused_scan_refuses_a_tensor_leak_clearly():
    with pytest.raises(ValueError, match="leak is a tensor.*reference"):
        fused_scan.lif_scan(torch.rand(4, 3), LIFSettings(leak=torch.tensor(0.9)))
    # the reference loop runs it, and a constant tensor leak gives the float leak's spikes
    current = torch.rand(30, 2, 5) * 0.5
    assert torch.equal(lif_reference(current, LIFSettings(leak=torch.tensor(0.9)))[0],
                       LIF(leak=0.9)(current))


# -- the operator's argument list in one place; no import cycle ----------------------------------

@pytest.mark.skipif(not fused_scan._HAS_CUSTOM_OP, reason="torch without torch.library.custom_op")
def test_the_operators_arguments_come_from_one_list():
    names = [name for name, _ in fused_scan._OP_SETTINGS]
    forward = [a.name for a in torch.ops.snnbp.lif_scan.default._schema.arguments]
    backward = [a.name for a in torch.ops.snnbp.lif_scan_backward.default._schema.arguments]
    assert forward == ["cur", *names, "needs_grad"] and backward == ["grad", "fired", "factor", *names]


def _imports(module: str) -> set[str]:
    """The snnbp modules that ``snnbp/<module>.py`` imports, at any level (TYPE_CHECKING included)."""
    tree = ast.parse((Path(snnbp.__file__).parent / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module} if node.module else {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("snnbp."):
            found.add(node.module.split(".")[1])
    return found


def test_no_import_cycle_between_neurons_kernels_and_surrogate():
    assert "neurons" not in _imports("fused_scan") and "neurons" not in _imports("surrogate")
    assert "fused_scan" not in _imports("surrogate")
