"""LIF/IF dynamics against hand-computed traces, snnTorch, and the paper's derivative by hand."""
import importlib.util
import math

import pytest
import torch

from snnbp import IF, LIF, surrogate
from snnbp.surrogate import leak_correction_factor


def constant(value, steps=16, shape=(1,)):
    return torch.full((steps, *shape), value)


def spike_times(spikes):
    """1-based time steps at which the first neuron fired."""
    return [t + 1 for t in torch.nonzero(spikes.flatten(1)[:, 0]).flatten().tolist()]


# --- forward dynamics ----------------------------------------------------------------------

def test_if_zero_reset_constant_input_hand_trace():
    # I = 0.25 exactly: H = 0.25, 0.5, 0.75, 1.0 (not > 1: strict), 1.25 -> spike, reset to 0; period 5
    spikes = LIF(leak=1.0, threshold=1.0, reset="zero")(constant(0.25, 15))
    assert spike_times(spikes) == [5, 10, 15]


def test_if_subtract_reset_constant_input_hand_trace():
    # I = 3/8: H = .375, .75, 1.125 -> spike (t=3), keep .125; .5, .875, 1.25 -> spike (t=6), keep .25;
    # .625, 1.0 (not > 1), 1.375 -> spike (t=9), keep .375; .75, 1.125 -> spike (t=11), keep .125;
    # .5, .875, 1.25 -> spike (t=14). A zero reset would fire every 3 steps instead.
    spikes = LIF(leak=1.0, threshold=1.0, reset="subtract")(constant(0.375, 14))
    assert spike_times(spikes) == [3, 6, 9, 11, 14]
    assert spike_times(LIF(leak=1.0, threshold=1.0)(constant(0.375, 14))) == [3, 6, 9, 12]


def test_lif_constant_input_matches_closed_form():
    # zero reset, constant I: after a reset H[n] = I (1 - lam^n) / (1 - lam); first spike at the
    # smallest n with H[n] > 1. lam = 0.99, I = 0.3: H[3] = 0.891, H[4] = 1.182 -> period 4.
    lam, current = 0.99, 0.3
    n = next(n for n in range(1, 100) if current * (1 - lam ** n) / (1 - lam) > 1.0)
    assert n == 4
    neuron = LIF(leak=lam, threshold=1.0, record=True)
    spikes = neuron(constant(current, 12))
    assert spike_times(spikes) == [4, 8, 12]
    expected_h = [current * (1 - lam ** k) / (1 - lam) for k in (1, 2, 3, 4)]
    assert torch.allclose(neuron.membrane[:4, 0], torch.tensor(expected_h), atol=1e-6)


def test_leak_is_applied_after_reset_and_membrane_is_recorded_before_reset():
    neuron = LIF(leak=0.5, threshold=1.0, reset="subtract", record=True)
    neuron(torch.tensor([[1.5], [0.0], [0.0]]))
    # H1 = 1.5 -> spike, R = 0.5, V = 0.25; H2 = 0.25; V = 0.125; H3 = 0.125
    assert torch.allclose(neuron.membrane.flatten(), torch.tensor([1.5, 0.25, 0.125]))
    assert neuron.spikes.flatten().tolist() == [1.0, 0.0, 0.0]


def test_leak_one_behaves_as_if():
    torch.manual_seed(0)
    current = torch.rand(40, 3, 5) * 0.6
    lif = LIF(leak=1.0, threshold=0.75, surrogate="straight_through", leak_correction=False)
    assert torch.equal(lif(current), IF(threshold=0.75)(current))


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_step_matches_scan(reset):
    torch.manual_seed(1)
    current = torch.rand(25, 4) * 0.5
    neuron = LIF(leak=0.95, threshold=0.8, reset=reset, record=True)
    v, steps, hs = torch.zeros(4), [], []
    for t in range(25):
        v, s, h = neuron.step(v, current[t])
        steps.append(s)
        hs.append(h)
    spikes = neuron(current)
    assert spikes.sum() > 5
    assert torch.equal(torch.stack(steps), spikes)
    torch.testing.assert_close(torch.stack(hs), neuron.membrane, rtol=0, atol=1e-6)


def test_step_is_the_four_named_parts():
    """lif_step = charge, fire, reset, leak; the reference loop is lif_step over time."""
    from snnbp import neurons

    p = neurons.LIFSettings(leak=0.5, threshold=1.0, reset="subtract")
    v, s, h = neurons.lif_step(torch.tensor([0.75]), torch.tensor([0.5]), p)
    assert (h.item(), s.item(), v.item()) == (1.25, 1.0, 0.125)      # H = 1.25, R = 0.25, V = 0.125
    spikes, membranes = neurons.lif_reference(torch.tensor([[1.5], [0.5]]), p)   # V = 0.5 * (1.5 - 1) after step 1
    assert spikes.flatten().tolist() == [1.0, 0.0] and membranes.flatten().tolist() == [1.5, 0.75]


