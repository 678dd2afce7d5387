"""A Bloom filter over the 64-bit n-gram hashes: the alternative to sorted arrays, measured in
bench/contamination_index.py (docs/contamination.md) and not used by the index.

m bits and k probes derived by double hashing from the one 64-bit hash (Kirsch & Mitzenmacher 2006), sized for a
false-positive rate p: m = -n ln p / (ln 2)^2, k = (m / n) ln 2. It stores no locations, so a positive must be
verified, and located, by a second pass over the corpus (`verify_pass`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

_LOW = np.uint64(0xFFFFFFFF)


class BloomFilter:
    def __init__(self, expected: int, error_rate: float = 0.01) -> None:
        self.bits = max(64, int(-expected * math.log(error_rate) / math.log(2) ** 2))
        self.k = max(1, round(self.bits / max(1, expected) * math.log(2)))
        self.array = np.zeros((self.bits + 7) // 8, dtype=np.uint8)

    @property
    def nbytes(self) -> int:
        return self.array.nbytes

    def _positions(self, hashes: np.ndarray, i: int) -> np.ndarray:
        h1 = hashes & _LOW
        h2 = (hashes >> np.uint64(32)) | np.uint64(1)
        with np.errstate(over="ignore"):
            return (h1 + np.uint64(i) * h2) % np.uint64(self.bits)

    def add(self, hashes: np.ndarray) -> None:
        for i in range(self.k):
            pos = self._positions(hashes, i)
            np.bitwise_or.at(self.array, pos >> np.uint64(3), np.left_shift(1, pos & np.uint64(7)).astype(np.uint8))

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        found = np.ones(len(hashes), dtype=bool)
        for i in range(self.k):
            pos = self._positions(hashes, i)
            found &= (self.array[pos >> np.uint64(3)] >> (pos & np.uint64(7)).astype(np.uint8)) & 1 == 1
        return found


def verify_pass(candidates: np.ndarray, batches: Iterable[tuple[np.ndarray, np.ndarray]]) -> dict[int, int]:
    """Exact membership and first location of each candidate hash, from a pass over the corpus's n-gram batches."""
    candidates = np.unique(np.asarray(candidates, dtype=np.uint64))
    located: dict[int, int] = {}
    for hashes, locations in batches:
        hit = np.isin(hashes, candidates)
        for h, loc in zip(hashes[hit].tolist(), locations[hit].tolist(), strict=True):
            located.setdefault(h, loc)
    return located
