"""Why do the first layers' weights of a paper_deep.py run grow without bound? A test of one explanation.

    python results/scripts/growth_probe.py --run results/mnist-vgg9-paper-T100-replay --data-root ../shared/data

The explanation tested: once a layer's weights are large, its spikes (0 or 1, at most one a step)
hardly depend on the weights' scale any more, so the loss does not either; but the paper's
derivative passes the gradient down through the layer's weights at every spike, so the gradient
that reaches the layer *below* grows in proportion to the layer's scale. Nothing pulls the weights
back (the loss does not grow with them; weight decay 5e-4 takes 0.00017 % of a weight per step at
lr 0.0033), and a layer's growth speeds up the growth of every layer under it.

What this script measures, at the initial network (rebuilt from the run's seed) and at the run's
``last.pt``, on the training batches of the steps after the checkpoint (train mode, each step's own
Poisson input and dropout masks, as ``paper_deep.py`` draws them):

* for each convolution ``k`` of ``--layers``: the weights of ``k`` multiplied by 2, everything else
  the same. The explanation predicts, where ``k`` has grown: the loss and the rate of ``k``'s
  neurons nearly unchanged, and the gradient norm of the layer below ``k`` doubled. At the initial
  network, doubling ``k`` changes its spikes (a contrast, not a prediction);
* for every weight: the cosine between the descent direction ``-grad`` and the weight itself (> 0:
  the step lengthens the weight) and the relative growth per step it gives,
  ``lr * (-grad . W / |W|^2 - weight_decay)``;
* at every spiking layer: its firing rate and the norm of the gradient at its spike output
  ``dL/ds`` (the ratio of two consecutive layers' norms is the factor by which the backward pass
  multiplies the gradient there: where it grows, the layers below get more gradient with no change
  of the weights above them).

Writes ``growth_probe_step<checkpoint step>.json`` into the run folder.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

import snnbp
from snnbp import data, recipe, train
from snnbp.neurons import LIF
from snnbp.recording import layer_name

sys.path.insert(0, str(Path(__file__).resolve().parent))
import paper_deep  # noqa: E402  (the run's batches and seeds)


def one_pass(net, loss_fn, x, y, seed: int, step: int) -> dict:
    """Loss, hidden rates, every weight's gradient and the gradient norm at every spiking layer's
    output (``dL/ds``, summed over steps and images) for step ``step``'s batch (its own seeds)."""
    net.zero_grad(set_to_none=True)
    torch.manual_seed(paper_deep.step_generator(seed, step))
    outputs = {}

    def keep(name):
        def hook(module, args, out):
            out.retain_grad()
            outputs[name] = out
        return hook

    handles = [m.register_forward_hook(keep(layer_name(n))) for n, m in net.named_modules() if isinstance(m, LIF)]
    try:
        with snnbp.record(net) as rec:
            loss = loss_fn(net(x), y)
        loss.backward()
    finally:
        for h in handles:
            h.remove()
    grads = {layer_name(n): w.grad.detach().clone() for n, w in net.named_parameters()}
    spike_grads = {k: float(v.grad.norm()) if v.grad is not None else 0.0 for k, v in outputs.items()}
    return {"loss": float(loss.detach()) / len(y), "rates": {k: v for k, v in rec.rates().items() if k != "input"},
            "grads": grads, "spike_grads": spike_grads}


