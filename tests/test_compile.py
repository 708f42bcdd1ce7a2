"""torch.compile: a compiled training step compiles once and then never again.

The cause of a compiled step that ran ~100x slower than eager on the CPU (benchmarks/gpu.sh
--dry-run): dynamo traced into the fused scan's Python loop, broke the graph at its
``float(tensor)`` threshold helper, and compiled the scan's helper functions once per layer shape,
leak and threshold, still recompiling in the second and third training steps. The scan is now a
custom operator for the spike-only surrogates (torch.ops.snnbp.lif_scan: the compiled network is one
graph) and a ``torch.compiler.disable``-d autograd function for the others (snnbp.fused_scan).
"""
import pytest
import torch
import torch._inductor.config
from torch._dynamo.utils import counters

import snnbp
import snnbp.train

pytestmark = pytest.mark.slow      # compiling takes 10-40 s on a small shared CPU


def _step(model, net, loss_fn, opt, x, y):
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    return loss.detach()


@pytest.mark.parametrize("name,layers", [("mlp", None), ("conv", [4, "A", ("fc", 16)])])
@torch._inductor.config.patch(fallback_random=True)     # the eager random numbers: same Poisson spikes
def test_compiled_training_step_does_not_recompile_after_warm_up(name, layers):
    torch._dynamo.reset()
    torch.manual_seed(0)
    net = (snnbp.build("mlp", "digits", timesteps=3) if layers is None
           else snnbp.models.custom(layers, "digits", like="vgg9", timesteps=3)).train()
    loss_fn, opt = snnbp.recipe.make_loss(net.config), snnbp.recipe.make_optimizer(net, net.config)
    model = torch.compile(net)
    x, y = torch.rand(4, 1, 8, 8), torch.randint(0, 10, (4,))
    counters.clear()
    first = _step(model, net, loss_fn, opt, x, y)                 # warm-up: compiles
    assert not counters["graph_break"], dict(counters["graph_break"])   # paper preset: one graph
    with torch._dynamo.config.patch(error_on_recompile=True):
        for _ in range(3):
            later = _step(model, net, loss_fn, opt, x, y)
    assert torch.isfinite(first) and torch.isfinite(later)
    # and the compiled network computes what the eager one does
    net.eval()
    torch.manual_seed(1)
    eager = net(x)
    torch.manual_seed(1)
    torch.testing.assert_close(model(x), eager, rtol=1e-5, atol=1e-6)
    torch._dynamo.reset()
