"""Data loaders: the real reading code on small files written here in torchvision's on-disk formats."""
from __future__ import annotations

import gzip
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from snnbp import data

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.557, 0.549, 0.5534)


def write_idx(path: Path, array: np.ndarray, *, gz: bool = False) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)


def fake_mnist(root: Path, n_train=20, n_test=10, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images, gz=gz)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels, gz=gz)
        arrays[prefix] = (images, labels)
    return arrays


def fake_cifar(root: Path, per_batch=4, seed=0):
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                 "labels": rng.integers(0, 10, per_batch).tolist(), "batch_label": name}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)
        batches[name] = batch
    return batches


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_idx_files_with_totensor_scaling(tmp_path, gz):
    arrays = fake_mnist(tmp_path, gz=gz)
    train, test = data.loaders("mnist", 8, root=tmp_path, download=False)
    assert len(train.dataset) == 20 and len(test.dataset) == 10
    x, y = next(iter(test))                                  # test loader keeps file order
    images, labels = arrays["t10k"]
    assert x.shape == (8, 1, 28, 28) and x.dtype == torch.float32
    torch.testing.assert_close(x[:, 0], torch.from_numpy(images[:8]).float() / 255)
    assert y.tolist() == labels[:8].tolist()


def test_cifar10_reads_pickle_batches_and_normalises(tmp_path):
    batches = fake_cifar(tmp_path)
    train, test = data.loaders("cifar10", 4, root=tmp_path, download=False, augment=False)
    assert len(train.dataset) == 20 and len(test.dataset) == 4
    x, y = next(iter(test))
    raw = torch.from_numpy(batches["test_batch"]["data"]).reshape(-1, 3, 32, 32).float() / 255
    expected = (raw - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]
    torch.testing.assert_close(x, expected)
    assert y.tolist() == batches["test_batch"]["labels"]


def test_cifar10_augmentation_crops_and_flips_training_images_only(tmp_path):
    fake_cifar(tmp_path)
    train_set = data.dataset("cifar10", "train", root=tmp_path, download=False)  # paper: augment CIFAR training
    test_set = data.dataset("cifar10", "test", root=tmp_path, download=False)
    torch.manual_seed(0)
    views = torch.stack([train_set[0][0] for _ in range(8)])
    assert views.shape == (8, 3, 32, 32)
    assert not torch.equal(views[0], views[1]) or not torch.equal(views[1], views[2])  # random crops differ
    # zero padding happens before normalisation: padded pixels equal (0 - mean) / std
    pad_value = torch.tensor([(0 - m) / s for m, s in zip(MEAN, STD)])
    border = torch.isclose(views, pad_value[None, :, None, None], atol=1e-6).all(1)
    assert border.any()
    assert torch.equal(test_set[0][0], test_set[0][0])                   # test images are not augmented


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar10_batches_with_numpy_arrays_load_safely(tmp_path, protocol):
    """The real batches pickle numpy arrays; the restricted unpickler builds them, under any protocol."""
    batches = fake_cifar(tmp_path)
    for name, batch in batches.items():
        batch = dict(batch, labels=np.array(batch["labels"], dtype=np.int64), data=batch["data"])
        (tmp_path / "cifar-10-batches-py" / name).write_bytes(pickle.dumps(batch, protocol=protocol))
    images, labels = data.read_cifar10(data._files("cifar10", tmp_path)["test"])
    assert images.shape == (4, 3, 32, 32) and labels.tolist() == list(batches["test_batch"]["labels"])


def test_damaged_files_are_named(tmp_path):
    fake_mnist(tmp_path)
    labels = tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes() + b"extra")
    with pytest.raises(data.DataFileError, match=r"t10k-labels-idx1-ubyte is damaged: .*\[10\], 18 bytes.*23 bytes"):
        data.read_idx(labels)
    labels.write_bytes(b"\x00\x00")
    with pytest.raises(data.DataFileError, match="t10k-labels-idx1-ubyte is not an unsigned-byte IDX file"):
        data.read_idx(labels)
    pytest.importorskip("scipy.io")
    (tmp_path / "test_32x32.mat").write_bytes(b"MATLAB 5.0 MAT-file, cut short")
    with pytest.raises(data.DataFileError, match="test_32x32.mat is damaged or not a MATLAB file"):
        data.read_svhn([tmp_path / "test_32x32.mat"])


