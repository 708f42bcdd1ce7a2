"""LeNet on MNIST with the paper preset at T = 20, 1 epoch on a fixed 20,000-image subset, three seeds.

    python results/scripts/lenet_seeds.py --data-root ../shared/data [--seeds 0 1 2]

The subset is the same for every seed (chosen with seed 0); the seed sets the weights, the
shuffling order and the Poisson input. Each seed writes a run folder
``results/mnist-lenet-paper-T20-e1-n20000-seed<S>/`` (config.json, metrics.csv; checkpoints are
deleted) and ``probe.json`` there: the hidden layers' firing rates on 1,000 test images at
initialisation and after the first 50 SGD steps of the run itself (a forward pre-hook measures
them just before step 51, under ``torch.random.fork_rng`` and ``no_grad``, so the run is untouched),
and each hidden layer's rate on the training batch at each of those 50 steps.
"""
from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import torch

import snnbp
from snnbp import data, train
from snnbp.neurons import LIF
from snnbp.recording import record

HERE = Path(__file__).resolve().parents[1]


def _setup(seed: int, root: str):
    """The network and loaders exactly as the run starts them."""
    train.seed_everything(seed)
    net = snnbp.build("lenet", "mnist", preset="paper", timesteps=20, epochs=1)
    train_loader, test_loader = data.loaders("mnist", net.config.batch_size, root=root, download=False,
                                             subset=20000, seed=0)
    train_loader.generator.manual_seed(seed)        # the shuffling order follows the seed
    return net, train_loader, test_loader


@torch.no_grad()
def _rates(net, test_loader) -> dict[str, float]:
    net.eval()
    with torch.random.fork_rng():
        torch.manual_seed(12345)
        with record(net) as rec:
            for x, _ in itertools.islice(test_loader, 1000 // test_loader.batch_size + 1):
                net(x)
    net.train()
    return {k: round(v, 5) for k, v in rec.rates().items() if k != "input"}


class Probe:
    """Hooks on ``net`` for the first ``after`` training steps of the run: each hidden layer's firing
    rate on each training batch (``trace``), and, once, just before step ``after + 1``, the rates on
    the first 1,000 test images (``rates``)."""

    def __init__(self, net, test_loader, after: int = 50):
        self.net, self.test_loader, self.after = net, test_loader, after
        self.calls, self.busy, self.rates = 0, False, None
        self.trace: dict[str, list[float]] = {}
        self.handles = [net.register_forward_pre_hook(self.before_step)]
        for name, module in net.named_modules():
            if isinstance(module, LIF):
                self.handles.append(module.register_forward_hook(self.tracer(name.removeprefix("features."))))

    def tracer(self, name):
        def hook(module, args, out):
            if module.training and not self.busy:
                self.trace.setdefault(name, []).append(round(float(out.detach().float().mean()), 5))
        return hook

    def before_step(self, module, args):
        if self.busy or not module.training:
            return
        if self.calls == self.after:
            self.busy = True
            self.rates = _rates(self.net, self.test_loader)
            self.busy = False
            for handle in self.handles:
                handle.remove()
        self.calls += 1


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", required=True)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--results", default=str(HERE), help="where the run folders go (default: results/)")
    args = p.parse_args()
    for seed in args.seeds:
        out = Path(args.results) / f"mnist-lenet-paper-T20-e1-n20000-seed{seed}"
        if (out / "metrics.csv").exists():
            print(f"seed {seed}: {out} exists, skipped")
            continue
        net, train_loader, test_loader = _setup(seed, args.data_root)
        at_init = _rates(net, test_loader)
        probe = Probe(net, test_loader, after=50)
        history = train.fit(net, train_loader, test_loader, device="cpu", out=out, seed=seed,
                            run_info={"subset": 20000, "subset_seed": 0, "test_subset": None,
                                      "test_examples": len(test_loader.dataset),
                                      "command": "python results/scripts/lenet_seeds.py"})
        found = {"steps": probe.after, "rates_at_init": at_init, "rates_after_steps": probe.rates,
                 "training_batch_rates_first_steps": probe.trace}
        (out / "probe.json").write_text(json.dumps(found, indent=2) + "\n")
        print(f"seed {seed}: rates after {probe.after} steps {probe.rates}", flush=True)
        for name in ("last.pt", "best.pt"):
            (out / name).unlink(missing_ok=True)
        print(f"seed {seed}: test accuracy {history[-1]['test_acc']:.4f}", flush=True)


if __name__ == "__main__":
    main()
