"""The paper's method on a deep network (VGG9 or ResNet11) on real MNIST, step by step, resumable.

    python results/scripts/paper_deep.py --model vgg9 --steps 3000 --data-root ../shared/data
    python results/scripts/paper_deep.py --model vgg9 --steps 3000 --data-root ../shared/data  # again: resumes

The network and every training setting come from ``snnbp.build(model, "mnist", preset="paper",
timesteps=T)``: the authors' script for the model's family (VGG9: lr 0.0033 with batch 16,
dropout 0.2, He initialisation; ResNet11: lr 0.0025 with batch 16, dropout 0.25, its
initialisation), SGD without momentum, weight decay 5e-4, the summed squared error of
V_out(T)/T, Poisson input (MNIST pixels fire with probability x/2), the paper's derivative and
leak correction, and **the paper's initialisation** (no wake-up; ``--init-rate`` wakes it, not the
paper's method, and the folder name then says so; so do ``--lr``, ``--surrogate`` (e.g. ``atan``, the
modern preset's derivative, which vanishes far from threshold, the recipe otherwise unchanged) and
``--max-norm K`` (each weight's norm held at most K times its initial norm) and ``--max-step R``
(each step at most R times its weight's norm)). The learning rate stays at its initial value:
the scripts' first step down is after epoch 70, far beyond these runs.

Why a script and not ``python -m snnbp.train``: at T = 100 one step of VGG9 takes about 9 s on
two CPU cores, so one epoch of even 10,000 images outlasts a working session. This script
checkpoints every ``--checkpoint-every`` steps (``last.pt``, atomically, the previous one kept as
``last.prev.pt``) and resumes from there bit for bit: the order of the training images is a fixed
permutation per pass, and the Poisson input and dropout masks of step ``s`` are drawn from a
generator seeded with ``(seed, s)``, so nothing depends on when a session stopped.

The run folder (``results/mnist-<model>-paper-T<T>``; give more ``--steps`` to continue a finished run):

* ``steps.jsonl``: one line per step: loss per image, the batch-mean sum of the ten outputs,
  each LIF layer's firing rate on the training batch, and for the first 100 steps each weight's
  gradient norm, weight norm (before the step) and relative step ``lr * |grad| / |W|`` (the replay
  of the first steps), and after
  them on every tenth step (to see what happens when a run changes course later on).
* ``validation.csv``: accuracy on 1,000 training images never trained on, every ``--val-every``
  steps (what the run was watched by; the test set is read once, at the end).
* at the end (``--steps`` done): ``config.json``, ``metrics.csv`` and ``rates.json`` in the format
  of :mod:`snnbp.runs`, and ``evaluation.json`` (``snnbp.evaluate.analyse``: accuracy against t,
  firing rates, operations and energy), all from one pass over the 10,000 test images
  (``--test-subset`` for fewer), so that ``python -m snnbp.results`` lists the run.
"""
from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Subset

import snnbp
from snnbp import data, evaluate, memory, recipe, runs, surrogate, train
from snnbp.recording import INPUT, layer_name
from snnbp.wakeup import wake

