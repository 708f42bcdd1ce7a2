"""Why the full-size paper run with seed 0 collapsed: its first training steps, replayed and watched.

    OMP_NUM_THREADS=1 python results/scripts/full_seed0_probe.py --data-root ../shared/data [--steps 150]

Sets the run up as ``python -m snnbp.train --model lenet --dataset mnist --preset paper
--timesteps 20 --seed 0`` did (``results/mnist-lenet-paper-T20-full-seed0``), calls
:func:`snnbp.train.fit` without a run folder, and stops it after ``--steps`` SGD steps. At each
step it records each hidden layer's firing rate on the training batch, the loss per image, and the
norm of each weight layer's gradient. Writes ``probe.json`` into that run folder.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import snnbp
from snnbp import data, recipe, train
from snnbp.neurons import LIF

RUN = Path(__file__).resolve().parents[1] / "mnist-lenet-paper-T20-full-seed0"


class Enough(Exception):
    """Raised by the forward pre-hook once the steps asked for have been watched."""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", required=True)
    p.add_argument("--steps", type=int, default=150)
    args = p.parse_args()

    train.seed_everything(0)                                  # as python -m snnbp.train --seed 0
    net = snnbp.build("lenet", "mnist", preset="paper", timesteps=20)
    train_loader, test_loader = data.loaders("mnist", net.config.batch_size, root=args.data_root,
                                             download=False, subset=(None, None), seed=0)
    rates: dict[str, list[float]] = {}
    grads: dict[str, list[float]] = {}
    losses: list[float] = []
    steps = [0]

    def rate_hook(name):
        def hook(module, inputs, out):
            if module.training:
                rates.setdefault(name, []).append(round(float(out.detach().float().mean()), 6))
        return hook

    def before_step(module, inputs):
        if module.training:
            if steps[0]:                                      # the previous step's gradients
                for name, w in train_weights:
                    grads.setdefault(name, []).append(float(w.grad.norm()) if w.grad is not None else 0.0)
            if steps[0] == args.steps:
                raise Enough
            steps[0] += 1

    def loss_hook(module, inputs, out):
        losses.append(round(float(out.detach()) / len(inputs[1]), 6))

    train_weights = [(n.removeprefix("features.").removesuffix(".weight").removesuffix(".module"), w)
                     for n, w in net.named_parameters()]
    for name, module in net.named_modules():
        if isinstance(module, LIF):
            module.register_forward_hook(rate_hook(name.removeprefix("features.")))
    net.register_forward_pre_hook(before_step)
    loss_fn = recipe.make_loss(net.config)
    original = recipe.make_loss
    recipe.make_loss = lambda config: loss_fn
    loss_fn.register_forward_hook(loss_hook)
    try:
        train.fit(net, train_loader, test_loader, device="cpu", seed=0, quiet=True, reuse_memory=True)
    except Enough:
        pass
    finally:
        recipe.make_loss = original
    found = {"steps": args.steps, "loss_per_image": losses[:args.steps],
             "training_batch_rates_first_steps": {k: v[:args.steps] for k, v in rates.items()},
             "weight_grad_norms": grads}
    (RUN / "probe.json").write_text(json.dumps(found, indent=1) + "\n")
    top = rates["lif3"]
    print("lif3 rate at steps 1-10:", top[:10])
    print("first step with lif3 silent:", next((i + 1 for i, r in enumerate(top) if r == 0), None))
    print("steps with lif3 silent:", sum(r == 0 for r in top), "of", len(top))
    print("gradient norms at the last step:", {k: v[-1] for k, v in grads.items()})


if __name__ == "__main__":
    main()
