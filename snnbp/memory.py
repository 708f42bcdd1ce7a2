r"""Process settings that make CPU training faster: keeping freed memory for the next step.

A time-batched network allocates tensors of tens to hundreds of MB every training step: the
currents, spikes and gradients of a layer over all time steps, ``[T*B, ...]`` (VGG9, T = 25,
batch 16: 100 MB for the first layer's currents alone). glibc's ``malloc`` serves every request
above its *mmap threshold* (at most 32 MiB) with fresh pages from the kernel and hands them back on
``free``; the kernel zero-fills each 4 KiB page on its first touch. So every step pays a page fault
per page of every large tensor, over a million of them for a VGG9 step, while a per-time-step loop
(small tensors, recycled inside the heap) pays almost none.

:func:`reuse_freed_memory` tells glibc to serve large requests from the heap too and to keep
freed memory instead of returning it, so that from the second step on the same pages are reused:

.. math::  \texttt{mallopt(M\_MMAP\_MAX, 0)}, \quad \texttt{mallopt(M\_TRIM\_THRESHOLD}, 2^{31} - 1)

much as starting Python with ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647`` would
(``mallopt`` takes a C ``int``, so 2 GiB of free memory at the top of the heap is the most it keeps).
The cost: the process keeps its peak memory until it exits, so it is asked for, never implied:
``python -m snnbp.train`` and the benchmarks switch it on, :func:`snnbp.train.fit` does with
``reuse_memory=True`` on the CPU (a notebook kernel keeps its memory only when told to). It does
nothing on a GPU's memory (PyTorch caches CUDA memory itself) and nothing outside Linux with glibc.

Taught in the appendix on CPU memory (``book/appendix_cpu_memory``), linked from chapter 10.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import platform

__all__ = ["reuse_freed_memory", "M_TRIM_THRESHOLD", "M_MMAP_MAX"]

#: glibc's ``mallopt`` parameter numbers (``malloc.h``).
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
_KEEP = 2**31 - 1                                             # the largest C int: trim only above 2 GiB free

_applied = False


def _glibc():
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def reuse_freed_memory() -> bool:
    """Keep freed heap memory in the process for the next training step (glibc only).

    Returns True when the setting is in force (now or from an earlier call), False where it
    cannot be made (not Linux with glibc). Safe to call more than once.
    """
    global _applied
    if _applied:
        return True
    libc = _glibc()
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    _applied = bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, _KEEP))
    return _applied
