"""Paired statistics for two models scored on the same questions: exact McNemar test and a paired bootstrap.

Both work on the discordant counts: `b` questions model A got right and model B wrong, `c` the other way round.
McNemar's exact test is the two-sided binomial test of `b` out of `b + c` against p = 1/2, computed with exact
integers. The paired bootstrap resamples questions with replacement; since each question's difference A − B is
+1, 0 or −1, a resample is fully described by how many +1 and −1 it draws, a multinomial draw, which is sampled
exactly (two binomial draws by inversion) instead of drawing n indices. Same seed, same interval. Pure Python.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction


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


def _binomial(rng: random.Random, n: int, p: float) -> int:
    """One exact Binomial(n, p) draw by inversion, enumerating outcomes outward from the mode."""
    if n == 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    q = 1.0 - p
    mode = min(n, int((n + 1) * p))
    p_mode = math.exp(math.lgamma(n + 1) - math.lgamma(mode + 1) - math.lgamma(n - mode + 1)
                      + mode * math.log(p) + (n - mode) * math.log1p(-p))
    u = rng.random()
    cumulative = p_mode
    if u < cumulative:
        return mode
    lo, hi, p_lo, p_hi = mode, mode, p_mode, p_mode
    while lo > 0 or hi < n:
        next_hi = p_hi * (n - hi) / (hi + 1) * p / q if hi < n else -1.0
        next_lo = p_lo * lo / (n - lo + 1) * q / p if lo > 0 else -1.0
        if next_hi >= next_lo:
            hi, p_hi = hi + 1, next_hi
            cumulative += next_hi
            if u < cumulative:
                return hi
        else:
            lo, p_lo = lo - 1, next_lo
            cumulative += next_lo
            if u < cumulative:
                return lo
    return mode  # u beyond the float sum of all probabilities (rounding): the most likely outcome


def _percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Linear-interpolated percentile of already sorted values (numpy's default method)."""
    position = fraction * (len(sorted_values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


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
    rng = random.Random(seed)
    p_a = counts.only_a / n
    rest = n - counts.only_a
    p_b_given_rest = counts.only_b / rest if rest else 0.0
    diffs = []
    for _ in range(resamples):
        draw_a = _binomial(rng, n, p_a)
        draw_b = _binomial(rng, n - draw_a, p_b_given_rest)
        diffs.append(100.0 * (draw_a - draw_b) / n)
    diffs.sort()
    alpha = (1.0 - level) / 2.0
    return _percentile(diffs, alpha), _percentile(diffs, 1.0 - alpha)


def paired_bootstrap_interval(a: Sequence[bool], b: Sequence[bool], *, resamples: int = 2000, seed: int = 0,
                              level: float = 0.95) -> tuple[float, float]:
    """Paired bootstrap interval of accuracy(a) − accuracy(b) (percentage points) from correctness vectors."""
    return bootstrap_diff_interval(paired_counts(a, b), resamples=resamples, seed=seed, level=level)
