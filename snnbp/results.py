"""The reproduction table: our run folders beside the paper's reported accuracies (book/method.md,
'What the paper reports').

    python -m snnbp.results [RESULTS_DIR]      # prints a Markdown table

A run folder is any folder holding ``config.json`` and ``metrics.csv`` (written by
:func:`snnbp.train.fit`, read through :mod:`snnbp.runs`). Each reported result of the paper gets
one row per matching run (same network and dataset, spiking), or a single row that says "not run
yet". Runs of pairs the paper does not report (e.g. ``digits``) follow, marked "not in the paper".
The "confirmed?" column says how sure we are of the paper's number.

Taught in chapter 08 (``book/08_reproduction``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import cli, data
from .runs import CONFIG, METRICS_FILE, read_metrics

__all__ = ["PAPER", "FULL_TRAINING_SET", "NOTE_FILE", "BOOK_COLUMNS", "collect", "kind", "brief", "notes", "table",
           "to_markdown", "run_rows", "book_rows", "notes_html", "main"]

PAPER: list[dict] = [
    {"dataset": "mnist", "model": "lenet", "network": "LeNet-style", "accuracy": 99.59,
     "confirmed": "cited by later papers"},
    {"dataset": "svhn", "model": "vgg7", "network": "VGG7", "accuracy": 96.06, "confirmed": "not confirmed"},
    {"dataset": "svhn", "model": "resnet7", "network": "ResNet7", "accuracy": 96.21, "confirmed": "not confirmed"},
    {"dataset": "cifar10", "model": "vgg9", "network": "VGG9", "accuracy": 90.45, "confirmed": "not confirmed"},
    {"dataset": "cifar10", "model": "resnet9", "network": "ResNet9", "accuracy": 90.35,
     "confirmed": "cited by later papers"},
    {"dataset": "cifar10", "model": "resnet11", "network": "ResNet11", "accuracy": 90.95, "confirmed": "not confirmed"},
]
#: Dataset -> its whole training set, from the dataset records when snnbp was imported
#: (:attr:`snnbp.data.DatasetInfo.train_size`; the table reads the records themselves).
FULL_TRAINING_SET = {name: d.train_size for name, d in data.DATASETS.items() if d.train_size}
#: a run folder's note for the table (what failed, why it stopped), written by whoever ran it
NOTE_FILE = "notes.txt"
#: what :func:`notes` says of a spiking run whose config predates ``Preset.detach_leak``
OLD_GRADIENT = "old gradient: made before the output-layer fix (results/README.md)"
#: Dataset -> the name the table shows (:attr:`snnbp.data.DatasetInfo.label`), as :data:`FULL_TRAINING_SET`.
DATASET_LABELS = {name: d.label or name for name, d in data.DATASETS.items()}


def _label(dataset: str) -> str:
    """The name the table shows for ``dataset``: its record's label, else the name as saved."""
    record = data.DATASETS.get(dataset)
    return (record.label or dataset) if record is not None else dataset


def collect(root: str | os.PathLike = "results") -> list[dict]:
    """One summary per run folder under ``root`` (searched recursively), sorted by path."""
    runs = []
    for config_path in sorted(Path(root).rglob(CONFIG)):
        folder = config_path.parent
        if not (folder / METRICS_FILE).exists():
            continue
        try:
            cfg = json.loads(config_path.read_text())
            history = read_metrics(folder / METRICS_FILE)
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{folder} is a damaged run folder: {config_path.name} or metrics.csv cannot be "
                             f"read ({err}); restore it from git or move the folder out of {root}") from None
        if not history:
            continue
        preset = cfg.get("preset", {})
        evaluation = folder / "evaluation.json"
        runs.append({
            "run": str(folder.relative_to(root)) if folder != Path(root) else folder.name,
            "model": cfg.get("model"), "dataset": cfg.get("dataset"), "spiking": cfg.get("spiking", True),
            "preset": preset.get("name"), "preset_fields": preset,
            "timesteps": cfg.get("timesteps", preset.get("timesteps")),
            "epochs_run": history[-1]["epoch"], "epochs_planned": cfg.get("epochs"),
            "train_examples": cfg.get("train_examples"), "test_examples": cfg.get("test_examples"),
            "best_test_acc": max(r["test_acc"] for r in history), "final_test_acc": history[-1]["test_acc"],
            "seconds": sum(r["seconds"] or 0 for r in history), "device": cfg.get("device"),
            "evaluation": json.loads(evaluation.read_text()) if evaluation.exists() else None,
            "old_gradient": bool(cfg.get("spiking", True)) and "detach_leak" not in preset,
            "note": (folder / NOTE_FILE).read_text().strip() if (folder / NOTE_FILE).exists() else "",
            "options": cfg.get("options") or {},
        })
    return runs


