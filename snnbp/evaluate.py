r"""Evaluation of a spiking network: accuracy on a test set and firing rates (what :func:`snnbp.train.fit`
measures after every epoch: :func:`evaluate_accuracy`, :func:`firing_rates`), and the full analysis of
a trained one: accuracy against inference time, synaptic operations against the ANN twin's
multiply-accumulates, and an energy estimate (:func:`analyse`).

    python -m snnbp.evaluate RUN_DIR        # writes RUN_DIR/evaluation.json and PNG plots

A run folder is read through :mod:`snnbp.runs` (its ``config.json`` and a checkpoint, safely); the
plots are the figures of :func:`snnbp.plots.evaluation`, saved by :func:`snnbp.plots.save`.

**Accuracy vs time steps.** Nothing in the network feeds back and the forward pass does not look
ahead, so the first :math:`t` steps of a :math:`T`-step run are exactly a :math:`t`-step run. The
output layer's membrane :math:`V_{out}[t] = \lambda (V_{out}[t-1] + I[t])` is therefore recorded at
every step of one pass and :math:`\arg\max_k V_{out}[t]_k / t` gives the prediction after
:math:`t = 1..T` steps.

**Operations.** A spike arriving at a synapse costs one accumulate (AC): the weight is added to the
target's membrane. A spike at input position :math:`i` of a weight layer reaches its fan-out
:math:`F_i` targets, so the layer performs :math:`\mathrm{AC} = \sum_t \sum_i |s_i[t]| \, F_i`
operations. For a linear layer :math:`F_i` = ``out_features``; for a convolution :math:`F_i`
counts the (output channel, output position) pairs whose kernel window covers :math:`i`, which
depends on padding and stride; it is computed exactly by running the convolution with all-ones
weights on the spike map. The ANN twin performs, per image, :math:`\mathrm{MAC} = \sum_{\text{out}}
\text{fan-in}` (``C_in k^2`` per convolution output, ``in_features`` per linear output, padding
included). Only weight layers are counted; pooling, neuron updates and memory traffic are not.
With direct input (``encoding="direct"``, beyond the paper) the first weight layer receives the
analog image at every step: its operations (nonzero pixels times fan-out, per step) are
multiply-accumulates, marked ``"analog_input"`` and charged at :math:`E_{MAC}` below.

**Energy.** :math:`E_{SNN} = \mathrm{AC} \cdot E_{AC}` and :math:`E_{ANN} = \mathrm{MAC} \cdot
E_{MAC}` with 45 nm CMOS, 32-bit floating point (M. Horowitz, "Computing's energy problem (and
what we can do about it)", ISSCC 2014): add 0.9 pJ, multiply 3.7 pJ, so
:math:`E_{AC} = 0.9` pJ and :math:`E_{MAC} = 3.7 + 0.9 = 4.6` pJ. The paper's own figures were not
confirmed (the authors' scripts hold no energy analysis); these numbers are this library's model.

Taught in chapter 09 (``book/09_efficiency``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from . import cli, distributed, runs, validate
from .encoding import DirectEncoder
from .layers import output_membrane
from .recording import INPUT, capture, layer_name, spike_rate
from .runs import load_run  # a run folder's network and checkpoint (read through snnbp.runs)

__all__ = ["evaluate_accuracy", "firing_rates", "measure", "HOROWITZ_45NM", "weight_layers", "synaptic_ops", "dense_macs", "analyse", "evaluate_run",
           "plot", "main"]

EVALUATION = "evaluation.json"      # what evaluate_run writes into the run folder, beside the plots

HOROWITZ_45NM = {
    "add_pj": 0.9, "mult_pj": 3.7, "ac_pj": 0.9, "mac_pj": 4.6,
    "source": "M. Horowitz, 'Computing's energy problem (and what we can do about it)', ISSCC 2014: "
              "45 nm, 32-bit float add 0.9 pJ, multiply 3.7 pJ; AC = add, MAC = multiply + add",
}


# -- accuracy and firing rates on a test set (fit's test after every epoch) -------------------------
@torch.no_grad()
def measure(model: nn.Module, loader: Iterable, device: torch.device, *, amp: bool = False, quiet: bool = True,
              seed: int | None = 0) -> tuple[float, float, dict[str, float]]:
    """One pass over ``loader`` in ``eval()`` mode: ``(accuracy, firing rate of all hidden neurons
    together, rate per hidden layer)``, each summed over processes under ``torchrun`` (the rate is
    NaN for an ANN twin, which records no spikes). The RNG is forked and seeded with ``seed`` (plus
    the process's rank), so the test images' Poisson input is the same every epoch and the caller's
    RNG is left untouched; ``seed=None`` uses the global RNG."""
    net = distributed.unwrap(model)
    was_training = net.training
    net.eval()
    cuda = list(range(torch.cuda.device_count())) if device.type == "cuda" else []
    correct = seen = 0.0
    with torch.random.fork_rng(devices=cuda, enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed + distributed.rank())
        with capture(net) as rec:
            for pair in cli.progress(loader, quiet, desc="test", leave=False):
                x, y = validate.batch("the test loader", pair)
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                with distributed.autocast(device, amp):
                    out = net(x)
                validate.labels("labels", y, out.shape[-1], len(x))
                correct += (out.argmax(1) == y).sum().item()
                seen += len(y)
        hidden = [k for k in rec.counts if k != INPUT]
        summed = distributed.all_sum([rec.counts[k] for k in hidden] + [rec.neuron_steps[k] for k in hidden], device)
    net.train(was_training)
    correct, seen = distributed.all_sum([correct, seen], device)
    if not seen:
        raise ValueError("the test loader yielded no examples: check its dataset and subset")
    counts, steps = dict(zip(hidden, summed[:len(hidden)])), dict(zip(hidden, summed[len(hidden):]))
    layers = {k: spike_rate(counts, steps, [k]) or 0.0 for k in hidden}
    rate = spike_rate(counts, steps, hidden)
    return correct / seen, (rate if rate is not None else float("nan")), layers


def evaluate_accuracy(model: nn.Module, loader: Iterable, *, device: str | torch.device = "auto",
                      amp: bool = False, quiet: bool = True, seed: int | None = 0) -> float:
    """Fraction of ``loader``'s images classified correctly (``argmax`` of the output), in
    ``eval()`` mode; ``seed`` fixes the Poisson input (``None``: use the global RNG). An empty
    loader, or labels that are not class indices of the model's outputs, are errors."""
    validate.loader("loader", loader)
    return measure(model, loader, distributed.resolve_device(device), amp=amp, quiet=quiet, seed=seed)[0]


def firing_rates(model: nn.Module, loader: Iterable, *, device: str | torch.device = "auto", amp: bool = False,
                 seed: int | None = 0) -> dict[str, float]:
    """Each hidden layer's firing rate (spikes per neuron per step) over ``loader`` in ``eval()``
    mode, as :func:`snnbp.train.fit` measures it after every epoch for ``rates.json`` (there with
    ``seed + 12345``); ``seed`` fixes the Poisson input."""
    validate.loader("loader", loader)
    return measure(model, loader, distributed.resolve_device(device), amp=amp, seed=seed)[2]


# -- the full analysis --------------------------------------------------------------------------------
def weight_layers(model: nn.Module) -> dict[str, nn.Module]:
    """The convolutions and linear layers of ``model`` by short name (``conv1``, ``block1.conv2``,
    ``classifier``), in forward order."""
    found = {}
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            found[layer_name(name)] = module
    return found


def synaptic_ops(layer: nn.Module, spikes: torch.Tensor) -> float:
    r"""Accumulates driven by ``spikes`` (the layer's input, any batch of maps): every nonzero input
    times its exact fan-out :math:`F_i` (see the module docstring)."""
    active = (spikes != 0).to(torch.float32)
    if isinstance(layer, nn.Linear):
        return float(active.sum()) * layer.out_features
    if isinstance(layer, nn.Conv2d):
        ones = torch.ones(layer.weight.shape, dtype=torch.float32, device=active.device)
        return float(F.conv2d(active, ones, None, layer.stride, layer.padding, layer.dilation, layer.groups).sum())
    raise TypeError(f"layer must be nn.Conv2d or nn.Linear, got {type(layer).__name__}")


def dense_macs(layer: nn.Module, output_shape: Iterable[int]) -> int:
    """Multiply-accumulates of one image through ``layer`` in an ANN: output elements times fan-in.
    ``output_shape`` is one image's output (``[C_out, H, W]`` or ``[out_features]``)."""
    outputs = 1
    for n in output_shape:
        outputs *= int(n)
    return outputs * layer.weight[0].numel()


@torch.no_grad()
def analyse(model: nn.Module, loader: Iterable, *, device: str | torch.device = "auto", seed: int | None = 0,
            energy: dict = HOROWITZ_45NM, quiet: bool = True) -> dict:
    """Run ``model`` (in ``eval()`` mode) over ``loader`` once and measure everything above.

    Returns a dict with ``accuracy``, ``accuracy_vs_timesteps`` (list over ``t = 1..T``),
    ``firing_rates`` (per neuron layer, spikes per neuron per step), ``layers`` (per weight layer:
    synaptic operations and ANN MACs per image), ``totals`` and ``energy``. ``seed`` fixes the
    Poisson input (the global RNG is forked, not disturbed).
    """
    from .models import Network

    if not isinstance(model, Network):
        raise TypeError(f"analyse takes a snnbp network (snnbp.build or snnbp.models.custom), got "
                        f"{type(model).__name__}: it reads the output layer's currents (model.classifier)")
    validate.loader("loader", loader)
    device = distributed.resolve_device(device)
    model = model.to(device).eval()
    spiking = bool(getattr(model, "spiking", True))
    layers = weight_layers(model)
    correct_by_t, seen, ops, macs, rec = _count(model, layers, loader, device, seed, quiet, spiking)
    accuracy_t = (correct_by_t / seen).tolist()
    rows, total_ops, total_macs, analog_ops = [], 0.0, 0, 0.0
    analog = spiking and isinstance(getattr(model, "encoder", None), DirectEncoder)
    for i, name in enumerate(layers):
        per_image = ops[name] / seen
        rows.append({"name": name, "kind": type(layers[name]).__name__, "synaptic_ops": per_image,
                     "ann_macs": macs.get(name, 0), "analog_input": analog and i == 0})
        total_ops += per_image
        total_macs += macs.get(name, 0)
        analog_ops += per_image if analog and i == 0 else 0.0
    e_snn = (total_ops - analog_ops) * energy["ac_pj"] + analog_ops * energy["mac_pj"]
    e_ann = total_macs * energy["mac_pj"]
    return {
        "spiking": spiking,
        "timesteps": len(accuracy_t),
        "examples": seen,
        "accuracy": accuracy_t[-1],
        "accuracy_vs_timesteps": accuracy_t,
        "firing_rates": dict(rec.rates()) if spiking else {},
        "mean_firing_rate": rec.hidden_rate(),
        "layers": rows,
        "totals": {"synaptic_ops": total_ops, "ann_macs": total_macs,
                   "ops_ratio": total_ops / total_macs if total_macs else None},
        "energy": {"snn_pj": e_snn, "ann_pj": e_ann, "ann_over_snn": e_ann / e_snn if e_snn else None,
                   "constants": dict(energy),
                   "model": "E_SNN = AC * E_AC (+ analog-input MACs * E_MAC), E_ANN = MAC * E_MAC; "
                            "weight layers only (no pooling, neuron updates or memory traffic)"},
    }


def _count(model: nn.Module, layers: dict[str, nn.Module], loader: Iterable, device: torch.device,
           seed: int | None, quiet: bool, spiking: bool):
    """One pass over ``loader``: ``(correct predictions after t = 1..T steps [T], images seen,
    synaptic operations per layer, ANN MACs per layer and image, the spike recorder)``."""
    ops = {name: 0.0 for name in layers}
    macs: dict[str, int] = {}
    currents: list[torch.Tensor] = []

    def counter(name):
        def hook(module, args, out):
            ops[name] += synaptic_ops(module, args[0]) if spiking else 0.0
            macs.setdefault(name, dense_macs(module, out.shape[1:]))
        return hook

    handles = [m.register_forward_hook(counter(n)) for n, m in layers.items()]
    handles.append(model.classifier.register_forward_hook(lambda m, a, out: currents.append(out)))
    correct_by_t, seen = None, 0
    cuda = list(range(torch.cuda.device_count())) if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=cuda, enabled=seed is not None), capture(model) as rec:
            if seed is not None:
                torch.manual_seed(seed)
            for pair in cli.progress(loader, quiet, desc="evaluate", leave=False):
                x, y = validate.batch("loader", pair)
                x, y = x.to(device), y.to(device)
                model(x)
                current = currents.pop().float()                     # [T, B, K]
                validate.labels("labels", y, current.shape[-1], len(x))
                votes = output_membrane(current, getattr(model.readout, "leak", 1.0))
                hits = (votes.argmax(-1) == y).sum(1).double()       # [T]
                correct_by_t = hits if correct_by_t is None else correct_by_t + hits
                seen += len(y)
    finally:
        for handle in handles:
            handle.remove()
    if not seen:
        raise ValueError("the loader yielded no images")
    return correct_by_t, seen, ops, macs, rec


