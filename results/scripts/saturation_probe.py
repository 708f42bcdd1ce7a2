"""Where do a paper_deep.py run's firing rates go? Per-neuron rates at the start and at the checkpoint.

    python results/scripts/saturation_probe.py --run results/mnist-vgg9-paper-T100 --data-root ../shared/data

Builds the run's network as ``paper_deep.py`` does (``snnbp.build(model, "mnist", preset="paper",
timesteps=T)`` after ``seed_everything(seed)``: the very initial weights of the run), runs the first
``--images`` MNIST test images through it at the run's T (eval mode: no dropout; the Poisson input
seeded), then loads the run's ``last.pt`` and does the same. For every spiking layer it writes the
distribution of the per-neuron firing rate (spikes per neuron per step, averaged over the images):
the share of neurons that never fire, that fire on at least half of the steps, and on at least
90 % of them (saturated: their spike count cannot grow, while the paper's derivative, 1/V_th at
every step a neuron fires, still says it would), the share of the layer's spikes that saturated
neurons make, and each weight's norm. Writes ``saturation.json`` into the run folder.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

import snnbp
from snnbp import data, train
from snnbp.neurons import LIF
from snnbp.recording import layer_name


def rates_per_neuron(net, images: torch.Tensor, seed: int) -> dict[str, torch.Tensor]:
    """Each spiking layer's firing rate per neuron ``[neurons]``, averaged over time and images."""
    neurons = {layer_name(n): m for n, m in net.named_modules() if isinstance(m, LIF)}
    for m in neurons.values():
        m.record = True
    net.eval()
    torch.manual_seed(seed)
    with torch.no_grad():
        net(images)
    out = {name: m.spikes.float().mean(dim=(0, 1)).flatten() for name, m in neurons.items()}
    for m in neurons.values():
        m.record, m.spikes, m.membrane = False, None, None
    return out


def describe(net, rates: dict[str, torch.Tensor]) -> dict:
    layers = {}
    for name, r in rates.items():
        saturated = r >= 0.9
        layers[name] = {"neurons": r.numel(), "mean_rate": round(float(r.mean()), 4),
                        "silent": round(float((r == 0).float().mean()), 4),
                        "half_or_more": round(float((r >= 0.5).float().mean()), 4),
                        "saturated": round(float(saturated.float().mean()), 4),
                        "spikes_from_saturated": round(float(r[saturated].sum() / r.sum().clamp_min(1e-12)), 4)}
    norms = {layer_name(n): float(f"{float(w.detach().double().norm()):.4g}") for n, w in net.named_parameters()}
    return {"layers": layers, "weight_norm": norms}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--run", type=Path, required=True)
    p.add_argument("--data-root", required=True)
    p.add_argument("--images", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(2)
    ckpt = torch.load(args.run / "last.pt", map_location="cpu", weights_only=True)
    first = json.loads((args.run / "steps.jsonl").open().readline())
    model = "resnet11" if "block1.neuron1" in first["rates"] else "vgg9"
    timesteps = int(args.run.name.rsplit("-T", 1)[1])
    train.seed_everything(args.seed)
    net = snnbp.build(model, "mnist", preset="paper", timesteps=timesteps)
    test_set = data.dataset("mnist", "test", root=args.data_root, download=False)
    images = torch.stack([test_set[i][0] for i in range(args.images)])
    result = {"model": model, "timesteps": timesteps, "images": args.images, "checkpoint_step": int(ckpt["step"]),
              "script": "results/scripts/saturation_probe.py"}
    result["initial"] = describe(net, rates_per_neuron(net, images, args.seed))
    net.load_state_dict(ckpt["model"])
    result["checkpoint"] = describe(net, rates_per_neuron(net, images, args.seed))
    (args.run / "saturation.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"{args.run.name}: step 0 -> step {result['checkpoint_step']}")
    print(f"{'layer':16} {'mean rate':>17} {'saturated (>=0.9)':>19} {'silent':>15}")
    for name in result["initial"]["layers"]:
        a, b = result["initial"]["layers"][name], result["checkpoint"]["layers"][name]
        print(f"{name:16} {a['mean_rate']:7.3f} -> {b['mean_rate']:6.3f} {a['saturated']:8.3f} -> {b['saturated']:6.3f}"
              f" {a['silent']:6.3f} -> {b['silent']:5.3f}")
    print("weight norms:", {k: (result["initial"]["weight_norm"][k], v)
                            for k, v in result["checkpoint"]["weight_norm"].items()})


if __name__ == "__main__":
    main()
