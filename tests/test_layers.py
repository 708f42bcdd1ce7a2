"""Time-batched layers: dropout shared over time, the output integrator."""
import pytest
import torch

import snnbp
from snnbp.layers import OutputIntegrator, TimeBatched, TimeFixedDropout, output_membrane


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
    # the per-step membrane and the one-sum read-out are the same equation
    assert torch.allclose(output_membrane(current, 0.9)[-1] / 5, OutputIntegrator(0.9)(current), atol=1e-6)
    assert torch.allclose(output_membrane(current, 0.9)[-1], v, atol=1e-6)


def test_time_batched_equals_a_loop():
    conv = torch.nn.Conv2d(2, 3, 3, padding=1, bias=False)
    x = torch.rand(4, 5, 2, 6, 6)
    assert torch.allclose(TimeBatched(conv)(x), torch.stack([conv(x[t]) for t in range(4)]), atol=1e-6)


def test_time_batched_keeps_the_memory_layout():
    conv = torch.nn.Conv2d(2, 3, 3, padding=1, bias=False)
    x = torch.rand(4, 5, 2, 6, 6)
    assert TimeBatched(conv)(x).is_contiguous()
    y = TimeBatched(conv)(snnbp.models.to_channels_last(x))
    assert y.flatten(0, 1).is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(y, TimeBatched(conv)(x))


@pytest.mark.parametrize("layers,dataset", [([8, "A", snnbp.tables.Block(8, stride=2)], "cifar10"),
                                            ([snnbp.tables.Conv(4, kernel=5, padding=2), "A", 6, "A"], "mnist")])
def test_network_runs_channels_last_on_the_cpu_with_the_same_maths(layers, dataset):
    """The speed switch: the encoded input is laid out channels-last once, every convolution after it
    keeps that layout, and it computes the same maths as the plain layout. (An input with one
    channel cannot carry a layout through TimeBatched's reshape: there the first layer's output is
    laid out, so every convolution after the first runs channels-last.) The sums run in another
    order, so in general a spike near threshold can flip; with weights on a grid of 2**-10 and
    spike inputs every current is exact in float32 in any order, so here the outputs are equal bit
    for bit, and the gradients (sums of other floats) equal up to rounding."""
    torch.manual_seed(0)
    net = snnbp.models.custom(layers, dataset, like="vgg9", timesteps=3, dropout=0.0)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_((p * 2 ** 10).round() / 2 ** 10)
    x = torch.rand(2, *net.in_shape)
    layouts = []
    hook = lambda m, args, out: layouts.append(out.flatten(0, 1).is_contiguous(memory_format=torch.channels_last))  # noqa: E731
    handles = [m.register_forward_hook(hook) for m in net.modules()
               if isinstance(m, TimeBatched) and isinstance(m.module, torch.nn.Conv2d)]
    assert net.uses_channels_last(net.encode(x))
    results = []
    for switch in (None, False):
        net.channels_last = switch
        torch.manual_seed(1)
        out = net(x)
        results.append((out, torch.autograd.grad(out.sum(), list(net.parameters()))))
    for h in handles:
        h.remove()
    n = len(layouts) // 2
    first = 0 if net.in_shape[0] > 1 else 1
    assert all(layouts[first:n]) and not any(layouts[n:])
    assert torch.equal(results[0][0], results[1][0]) and results[0][0].abs().max() > 0
    for a, b in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    assert not snnbp.build("mlp", "digits").uses_channels_last(torch.rand(4, 2, 1, 8, 8))


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
