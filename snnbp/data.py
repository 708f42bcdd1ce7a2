"""Datasets: what each one looks like, and scikit-learn's bundled ``digits`` (no download).

Issue 3 adds the torchvision loaders (MNIST, SVHN, CIFAR-10) with the paper's transforms.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["DatasetInfo", "DATASETS", "NAMES", "info", "digits"]


@dataclass(frozen=True)
class DatasetInfo:
    """Shape of one image ``[channels, size, size]``, the number of classes, and normalisation.

    ``mean``/``std`` are ``None`` where images stay in [0, 1] (``ToTensor()`` only).
    """

    name: str
    channels: int
    size: int
    classes: int
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    note: str = ""


DATASETS: dict[str, DatasetInfo] = {
    "digits": DatasetInfo("digits", 1, 8, 10, note="scikit-learn's bundled 8x8 handwritten digits, scaled to [0, 1]"),
    "mnist": DatasetInfo("mnist", 1, 28, 10, note="ToTensor() in [0, 1] (paper-spec section 2)"),
    "svhn": DatasetInfo("svhn", 3, 32, 10, (0.4914, 0.4822, 0.4465), (0.557, 0.549, 0.5534),
                        note="normalisation not confirmed: the CIFAR-10 values are used"),
    "cifar10": DatasetInfo("cifar10", 3, 32, 10, (0.4914, 0.4822, 0.4465), (0.557, 0.549, 0.5534),
                           note="paper-spec section 2: |x| <= ~1 after normalisation"),
}
NAMES: tuple[str, ...] = tuple(DATASETS)


def info(dataset: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of ``dataset`` (one of :data:`NAMES`)."""
    from . import _checks

    return DATASETS[_checks.choice("dataset", dataset, NAMES)]


def digits(split: str = "train", *, test_fraction: float = 0.25, seed: int = 0):
    """scikit-learn's 1,797 handwritten digits as tensors ``(images [N, 1, 8, 8] in [0, 1], labels [N])``.

    The split is stratified and fixed by ``seed``, so train and test never overlap.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from . import _checks

    _checks.choice("split", split, ("train", "test"))
    bunch = load_digits()
    x = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(bunch.target, dtype=torch.long)
    idx_train, idx_test = train_test_split(
        torch.arange(len(y)).numpy(), test_size=test_fraction, random_state=seed, stratify=y.numpy())
    idx = torch.as_tensor(idx_train if split == "train" else idx_test)
    return x[idx], y[idx]
