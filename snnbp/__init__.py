"""snnbp: spike-based backpropagation for deep spiking neural networks, after Lee, Sarwar,
Panda, Srinivasan & Roy (Frontiers in Neuroscience 2020), as a small textbook library.

Introduced in chapter 01 (``book/01_preface``); each module's docstring names the chapter that
teaches it: neurons (02), encoding (03), surrogate (04), layers (05-07, 10), models and tables (06, 07),
fused_scan (10), snntorch_twin (11). Each dataset is one record in :data:`snnbp.data.DATASETS`, each network
one table in :data:`snnbp.tables.TABLES`; the rest of the library reads them.
"""
from __future__ import annotations

import importlib

from . import data, layers, learnable, models, neurons, presets, surrogate, tables  # learnable: registers its neurons
from .encoding import PoissonEncoder, poisson_encode
from .models import Network, build
from .neurons import IF, LIF
from .recording import Recording, record

__version__ = "0.1.0"

# Loaded on first use (``snnbp.train``, ``snnbp.plots``, ...): keeps ``import snnbp`` light, and
# ``python -m snnbp.train`` free of runpy's "found in sys.modules" warning.
_LAZY = ("train", "wakeup", "evaluate", "results", "plots", "exercises", "snntorch_twin", "grade", "assignments",
         "memory", "recipe", "runs", "distributed", "validate", "cli", "train_cli")

# The top-level API (README, 'The library in ten names'): each name also has its home module
# (snnbp.models.build, snnbp.train.fit, snnbp.runs.load_run, ...), of which this package is the face.
_API_LAZY = {"fit": "train", "load_run": "runs"}

__all__ = ["build", "Network", "fit", "load_run", "LIF", "IF", "poisson_encode", "PoissonEncoder", "record", "Recording",
           "models", "tables", "surrogate", "presets", "neurons", "learnable", "layers", "data", *_LAZY, "__version__"]


def __getattr__(name: str):
    if name in _API_LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_API_LAZY[name]}"), name)
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'snnbp' has no attribute {name!r}")