def _changed(run: dict) -> list[str]:
    """Training settings of ``run`` that differ from its preset (other than T and epochs)."""
    from . import presets

    saved = run.get("preset_fields") or {}
    try:
        reference = presets.get(run["preset"], run["model"], run["dataset"]).to_dict()
    except (ValueError, TypeError, KeyError):
        return []
    skip = {"timesteps", "epochs", "note", "confirmed", "name", "model", "dataset"}
    return [f"{k}={saved[k]} (preset {reference[k]})" for k in reference
            if k not in skip and k in saved and _plain(saved[k]) != _plain(reference[k])]


def kind(run: dict | None) -> str:
    """How a run compares with the paper: ``"reproduction"`` (paper preset, its T and epochs, the whole
    training set), else ``"reduced: ..."`` and/or ``"changed: ..."`` naming what differs from the paper
    preset, after ``"not the paper's method (<preset> preset)"`` for any other preset, or
    ``"not the paper's method (options: max_norm=2, ...)"`` for a run whose config.json names training
    options beside the preset (``options``: the labelled options of ``results/scripts/paper_deep.py``);
    ``"not in the paper"`` for pairs the paper does not report; ``""`` for no run."""
    from . import presets

    if run is None:
        return ""
    woken = (run.get("preset_fields") or {}).get("init_rate") or 0
    labelled = [f"not the paper's initialisation (woken to init_rate={woken})"] if woken > 0 else []
    options = run.get("options") or {}
    if options:
        labelled.insert(0, "not the paper's method (options: "
                    + ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                                for k, v in options.items()) + ")")
    if (run["model"], run["dataset"]) not in {(e["model"], e["dataset"]) for e in PAPER}:
        changed = [c for c in _changed(run) if not c.startswith("init_rate=")]
        method = [] if run["preset"] == "paper" else [f"not the paper's method ({run['preset']} preset)"]
        return "; ".join(["not in the paper"] + method + labelled
                         + ([f"changed: {', '.join(changed)}"] if changed else []))
    paper = presets.get("paper", run["model"], run["dataset"])
    other = ([] if run["preset"] == "paper" else [f"not the paper's method ({run['preset']} preset)"]) + labelled
    cut = []
    if (run.get("timesteps") or 0) < paper.timesteps:
        cut.append(f"T={run['timesteps']} (paper {paper.timesteps})")
    if run["epochs_run"] < paper.epochs:
        cut.append(f"{run['epochs_run']} of {paper.epochs} epochs")
    full = getattr(data.DATASETS.get(run["dataset"]), "train_size", None)
    if full and run.get("train_examples") and run["train_examples"] < full:
        cut.append(f"{run['train_examples']} of {full} training images")
    changed = [c for c in _changed({**run, "preset": "paper"}) if not c.startswith("init_rate=")]
    if run.get("old_gradient"):
        changed.append("old output-layer gradient")
    if not other and not cut and not changed:
        return "reproduction"
    return "; ".join(other + ([f"reduced: {', '.join(cut)}"] if cut else [])
                     + ([f"changed: {', '.join(changed)}"] if changed else []))


def notes(run: dict | None) -> str:
    """What a reader should know about ``run`` beyond its numbers: its folder's ``notes.txt``,
    a stop before the planned epochs, and :data:`OLD_GRADIENT` for runs made before the fix."""
    if run is None:
        return ""
    said = [run["note"]] if run.get("note") else []
    planned = run.get("epochs_planned")
    if planned and run["epochs_run"] < planned and "stopped" not in run.get("note", "").lower():
        said.append(f"stopped after {run['epochs_run']} of {planned} planned epochs")
    if run.get("old_gradient"):
        said.append(OLD_GRADIENT)
    return "; ".join(said)


def _plain(value):
    return list(value) if isinstance(value, (list, tuple)) else value


