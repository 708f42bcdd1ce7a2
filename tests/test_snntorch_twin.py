"""snnbp networks and their snnTorch twins (snnbp.snntorch_twin) compute the same thing."""
import importlib.util

import pytest
import torch

import snnbp
from snnbp import snntorch_twin
from snnbp.neurons import LIF
from snnbp.recording import INPUT

needs_snntorch = pytest.mark.skipif(importlib.util.find_spec("snntorch") is None, reason="snnTorch not installed")


def _input(net, batch=3, seed=0):
    torch.manual_seed(seed)
    x = torch.rand(batch, *net.in_shape)
    return net.encode(x)


def _fired(result_net, spikes):
    """Total spikes of every neuron layer of ``result_net`` on ``spikes`` (to make sure the test is not vacuous)."""
    with snnbp.record(result_net) as rec:
        result_net.run(spikes)
    return {name: float(s.abs().sum()) for name, s in rec.spikes.items() if name != INPUT}


@pytest.mark.parametrize("name,dataset,timesteps", [("lenet", "digits", 20), ("lenet", "mnist", 8),
                                                    ("resnet7", "digits", 20), ("mlp", "digits", 20)])
@needs_snntorch
def test_twin_gives_the_same_spikes_and_outputs(name, dataset, timesteps):
    net = snnbp.build(name, dataset, timesteps=timesteps).eval()
    spikes = _input(net)
    result = snntorch_twin.compare(net, spikes)
    assert result.layers == sum(isinstance(m, LIF) for m in net.modules())
    assert result.mismatched == 0, str(result)
    assert result.max_output_diff <= 1e-6, str(result)
    assert result.equal


@needs_snntorch
def test_the_comparison_is_not_vacuous():
    net = snnbp.build("lenet", "digits", timesteps=20).eval()
    counts = _fired(net, _input(net))
    assert all(count > 0 for count in counts.values()), counts


@needs_snntorch
@pytest.mark.parametrize("surrogate", ["fast_sigmoid", "atan", "sigmoid"])
def test_gradients_agree_without_leak_correction(surrogate):
    """With a built-in snnTorch surrogate and no leak correction, the backward passes are the same."""
    net = snnbp.build("resnet7", "digits", timesteps=16, surrogate=surrogate, leak_correction=False).eval()
    result = snntorch_twin.compare(net, _input(net), gradients=True)
    assert result.mismatched == 0
    assert result.max_grad_diff <= 1e-5, str(result)


@needs_snntorch
def test_paper_surrogate_gradients_differ_only_slightly():
    """The twin lacks the hidden layers' leak correction and detached leak: close, not equal, gradients
    (here about 4 % of the largest gradient; the output layer's identity leak is the same on both sides)."""
    net = snnbp.build("lenet", "digits", timesteps=20).eval()
    spikes = _input(net)
    grads = torch.autograd.grad(net.run(spikes).pow(2).sum(), list(net.parameters()))
    largest = max(float(g.abs().max()) for g in grads)
    result = snntorch_twin.compare(net, spikes, gradients=True)
    assert result.mismatched == 0
    assert 0 < result.max_grad_diff <= 0.1 * largest, (str(result), largest)
    # with the leak correction and the detached leak turned off the gradients are the same
    exact = snnbp.build("lenet", "digits", timesteps=20, leak_correction=False, detach_leak=False).eval()
    exact.load_state_dict(net.state_dict())
    assert snntorch_twin.compare(exact, spikes, gradients=True).max_grad_diff <= 1e-6


@needs_snntorch
def test_dropout_masks_agree_with_the_same_seed():
    net = snnbp.build("resnet7", "digits", timesteps=12, dropout=0.3).train()
    result = snntorch_twin.compare(net, _input(net), seed=3)
    assert result.equal, str(result)


@needs_snntorch
def test_twin_shares_the_weights():
    net = snnbp.build("lenet", "digits", timesteps=4)
    twin = snntorch_twin.to_snntorch(net)
    ours = {p.data_ptr() for p in net.parameters()}
    assert {p.data_ptr() for p in twin.parameters()} == ours


@needs_snntorch
def test_ann_twin_is_rejected():
    with pytest.raises(ValueError, match="spiking"):
        snntorch_twin.to_snntorch(snnbp.build("lenet", "digits", spiking=False))


@needs_snntorch
@pytest.mark.parametrize("threshold,leak", [(1.0, 0.99), (0.75, 1.0), (0.5, 0.9)])
def test_single_neuron_zero_reset_is_snntorch_leaky(threshold, leak):
    torch.manual_seed(1)
    current = torch.rand(50, 4, 7) * 0.6
    neuron = LIF(leak, threshold, "zero", record=True)
    ours = neuron(current)
    spikes, membranes = snntorch_twin.leaky_run(current, leak, threshold, "zero")
    assert torch.equal(ours, spikes)
    assert ours.sum() > 0
    torch.testing.assert_close(neuron.membrane, membranes, rtol=0, atol=1e-6)


@needs_snntorch
def test_subtract_reset_differs_when_leaky():
    """snnTorch subtracts V_th after the leak, snnbp before it: V = lam (H - V_th s) vs m = lam m + I - V_th r."""
    torch.manual_seed(2)
    current = torch.rand(60, 8, 16) * 0.8
    for leak, same in [(1.0, True), (0.9, False)]:
        ours = LIF(leak, 1.0, "subtract")(current)
        spikes, _ = snntorch_twin.leaky_run(current, leak, 1.0, "subtract")
        assert torch.equal(ours, spikes) is same


def test_step_spike_gradient():
    u = torch.tensor([-0.5, 0.0, 0.2, 1.0], requires_grad=True)
    s = snntorch_twin.StepSpike.apply(u, 0.5)
    s.sum().backward()
    assert s.tolist() == [0.0, 0.0, 1.0, 1.0]
    assert u.grad.tolist() == [0.0, 0.0, 0.5, 0.5]


def test_surrogate_spike_gradient_is_the_rule():
    """Any snnbp surrogate without an snnTorch built-in: the twin calls the rule's own grad at V = u + V_th."""
    u = torch.tensor([-5.0, -0.1, 0.0, 0.3], requires_grad=True)
    rule = snnbp.surrogate.Sigmoid()
    s = snntorch_twin.SurrogateSpike.apply(u, rule, 0.75)
    s.sum().backward()
    assert s.tolist() == [0.0, 0.0, 0.0, 1.0]
    torch.testing.assert_close(u.grad, rule.grad(u.detach() + 0.75, s.detach(), 0.75))
    assert torch.isfinite(u.grad).all()


def test_spike_grad_for_uses_the_surrogates_own_scale():
    """Spike-only rules (paper: 1/V_th, straight-through: 1) map to a step with that constant gradient."""
    u = torch.tensor([-0.5, 0.5], requires_grad=True)
    snntorch_twin.spike_grad_for(snnbp.surrogate.Paper(), 0.8)(u).sum().backward()
    assert u.grad.tolist() == [0.0, pytest.approx(1 / 0.8)]
