"""snnbp networks and their snnTorch twins (snnbp.bridge) compute the same thing."""
import pytest
import torch

import snnbp
from snnbp import bridge
from snnbp.neurons import LIF

snntorch = pytest.importorskip("snntorch")


def _input(net, batch=3, seed=0):
    torch.manual_seed(seed)
    x = torch.rand(batch, net.info.channels, net.info.size, net.info.size)
    return net.encode(x)


def _fired(result_net, spikes):
    """Total spikes of every neuron layer of ``result_net`` on ``spikes`` (to make sure the test is not vacuous)."""
    with snnbp.record(result_net) as rec:
        result_net.readout(result_net.classifier(result_net.features(spikes)))
    return {name: float(s.abs().sum()) for name, s in rec.spikes.items() if name != "input"}


@pytest.mark.parametrize("name,dataset,timesteps", [("lenet", "digits", 20), ("lenet", "mnist", 8),
                                                    ("resnet7", "digits", 20), ("mlp", "digits", 20)])
def test_twin_gives_the_same_spikes_and_outputs(name, dataset, timesteps):
    net = snnbp.build(name, dataset, timesteps=timesteps).eval()
    spikes = _input(net)
    result = bridge.compare(net, spikes)
    assert result.layers == sum(isinstance(m, LIF) for m in net.modules())
    assert result.mismatched == 0, str(result)
    assert result.max_output_diff <= 1e-6, str(result)
    assert result.equal


def test_the_comparison_is_not_vacuous():
    net = snnbp.build("lenet", "digits", timesteps=20).eval()
    counts = _fired(net, _input(net))
    assert all(count > 0 for count in counts.values()), counts


@pytest.mark.parametrize("surrogate", ["fast_sigmoid", "atan", "sigmoid"])
def test_gradients_agree_without_leak_correction(surrogate):
    """With a built-in snnTorch surrogate and no leak correction, the backward passes are the same."""
    net = snnbp.build("resnet7", "digits", timesteps=16, surrogate=surrogate, leak_correction=False).eval()
    result = bridge.compare(net, _input(net), gradients=True)
    assert result.mismatched == 0
    assert result.max_grad_diff <= 1e-5, str(result)


def test_paper_surrogate_gradients_differ_only_slightly():
    """The twin lacks the leak correction and the detached leak: close, not equal, gradients."""
    net = snnbp.build("lenet", "digits", timesteps=20).eval()
    grads = [p.grad for p in net.parameters()]
    assert all(g is None for g in grads)
    result = bridge.compare(net, _input(net), gradients=True)
    assert result.mismatched == 0
    assert 0 < result.max_grad_diff


def test_dropout_masks_agree_with_the_same_seed():
    net = snnbp.build("resnet7", "digits", timesteps=12, dropout=0.3).train()
    result = bridge.compare(net, _input(net), seed=3)
    assert result.equal, str(result)


def test_twin_shares_the_weights():
    net = snnbp.build("lenet", "digits", timesteps=4)
    twin = bridge.to_snntorch(net)
    ours = {p.data_ptr() for p in net.parameters()}
    assert {p.data_ptr() for p in twin.parameters()} == ours


def test_ann_twin_is_rejected():
    with pytest.raises(ValueError, match="spiking"):
        bridge.to_snntorch(snnbp.build("lenet", "digits", spiking=False))


@pytest.mark.parametrize("threshold,leak", [(1.0, 0.99), (0.75, 1.0), (0.5, 0.9)])
def test_single_neuron_zero_reset_is_snntorch_leaky(threshold, leak):
    torch.manual_seed(1)
    current = torch.rand(50, 4, 7) * 0.6
    neuron = LIF(leak, threshold, "zero", record=True)
    ours = neuron(current)
    spikes, membranes = bridge.leaky_run(current, leak, threshold, "zero")
    assert torch.equal(ours, spikes)
    assert ours.sum() > 0
    torch.testing.assert_close(neuron.membrane, membranes, rtol=0, atol=1e-6)


def test_subtract_reset_differs_when_leaky():
    """snnTorch subtracts V_th after the leak, snnbp before it: V = lam (H - V_th s) vs m = lam m + I - V_th r."""
    torch.manual_seed(2)
    current = torch.rand(60, 8, 16) * 0.8
    for leak, same in [(1.0, True), (0.9, False)]:
        ours = LIF(leak, 1.0, "subtract")(current)
        spikes, _ = bridge.leaky_run(current, leak, 1.0, "subtract")
        assert torch.equal(ours, spikes) is same


def test_step_spike_gradient():
    u = torch.tensor([-0.5, 0.0, 0.2, 1.0], requires_grad=True)
    s = bridge.StepSpike.apply(u, 0.5)
    s.sum().backward()
    assert s.tolist() == [0.0, 0.0, 1.0, 1.0]
    assert u.grad.tolist() == [0.0, 0.0, 0.5, 0.5]