# -- a run folder ------------------------------------------------------------------------------------
def evaluate_run(run_dir: str | os.PathLike, *, root: str | os.PathLike | None = None, download: bool = True,
                 test_subset: int | None = None, timesteps: int | None = None, batch_size: int | None = None,
                 checkpoint: str = "best", device: str | torch.device = "auto", seed: int = 0,
                 quiet: bool = False) -> dict:
    """Evaluate a run folder's checkpoint on (a fixed subset of) the test set, write
    ``evaluation.json`` and the PNG plots into the folder, and return the evaluation. The network
    and its checkpoint come from :func:`snnbp.runs.load_run`."""
    from torch.utils.data import DataLoader

    from . import data

    run_dir = Path(run_dir)
    model, cfg = load_run(run_dir, checkpoint=checkpoint)
    if timesteps is not None:
        model.timesteps = timesteps
    n = test_subset if test_subset is not None else cfg.get("test_subset")
    test = data._subset(data.dataset(cfg["dataset"], "test", root=root or cfg.get("data_root"), download=download),
                        n, (cfg.get("seed") or 0) + 1, f"test subset (--test-subset) of {cfg['dataset']}'s test images")
    loader = DataLoader(test, batch_size=batch_size or cfg["preset"]["batch_size"], shuffle=False)
    result = analyse(model, loader, device=device, seed=seed, quiet=quiet)
    result.update({"run": run_dir.name, "model": cfg["model"], "dataset": cfg["dataset"],
                   "checkpoint": checkpoint, "trained_timesteps": cfg.get("timesteps")})
    runs.save_atomic(json.dumps(result, indent=2) + "\n", run_dir / EVALUATION)
    result["plots"] = [str(p) for p in plot(result, run_dir)]
    return result