ROOT = Path(__file__).resolve().parents[2]
REPLAY = 100                            # steps whose gradient norms are kept, every one
GRAD_EVERY = 10                         # after them, every GRAD_EVERY-th step's


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=("vgg9", "resnet11"), required=True)
    p.add_argument("--timesteps", type=int, default=100)
    p.add_argument("--steps", type=int, required=True, help="SGD steps in all (the run stops there)")
    p.add_argument("--init-rate", type=float, default=0.0, help="> 0: woken (not the paper's method)")
    p.add_argument("--lr", type=float, default=None, help="not the script's rate (not the paper's method)")
    p.add_argument("--surrogate", choices=surrogate.NAMES, default="paper",
                   help="the derivative ds/dV; anything but 'paper' is not the paper's method (only ds/dV "
                        "changes: the leak correction and the detached leak stay as the scripts have them)")
    p.add_argument("--max-norm", type=float, default=None,
                   help="K > 0: after every step, scale each weight tensor whose norm exceeds K times its "
                        "initial norm back to that bound (a max-norm constraint, Srivastava et al. 2014; "
                        "not the paper's method)")
    p.add_argument("--max-step", type=float, default=None,
                   help="R > 0: before every step, scale each weight's gradient down so that the step "
                        "lr * |grad| is at most R times the weight's norm (a relative-step clip, as in "
                        "LARS, You et al. 2017, used as a bound only; not the paper's method)")
    p.add_argument("--data-root", required=True)
    p.add_argument("--out", help="run folder (default results/mnist-<model>-paper-T<T>)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint-every", type=int, default=10)
    p.add_argument("--val-every", type=int, default=250)
    p.add_argument("--validation", type=int, default=1000,
                   help="training images held out for validation (the last of the fixed permutation)")
    p.add_argument("--test-subset", type=int, default=None)
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args()


def folder(args) -> Path:
    woken = f"-woken{args.init_rate:g}" if args.init_rate > 0 else ""
    woken += f"-lr{args.lr:g}" if args.lr is not None else ""
    woken += f"-{args.surrogate}" if args.surrogate != "paper" else ""
    woken += f"-maxnorm{args.max_norm:g}" if args.max_norm is not None else ""
    woken += f"-maxstep{args.max_step:g}" if args.max_step is not None else ""
    return Path(args.out) if args.out else ROOT / "results" / f"mnist-{args.model}-paper{woken}-T{args.timesteps}"


