r"""Exercise checkers: test a student's function against the reference, with tolerances and hints.

A chapter asks the reader to write a function, then calls::

    from snnbp import exercises
    exercises.check("lif_step", lif_step)      # prints a friendly verdict, returns a Result

:func:`check` runs the reader's function on the exercise's inputs (fixed seeds), compares the
answers with the reference's, and prints a hint on failure. A stub that still raises
``NotImplementedError`` is reported as *not attempted yet* (never an error), so a notebook with
unsolved exercises still runs from top to bottom.

The framework (:class:`Exercise`, :class:`Case`, :class:`Result`, :func:`register`, the registry)
is :mod:`snnbp.exercises._framework`; a graded assignment's question
(:class:`snnbp.assignments.Question`) is an :class:`Exercise` too. The exercises live in one file
per book chapter, named after the chapter's notebook (``ch02_lif_neuron.py`` for
``book/02_lif_neuron.ipynb``); each registers its exercises with its ``CHAPTER`` tag. To add an
exercise: ``register(...)`` it in its chapter's file, call ``exercises.check("name", fn)`` in the
chapter's notebook, and give its reference an outside check in ``tests/test_exercises.py``.
"""
from __future__ import annotations

from . import (  # noqa: F401
    ch01_preface,
    ch02_lif_neuron,
    ch03_spike_encoding,
    ch04_derivative,
    ch05_spike_bptt,
    ch06_deep_vgg,
    ch07_residual,
    ch08_reproduction,
    ch09_efficiency,
    ch10_cost,
    ch11_snntorch,
)
from ._framework import REGISTRY, Case, Exercise, Result, allclose, check, get, measured, names, register

__all__ = ["Case", "Exercise", "Result", "register", "check", "get", "names", "REGISTRY", "allclose", "measured",
           "CHAPTERS"]

#: the chapter files, in the book's order
CHAPTERS = (ch01_preface, ch02_lif_neuron, ch03_spike_encoding, ch04_derivative, ch05_spike_bptt, ch06_deep_vgg,
    ch07_residual, ch08_reproduction, ch09_efficiency, ch10_cost, ch11_snntorch)