def test_settings_are_checked_and_shared_by_the_attributes():
    neuron = LIF(leak=0.9)
    assert neuron.settings.leak == 0.9 and neuron.settings.detach_leak
    neuron.threshold = 0.5
    assert neuron.settings.threshold == 0.5
    with pytest.raises(ValueError, match="leak"):
        neuron.leak = 2.0
    assert neuron.leak == 0.9


def test_backends_record_the_same_membrane():
    torch.manual_seed(2)
    current = torch.rand(20, 2, 3)
    ref = LIF(record=True, backend="reference")
    ref(current)
    fused = LIF(record=True, backend="fused")
    fused(current)
    assert torch.allclose(fused.membrane, ref.membrane) and torch.equal(fused.spikes, ref.spikes)
    assert ref.spikes.sum() > 0 and (ref.membrane > ref.threshold).any()


# --- snnTorch (only these tests need it) ----------------------------------------------------

needs_snntorch = pytest.mark.skipif(importlib.util.find_spec("snntorch") is None, reason="snnTorch not installed")


def snntorch_run(current, beta, threshold, reset):
    from snnbp.snntorch_twin import leaky_run

    return leaky_run(current, beta, threshold, reset)


@needs_snntorch
def test_same_spikes_as_snntorch_leaky_with_zero_reset():
    """Mapping: snn.Leaky(beta=leak, threshold=V_th, reset_mechanism="zero") == snnbp.LIF(leak, V_th).

    snnTorch: U[t] = beta (1 - s[t-1]) U[t-1] + I[t]; snnbp: H[t] = lam (1 - s[t-1]) H[t-1] + I[t].
    Its ``mem`` is snnbp's membrane H (after integration, before reset)."""
    torch.manual_seed(3)
    current = torch.rand(60, 8, 6) * 0.5
    ours = LIF(leak=0.9, threshold=1.0, record=True)
    spikes = ours(current)
    theirs, mem = snntorch_run(current, 0.9, 1.0, "zero")
    assert spikes.sum() > 50
    assert torch.equal(spikes, theirs)
    assert torch.allclose(ours.membrane, mem, atol=1e-5)


@needs_snntorch
def test_subtract_reset_differs_from_snntorch_only_by_the_leak_of_the_reset():
    """Documented difference: snnTorch subtracts V_th after the leak, snnbp before it:
    snnTorch U[t] = beta U[t-1] + I[t] - V_th s[t-1]; snnbp H[t] = lam (H[t-1] - V_th s[t-1]) + I[t].
    They agree for leak = 1 and differ for leak < 1."""
    torch.manual_seed(4)
    current = torch.rand(80, 8, 6) * 0.5
    theirs, _ = snntorch_run(current, 1.0, 1.0, "subtract")
    assert torch.equal(LIF(leak=1.0, reset="subtract")(current), theirs)
    theirs, _ = snntorch_run(current, 0.9, 1.0, "subtract")
    assert not torch.equal(LIF(leak=0.9, reset="subtract")(current), theirs)


# --- the paper's derivative ----------------------------------------------------------------

def paper_gradient_by_hand(spikes, grad_out, threshold, ng):
    """dL/dI[t] for the paper's rule with zero reset and a detached leak, written out:
    dL/dH[t] = NG g[t] s[t] / V_th + (1 - s[t]) dL/dH[t+1], i.e. the gradient at step t is the
    (NG-scaled, 1/V_th) gradient of the first spike at or after t; 0 if the neuron never fires again."""
    steps = spikes.shape[0]
    flat_s, flat_g, flat_ng = spikes.reshape(steps, -1), grad_out.reshape(steps, -1), ng.reshape(-1)
    out = torch.zeros_like(flat_g)
    for n in range(flat_s.shape[1]):
        for t in range(steps):
            later = [k for k in range(t, steps) if flat_s[k, n] > 0]
            if later:
                out[t, n] = flat_ng[n] * flat_g[later[0], n] / threshold
    return out.reshape(grad_out.shape)


@pytest.mark.parametrize("leak_correction", [True, False])
@pytest.mark.parametrize("backend", ["fused", "reference"])
def test_paper_gradient_equals_hand_written_formula(leak_correction, backend):
    torch.manual_seed(5)
    threshold, leak = 0.8, 0.97
    current = (torch.rand(30, 3, 4) * 0.6).requires_grad_()
    grad_out = torch.randn(30, 3, 4)
    spikes = LIF(leak=leak, threshold=threshold, leak_correction=leak_correction, backend=backend)(current)
    (spikes * grad_out).sum().backward()
    ng = leak_correction_factor(spikes.detach(), leak) if leak_correction else torch.ones(3, 4)
    expected = paper_gradient_by_hand(spikes.detach(), grad_out, threshold, ng)
    assert spikes.sum() > 20
    assert torch.allclose(current.grad, expected, atol=1e-5)


