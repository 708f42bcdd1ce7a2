"""Every registry agrees with every other, read from the registries themselves (no name lists here),
and a new dataset and a new table are one record each: a toy of both builds and trains."""
from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

import snnbp
from snnbp import data, fused_scan, presets, results, surrogate, tables, train
from snnbp.neurons import LIF

PRESET_FIELDS = {f.name for f in dataclasses.fields(presets.Preset)}
# what each of the authors' scripts fixes (book/method.md, 'Training'): the preset fields a family sets,
# the learning rate and the batch together, and the schedule with them
SCRIPT_FIELDS = {"script", "lr", "batch_size", "epochs", "milestones", "dropout", "init"}
PAIRS = [(p, m, d) for p in presets.NAMES for m in tables.TABLES for d in data.DATASETS]


def test_every_tables_family_has_the_papers_values():
    for name, table in tables.TABLES.items():
        assert table.family in presets.SCRIPTS, (name, table.family)
    for family, values in presets.SCRIPTS.items():
        assert set(values) == SCRIPT_FIELDS, family
    assert presets.FAMILIES == {name: t.family for name, t in tables.TABLES.items()}


@pytest.mark.parametrize("preset, model, dataset", PAIRS)
def test_every_preset_resolves_for_every_model_and_dataset(preset, model, dataset):
    p = presets.get(preset, model, dataset)
    assert (p.name, p.model, p.dataset) == (preset, model, dataset)
    record = data.info(dataset)
    assert (p.augment, p.rate_scale) == (record.augment, record.rate_scale)      # how the data are presented
    script = presets.SCRIPTS[tables.TABLES[model].family]
    if preset == "paper":                       # the script's values together, or a CPU's sizes where named
        sized = presets.NOT_IN_THE_PAPER.get(dataset, {})
        assert all(getattr(p, k) == sized.get(k, v) for k, v in script.items() if k != "script")
        assert (p.lr, p.batch_size) == (script["lr"], script["batch_size"])       # never split
        assert script["script"] in p.note
    else:
        assert p.epochs == presets.MODERN_EPOCHS.get(dataset, presets.MODERN_DEFAULT_EPOCHS)


def test_every_dataset_record_has_what_data_results_and_presets_need(tmp_path):
    for name, record in data.DATASETS.items():
        assert record.name == name and data.info(name) is record
        assert isinstance(record.label, str) and record.label and results.DATASET_LABELS[name] == record.label
        assert record.channels >= 1 and record.size >= 1 and record.classes >= 2
        assert (record.mean is None) == (record.std is None)
        assert record.mean is None or len(record.mean) == len(record.std) == record.channels
        assert isinstance(record.augment, bool) and 0 < record.rate_scale <= 1, name
        assert record.train_size is None or results.FULL_TRAINING_SET[name] == record.train_size
        assert pickle.loads(pickle.dumps(record)) == record      # a network's info goes into torch.save(net)
        if record.bundled is not None:                          # no files: a split comes from a package
            assert record.files is None and record.reader is None
            continue
        assert callable(record.reader) and callable(record.fetch), name
        files = record.files(tmp_path)
        assert set(files) == set(data.SPLITS), name
        for paths in files.values():
            assert paths and all(isinstance(f, Path) and tmp_path in f.parents for f in paths), name


def test_the_papers_results_name_known_models_and_datasets():
    for row in results.PAPER:
        assert row["model"] in tables.TABLES and row["dataset"] in data.DATASETS, row
        assert presets.get("paper", row["model"], row["dataset"]).model == row["model"]


def literal_lif(current, leak, threshold):
    """H = V + I, s = 1[H > V_th], V = leak * H * (1 - s) (book/method.md, 'The LIF neuron')."""
    v, out = torch.zeros_like(current[0]), []
    for i in current:
        h = v + i
        s = (h > threshold).float()
        v = leak * h * (1 - s)
        out.append(s)
    return torch.stack(out)