def split(n_train: int, seed: int, validation: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The held-out and the trained indices: the last ``validation`` of a permutation fixed by ``seed``."""
    perm = torch.randperm(n_train, generator=torch.Generator().manual_seed(seed))
    return perm[-validation:], perm[:-validation]


def step_generator(seed: int, step: int) -> int:
    """The seed of step ``step``'s Poisson input and dropout masks."""
    return seed * 1_000_003 + step


def order(n_train: int, seed: int, step: int, batch: int) -> tuple[int, int]:
    """``(pass, first position)`` of step ``step`` in the training order."""
    per_pass = n_train // batch
    return step // per_pass, (step % per_pass) * batch


def batch_of(train_set, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    pairs = [train_set[int(i)] for i in indices]
    return torch.stack([x for x, _ in pairs]), torch.tensor([int(y) for _, y in pairs])


def batch_at(train_set, trained: torch.Tensor, seed: int, step: int, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The images and labels of step ``step`` (0-based): a fixed permutation of ``trained`` per pass."""
    pass_, start = order(len(trained), seed, step, batch)
    shuffled = trained[torch.randperm(len(trained), generator=torch.Generator().manual_seed(seed * 7919 + pass_))]
    return batch_of(train_set, shuffled[start:start + batch])


def loader_of(dataset, indices: torch.Tensor) -> DataLoader:
    """A fixed-order loader over ``dataset[indices]`` for the library's evaluation."""
    return DataLoader(Subset(dataset, indices.tolist()), batch_size=50, shuffle=False)


def main() -> None:
    args = parse()
    torch.set_num_threads(args.threads)
    memory.reuse_freed_memory()
    out = folder(args)
    out.mkdir(parents=True, exist_ok=True)
    train.seed_everything(args.seed)
    overrides = {"init_rate": args.init_rate} if args.init_rate > 0 else {}
    if args.lr is not None:
        overrides["lr"] = args.lr
    if args.surrogate != "paper":             # one ingredient changed: ds/dV; NG and the detached leak kept
        overrides.update(surrogate=args.surrogate, leak_correction=True, detach_leak=True)
    net = snnbp.build(args.model, "mnist", preset="paper", timesteps=args.timesteps, **overrides)
    config = net.config
    train_set = data.dataset("mnist", "train", root=args.data_root, download=False)
    test_set = data.dataset("mnist", "test", root=args.data_root, download=False)
    held_out, trained = split(len(train_set), args.seed, args.validation)
    batch = config.batch_size
    optimizer, loss_fn = recipe.make_optimizer(net, config), recipe.make_loss(config)
    step = 0
    last = out / "last.pt"
    if last.exists():
        ckpt = torch.load(last, map_location="cpu", weights_only=True)
        net.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        step = int(ckpt["step"])
        wake_gains = ckpt.get("wake_gains")
        caps = ckpt.get("caps")
        print(f"resumed {out.name} at step {step}", flush=True)
        if step < args.steps:                 # a finished run given more steps: its results are redone
            (out / runs.METRICS_FILE).unlink(missing_ok=True)
    else:
        wake_gains = None
        if args.init_rate > 0:
            first = trained[torch.randperm(len(trained), generator=torch.Generator().manual_seed(args.seed + 1))]
            wake_gains = wake(net, batch_of(train_set, first[:batch])[0], args.init_rate)
        (out / "steps.jsonl").write_text("")
    _truncate_log(out / "steps.jsonl", step)
    weights = [(layer_name(n), w) for n, w in net.named_parameters()]
    if step == 0:                            # the bound of --max-norm: K times each initial norm
        caps = {n: args.max_norm * float(w.detach().norm()) for n, w in weights} if args.max_norm else None
    net.train()
    with (out / "steps.jsonl").open("a") as log:
        while step < args.steps:
            tic = time.perf_counter()
            x, y = batch_at(train_set, trained, args.seed, step, batch)
            torch.manual_seed(step_generator(args.seed, step))
            with snnbp.record(net) as rec:
                output = net(x)
            loss = loss_fn(output, y)
            if not torch.isfinite(loss):
                raise SystemExit(f"loss {float(loss)} at step {step}: stopping, last.pt is the last good state")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            row = {"step": step + 1, "loss_per_image": round(float(loss.detach()) / len(y), 6),
                   "output_sum": round(float(output.detach().sum(1).mean()), 6),
                   "train_correct": int((output.argmax(1) == y).sum()),
                   "rates": {k: round(v, 6) for k, v in rec.rates().items() if k != INPUT}}
            if step < REPLAY or (step + 1) % GRAD_EVERY == 0:
                row["grad_norm"] = {n: float(w.grad.norm()) if w.grad is not None else 0.0 for n, w in weights}
                norms = {n: float(w.detach().double().norm()) for n, w in weights}   # float64: no overflow
                row["weight_norm"] = norms
                row["relative_step"] = {n: config.lr * row["grad_norm"][n] / max(norms[n], 1e-12) for n, _ in weights}
            if args.max_step:
                row["step_clipped"] = clip_steps(weights, config.lr, args.max_step)
            optimizer.step()
            if caps:
                row["capped"] = cap_norms(weights, caps)
            step += 1
            row["seconds"] = round(time.perf_counter() - tic, 3)
            log.write(json.dumps(row) + "\n")
            log.flush()
            if step % 10 == 0:
                print(f"step {step}: loss {row['loss_per_image']:.3f} sum {row['output_sum']:.2f} "
                      f"rates {' '.join(f'{v:.3f}' for v in row['rates'].values())} {row['seconds']:.1f}s",
                      flush=True)
            if step % args.val_every == 0 or step == args.steps:
                acc = evaluate.evaluate_accuracy(net, loader_of(train_set, held_out), device="cpu", seed=12345)
                _append_csv(out / "validation.csv", {"step": step, "images": step * batch, "val_acc": acc})
                print(f"step {step}: validation accuracy {acc:.4f}", flush=True)
            if step % args.checkpoint_every == 0 or step == args.steps:
                runs.save_atomic({"model": net.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                                  "wake_gains": wake_gains, "caps": caps}, last, keep_previous=out / "last.prev.pt")
    finish(args, out, net, config, test_set, len(trained), wake_gains)


def cap_norms(weights, caps: dict) -> list[str]:
    """Scale each weight whose norm exceeds its bound back onto it (in place); the names of those scaled."""
    capped = []
    with torch.no_grad():
        for n, w in weights:
            norm = float(w.norm())
            if norm > caps[n]:
                w.mul_(caps[n] / norm)
                capped.append(n)
    return capped


def clip_steps(weights, lr: float, bound: float) -> list[str]:
    """Scale each gradient whose step ``lr * |grad|`` exceeds ``bound * |W|`` down to it (in place);
    the names of those scaled. Weight decay is added by the optimizer afterwards (5e-4 of W)."""
    clipped = []
    with torch.no_grad():
        for n, w in weights:
            if w.grad is None:
                continue
            step, limit = lr * float(w.grad.norm()), bound * float(w.norm())
            if step > limit:
                w.grad.mul_(limit / step)
                clipped.append(n)
    return clipped


def _truncate_log(path: Path, step: int) -> None:
    """Keep the log lines of the steps a checkpoint holds (a stop between two checkpoints)."""
    if path.exists():
        lines = [ln for ln in path.read_text().splitlines() if ln and json.loads(ln)["step"] <= step]
        path.write_text("".join(ln + "\n" for ln in lines))


def _append_csv(path: Path, row: dict) -> None:
    new = not path.exists()
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(row))
        if new:
            w.writeheader()
        w.writerow(row)


def finish(args, out: Path, net, config, test_set, n_train: int, wake_gains) -> None:
    """The test accuracy and the run-folder files of :mod:`snnbp.runs` (once)."""
    if (out / runs.METRICS_FILE).exists():
        print(f"{out.name}: finished already", flush=True)
        return
    n = args.test_subset or len(test_set)
    indices = torch.arange(len(test_set))[:n] if n == len(test_set) else torch.randperm(
        len(test_set), generator=torch.Generator().manual_seed(args.seed))[:n]
    tic = time.perf_counter()
    result = evaluate.analyse(net, loader_of(test_set, indices), device="cpu", seed=args.seed + 12345)
    acc = result["accuracy"]
    layer_rates = {k: v for k, v in result["firing_rates"].items() if k != INPUT}
    result.update({"run": out.name, "model": args.model, "dataset": "mnist", "checkpoint": "last",
                   "trained_timesteps": args.timesteps})
    runs.save_atomic(json.dumps(result, indent=2) + "\n", out / evaluate.EVALUATION)
    log = [json.loads(ln) for ln in (out / "steps.jsonl").read_text().splitlines() if ln]
    images = args.steps * config.batch_size
    row = {"epoch": 1, "lr": config.lr, "train_loss": sum(r["loss_per_image"] for r in log) / len(log),
           "train_acc": sum(r["train_correct"] for r in log) / images, "test_acc": acc,
           "seconds": sum(r["seconds"] for r in log), "layer_rates": layer_rates,
           "firing_rate": sum(layer_rates.values()) / len(layer_rates)}
    runs.write_metrics(out / runs.METRICS_FILE, [row])
    runs.write_rates(out / runs.RATES, [row])
    described = runs.describe(net, config, 1, torch.device("cpu"), False, args.seed, None, {
        "subset": images, "test_subset": args.test_subset, "test_examples": n,
        "batch_size": config.batch_size, "train_examples": min(images, n_train),
        "data_root": str(Path(args.data_root).resolve()), "workers": 0,
        "trained_by": "results/scripts/paper_deep.py", "steps": args.steps, "validation_images": args.validation,
        "train_examples_seen": images, "distinct_train_examples": min(images, n_train),
        "test_seconds": time.perf_counter() - tic})
    if wake_gains:
        described["wake_gains"] = wake_gains
    options = {k: v for k, v in (("max_norm", args.max_norm), ("max_step", args.max_step)) if v is not None}
    if options:                               # labelled options, not the paper's: results.kind names them
        described["options"] = options
    runs.save_atomic(json.dumps(described, indent=2) + "\n", out / "config.json")
    print(f"{out.name}: test accuracy {acc:.4f} on {n} test images after {args.steps} steps", flush=True)


if __name__ == "__main__":
    main()