def test_pool_if_gradient_is_straight_through_without_scaling():
    torch.manual_seed(6)
    current = (torch.rand(20, 5) * 0.6).requires_grad_()
    grad_out = torch.randn(20, 5)
    spikes = IF(threshold=0.75)(current)
    (spikes * grad_out).sum().backward()
    expected = paper_gradient_by_hand(spikes.detach(), grad_out, 1.0, torch.ones(5))
    assert torch.allclose(current.grad, expected, atol=1e-6)


def test_leak_correction_factor_range_and_formula():
    torch.manual_seed(7)
    lam = 0.99
    spikes = (torch.rand(100, 500) < 0.2).float()
    spikes[:, 0] = 0                       # a silent neuron
    spikes[:, 1] = 0
    spikes[99, 1] = 1                      # fires only at the last step: LF = 1, gamma = 1
    ng = leak_correction_factor(spikes, lam)
    assert ng[0] == 0
    assert ng[1] == pytest.approx(1 + math.log(lam))
    fired = ng[2:]
    # NG in [1 + ln(0.99), 1] = [0.98995, 1], i.e. [0.99, 1] to 4 decimals
    assert fired.min() >= 1 + math.log(lam) - 1e-6 and fired.max() <= 1.0
    assert fired.min() >= 0.9899
    # spot-check one neuron against the definition
    s = spikes[:, 7]
    lf = sum(lam ** (100 - t) * float(s[t - 1]) for t in range(1, 101))
    assert float(ng[7]) == pytest.approx(1 + math.log(lam) * lf / float(s.sum()), abs=1e-6)


@pytest.mark.parametrize("name", surrogate.NAMES)
@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("leak_correction", [True, False])
def test_fused_gradients_equal_reference(name, reset, leak_correction):
    torch.manual_seed(8)
    current = (torch.rand(30, 4, 7) * 0.8).requires_grad_()
    grad_out = torch.randn(30, 4, 7)
    results = []
    for backend in ("fused", "reference"):
        spikes = LIF(leak=0.95, surrogate=name, reset=reset, leak_correction=leak_correction,
                     backend=backend)(current)
        (spikes * grad_out).sum().backward()
        results.append((spikes.detach(), current.grad.clone()))
        current.grad = None
    assert torch.equal(results[0][0], results[1][0])
    assert torch.allclose(results[0][1], results[1][1], atol=1e-5)


def test_leak_correction_zeroes_the_gradient_of_silent_neurons():
    # NG = 0 where a neuron never fired: harmless for the paper's rule (s = 0 there anyway), but it
    # silences smooth surrogates, so another surrogate comes without the correction unless asked for
    # (snnbp.surrogate.defaults, tests/test_neuron_contract.py); here it is asked for.
    current = torch.zeros(5, 1, requires_grad=True)
    LIF(surrogate="fast_sigmoid", leak_correction=True)(current).sum().backward()
    assert current.grad.abs().sum() == 0


def test_leak_is_detached_for_paper_and_not_for_others():
    assert LIF(surrogate="paper").detach_leak and not LIF(surrogate="atan").detach_leak
    # With a subtract reset and a silent neuron, dL/dI[0] = (carry)^(T-1) * dL/dH[T-1] through the membrane
    current = torch.zeros(5, 1, requires_grad=True)
    neuron = LIF(leak=0.5, surrogate="fast_sigmoid", reset="subtract", leak_correction=False)
    spikes = neuron(current)
    spikes[-1].sum().backward()
    sg_last = 1 / (1 + 25 * 1.0) ** 2      # fast sigmoid at H = 0, V_th = 1
    assert current.grad[0].item() == pytest.approx(0.5 ** 4 * sg_last, rel=1e-5)


# --- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    (dict(threshold=0.0), "threshold"), (dict(threshold=-1.0), "threshold"),
    (dict(leak=0.0), "leak"), (dict(leak=1.5), "leak"),
    (dict(reset="soft"), "reset.*'zero', 'subtract'"),
    (dict(surrogate="tanh"), "surrogate.*'paper'"),
    (dict(backend="cuda"), "backend"),
])
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LIF(**kwargs)


def test_wrong_input_rank_raises():
    with pytest.raises(ValueError, match=r"\[T, B, \.\.\.\]"):
        LIF()(torch.ones(5))
    with pytest.raises(TypeError, match="current"):
        LIF()([1.0, 2.0])