def plot(result: dict, folder: str | os.PathLike) -> list[Path]:
    """Write the figures of :func:`snnbp.plots.evaluation` (accuracy vs time steps, firing rates,
    operations) into ``folder`` as ``<name>.png`` files, through :func:`snnbp.plots.save`, and
    return their paths. Drawing is :mod:`snnbp.plots`' job; this picks the files."""
    from . import plots

    folder = Path(folder)
    return [plots.save(fig, folder / f"{name}.png") for name, fig in plots.evaluation(result).items()]


def _parser() -> argparse.ArgumentParser:
    count = cli.count_arg
    p = cli.ArgumentParser(prog="python -m snnbp.evaluate",
                                description="Accuracy vs time steps, firing rates, operations and energy of a run.")
    p.add_argument("run_dir", help="a run folder written by python -m snnbp.train")
    p.add_argument("--checkpoint", choices=("best", "last"), default="best")
    p.add_argument("--timesteps", type=count(1), help="evaluate up to this many steps >= 1 (default: the trained T)")
    p.add_argument("--test-subset", type=count(1),
                   help="a fixed random subset of M >= 1 test images (default: the run's)")
    p.add_argument("--batch-size", type=count(1), help="images per batch >= 1 (default: the run's)")
    p.add_argument("--data-root", help="data folder (default: the run's, else $SNNBP_DATA)")
    p.add_argument("--no-download", action="store_true", help="never download; fail if the data are absent")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--seed", type=count(0), default=0, help="seed of the Poisson input >= 0")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show the traceback of every error (to report a bug)")
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m snnbp.evaluate RUN_DIR``: 0 when evaluated; a user's mistake is one line
    ``error: ...`` on stderr with status 2 (bad arguments, run folder or files) or 1 (the
    evaluation failed); Ctrl-C: 130."""
    args = _parser().parse_args(argv)
    return cli.run_command(lambda: _evaluate_command(args), debug=args.debug)


def _evaluate_command(args) -> int:
    r = evaluate_run(args.run_dir, root=args.data_root, download=not args.no_download,
                     test_subset=args.test_subset, timesteps=args.timesteps, batch_size=args.batch_size,
                     checkpoint=args.checkpoint, device=args.device, seed=args.seed, quiet=args.quiet)
    t = r["totals"]
    print(f"{r['model']} on {r['dataset']}: accuracy {r['accuracy']:.4f} at T={r['timesteps']} "
          f"({r['examples']} test images); mean firing rate {r['mean_firing_rate']}")
    if t["ops_ratio"] is not None:
        print(f"per image: {t['synaptic_ops']:.3g} synaptic ops vs {t['ann_macs']:.3g} ANN MACs "
              f"(ratio {t['ops_ratio']:.3f}); energy ANN/SNN = {r['energy']['ann_over_snn']:.2f} "
              f"(Horowitz 45 nm: AC 0.9 pJ, MAC 4.6 pJ)")
    print(f"wrote {Path(args.run_dir) / EVALUATION} and {len(r['plots'])} plots")
    return 0


if __name__ == "__main__":
    sys.exit(main())
