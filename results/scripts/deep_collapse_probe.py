"""Why VGG9 with the paper's method falls silent on MNIST once woken: its first steps, replayed.

    OMP_NUM_THREADS=1 python results/scripts/deep_collapse_probe.py --data-root ../shared/data [--steps 30]

Sets the run up as ``python -m snnbp.train --model vgg9 --dataset mnist --preset paper
--timesteps 16 --init-rate 0.05 --subset 2000 --seed 0`` did
(``results/mnist-vgg9-paper-woken-T16-n2000``): the paper's initialisation, woken by
:func:`snnbp.wakeup.wake` on the first batch, then :func:`snnbp.train.fit` without a run folder,
stopped after ``--steps`` SGD steps. At each step it records each hidden layer's firing rate on the
training batch, the loss per image, the sum of the ten outputs (mean over the batch; the summed
squared error pushes every output down when it exceeds 1) and each weight tensor's relative step
``lr * |grad| / |W|``. Writes ``probe.json`` into that run folder.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import snnbp
from snnbp import data, recipe, train
from snnbp.neurons import LIF

RUN = Path(__file__).resolve().parents[1] / "mnist-vgg9-paper-woken-T16-n2000"


class Enough(Exception):
    """Raised by the forward pre-hook once the steps asked for have been watched."""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", required=True)
    p.add_argument("--steps", type=int, default=30)
    args = p.parse_args()

    train.seed_everything(0)                                  # as python -m snnbp.train --seed 0
    net = snnbp.build("vgg9", "mnist", preset="paper", timesteps=16, init_rate=0.05)
    train_loader, test_loader = data.loaders("mnist", net.config.batch_size, root=args.data_root,
                                             download=False, subset=(2000, None), seed=0)
    lr = net.config.lr
    rates: dict[str, list[float]] = {}
    steps_rel: dict[str, list[float]] = {}
    losses, out_sums, step = [], [], [0]
    weights = [(n.removeprefix("features.").removesuffix(".weight").removesuffix(".module"), w)
               for n, w in net.named_parameters()]

    def rate_hook(name):
        def hook(module, inputs, out):
            if module.training:
                rates.setdefault(name, []).append(round(float(out.detach().float().mean()), 6))
        return hook

    def before_step(module, inputs):
        if not module.training:
            return
        if step[0]:                                           # the previous step's gradients
            for name, w in weights:
                g = float(w.grad.norm()) if w.grad is not None else 0.0
                steps_rel.setdefault(name, []).append(lr * g / float(w.detach().norm()))
        if step[0] == args.steps:
            raise Enough
        step[0] += 1

    def output_hook(module, inputs, out):
        if module.training:
            out_sums.append(round(float(out.detach().sum(1).mean()), 6))

    def loss_hook(module, inputs, out):
        losses.append(round(float(out.detach()) / len(inputs[1]), 6))

    for name, module in net.named_modules():
        if isinstance(module, LIF):
            module.register_forward_hook(rate_hook(name.removeprefix("features.")))
    net.register_forward_pre_hook(before_step)
    net.register_forward_hook(output_hook)
    loss_fn = recipe.make_loss(net.config)
    loss_fn.register_forward_hook(loss_hook)
    original = recipe.make_loss
    recipe.make_loss = lambda config: loss_fn
    try:
        train.fit(net, train_loader, test_loader, device="cpu", seed=0, quiet=True)
    except Enough:
        pass
    finally:
        recipe.make_loss = original
    found = {"steps": args.steps, "lr": lr, "batch_size": net.config.batch_size,
             "wake_gains": net.wake_gains, "loss_per_image": losses[:args.steps],
             "output_sum": out_sums[:args.steps],
             "training_batch_rates_first_steps": {k: v[:args.steps] for k, v in rates.items()},
             "relative_step": steps_rel}
    RUN.mkdir(exist_ok=True)
    (RUN / "probe.json").write_text(json.dumps(found, indent=1) + "\n")
    first = {k: v[:4] for k, v in rates.items() if k.startswith("lif")}
    print(f"loss {losses[:6]}\noutput sums {out_sums[:6]}\nrates {first}")


if __name__ == "__main__":
    main()