def test_svhn_reads_mat_files_and_maps_label_10_to_0(tmp_path):
    scipy_io = pytest.importorskip("scipy.io")
    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("test", 3)):
        X = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
        y = np.array([[10], [1], [2], [3], [4], [5]][:n], dtype=np.uint8)
        scipy_io.savemat(tmp_path / f"{split}_32x32.mat", {"X": X, "y": y})
        if split == "test":
            X_test = X
    train, test = data.loaders("svhn", 3, root=tmp_path, download=False)
    x, y = next(iter(test))
    assert y.tolist() == [0, 1, 2]
    raw = torch.from_numpy(X_test).permute(3, 2, 0, 1).float() / 255
    expected = (raw - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]
    torch.testing.assert_close(x, expected)


def test_absent_dataset_names_folder_dataset_and_flag(tmp_path):
    with pytest.raises(data.DatasetNotFound) as err:
        data.loaders("mnist", 8, root=tmp_path / "nowhere", download=False)
    message = str(err.value)
    assert str(tmp_path / "nowhere") in message and "mnist" in message
    assert "--data-root" in message and "download" in message


def test_failed_download_is_reported_clearly(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(tvd, "CIFAR10", offline)
    with pytest.raises(data.DatasetNotFound, match="download failed.*no network"):
        data.loaders("cifar10", 8, root=tmp_path, download=True)


def test_data_root_from_argument_then_environment_then_default(tmp_path, monkeypatch):
    monkeypatch.setenv("SNNBP_DATA", str(tmp_path / "env"))
    assert data.data_root(tmp_path / "arg") == tmp_path / "arg"
    assert data.data_root() == tmp_path / "env"
    monkeypatch.delenv("SNNBP_DATA")
    assert data.data_root() == data.DEFAULT_ROOT
    fake_mnist(tmp_path / "env")
    monkeypatch.setenv("SNNBP_DATA", str(tmp_path / "env"))
    train, _ = data.loaders("mnist", 4, download=False)
    assert len(train.dataset) == 20


def test_digits_subset_and_shuffle_are_fixed_by_seed():
    train, test = data.loaders("digits", 32)
    assert len(train.dataset) == 1347 and len(test.dataset) == 450
    a, _ = data.loaders("digits", 16, subset=100, seed=3)
    b, _ = data.loaders("digits", 16, subset=100, seed=3)
    assert len(a.dataset) == 100
    xa, ya = next(iter(a))
    xb, yb = next(iter(b))
    assert torch.equal(xa, xb) and torch.equal(ya, yb)
    _, small_test = data.loaders("digits", 16, subset=(100, 40))
    assert len(small_test.dataset) == 40


def test_bad_arguments_name_the_choices():
    with pytest.raises(ValueError, match="dataset"):
        data.loaders("imagenet", 8)
    with pytest.raises(ValueError, match="batch_size"):
        data.loaders("digits", 0)
    for subset in (0, -5, 1348, (100, 451)):                 # nothing out of range is silently ignored
        with pytest.raises(ValueError, match="subset.*choose 1 to (1347|450)"):
            data.loaders("digits", 8, subset=subset)


REAL = data.data_root(os.environ.get("SNNBP_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")


@pytest.mark.skipif(not (REAL / "MNIST" / "raw" / "t10k-images-idx3-ubyte").exists(),
                    reason="real MNIST not present (set SNNBP_DATA)")
def test_real_mnist_if_present():
    train, test = data.loaders("mnist", 64, root=REAL, download=False)
    assert len(train.dataset) == 60000 and len(test.dataset) == 10000
    x, y = test.dataset[0]
    assert x.shape == (1, 28, 28) and int(y) == 7 and 0 <= float(x.min()) and float(x.max()) <= 1