@pytest.mark.parametrize("name", surrogate.NAMES)
def test_every_surrogate_runs_on_both_backends(name):
    torch.manual_seed(0)
    current = (torch.rand(12, 3, 5) * 0.7).requires_grad_()
    grads = {}
    for backend in ("reference", "fused"):
        neuron = LIF(0.9, 1.0, "zero", name, backend=backend)
        spikes = neuron(current)
        assert torch.equal(spikes, literal_lif(current.detach(), 0.9, 1.0)), backend
        (grads[backend],) = torch.autograd.grad((spikes * torch.arange(5.0)).sum(), current)
        assert torch.isfinite(grads[backend]).all() and grads[backend].abs().sum() > 0, backend
    reason = fused_scan.supports(LIF(0.9, 1.0, "zero", name).dynamics())
    assert reason is None or isinstance(reason, str)              # fused runs, or says why it falls back
    torch.testing.assert_close(grads["fused"], grads["reference"], rtol=1e-5, atol=1e-6)


# -- a new dataset and a new table, each one record ------------------------------------------------
def read_toy(files: list[Path]) -> tuple[torch.Tensor, torch.Tensor]:
    """The toy's own file format: one .npz with ``images`` uint8 [N, 1, 6, 6] and ``labels`` [N]."""
    with np.load(files[0]) as f:
        return torch.from_numpy(f["images"]), torch.from_numpy(f["labels"].astype(np.int64))


TOY = data.DatasetInfo(
    "toy", 1, 6, 3, label="Toy (6x6)", train_size=24,
    files=lambda root: {split: [root / "toy" / f"{split}.npz"] for split in data.SPLITS}, reader=read_toy)
TOY_TABLE = tables.Table((tables.Conv(4), "A", tables.FC(8)), False, "not in the paper: a toy", family="vgg")


def write_toy(root: Path) -> None:
    """Class k: a bright k-th pair of rows, so that even one epoch learns something."""
    (root / "toy").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 24), ("test", 12)):
        labels = np.arange(n) % 3
        images = rng.integers(0, 60, (n, 1, 6, 6), dtype=np.uint8)
        for i, k in enumerate(labels):
            images[i, 0, 2 * k:2 * k + 2] = 255
        np.savez(root / "toy" / f"{split}.npz", images=images, labels=labels)


def test_a_new_dataset_and_table_are_one_record_each(tmp_path, monkeypatch):
    monkeypatch.setitem(data.DATASETS, "toy", TOY)
    monkeypatch.setitem(tables.TABLES, "toynet", TOY_TABLE)
    write_toy(tmp_path / "data")
    p = presets.get("paper", "toynet", "toy")                    # the vgg family's script, whole
    assert (p.lr, p.batch_size, p.epochs, p.milestones) == (0.0033, 16, 150, (70, 100, 125))
    assert (p.dropout, p.init) == (0.2, "he") and not p.confirmed and "toy" in p.note
    modern = presets.get("modern", "toynet", "toy")
    assert modern.epochs == presets.MODERN_DEFAULT_EPOCHS and "not tuned for toy" in modern.note
    train_loader, test_loader = data.loaders("toy", 8, root=tmp_path / "data", download=False)
    x, y = next(iter(test_loader))
    assert x.shape == (8, 1, 6, 6) and float(x.max()) == 1.0 and set(y.tolist()) == {0, 1, 2}
    net = snnbp.build("toynet", "toy", timesteps=6, batch_size=8)
    # conv 1 -> 4 on 6x6, pooling to 3x3, FC 36 -> 8, output 8 -> 3 classes
    assert [tuple(w.shape) for w in net.parameters()] == [(4, 1, 3, 3), (8, 36), (3, 8)]
    before = [w.detach().clone() for w in net.parameters()]
    history = train.fit(net, train_loader, test_loader, epochs=1, quiet=True, device="cpu", out=tmp_path / "run")
    assert len(history) == 1 and any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))
    row = [r for r in results.table(tmp_path) if r["run"] == "run"][0]
    assert row["dataset"] == "Toy (6x6)" and row["network"] == "toynet"
    with pytest.raises(data.DatasetNotFound, match="toy .train. not found.*no download"):
        data.loaders("toy", 8, root=tmp_path / "empty")           # no fetch: a clear error, not a crash
