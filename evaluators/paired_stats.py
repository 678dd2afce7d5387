"""Paired statistics for two models scored on the same questions: exact McNemar test and a paired bootstrap.

Both work on the discordant counts: `b` questions model A got right and model B wrong, `c` the other way round.
McNemar's exact test is the two-sided binomial test of `b` out of `b + c` against p = 1/2, computed with exact
integers. The paired bootstrap resamples questions with replacement; since each question's difference A − B is
+1, 0 or −1, a resample is fully described by how many +1 and −1 it draws: one multinomial draw (NumPy's seeded
generator) instead of n indices. Same seed, same interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass(frozen=True)
class PairedCounts:
    """Contingency counts of two paired 0/1 outcomes over the same `n` questions."""

    n: int
    both: int  # both right
    only_a: int  # A right, B wrong (McNemar's b)
    only_b: int  # A wrong, B right (McNemar's c)
    neither: int

    @property
    def diff(self) -> float:
        """Accuracy of A minus accuracy of B, in percentage points."""
        return 100.0 * (self.only_a - self.only_b) / self.n if self.n else 0.0


def paired_counts(a: Sequence[bool], b: Sequence[bool]) -> PairedCounts:
    """Count agreement of two equally long correctness vectors (same question order)."""
    if len(a) != len(b):
        raise ValueError(f"paired outcomes must have equal length, got {len(a)} and {len(b)}")
    both = only_a = only_b = 0
    for x, y in zip(a, b, strict=True):
        if x and y:
            both += 1
        elif x:
            only_a += 1
        elif y:
            only_b += 1
    return PairedCounts(n=len(a), both=both, only_a=only_a, only_b=only_b, neither=len(a) - both - only_a - only_b)


def _check_count(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: 2 · P(X ≤ min(b, c)) for X ~ Binomial(b + c, 1/2), capped at 1."""
    _check_count("b", b)
    _check_count("c", c)
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1))
    return float(min(Fraction(1), Fraction(2 * tail, 2**n)))


def bootstrap_diff_interval(counts: PairedCounts, *, resamples: int = 2000, seed: int = 0,
                            level: float = 0.95) -> tuple[float, float]:
    """Percentile paired-bootstrap interval of accuracy(A) − accuracy(B), in percentage points."""
    if resamples < 1:
        raise ValueError(f"resamples must be positive, got {resamples}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    n = counts.n
    if n == 0:
        raise ValueError("no paired questions to resample")
    shares = np.array([counts.only_a, counts.only_b, n - counts.only_a - counts.only_b]) / n
    draws = np.random.default_rng(seed).multinomial(n, shares, size=resamples)  # [resamples, (+1, -1, 0)]
    diffs = 100.0 * (draws[:, 0] - draws[:, 1]) / n
    alpha = (1.0 - level) / 2.0
    low, high = np.percentile(diffs, [100.0 * alpha, 100.0 * (1.0 - alpha)])
    return float(low), float(high)


def paired_bootstrap_interval(a: Sequence[bool], b: Sequence[bool], *, resamples: int = 2000, seed: int = 0,
                              level: float = 0.95) -> tuple[float, float]:
    """Paired bootstrap interval of accuracy(a) − accuracy(b) (percentage points) from correctness vectors."""
    return bootstrap_diff_interval(paired_counts(a, b), resamples=resamples, seed=seed, level=level)
