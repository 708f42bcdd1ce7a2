"""Shared test helpers (pytest fixtures; test files never import each other)."""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import pytest


@dataclass(frozen=True)
class Mistake:
    """One row of a table-driven API test: ``call()`` is what a user typed, ``expect`` what must
    happen: ``"error"`` (an exception of type ``kind`` whose message contains every word of
    ``words``, case-insensitive), ``"warning"`` (a warning of category ``kind`` with those words,
    and the call completes) or ``"ok"`` (no exception and no warning from snnbp)."""

    name: str
    call: Callable[[], Any]
    expect: str
    kind: type | tuple = Exception
    words: tuple[str, ...] = ()

    def __post_init__(self):
        assert self.expect in ("error", "warning", "ok"), self.expect


def _has_words(text: str, words: tuple[str, ...], row: Mistake) -> None:
    missing = [w for w in words if not re.search(re.escape(w), text, re.IGNORECASE)]
    assert not missing, f"{row.name}: the message lacks {missing}: {text!r}"


def check_mistake(row: Mistake) -> Any:
    """Run ``row`` and assert that the expected kind of answer comes back; returns the result."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if row.expect == "error":
            with pytest.raises(row.kind) as info:
                row.call()
            _has_words(str(info.value), row.words, row)
            return info.value
        result = row.call()
    ours = [w for w in caught if "snnbp" in (w.filename or "") or issubclass(w.category, UserWarning)]
    if row.expect == "warning":
        hits = [w for w in ours if issubclass(w.category, row.kind)]
        assert hits, f"{row.name}: expected a {row.kind} warning, got {[str(w.message) for w in caught]}"
        _has_words(" ".join(str(w.message) for w in hits), row.words, row)
    else:
        assert not ours, f"{row.name}: expected no warning, got {[str(w.message) for w in ours]}"
    return result


@pytest.fixture
def mistake() -> Callable[..., Any]:
    """``mistake(name, call, expect, kind=Exception, words=())``: build a :class:`Mistake` row from
    a test table's tuple and :func:`check_mistake` it. A table is a list of such tuples, e.g.
    ``("uint8 images", lambda: snnbp.poisson_encode(raw, 4), "error", ValueError, ("255",))``."""
    return lambda *row: check_mistake(Mistake(*row))
