"""The neuron as an extension point (issue 30, item 1): learnable leak and threshold, overridable
equations, ``neuron=`` in build / Network / the preset / config.json, the bridge's live values.

Oracles: the LIF neuron written out as a literal time loop of plain tensor operations in this file
(charge, fire, reset, leak; the paper's rule and its leak correction from their definitions),
differentiated by autograd; snnTorch's Leaky for the bridge.
"""
import json
import math

import pytest
import torch

import snnbp
from snnbp import LIF, data, fused_scan, neurons, presets, runs, train, train_cli
from snnbp.learnable import LearnableLeakLIF, LearnableThresholdLIF
from snnbp.neurons import LIFSettings


def literal_loop(current, lam, threshold, reset, detach_leak, rule, leak_correction=False):
    """LIF from its definitions. ``rule`` "paper": ds/dH = s / V_th and ds/dV_th = -s / V_th
    (straight through where it fired); "atan": the arc-tangent surrogate of u = H - V_th through its
    primitive atan(pi/2 alpha u) / pi (alpha = 2). ``leak_correction``: the spike output's gradient
    times NG = 1[LF > 1e-3] + ln(lam) LF / gamma, LF = sum_t lam^(T-t) s[t], gamma = sum_t s[t]
    (1 where < 1e-3). With ``detach_leak`` the membrane's gradient sees no leak (the leak's own
    gradient is R)."""
    v = torch.zeros_like(current[0])
    out = []
    for i in current:
        h = v + i
        u = h - threshold
        fired = (u > 0).to(h.dtype)
        if rule == "paper":
            smooth = u * fired.detach() / (threshold.detach() if torch.is_tensor(threshold) else threshold)
        else:
            smooth = torch.atan(math.pi / 2 * 2.0 * u) / math.pi
        out.append(fired + (smooth - smooth.detach()))            # forward: exactly 0 or 1
        s = fired.detach()
        r = h * (1 - s) if reset == "zero" else h - threshold * s
        v = lam * r.detach() + (r - r.detach()) if detach_leak else lam * r
    spikes = torch.stack(out)
    if leak_correction:
        lam_ = float(lam.detach()) if torch.is_tensor(lam) else float(lam)
        lf = torch.zeros_like(spikes[0])
        for s in spikes.detach():
            lf = lam_ * lf + s
        gamma = spikes.detach().sum(0)
        gamma = torch.where(gamma < 1e-3, torch.ones_like(gamma), gamma)
        ng = (lf > 1e-3).to(lf.dtype) + math.log(lam_) * lf / gamma
        spikes = spikes.detach() + (spikes - spikes.detach()) * ng
    return spikes


CASES = [("paper", "zero", True, True), ("paper", "subtract", True, True), ("atan", "zero", False, False),
         ("atan", "subtract", True, False)]


