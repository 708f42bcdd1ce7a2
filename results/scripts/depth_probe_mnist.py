"""The depth probe of a paper-initialised network on real MNIST: at which T does it wake?

    python results/scripts/depth_probe_mnist.py --model resnet11 --data-root ../shared/data \\
        --out results/mnist-resnet11-paper-T32/depth_probe.json

``snnbp.wakeup.probe`` on the first ``--images`` MNIST test images (seed 0), the network built as
``paper_deep.py`` builds it (``snnbp.build(model, "mnist", preset="paper")``, seed 0): each
layer's rate and each weight's gradient norm at every T. Writes them as JSON with
``awake_at`` (the smallest probed T at which every layer fires and gradient reaches the first
layer) and the printed summary.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

import snnbp
from snnbp import data, train, wakeup


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="resnet11")
    p.add_argument("--data-root", required=True)
    p.add_argument("--images", type=int, default=16)
    p.add_argument("--timesteps", type=int, nargs="+", default=[16, 32, 64, 100])
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    torch.set_num_threads(2)
    train.seed_everything(0)
    net = snnbp.build(args.model, "mnist", preset="paper")
    test_set = data.dataset("mnist", "test", root=args.data_root, download=False)
    pairs = [test_set[i] for i in range(args.images)]
    images = torch.stack([x for x, _ in pairs])
    labels = torch.tensor([int(y) for _, y in pairs])
    result = wakeup.probe(net, images, labels, args.timesteps, seed=0)
    print(result.summary())
    print("awake at T =", result.awake_at)
    found = {"model": args.model, "dataset": "mnist", "preset": "paper", "images": args.images,
             "seed": 0, "timesteps": result.timesteps, "awake_at": result.awake_at,
             "rates": {str(t): r for t, r in result.rates.items()},
             "grads": {str(t): g for t, g in result.grads.items()},
             "summary": result.summary().splitlines()}
    args.out.write_text(json.dumps(found, indent=1) + "\n")


if __name__ == "__main__":
    main()