def _settings(run: dict) -> str:
    epochs = f"{run['epochs_run']} epoch{'s' if run['epochs_run'] != 1 else ''}"
    if run.get("epochs_planned") and run["epochs_run"] < run["epochs_planned"]:
        epochs += f" of {run['epochs_planned']} planned"
    changed = _changed(run)
    step = []                           # rate and batch side by side: under a summed loss they are one setting
    for key, name in (("lr", "lr"), ("batch_size", "batch")):
        said = [c for c in changed if c.startswith(f"{key}=")]
        value = (run.get("preset_fields") or {}).get(key)
        if said:
            changed.remove(said[0])
            step.append(f"{name} {said[0].split('=', 1)[1]}")
        elif value is not None:
            step.append(f"{name} {value:g}")
    parts = [f"{run['preset']} preset", " with ".join(step), *changed, f"T={run['timesteps']}", epochs]
    if run.get("train_examples"):
        parts.append(f"{run['train_examples']} train images")
    if run.get("test_examples"):
        parts.append(f"{run['test_examples']} test images")
    parts.append(f"{run['seconds'] / 60:.1f} min on {run['device']}")
    return ", ".join(parts)


def table(root: str | os.PathLike = "results", runs: list[dict] | None = None) -> list[dict]:
    """Rows ``dataset, network, paper, confirmed, final, best, kind, settings, notes, run`` (and
    the run's ``timesteps`` and ``epochs``, for the book's narrower table, :func:`book_rows`).

    Accuracies in %: ``final`` after the last epoch, ``best`` the highest over the epochs (selected
    on the test set, as the authors' scripts did); ``None`` and settings "—" where no run exists.
    """
    runs = collect(root) if runs is None else runs

    def row(base: dict, r: dict | None) -> dict:
        if r is None:
            return {**base, "final": None, "best": None, "kind": "", "settings": "—", "notes": "", "run": "",
                    "timesteps": None, "epochs": None}
        return {**base, "final": 100 * r["final_test_acc"], "best": 100 * r["best_test_acc"], "kind": kind(r),
                "settings": _settings(r), "notes": notes(r), "run": r["run"], "timesteps": r.get("timesteps"),
                "epochs": r["epochs_run"]}

    rows, used = [], set()
    for entry in PAPER:
        mine = [r for r in runs if (r["model"], r["dataset"]) == (entry["model"], entry["dataset"]) and r["spiking"]]
        base = {"dataset": _label(entry["dataset"]), "network": entry["network"],
                "paper": entry["accuracy"], "confirmed": entry["confirmed"]}
        used.update(r["run"] for r in mine)
        rows += [row(base, r) for r in mine] or [row(base, None)]
    for r in runs:
        if r["run"] not in used:
            rows.append(row({"dataset": _label(r["dataset"]),
                             "network": r["model"] + ("" if r["spiking"] else " (ANN twin)"),
                             "paper": None, "confirmed": "not in the paper"}, r))
    return rows


def to_markdown(rows: list[dict]) -> str:
    """The rows of :func:`table` as a Markdown table."""
    def pct(value, missing):
        return f"{value:.2f}" if value is not None else missing

    head = ("| dataset | network | paper (%) | confirmed? | final (%) | best (%) | kind | our settings "
            "| notes | run folder |")
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['dataset']} | {r['network']} | {pct(r['paper'], '—')} | {r['confirmed']} | "
                     f"{pct(r['final'], 'not run yet')} | {pct(r['best'], '—')} | {r['kind']} | "
                     f"{r['settings']} | {r['notes']} | {r['run']} |")
    return "\n".join(lines)


# -- the book's tables: what a reader compares, the rest folded ------------------------------------

#: The columns of the book's tables of runs (:func:`run_rows`, :func:`book_rows`): what a reader
#: compares from run to run. The full kind, the settings and the notes of each run go into a folded
#: block under the table (:func:`notes_html`); ``python -m snnbp.results`` prints them all in one table.
BOOK_COLUMNS = ("run", "T", "epochs", "final (%)", "best (%)", "kind")