@pytest.mark.parametrize("rule,reset,detach_leak,leak_correction", CASES)
def test_learnable_leak_gradients_equal_the_literal_loop(rule, reset, detach_leak, leak_correction):
    torch.manual_seed(4)
    current, grad_out = torch.rand(30, 3, 7) * 0.5, torch.randn(30, 3, 7)
    neuron = LearnableLeakLIF(leak=0.9, threshold=0.8, reset=reset, surrogate=rule, detach_leak=detach_leak,
                              leak_correction=leak_correction)
    x = current.clone().requires_grad_()
    spikes = neuron(x)
    (spikes * grad_out).sum().backward()

    raw = torch.logit(torch.tensor(0.9)).requires_grad_()
    y = current.clone().requires_grad_()
    expected = literal_loop(y, torch.sigmoid(raw), 0.8, reset, detach_leak, rule, leak_correction)
    (expected * grad_out).sum().backward()

    assert torch.equal(spikes.detach(), expected.detach()) and 0 < spikes.sum() < spikes.numel()
    assert raw.grad.abs() > 1e-4
    torch.testing.assert_close(neuron.raw_leak.grad, raw.grad, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(x.grad, y.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("rule,reset,detach_leak,leak_correction", CASES)
def test_learnable_threshold_gradients_equal_the_literal_loop(rule, reset, detach_leak, leak_correction):
    torch.manual_seed(5)
    current, grad_out = torch.rand(30, 3, 7) * 0.5, torch.randn(30, 3, 7)
    neuron = LearnableThresholdLIF(leak=0.95, threshold=0.7, reset=reset, surrogate=rule,
                                   detach_leak=detach_leak, leak_correction=leak_correction)
    x = current.clone().requires_grad_()
    spikes = neuron(x)
    (spikes * grad_out).sum().backward()

    w = torch.tensor(math.log(0.7)).requires_grad_()
    y = current.clone().requires_grad_()
    expected = literal_loop(y, 0.95, torch.exp(w), reset, detach_leak, rule, leak_correction)
    (expected * grad_out).sum().backward()

    assert torch.equal(spikes.detach(), expected.detach()) and 0 < spikes.sum() < spikes.numel()
    assert w.grad.abs() > 1e-4
    torch.testing.assert_close(neuron.log_threshold.grad, w.grad, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(x.grad, y.grad, rtol=1e-5, atol=1e-6)


def test_a_lower_threshold_gives_more_spikes_and_the_gradient_says_so():
    # the sign of the threshold's gradient, from the forward pass itself: d(spike count)/d(ln V_th) < 0
    neuron = LearnableThresholdLIF(threshold=1.0, surrogate="atan")
    current = torch.rand(40, 2, 16) * 0.4
    neuron(current).sum().backward()
    assert neuron.log_threshold.grad < 0
    counts = [LIF(threshold=t, surrogate="atan")(current).sum() for t in (0.9, 1.0)]
    assert counts[0] > counts[1]


def test_live_values_read_and_set_the_parameters():
    leak, thr = LearnableLeakLIF(leak=0.9), LearnableThresholdLIF(threshold=0.5)
    assert leak.leak == pytest.approx(0.9) and thr.threshold == pytest.approx(0.5)
    leak.leak, thr.threshold = 0.8, 2.0
    assert float(torch.sigmoid(leak.raw_leak.detach())) == pytest.approx(0.8)
    assert float(torch.exp(thr.log_threshold.detach())) == pytest.approx(2.0)
    assert float(thr.dynamics().threshold.detach()) == pytest.approx(2.0)
    with pytest.raises(ValueError, match=r"\(0, 1\).*IF"):
        LearnableLeakLIF(leak=1.0)
    with pytest.raises(ValueError, match="threshold"):
        thr.threshold = -1.0


def test_settings_take_a_tensor_threshold_of_one_value_only():
    p = LIFSettings(threshold=torch.tensor(0.5))
    assert "threshold is a tensor" in fused_scan.supports(p)
    with pytest.raises(ValueError, match="0-dimensional"):
        LIFSettings(threshold=torch.tensor([0.5, 0.6]))
    current = torch.rand(20, 2, 5)
    assert torch.equal(neurons.lif_reference(current, p)[0], LIF(threshold=0.5)(current))


# -- the three equations as overridable steps --------------------------------------------------

class HalfCharge(LIF):
    """A neuron that integrates half of its input: one overridden equation."""

    def charge(self, v, current, p):
        return v + 0.5 * current


def test_overriding_an_equation_changes_the_neuron_and_leaves_the_fused_scan():
    assert HalfCharge.fused is False and LIF.fused and snnbp.IF.fused and LearnableLeakLIF.fused
    current = torch.rand(25, 2, 6)
    # oracle: the plain LIF with half the current (charge is V + I/2, the rest unchanged)
    assert torch.equal(HalfCharge()(current), LIF(backend="reference")(0.5 * current))
    v, s, h = HalfCharge().step(torch.zeros(3), torch.ones(3))
    assert torch.equal(h, torch.full((3,), 0.5))
    with pytest.raises(TypeError, match="overrides LIF's equations"):
        snnbp.snntorch_twin._leaky(HalfCharge())


def test_a_class_may_declare_that_the_scan_computes_it():
    class Same(LIF):
        fused = True

        def fire(self, h, p):
            return neurons.fire(h, p)
    assert Same.fused is True


# -- neuron= in build, Network, the preset, fit and config.json ---------------------------------

def test_build_network_and_preset_take_the_neuron_by_name_or_registered_class():
    net = snnbp.build("lenet", "mnist", timesteps=4, neuron="learnable_leak")
    hidden = [m for m in net.modules() if isinstance(m, LIF) and not isinstance(m, snnbp.IF)]
    assert len(hidden) == 3 and all(type(m) is LearnableLeakLIF for m in hidden)
    assert all(type(m) is snnbp.IF for m in net.modules() if isinstance(m, snnbp.IF))
    assert net.config.neuron == "learnable_leak"
    assert snnbp.build("lenet", "mnist", neuron=LearnableThresholdLIF).config.neuron == "learnable_threshold"
    resnet = snnbp.build("resnet7", "digits", image_size=16, timesteps=4, neuron="learnable_threshold")
    assert type(resnet.features.block1.neuron2) is LearnableThresholdLIF
    config = presets.get("paper", "mlp", "digits")
    assert config.neuron == "lif"
    net = snnbp.models.Network([snnbp.tables.FC(16)], (1, 8, 8), 10, config, neuron="learnable_leak")
    assert type(net.features.lif1) is LearnableLeakLIF and net.config.neuron == "learnable_leak"
    with pytest.raises(ValueError, match="unknown neuron 'plif'.*'lif', 'learnable_leak'"):
        snnbp.build("lenet", "mnist", neuron="plif")

    class Unregistered(LIF):
        pass
    with pytest.raises(TypeError, match="not registered.*register"):
        snnbp.build("lenet", "mnist", neuron=Unregistered)


def test_register_refuses_what_is_not_a_neuron_and_a_taken_name():
    with pytest.raises(TypeError, match="subclass of snnbp.LIF"):
        neurons.register("thing", dict)
    with pytest.raises(ValueError, match="taken"):
        neurons.register("lif", LearnableLeakLIF)
    with pytest.raises(ValueError, match="identifier"):
        neurons.register("my neuron", LearnableLeakLIF)


def test_a_learnable_neuron_trains_in_fit_and_its_run_folder_rebuilds_it(tmp_path):
    train.seed_everything(0)
    net = snnbp.build("mlp", "digits", timesteps=8, neuron="learnable_leak")
    before = {n: p.detach().clone() for n, p in net.named_parameters() if n.endswith("raw_leak")}
    tr, te = data.loaders("digits", net.config.batch_size, subset=(256, 64), seed=0)
    train.fit(net, tr, te, epochs=1, out=tmp_path, quiet=True, seed=0, device="cpu")
    after = {n: p.detach() for n, p in net.named_parameters() if n.endswith("raw_leak")}
    assert before and all(not torch.equal(before[n], after[n]) for n in before)
    assert json.loads((tmp_path / "config.json").read_text())["preset"]["neuron"] == "learnable_leak"
    model, _ = runs.load_run(tmp_path, checkpoint="last")
    assert type(model.features.lif1) is LearnableLeakLIF
    torch.testing.assert_close(model.features.lif1.raw_leak.detach(), after["features.lif1.raw_leak"])


def test_a_run_saved_before_the_field_rebuilds_with_the_papers_neuron():
    saved = presets.get("paper", "lenet", "mnist").to_dict()
    del saved["neuron"]
    assert presets.saved_fields(saved)["neuron"] == "lif"


# -- the bridge reads the live values ----------------------------------------------------------

def test_the_snntorch_twin_gets_the_learnt_leak_and_threshold():
    pytest.importorskip("snntorch")
    leak, thr = LearnableLeakLIF(leak=0.9), LearnableThresholdLIF(threshold=0.5)
    leak.leak, thr.threshold = 0.7, 1.5
    assert float(snnbp.snntorch_twin._leaky(leak).beta) == pytest.approx(0.7)
    assert float(snnbp.snntorch_twin._leaky(thr).threshold) == pytest.approx(1.5)
    net = snnbp.build("mlp", "digits", timesteps=12, neuron="learnable_threshold")
    net.features.lif1.threshold = 0.6
    x = torch.rand(3, 1, 8, 8)
    comparison = snnbp.snntorch_twin.compare(net, net.encode(x))
    assert comparison.equal, comparison


def test_the_command_line_takes_the_neuron_and_the_results_table_names_it(tmp_path, capsys):
    out = tmp_path / "run"
    code = train_cli.main(["--neuron", "learnable_threshold", "--epochs", "1", "--timesteps", "4", "--subset", "64",
                       "--test-subset", "32", "--out", str(out), "--quiet"])
    assert code == 0
    assert json.loads((out / "config.json").read_text())["preset"]["neuron"] == "learnable_threshold"
    run = snnbp.results.collect(tmp_path)[0]
    assert "neuron=learnable_threshold (preset lif)" in snnbp.results.kind(run)
    with pytest.raises(SystemExit):
        train_cli.main(["--neuron", "plif"])
    assert "invalid choice: 'plif'" in capsys.readouterr().err
