"""Time-batched layers: dropout shared over time, the output integrator."""
import pytest
import torch

from snnbp.layers import OutputIntegrator, TimeBatched, TimeFixedDropout


def test_time_fixed_dropout_uses_one_mask_for_all_steps():
    torch.manual_seed(0)
    drop = TimeFixedDropout(0.25)
    y = drop(torch.ones(6, 50, 40))
    assert all(torch.equal(y[t], y[0]) for t in range(6))
    assert torch.allclose(y[y != 0], torch.tensor(1 / 0.75))
    assert (y[0] == 0).float().mean().item() == pytest.approx(0.25, abs=0.03)
    assert torch.equal(drop.eval()(torch.ones(6, 5)), torch.ones(6, 5))


def test_time_fixed_dropout_draws_a_new_mask_per_call():
    torch.manual_seed(1)
    drop = TimeFixedDropout(0.5)
    assert not torch.equal(drop(torch.ones(2, 100)), drop(torch.ones(2, 100)))


def test_output_integrator_is_the_leaky_membrane_over_t():
    current = torch.randn(5, 2, 3)
    v = torch.zeros(2, 3)
    for t in range(5):
        v = 0.9 * (v + current[t])
    assert torch.allclose(OutputIntegrator(0.9)(current), v / 5, atol=1e-6)


def test_time_batched_equals_a_loop():
    conv = torch.nn.Conv2d(2, 3, 3, padding=1, bias=False)
    x = torch.rand(4, 5, 2, 6, 6)
    assert torch.allclose(TimeBatched(conv)(x), torch.stack([conv(x[t]) for t in range(4)]), atol=1e-6)


def test_time_batched_convolution_runs_channels_last_on_the_cpu():
    """oneDNN's faster layout; the values stay those of the per-step convolution."""
    conv = torch.nn.Conv2d(2, 3, 3, padding=1, bias=False)
    y = TimeBatched(conv)(torch.rand(4, 5, 2, 6, 6))
    assert y.flatten(0, 1).is_contiguous(memory_format=torch.channels_last)
    assert not y.is_contiguous()
    linear = TimeBatched(torch.nn.Linear(3, 2))(torch.rand(4, 5, 3))
    assert linear.is_contiguous()


def test_dropout_mask_does_not_depend_on_memory_layout():
    x = torch.rand(3, 2, 4, 5, 5)
    channels_last = x.flatten(0, 1).contiguous(memory_format=torch.channels_last).view(x.shape)
    torch.manual_seed(7)
    a = TimeFixedDropout(0.4)(x)
    torch.manual_seed(7)
    b = TimeFixedDropout(0.4)(channels_last)
    assert torch.equal(a, b)


def test_dropout_probability_is_checked():
    with pytest.raises(ValueError, match="p must lie in"):
        TimeFixedDropout(1.0)
