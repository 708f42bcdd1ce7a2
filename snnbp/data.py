"""Datasets: what each one looks like, the paper's transforms, and loaders for training.

``digits`` (scikit-learn's bundled 8x8 digits) needs no download and no data folder. MNIST,
SVHN and CIFAR-10 are read from torchvision's on-disk layout under a *data root*:

* ``root/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``  (IDX files)
* ``root/cifar-10-batches-py/{data_batch_1..5,test_batch}``         (python pickles)
* ``root/{train,test}_32x32.mat``                                    (SVHN, MATLAB files)

Each dataset is one :class:`DatasetInfo` record in :data:`DATASETS`: its image shape and
normalisation, its file layout, reader and download, its label in the results table and its
presets' values. The rest of the library reads those records, so a new dataset is one record here
(and a reader function, if its file format is new).

The root is the ``root`` argument (``--data-root``), else the environment variable
``SNNBP_DATA``, else :data:`DEFAULT_ROOT`. Files that are absent are downloaded through
torchvision when ``download=True``; otherwise :class:`DatasetNotFound` names the folder, the
dataset and the flag to use. The readers below are our own (torchvision's classes insist on
the published md5 sums, which small test files cannot match). They treat the files as untrusted:
CIFAR-10's pickles are read by an unpickler that builds plain values and numpy arrays only, and
a file that is cut short, of another kind, or does not match its partner (image and label counts
differ, labels outside the classes) is refused with :class:`DataFileError` naming the file and
what was expected, before any training starts.

Transforms (book/method.md, 'Input'): MNIST ``ToTensor()`` only (pixels in [0, 1]); CIFAR-10
normalised with mean (0.4914, 0.4822, 0.4465), std (0.557, 0.549, 0.5534), training images
augmented by ``RandomCrop(32, padding=4)`` and a horizontal flip. SVHN: normalisation not
confirmed, the CIFAR-10 values are used; no augmentation.

First used in chapter 03 (``book/03_spike_encoding``: images into spikes); chapter 07b loads
CIFAR-10 with it, and ``tests/test_full_profile.py`` writes tiny files in these layouts.
"""
from __future__ import annotations

import gzip
import math
import os
import pickle
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset

__all__ = ["DatasetInfo", "DATASETS", "NAMES", "info", "digits", "DEFAULT_ROOT", "data_root",
           "DatasetNotFound", "DataFileError", "ImageDataset", "dataset", "transform", "loaders",
           "read_idx", "read_mnist", "read_cifar10", "read_svhn"]


@dataclass(frozen=True)
class DatasetInfo:
    """One dataset's record: everything the library needs to know of it, in one place.

    The images: one is ``[channels, size, size]``, in one of ``classes`` classes; ``mean``/``std``
    normalise them per channel (``None`` where images stay in [0, 1], ``ToTensor()`` only).
    Where they come from: ``files`` maps a data root to ``{split: [paths]}``, ``reader`` reads
    those paths into ``(images uint8 [N, C, H, W], labels int64 [N])``, and ``fetch(root, split)``
    downloads a split (``None``: no download); or, for a dataset bundled with a package (no files),
    ``bundled(split)`` gives ``(images float [N, C, H, W] in [0, 1], labels [N])``.
    For the results table: ``label``, the name shown, and ``train_size``, the whole training set
    (``None`` where the paper does not use the dataset). How the paper presents the images to a
    network: ``augment``, whether its training images are augmented (CIFAR-10's crop and flip; what
    :func:`dataset` does by default), and ``rate_scale``, the Poisson firing probability per unit of
    pixel (MNIST: 1/2, as ``mnist_LeNet.py`` encodes it). A record holds no training values
    (learning rate, batch, epochs): those belong to the authors' scripts, in :mod:`snnbp.presets`.

    Adding a dataset is adding its record to :data:`DATASETS` (and a reader, if its file format is new).
    """

    name: str
    channels: int
    size: int
    classes: int
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    note: str = ""
    label: str = ""
    train_size: int | None = None
    files: Callable[[Path], dict[str, list[Path]]] | None = field(default=None, repr=False)
    reader: Callable[[list[Path]], tuple[torch.Tensor, torch.Tensor]] | None = field(default=None, repr=False)
    fetch: Callable[[Path, str], Any] | None = field(default=None, repr=False)
    bundled: Callable[[str], tuple[torch.Tensor, torch.Tensor]] | None = field(default=None, repr=False)
    augment: bool = False
    rate_scale: float = 1.0


