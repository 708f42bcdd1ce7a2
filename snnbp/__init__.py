"""snnbp: spike-based backpropagation for deep spiking neural networks, after Lee, Sarwar,
Panda, Srinivasan & Roy (Frontiers in Neuroscience 2020), as a small textbook library."""
from __future__ import annotations

from . import data, layers, models, neurons, presets, surrogate
from .encoding import PoissonEncoder, poisson_encode
from .models import build
from .neurons import IF, LIF
from .record import Recording, record

__version__ = "0.1.0"
__all__ = ["LIF", "IF", "poisson_encode", "PoissonEncoder", "record", "Recording", "build",
           "models", "surrogate", "presets", "neurons", "layers", "data", "__version__"]
