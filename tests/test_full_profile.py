"""Every chapter's full profile (what a Colab GPU user runs by default) executes, at toy size.

``SNNBP_PROFILE=tiny`` keeps the full profile's code path (the same datasets, models and
branches) with tiny sizes. The data are small files written here in torchvision's on-disk
formats (MNIST IDX files, CIFAR-10 python pickles) and found through ``SNNBP_DATA``, so the
chapters read them with the same code that reads the real datasets; nothing is downloaded.
Each chapter runs in its own kernel on the CPU. What this does not run is ``.cuda()`` itself.
"""
from __future__ import annotations

import pickle
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
N_TRAIN, N_TEST = 16, 8          # images per split (CIFAR-10: 5 training batches of 4 = 20)


def write_idx(path: Path, array: np.ndarray) -> None:
    """An unsigned-byte IDX file (MNIST's format)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_mnist(root: Path, rng: np.random.Generator) -> None:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, n in (("train", N_TRAIN), ("t10k", N_TEST)):
        labels = np.arange(n) % 10                       # every class present
        write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)


def write_cifar10(root: Path, rng: np.random.Generator) -> None:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    names = [(f"data_batch_{i}", 4) for i in range(1, 6)] + [("test_batch", N_TEST)]
    for name, n in names:
        batch = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 "labels": [int(k) for k in rng.integers(0, 10, n)], "batch_label": name}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))


def write_svhn(root: Path, rng: np.random.Generator) -> None:
    import scipy.io

    for split, n in (("train", N_TRAIN), ("test", N_TEST)):
        scipy.io.savemat(str(root / f"{split}_32x32.mat"),
                         {"X": rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8),
                          "y": (np.arange(n) % 10 + 1).reshape(-1, 1).astype(np.uint8)})


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("snnbp-data")
    rng = np.random.default_rng(0)
    write_mnist(root, rng)
    write_cifar10(root, rng)
    write_svhn(root, rng)
    return root


def test_the_data_files_are_read_by_snnbp(tiny_data):
    from snnbp import data

    for name, n_train in (("mnist", N_TRAIN), ("cifar10", 20), ("svhn", N_TRAIN)):
        train, test = data.loaders(name, 4, root=tiny_data, download=False)
        assert len(train.dataset) == n_train and len(test.dataset) == N_TEST


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_chapter_has_a_tiny_profile(path):
    nb = nbformat.read(path, as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert '"tiny"' in params.source, f"{path.name}: add a tiny entry beside quick and full"
    namespace: dict = {}
    exec(params.source, namespace)
    sizes = namespace["SIZES"]
    assert set(sizes) == {"quick", "full", "tiny"}
    assert set(sizes["tiny"]) == set(sizes["full"]), f"{path.name}: tiny must set what full sets"
    for key in ("model", "dataset", "big_dataset", "grad_model", "grad_dataset", "train_resnet7"):
        if key in sizes["full"]:
            assert sizes["tiny"][key] == sizes["full"][key], f"{path.name}: tiny changes full's {key}"


def run_tiny(path: Path, data: Path, runs: Path, monkeypatch) -> str:
    """Execute chapter ``path`` in the tiny profile; returns what it printed."""
    from nbclient import NotebookClient

    monkeypatch.setenv("SNNBP_PROFILE", "tiny")
    monkeypatch.setenv("SNNBP_DATA", str(data))
    monkeypatch.setenv("SNNBP_LIVE", "0")
    monkeypatch.setenv("SNNBP_RUNS", str(runs))       # run folders of chapters that train
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell('assert PROFILE == "tiny", PROFILE'))
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    tic = time.perf_counter()
    client.execute()                                  # raises CellExecutionError on any error
    print(f"{path.stem}: {time.perf_counter() - tic:.1f} s", file=sys.stderr)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")


@pytest.fixture(scope="module")
def deep_runs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("deep-cifar-runs")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_runs_in_the_tiny_full_profile(path, tiny_data, deep_runs, tmp_path, monkeypatch):
    runs = deep_runs if path.stem == "07b_deep_cifar" else tmp_path / "runs"
    run_tiny(path, tiny_data, runs, monkeypatch)


@pytest.mark.slow
def test_deep_cifar_chapter_continues_its_runs_after_a_disconnect(tiny_data, deep_runs, monkeypatch):
    """Running chapter 7b again on the same run folders keeps the plan and trains nothing again."""
    path = ROOT / "book" / "07b_deep_cifar.ipynb"
    if not (deep_runs / "plan.json").exists():        # run alone: make the first session here
        run_tiny(path, tiny_data, deep_runs, monkeypatch)
    stamps = {p: p.stat().st_mtime_ns for p in deep_runs.glob("*/last.pt")}
    assert len(stamps) == 2
    printed = run_tiny(path, tiny_data, deep_runs, monkeypatch)
    assert "reusing the plan" in printed and "(earlier session)" in printed
    assert {p: p.stat().st_mtime_ns for p in deep_runs.glob("*/last.pt")} == stamps