SPLITS = ("train", "test")
DEFAULT_ROOT = Path("~/.cache/snnbp/data").expanduser()


def info(dataset: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of ``dataset`` (one of :data:`NAMES`)."""
    from . import validate

    return DATASETS[validate.choice("dataset", dataset, tuple(DATASETS))]


def digits(split: str = "train", *, test_fraction: float = 0.25, seed: int = 0):
    """scikit-learn's 1,797 handwritten digits as tensors ``(images [N, 1, 8, 8] in [0, 1], labels [N])``.

    The split is stratified and fixed by ``seed``, so train and test never overlap.
    ``test_fraction``, the share of the images held out for ``"test"``, is a fraction in (0, 1)
    that leaves at least one image of each class on both sides (0.006 to 0.994).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from . import validate

    validate.choice("split", split, SPLITS)
    test_fraction = validate.fraction("test_fraction", test_fraction)
    bunch = load_digits()
    x = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(bunch.target, dtype=torch.long)
    n, classes = len(y), int(y.max()) + 1
    n_test = math.ceil(test_fraction * n)                     # as train_test_split rounds it
    if min(n_test, n - n_test) < classes:
        low, high = math.ceil(classes / n * 1000) / 1000, math.floor((n - classes) / n * 1000) / 1000
        raise ValueError(f"test_fraction={test_fraction:g} leaves {n_test} test and {n - n_test} training images "
                         f"of the {n}; a stratified split needs at least one image of each of the {classes} classes "
                         f"on both sides: choose test_fraction from {low} to {high}")
    idx_train, idx_test = train_test_split(
        torch.arange(len(y)).numpy(), test_size=test_fraction, random_state=seed, stratify=y.numpy())
    idx = torch.as_tensor(idx_train if split == "train" else idx_test)
    return x[idx], y[idx]


# -- where the files live -------------------------------------------------------------------------
class DatasetNotFound(FileNotFoundError):
    """A dataset is absent from the data root and could not (or may not) be downloaded."""


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data folder: ``root``, else ``$SNNBP_DATA``, else :data:`DEFAULT_ROOT`."""
    if root is None:
        root = os.environ.get("SNNBP_DATA") or DEFAULT_ROOT
    return Path(root).expanduser()


def _files(dataset: str, root: Path) -> dict[str, list[Path]]:
    """The files a split of ``dataset`` is read from, keyed by split (its record's ``files``)."""
    meta = DATASETS.get(dataset)
    if meta is None or meta.files is None:
        with_files = ", ".join(repr(name) for name, d in DATASETS.items() if d.files is not None)
        raise ValueError(f"dataset {dataset!r} has no files; valid choices: {with_files}")
    return meta.files(root)


def _present(path: Path) -> bool:
    return path.exists() or Path(str(path) + ".gz").exists()


def _ensure(dataset: str, root: Path, split: str, download: bool) -> list[Path]:
    """Return the files of ``dataset``/``split``, downloading them through torchvision if allowed."""
    files = _files(dataset, root)[split]
    missing = [f for f in files if not _present(f)]
    if not missing:
        return files
    flag = "--data-root DIR (or the environment variable SNNBP_DATA)"
    others = [name for name, d in DATASETS.items() if d.files is not None
              and name != dataset and all(_present(f) for f in d.files(root)[split])]
    held = f"; the folder holds {' and '.join(others)} (--dataset {others[0]}?)" if others else ""
    fetch = DATASETS[dataset].fetch
    if not download or fetch is None:
        why = "it has no download" if download and fetch is None else \
            "downloading is off (--no-download / download=False)"
        raise DatasetNotFound(
            f"{dataset} ({split}) not found in data folder {root} (missing {missing[0]}{held}), and {why}. "
            f"Pass {flag} pointing at a folder that holds it"
            + (", or allow the download (download=True, i.e. drop --no-download)." if fetch is not None else "."))
    try:
        root.mkdir(parents=True, exist_ok=True)
        fetch(root, split)
    except Exception as err:  # network down, read-only folder, ...
        raise DatasetNotFound(
            f"{dataset} ({split}) not found in data folder {root} and the download failed ({err}). "
            f"Without internet, copy the files there or pass {flag} pointing at a folder that holds "
            f"them (use --no-download / download=False to skip the attempt).") from err
    return files


# -- readers for torchvision's on-disk formats ----------------------------------------------------
class DataFileError(ValueError):
    """A dataset file that is damaged (cut short, not decodable), of the wrong kind, or inconsistent
    with its partner (image and label counts differ). The message names the file and what was expected."""


_REFETCH = "delete it and download it again (drop --no-download), or copy it again from a good source"


def _open(path: Path):
    return open(path, "rb") if path.exists() else gzip.open(str(path) + ".gz", "rb")


def _name(path: Path) -> Path:
    return path if path.exists() or not Path(str(path) + ".gz").exists() else Path(str(path) + ".gz")


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (LeCun's MNIST format, optionally ``.gz``): a big-endian header
    ``0x00 0x00 <dtype 0x08 = uint8> <ndim>``, ``ndim`` uint32 sizes, then the raw array.

    Raises :class:`DataFileError` naming the file when the header is not an unsigned-byte IDX
    header or the file is shorter or longer than its header says."""
    path = Path(path)
    try:
        with _open(path) as f:
            data = f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise DataFileError(f"{_name(path)} is damaged: not a readable gzip file ({err}); {_REFETCH}") from None
    if len(data) < 4 or data[:3] != b"\x00\x00\x08" or not 1 <= data[3] <= 4:
        raise DataFileError(f"{_name(path)} is not an unsigned-byte IDX file (it starts with {data[:4]!r}; "
                            f"MNIST's files start with 00 00 08 01 for labels, 00 00 08 03 for images); {_REFETCH}")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataFileError(f"{_name(path)} is damaged: {len(data)} bytes, shorter than its own header "
                            f"({header} bytes); {_REFETCH}")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = header + math.prod(shape)
    if len(data) != expected:
        raise DataFileError(f"{_name(path)} is damaged: its header describes an array of shape {list(shape)}, "
                            f"{expected:,} bytes in all, but the file holds {len(data):,} bytes; {_REFETCH}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def read_mnist(files: list[Path]) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST as ``(images uint8 [N, 1, 28, 28], labels int64 [N])``; the images file must hold
    ``[N, 28, 28]`` and the labels file ``[N]`` (else :class:`DataFileError`)."""
    images, labels = read_idx(files[0]), read_idx(files[1])
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataFileError(f"{_name(files[0])} is not an MNIST image file: it holds an array of shape "
                            f"{list(images.shape)}, expected [N, 28, 28]")
    if labels.ndim != 1:
        raise DataFileError(f"{_name(files[1])} is not an MNIST label file: it holds an array of shape "
                            f"{list(labels.shape)}, expected [N]")
    return torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def _numpy_globals() -> dict[tuple[str, str], Any]:
    """The few numpy functions a pickled uint8 array needs (both numpy 1's and numpy 2's module names)."""
    found = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for maker in (np.zeros(1).__reduce__()[0], np.zeros(1).__reduce_ex__(5)[0], np.int64(0).__reduce__()[0]):
        module = maker.__module__
        for alias in {module, module.replace("numpy._core", "numpy.core")}:
            found[(alias, maker.__name__)] = maker
    return found


def _latin1(text: str, encoding: str) -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it for bytes, restricted to latin-1."""
    if encoding.lower().replace("-", "") != "latin1":
        raise pickle.UnpicklingError(f"unexpected encoding {encoding!r}")
    return text.encode("latin1")


class _Refused(pickle.UnpicklingError):
    """A pickle asked for a class or function that a data file never needs."""


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that builds dicts, lists, strings, numbers and numpy arrays and nothing else:
    a file that asks for any other class or function (which could run code) is refused."""

    allowed = {**_numpy_globals(), ("_codecs", "encode"): _latin1}

    def find_class(self, module: str, name: str):
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise _Refused(f"{module}.{name}") from None


def read_cifar10(files: list[Path]) -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10 python batches (dicts with ``data`` uint8 [N, 3072] and ``labels``) as
    ``(images uint8 [N, 3, 32, 32], labels int64 [N])``. The pickles are read with an unpickler
    that only builds plain values and numpy arrays, so a crafted file cannot run code."""
    images, labels = [], []
    for path in files:
        try:
            with open(path, "rb") as f:
                batch = _ArrayUnpickler(f, encoding="latin1").load()
        except _Refused as err:
            raise DataFileError(f"refusing to read {path}: it asks for {err}, which a CIFAR-10 batch never needs "
                                f"(reading it could run code); {_REFETCH}") from None
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as err:
            raise DataFileError(f"{path} is damaged or not a CIFAR-10 python batch ({err or type(err).__name__}); "
                                f"{_REFETCH}") from None
        data = batch.get("data") if isinstance(batch, dict) else None
        found = batch.get("labels", batch.get("fine_labels")) if isinstance(batch, dict) else None
        if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != 3072 or found is None:
            raise DataFileError(f"{path} is not a CIFAR-10 python batch: expected a dict with 'data' "
                                f"(uint8 [N, 3072]) and 'labels' ([N])")
        if len(found) != len(data):
            raise DataFileError(f"{path} holds {len(data)} images but {len(found)} labels; {_REFETCH}")
        if len(found) and not 0 <= min(found) <= max(found) < 10:
            raise DataFileError(f"{path} holds labels from {min(found)} to {max(found)}, but CIFAR-10 has 10 classes "
                                "(0..9): is it a CIFAR-100 file?")
        images.append(np.asarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.extend(found)
    return torch.from_numpy(np.concatenate(images)), torch.tensor(labels, dtype=torch.long)


def read_svhn(files: list[Path]) -> tuple[torch.Tensor, torch.Tensor]:
    """SVHN's ``{split}_32x32.mat`` (``X`` uint8 [32, 32, 3, N], ``y`` [N, 1] with 10 meaning the
    digit 0) as ``(images uint8 [N, 3, 32, 32], labels int64 [N])``."""
    import scipy.io

    try:
        mat = scipy.io.loadmat(str(files[0]))
    except Exception as err:  # scipy raises many kinds for a cut or foreign file; none runs code
        raise DataFileError(f"{files[0]} is damaged or not a MATLAB file ({err or type(err).__name__}); "
                            f"{_REFETCH}") from None
    x, y = mat.get("X"), mat.get("y")
    if x is None or y is None or x.ndim != 4 or x.shape[:3] != (32, 32, 3) or y.size != x.shape[3]:
        raise DataFileError(f"{files[0]} is not an SVHN file: expected 'X' [32, 32, 3, N] and 'y' [N, 1], found "
                            f"{'X ' + str(list(x.shape)) if x is not None else 'no X'}, "
                            f"{'y ' + str(list(y.shape)) if y is not None else 'no y'}")
    images = np.transpose(x, (3, 2, 0, 1))
    labels = y.astype(np.int64).reshape(-1) % 10
    return torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels)


def _check_read(name: str, split: str, files: list[Path], images: torch.Tensor, labels: torch.Tensor) -> None:
    """Refuse what was read unless the images have the dataset's shape, there is one label per
    image and every label is a class of the dataset; the error names the files."""
    meta = info(name)
    shown = ", ".join(str(_name(f)) for f in files)
    if len(images) != len(labels):
        raise DataFileError(f"{name} ({split}): {shown} hold {len(images)} images but {len(labels)} labels: the "
                            "files come from different sets or one is damaged; delete them and download them again "
                            "(drop --no-download), or copy them again from a good source")
    if not len(labels):
        raise DataFileError(f"{name} ({split}): {shown} hold no images")
    if tuple(images.shape[1:]) != (meta.channels, meta.size, meta.size):
        raise DataFileError(f"{name} ({split}): {shown} hold images of shape {list(images.shape[1:])}, "
                            f"expected {[meta.channels, meta.size, meta.size]}")
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= meta.classes:
        raise DataFileError(f"{name} ({split}): {shown} hold labels from {low} to {high}, but {name} has "
                            f"{meta.classes} classes (0..{meta.classes - 1}); is it another dataset's file?")


# -- the datasets' records ------------------------------------------------------------------------
@dataclass(frozen=True)
class _Torchvision:
    """``fetch(root, split)`` through ``torchvision.datasets.<cls>``, which takes ``split=`` where
    ``by_split`` (SVHN), else ``train=`` (MNIST, CIFAR-10). A class, not a closure, so that a
    record (and a network's ``info``) pickles."""

    cls: str
    by_split: bool = False

    def __call__(self, root: Path, split: str):
        import torchvision.datasets as tvd

        chosen = {"split": split} if self.by_split else {"train": split == "train"}
        return getattr(tvd, self.cls)(str(root), download=True, **chosen)


def _mnist_files(root: Path) -> dict[str, list[Path]]:
    raw = root / "MNIST" / "raw"
    return {split: [raw / f"{prefix}-images-idx3-ubyte", raw / f"{prefix}-labels-idx1-ubyte"]
            for split, prefix in (("train", "train"), ("test", "t10k"))}


def _cifar10_files(root: Path) -> dict[str, list[Path]]:
    folder = root / "cifar-10-batches-py"
    return {"train": [folder / f"data_batch_{i}" for i in range(1, 6)], "test": [folder / "test_batch"]}


def _svhn_files(root: Path) -> dict[str, list[Path]]:
    return {split: [root / f"{split}_32x32.mat"] for split in SPLITS}


_CIFAR_MEAN, _CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.557, 0.549, 0.5534)

DATASETS: dict[str, DatasetInfo] = {
    "digits": DatasetInfo(
        "digits", 1, 8, 10, note="scikit-learn's bundled 8x8 handwritten digits, scaled to [0, 1]",
        label="digits (scikit-learn)", bundled=digits),
    "mnist": DatasetInfo(
        "mnist", 1, 28, 10, note="ToTensor() in [0, 1], as the authors' MNIST script",
        label="MNIST", train_size=60000, files=_mnist_files, reader=read_mnist, fetch=_Torchvision("MNIST"),
        rate_scale=0.5),
    "svhn": DatasetInfo(
        "svhn", 3, 32, 10, _CIFAR_MEAN, _CIFAR_STD, note="normalisation not confirmed: the CIFAR-10 values are used",
        label="SVHN", train_size=73257, files=_svhn_files, reader=read_svhn, fetch=_Torchvision("SVHN", by_split=True)),
    "cifar10": DatasetInfo(
        "cifar10", 3, 32, 10, _CIFAR_MEAN, _CIFAR_STD,
        note="|x| <= ~1 after normalisation, as the authors' CIFAR-10 scripts",
        label="CIFAR-10", train_size=50000, files=_cifar10_files, reader=read_cifar10, fetch=_Torchvision("CIFAR10"),
        augment=True),
}
#: The datasets' names when snnbp was imported (the functions here read :data:`DATASETS` itself).
NAMES: tuple[str, ...] = tuple(DATASETS)


# -- transforms and datasets ----------------------------------------------------------------------
def transform(dataset: str, *, augment: bool = False) -> Callable[[torch.Tensor], torch.Tensor]:
    """The paper's per-image transform: a uint8 image ``[C, H, W]`` -> float ``[C, H, W]``.

    :math:`x = (p / 255 - \\mu) / \\sigma` per channel where the dataset has ``mean``/``std``
    (else :math:`x = p / 255`, like ``ToTensor()``). With ``augment``: ``RandomCrop(size,
    padding=4)`` (zero padding, before normalisation, as on PIL images) and a horizontal flip.
    """
    from torchvision import transforms as T

    meta = info(dataset)
    steps: list[Callable] = []
    if augment:
        steps += [T.RandomCrop(meta.size, padding=4), T.RandomHorizontalFlip()]
    steps.append(T.ConvertImageDtype(torch.float32))
    if meta.mean is not None:
        steps.append(T.Normalize(meta.mean, meta.std))
    return T.Compose(steps)


class ImageDataset(Dataset):
    """uint8 images ``[N, C, H, W]`` and labels ``[N]``, transformed one image at a time."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform: Callable | None = None):
        if len(images) != len(labels):
            raise ValueError(f"images ({len(images)}) and labels ({len(labels)}) differ in length")
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        image = self.images[index]
        return (self.transform(image) if self.transform else image), self.labels[index]


def dataset(name: str, split: str = "train", *, root: str | os.PathLike | None = None, download: bool = True,
            augment: bool | None = None) -> Dataset:
    """One split of dataset ``name`` with the paper's transform (see :func:`transform`).

    ``augment=None`` follows the paper (the record's ``augment``): on for CIFAR-10 training
    images, off otherwise. Test images are never augmented.
    """
    from . import validate

    meta = info(name)
    validate.choice("split", split, SPLITS)
    if meta.bundled is not None:
        return TensorDataset(*meta.bundled(split))
    if augment is None:
        augment = meta.augment
    root = data_root(root)
    files = _ensure(name, root, split, download)
    images, labels = meta.reader(files)
    _check_read(name, split, files, images, labels)
    return ImageDataset(images, labels, transform(name, augment=bool(augment) and split == "train"))


def _subset(data: Dataset, n: int | None, seed: int, what: str = "subset") -> Dataset:
    """A fixed random choice of ``n`` examples (all of them where ``n`` is None or their number);
    ``n`` outside ``1..len(data)`` is refused (``what`` names the argument in the message)."""
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(data)):
        hint = (f" (a number of images, not a fraction: for {n:.0%} of them write {round(n * len(data))})"
                if isinstance(n, float) and 0 < n < 1 else "")
        raise ValueError(f"{what}: {n!r} asked for, but there are {len(data)}; choose 1 to {len(data)}{hint}")
    if n is None or n == len(data):
        return data
    chosen = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:n]
    return Subset(data, chosen.sort().values.tolist())


def loaders(dataset: str, batch_size: int, *, root: str | os.PathLike | None = None, download: bool = True,
            subset: int | tuple[int | None, int | None] | None = None, augment: bool | None = None,
            num_workers: int = 0, seed: int = 0, pin_memory: bool | None = None,
            distributed: bool | None = None) -> tuple[DataLoader, DataLoader]:
    """``(train_loader, test_loader)`` for ``dataset`` with the paper's transforms.

    Args:
        dataset: one of :data:`NAMES`; ``digits`` needs no ``root``.
        batch_size: images per mini-batch (per process under ``torchrun``).
        root: the data folder (see :func:`data_root`); ``download``: fetch absent files.
        subset: ``N`` keeps a fixed random choice of ``N`` training images (the test set stays
            whole); ``(N, M)`` also keeps ``M`` test images.
        augment: ``None`` follows the paper (CIFAR-10 training only).
        num_workers, pin_memory: loader processes; pinned memory (default: when CUDA is present).
        seed: fixes the subset and the shuffling order. The training loader's ``generator``
            holds the shuffling state, so a checkpoint can save and restore it.
        distributed: shard both sets over the processes of a ``torch.distributed`` group
            (default: when one is initialised). Training uses a ``DistributedSampler``; the test
            set is split without padding, so summed counts cover every test image exactly once.
    """
    from . import validate

    validate.count("batch_size", batch_size)
    n_train, n_test = subset if isinstance(subset, tuple) else (subset, None)
    train = _subset(dataset_fn(dataset, "train", root=root, download=download, augment=augment), n_train, seed,
                    f"subset (--subset) of the {dataset} training images")
    test = _subset(dataset_fn(dataset, "test", root=root, download=download, augment=False), n_test, seed + 1,
                   f"test subset (--test-subset) of the {dataset} test images")
    if pin_memory is None:
        pin_memory = torch.cuda.is_available()
    if distributed is None:
        distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    common = dict(batch_size=batch_size, num_workers=num_workers, pin_memory=pin_memory,
                  persistent_workers=num_workers > 0)
    generator = torch.Generator().manual_seed(seed)
    if distributed:
        from torch.utils.data.distributed import DistributedSampler

        rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
        sampler = DistributedSampler(train, num_replicas=world, rank=rank, shuffle=True, seed=seed)
        train_loader = DataLoader(train, sampler=sampler, generator=generator, **common)
        test_loader = DataLoader(Subset(test, list(range(rank, len(test), world))), shuffle=False, **common)
    else:
        train_loader = DataLoader(train, shuffle=True, generator=generator, **common)
        test_loader = DataLoader(test, shuffle=False, **common)
    return train_loader, test_loader


dataset_fn = dataset  # ``loaders`` has an argument called ``dataset``