def measure(net, loss_fn, batches, seed: int, layers: list[str], config) -> dict:
    weights = {layer_name(n): w for n, w in net.named_parameters()}
    names = list(weights)
    rows = {"doubling": {k: [] for k in layers}, "alignment": {n: [] for n in names}}
    rows["backward"] = []
    for step, (x, y) in batches:
        base = one_pass(net, loss_fn, x, y, seed, step)
        rows["backward"].append({"rates": base["rates"], "spike_grad_norm": base["spike_grads"]})
        for n, w in weights.items():
            g, v = base["grads"][n].double().flatten(), w.detach().double().flatten()
            cos = float(-(g @ v) / (g.norm() * v.norm()).clamp_min(1e-300))
            growth = config.lr * (float(-(g @ v) / (v @ v)) - config.weight_decay)
            rows["alignment"][n].append({"cos": cos, "relative_growth_per_step": growth})
        for k in layers:
            below = names[names.index(k) - 1]
            neuron = _neuron_after(net, k)
            with torch.no_grad():
                weights[k].mul_(2.0)
            doubled = one_pass(net, loss_fn, x, y, seed, step)
            with torch.no_grad():
                weights[k].div_(2.0)                       # exact: a power of two
            rows["doubling"][k].append({
                "neuron": neuron, "below": below,
                "loss": [base["loss"], doubled["loss"]],
                "rate": [base["rates"][neuron], doubled["rates"][neuron]],
                "grad_norm_below": [float(base["grads"][below].norm()), float(doubled["grads"][below].norm())]})
    summary = {"doubling": {}, "alignment": {}}
    for k, r in rows["doubling"].items():
        mean = lambda key, i: sum(e[key][i] for e in r) / len(r)   # noqa: E731
        summary["doubling"][k] = {
            "neuron": r[0]["neuron"], "below": r[0]["below"],
            "loss_ratio": round(mean("loss", 1) / mean("loss", 0), 4),
            "rate_ratio": round(mean("rate", 1) / max(mean("rate", 0), 1e-12), 4),
            "grad_below_ratio": round(mean("grad_norm_below", 1) / max(mean("grad_norm_below", 0), 1e-30), 4)}
    for n, r in rows["alignment"].items():
        summary["alignment"][n] = {"cos": round(sum(e["cos"] for e in r) / len(r), 4),
                                   "relative_growth_per_step": float(
                                       f"{sum(e['relative_growth_per_step'] for e in r) / len(r):.4g}")}
    back = rows["backward"]
    summary["backward"] = {k: {"rate": round(sum(b["rates"][k] for b in back) / len(back), 5),
                               "spike_grad_norm": float(f"{sum(b['spike_grad_norm'][k] for b in back) / len(back):.4g}")}
                           for k in back[0]["rates"]}
    summary["weight_norm"] = {n: float(f"{float(w.detach().double().norm()):.4g}") for n, w in weights.items()}
    return {"summary": summary, "batches": rows["doubling"]}


def _neuron_after(net, conv: str) -> str:
    """The spiking layer that takes ``conv``'s current (VGG: conv3 -> lif3)."""
    return conv.replace("conv", "lif")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--run", type=Path, required=True)
    p.add_argument("--data-root", required=True)
    p.add_argument("--batches", type=int, default=2)
    p.add_argument("--layers", nargs="+", default=["conv2", "conv3", "conv4", "conv5"])
    p.add_argument("--checkpoint", type=Path, default=None, help="default: the run's last.pt")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--validation", type=int, default=1000)
    args = p.parse_args()
    torch.set_num_threads(2)
    ckpt = torch.load(args.checkpoint or args.run / "last.pt", map_location="cpu", weights_only=True)
    timesteps = int(args.run.name.split("-T", 1)[1].split("-")[0])
    train.seed_everything(args.seed)
    net = snnbp.build("vgg9", "mnist", preset="paper", timesteps=timesteps)
    config, loss_fn = net.config, recipe.make_loss(net.config)
    train_set = data.dataset("mnist", "train", root=args.data_root, download=False)
    _, trained = paper_deep.split(len(train_set), args.seed, args.validation)
    step = int(ckpt["step"])
    batches = [(s, paper_deep.batch_at(train_set, trained, args.seed, s, config.batch_size))
               for s in range(step, step + args.batches)]
    net.train()
    result = {"run": args.run.name, "checkpoint_step": step, "timesteps": timesteps, "batches": args.batches,
              "lr": config.lr, "weight_decay": config.weight_decay, "script": "results/scripts/growth_probe.py",
              "initial": measure(net, loss_fn, batches, args.seed, args.layers, config)}
    net.load_state_dict(ckpt["model"])
    result["checkpoint"] = measure(net, loss_fn, batches, args.seed, args.layers, config)
    (args.run / f"growth_probe_step{step}.json").write_text(json.dumps(result, indent=1) + "\n")
    for when in ("initial", "checkpoint"):
        s = result[when]["summary"]
        print(f"{when} (step {0 if when == 'initial' else step}): doubling a layer's weights")
        for k, d in s["doubling"].items():
            print(f"  {k} (|W| {s['weight_norm'][k]:.4g}): loss x{d['loss_ratio']}, {d['neuron']} rate "
                  f"x{d['rate_ratio']}, grad of {d['below']} x{d['grad_below_ratio']}")
        print("  cos(-grad, W):", {n: a["cos"] for n, a in s["alignment"].items()})
        print("  rate, |dL/ds|:", {k: (b["rate"], b["spike_grad_norm"]) for k, b in s["backward"].items()})


if __name__ == "__main__":
    main()