def _split(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside brackets (``milestones=[] (preset (75,))`` stays whole)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif depth == 0 and i >= start and text.startswith(separator, i):
            parts.append(text[start:i])
            start = i + len(separator)
    return [p for p in parts + [text[start:]] if p]


def brief(text: str) -> str:
    """A :func:`kind` in a few words, for a table column: ``"reduced: T=20 (paper 100), ..."`` becomes
    ``"reduced"``, ``"changed: lr=0.002 (preset 0.0085)"`` ``"changed: lr=0.002"``, the old
    output-layer gradient ``"old gradient"``, and a woken initialisation ``"woken (init_rate=...)"``;
    what a run of another preset changes is left to the preset's name. The full text stays in
    :func:`notes_html`."""
    parts = _split(text or "", "; ")
    other_method = any(p.startswith("not the paper's method") for p in parts)
    said, old = [], False
    for part in parts:
        if part.startswith("reduced:"):
            said.append("reduced")
        elif part.startswith("changed:"):
            items = _split(part.removeprefix("changed:").strip(), ", ")
            old = old or "old output-layer gradient" in items
            items = [i.split(" (preset", 1)[0] for i in items if i != "old output-layer gradient"]
            if items and not other_method:
                said.append("changed: " + ", ".join(items))
        elif part.startswith("not the paper's initialisation (woken to "):
            said.append("woken (" + part.removeprefix("not the paper's initialisation (woken to "))
        else:
            said.append(part)
    return "; ".join(said + (["old gradient"] if old else []))


def _book_row(r: dict) -> dict:
    return {"run": r["run"], "T": r.get("timesteps"), "epochs": r["epochs_run"],
            "final (%)": 100 * r["final_test_acc"], "best (%)": 100 * r["best_test_acc"], "kind": brief(kind(r))}


def run_rows(runs: list[dict]) -> list[dict]:
    """One row of :data:`BOOK_COLUMNS` per run of :func:`collect` (accuracies in %, the kind in
    brief): the book's table of runs; :func:`notes_html` holds the rest."""
    return [_book_row(r) for r in runs]


def book_rows(rows: list[dict]) -> list[dict]:
    """The rows of :func:`table` narrowed for the book: ``network`` (and data set), ``paper (%)``
    (with "not confirmed" where the paper's number is not), then :data:`BOOK_COLUMNS`; a paper
    row without a run says "not run yet". :func:`notes_html` of the same rows holds the rest."""
    narrow = []
    for r in rows:
        paper = "—" if r["paper"] is None else (f"{r['paper']:.2f}" + (" (not confirmed)" if
                                                                      r["confirmed"] == "not confirmed" else ""))
        narrow.append({"network": f"{r['network']}, {r['dataset']}", "paper (%)": paper,
                       "run": r["run"] or "—", "T": r.get("timesteps") or "—", "epochs": r.get("epochs") or "—",
                       "final (%)": "not run yet" if r["final"] is None else r["final"],
                       "best (%)": r["best"], "kind": brief(r["kind"])})
    return narrow


def notes_html(rows: list[dict], summary: str = "kind, settings and notes of each run") -> str:
    """A folded HTML block (``<details>``, closed) under a book's table: per run, its full
    :func:`kind`, its settings and its notes. ``rows``: the runs of :func:`collect` or the rows of
    :func:`table` (rows without a run are left out)."""
    import html

    items = []
    for r in rows:
        if not r.get("run"):
            continue
        full, settings, said = ((r["kind"], r["settings"], r["notes"]) if "settings" in r
                                else (kind(r), _settings(r), notes(r)))
        parts = [f"<dt><code>{html.escape(r['run'])}</code></dt>"]
        parts += [f"<dd><b>{label}:</b> {html.escape(text)}</dd>" for label, text in
                  (("kind", full), ("settings", settings), ("notes", said)) if text]
        items.append("".join(parts))
    return (f'<details class="snnbp-notes"><summary>{html.escape(summary)} ({len(items)} runs)</summary>'
            f"<dl>{''.join(items)}</dl></details>")


def default_root() -> Path:
    """``results/`` in the current folder, else the committed one beside the package (a clone
    installed with ``pip install -e .``, run from any folder)."""
    here = Path("results")
    beside = Path(__file__).resolve().parents[1] / "results"
    return here if here.is_dir() or not beside.is_dir() else beside


def _parser() -> argparse.ArgumentParser:
    p = cli.ArgumentParser(prog="python -m snnbp.results",
                                description="Our runs beside the paper's reported accuracies.")
    p.add_argument("root", nargs="?", default=None,
                   help="folder of run folders (default: results/ here, else the repository's results/)")
    p.add_argument("--debug", action="store_true", help="show the traceback of every error (to report a bug)")
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m snnbp.results [ROOT]``: prints the table, 0; a user's mistake (no such folder, a
    damaged run folder) is one line ``error: ...`` on stderr with status 2; Ctrl-C: 130."""
    args = _parser().parse_args(argv)
    return cli.run_command(lambda: _results_command(args), debug=args.debug)


def _results_command(args) -> int:
    root = Path(args.root) if args.root is not None else default_root()
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a folder of run folders (default: results/ here, else the "
                                 "repository's; give the folder as an argument)")
    print(to_markdown(table(root)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
