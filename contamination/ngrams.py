"""Hashed n-grams of unit sequences: one 64-bit value per window, the same for corpus and benchmark text.

A unit's hash is the first 8 bytes of its BLAKE2b digest (stable across processes and machines, unlike Python's
`hash`), cached per process. A window's hash is the polynomial `sum u[i+k]·P^(n-1-k) mod 2^64` of its unit hashes,
finished with the splitmix64 mixer and salted with n, computed for all windows of a batch at once with numpy.
Windows never cross document boundaries. Collisions (2^-64 per pair) do not matter: every hit is verified against
the corpus text before it is reported.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

_P = np.uint64(0x100000001B3)  # FNV-64 prime: odd, so the polynomial is a bijection in each unit
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


class UnitHasher:
    """Maps units to stable 64-bit hashes, with a cache bounded to `max_entries` (cleared when full)."""

    def __init__(self, max_entries: int = 200_000) -> None:
        self.max_entries = max(1, max_entries)
        self._cache: dict[str, int] = {}

    def hash(self, unit: str) -> int:
        value = self._cache.get(unit)
        if value is None:
            value = int.from_bytes(hashlib.blake2b(unit.encode("utf-8"), digest_size=8).digest(), "little")
            if len(self._cache) >= self.max_entries:
                self._cache.clear()
            self._cache[unit] = value
        return value

    def hashes(self, text_units: Sequence[str]) -> np.ndarray:
        return np.fromiter((self.hash(u) for u in text_units), dtype=np.uint64, count=len(text_units))


def _mix(h: np.ndarray, n: int) -> np.ndarray:
    h = h ^ np.uint64((n * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)
    h = (h ^ (h >> np.uint64(30))) * _M1
    h = (h ^ (h >> np.uint64(27))) * _M2
    return h ^ (h >> np.uint64(31))


def window_hashes(unit_hashes: np.ndarray, n: int) -> np.ndarray:
    """The hash of every window of `n` consecutive units (length `len - n + 1`, empty when shorter than n)."""
    count = len(unit_hashes) - n + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = np.zeros(count, dtype=np.uint64)
        for k in range(n):
            h = h * _P + unit_hashes[k:k + count]
        return _mix(h, n)


def batch_window_hashes(unit_hashes: np.ndarray, starts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows of a batch of documents laid end to end (`starts`: each document's first unit, ascending, plus the
    total length at the end). Returns (hashes, document number of each window); no window crosses a boundary."""
    hashes = window_hashes(unit_hashes, n)
    if len(hashes) == 0:
        return hashes, np.empty(0, dtype=np.int64)
    positions = np.arange(len(hashes))
    document = np.searchsorted(starts, positions, side="right") - 1
    inside = positions + n <= starts[document + 1]
    return hashes[inside], document[inside]


def ngram_hashes(text_units: Sequence[str], n: int, hasher: UnitHasher) -> np.ndarray:
    return window_hashes(hasher.hashes(text_units), n)


def find_ngram(text_units: Sequence[str], n: int, target: int, hasher: UnitHasher) -> int | None:
    """Position of the first window of `text_units` whose hash is `target`, or None."""
    hits = np.flatnonzero(ngram_hashes(text_units, n, hasher) == np.uint64(target))
    return int(hits[0]) if len(hits) else None
