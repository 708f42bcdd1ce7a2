"""The fast paths of the fused neuron scan give the reference path's spikes and gradients.

The fused scan (snnbp.fused_scan._LIFScan) runs the time loop block by block over the neurons and
has special backward paths for the spike-only surrogates (paper, straight-through). Every path is
checked against the per-step autograd reference, with blocks smaller than the layer so that the
block loop and a ragged last block are exercised.
"""
import itertools

import pytest
import torch

from snnbp import fused_scan
from snnbp.neurons import LIF, LIFSettings
from snnbp.surrogate import NAMES


@pytest.fixture(params=[None, 7, 64], ids=["one-block", "block7", "block64"])
def block(request, monkeypatch):
    if request.param is not None:
        monkeypatch.setattr(fused_scan, "CPU_BLOCK", request.param)
    return request.param


def _run(backend, current, grad, **kwargs):
    x = current.clone().requires_grad_()
    neuron = LIF(backend=backend, record=True, **kwargs)
    spikes = neuron(x)
    spikes.backward(grad)
    return spikes.detach(), neuron.membrane, x.grad


CASES = list(itertools.product(NAMES, ("zero", "subtract"), (True, False), (True, False)))


@pytest.mark.parametrize("surrogate,reset,leak_correction,detach_leak", CASES)
def test_fused_equals_reference(block, surrogate, reset, leak_correction, detach_leak):
    torch.manual_seed(CASES.index((surrogate, reset, leak_correction, detach_leak)))   # fixed inputs
    current = torch.rand(13, 3, 5, 7) * 0.7 - 0.1                       # 105 neurons per step
    grad = torch.randn_like(current)
    kwargs = dict(leak=0.9, threshold=0.8, reset=reset, surrogate=surrogate,
                  leak_correction=leak_correction, detach_leak=detach_leak)
    s_ref, m_ref, g_ref = _run("reference", current, grad, **kwargs)
    s_fused, m_fused, g_fused = _run("fused", current, grad, **kwargs)
    assert s_ref.sum() > 0 and (s_ref == 0).any()
    assert torch.equal(s_fused, s_ref)
    torch.testing.assert_close(m_fused, m_ref, rtol=0, atol=1e-6)
    # float rounding only: the reference's detached leak (r - (1 - lam) r) rounds the membrane
    # differently, and steep surrogates (slope 25) turn 1e-7 there into ~1e-5 in the gradient
    torch.testing.assert_close(g_fused, g_ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("surrogate", NAMES)
def test_if_neuron_and_broadcast_gradient(block, surrogate):
    """leak = 1 (the pooling IF neuron) and a non-contiguous incoming gradient (from a sum)."""
    torch.manual_seed(5)
    current = torch.rand(9, 4, 30) * 0.5
    grad = torch.randn(1, 4, 30).expand(9, 4, 30)
    kwargs = dict(leak=1.0, threshold=0.75, surrogate=surrogate, leak_correction=False)
    _, _, g_ref = _run("reference", current, grad, **kwargs)
    _, _, g_fused = _run("fused", current, grad, **kwargs)
    torch.testing.assert_close(g_fused, g_ref, rtol=1e-5, atol=4e-6)


@pytest.mark.parametrize("width,size", [(1, 4), (10, 4), (12, 4), (5, 100)])
def test_blocks_cover_every_neuron_once(monkeypatch, width, size):
    monkeypatch.setattr(fused_scan, "CPU_BLOCK", size)
    blocks = fused_scan._blocks(width, torch.device("cpu"))
    assert all(b.stop - b.start <= size for b in blocks)
    covered = torch.zeros(width, dtype=torch.int)
    for b in blocks:
        covered[b] += 1
    assert covered.eq(1).all()


def _scan_node(spikes):
    """The scan's autograd node behind the layout views (permute, view) of its output."""
    node = spikes.grad_fn
    while type(node).__name__ in ("PermuteBackward0", "ViewBackward0", "ReshapeAliasBackward0"):
        node = node.next_functions[0][0]
    return node


@pytest.mark.parametrize("surrogate", ["paper", "fast_sigmoid"])
def test_no_grad_forward_saves_nothing_extra(monkeypatch, surrogate):
    """Without gradients the scan neither computes NG nor keeps the membrane; with them it saves the
    spikes as booleans, NG, and the membrane only for a surrogate that needs it."""
    calls = []
    real = fused_scan.leak_correction_factor
    monkeypatch.setattr(fused_scan, "leak_correction_factor", lambda *args: calls.append(1) or real(*args))
    settings = LIFSettings(surrogate=surrogate, leak_correction=True)
    current = torch.rand(6, 2, 10) * 0.8
    with torch.no_grad():
        spikes, membrane = fused_scan.lif_scan(current, settings)
    assert spikes.grad_fn is None and membrane is None and calls == []
    with_grad, membrane = fused_scan.lif_scan(current.clone().requires_grad_(), settings)
    assert membrane is None and calls                          # NG computed once gradients are needed
    assert torch.equal(with_grad.detach(), spikes) and spikes.sum() > 0
    saved = [t for t in _scan_node(with_grad).saved_tensors if t is not None]
    assert sorted(str(t.dtype) for t in saved) == sorted(
        ["torch.bool", "torch.float32"] + ([] if surrogate == "paper" else ["torch.float32"]))
    assert any(t.dtype == torch.bool and t.shape == (6, 20) for t in saved)


def test_spike_only_surrogates_use_the_custom_operator():
    """paper / straight-through: torch.ops.snnbp.lif_scan (one node in a compiled graph); the others
    and keep_membrane: the autograd function."""
    x = (torch.rand(5, 3) * 0.8).requires_grad_()
    assert "snnbp_lif_scan" in type(_scan_node(fused_scan.lif_scan(x, LIFSettings())[0])).__name__
    assert type(_scan_node(fused_scan.lif_scan(x, LIFSettings(), keep_membrane=True)[0])).__name__ == "_LIFScanBackward"
    assert type(_scan_node(fused_scan.lif_scan(x, LIFSettings(surrogate="atan"))[0])).__name__ == "_LIFScanBackward"
    torch.library.opcheck(torch.ops.snnbp.lif_scan.default, (x.detach().clone().requires_grad_(), 0.9, 0.8, "zero",
                                                            1.25, True, True, True))


def test_bfloat16_current():
    torch.manual_seed(3)
    current = (torch.rand(10, 2, 40) * 0.6).to(torch.bfloat16)
    grad = torch.randn(10, 2, 40, dtype=torch.bfloat16)
    s_ref, _, g_ref = _run("reference", current, grad)
    s_fused, _, g_fused = _run("fused", current, grad)
    assert s_fused.dtype == torch.bfloat16 and g_fused.dtype == torch.bfloat16
    assert torch.equal(s_fused, s_ref)
    torch.testing.assert_close(g_fused.float(), g_ref.float(), rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_channels_last_input_scans_in_memory_order(block, reset):
    """A channels-last current gives the same spikes and gradients, in its own layout (no copy)."""
    torch.manual_seed(11)
    current = torch.rand(9, 2, 3, 4, 5) * 0.7
    grad = torch.randn_like(current)
    as_last = lambda t: t.flatten(0, 1).contiguous(memory_format=torch.channels_last).view(t.shape)  # noqa: E731
    s_ref, m_ref, g_ref = _run("fused", current, grad, reset=reset)
    s_cl, m_cl, g_cl = _run("fused", as_last(current), as_last(grad), reset=reset)
    assert s_cl.stride() == as_last(current).stride() and g_cl.stride() == as_last(current).stride()
    assert torch.equal(s_cl, s_ref) and torch.equal(m_cl, m_ref) and torch.equal(g_cl, g_ref)


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_firing_is_strictly_above_threshold_at_the_last_bit(reset):
    """H == V_th does not fire; the next float32 above it does (the three-kernel reset path)."""
    above = torch.nextafter(torch.tensor(0.75), torch.tensor(1.0)).item()
    current = torch.tensor([[0.75, above, 0.5, 0.25]])
    for neuron in (LIF(threshold=0.75, reset=reset), LIF(threshold=0.75, reset=reset, backend="reference")):
        spikes = neuron(current.clone().requires_grad_())
        assert spikes.tolist() == [[0.0, 1.0, 0.0, 0.0]]
    # and the reset: 0.5 + 0.25 reaches the threshold exactly at step 2 of an IF neuron, not above it
    spikes = LIF(leak=1.0, threshold=0.75, reset=reset)(torch.tensor([[0.5], [0.25], [1e-3]]))
    assert spikes.flatten().tolist() == [0.0, 0.0, 1.0]
