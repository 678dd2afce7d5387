"""Binomial statistics for accuracies: standard error and a 95% confidence interval, in percent.

Standard error: the sample standard error of a 0/1 mean, `sqrt(p (1 − p) / (n − 1))` with `p = k / n`, which is
what lm-evaluation-harness reports as `acc_stderr` (its `mean_stderr` = sample stdev / sqrt(n)). For n = 1 the
formula is 0/0; since p (1 − p) = 0 there, it is reported as 0. Interval: the Wilson score interval at
z = 1.959963984540054 (95%), which stays inside [0, 100] and behaves at p = 0 or 1 where the Wald interval does not.
"""

from __future__ import annotations

import math

from evaluators.records import Accuracy

Z95 = 1.959963984540054


def _check_counts(correct: int, n: int) -> None:
    if isinstance(correct, bool) or isinstance(n, bool) or not isinstance(correct, int) or not isinstance(n, int):
        raise ValueError(f"counts must be integers, got correct={correct!r}, n={n!r}")
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    if not 0 <= correct <= n:
        raise ValueError(f"correct must lie in [0, {n}], got {correct}")


def binomial_stderr(correct: int, n: int) -> float:
    """Sample standard error of the proportion `correct / n`, as a fraction: sqrt(p(1 − p)/(n − 1))."""
    _check_counts(correct, n)
    if n == 1:
        return 0.0
    p = correct / n
    return math.sqrt(p * (1.0 - p) / (n - 1))


def wilson_interval(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for `correct / n`, as fractions (low, high)."""
    _check_counts(correct, n)
    p = correct / n
    z2 = z * z
    denom = 1.0 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1.0 - p) / n + z2 / (4 * n * n))
    low = 0.0 if correct == 0 else max(0.0, center - half)
    high = 1.0 if correct == n else min(1.0, center + half)
    return low, high


def accuracy(correct: int, n: int) -> Accuracy:
    """An `Accuracy` in percent: 100·k/n, its stderr and its 95% Wilson interval (integer counts kept)."""
    low, high = wilson_interval(correct, n)
    return Accuracy(
        correct=correct,
        n=n,
        acc=100.0 * correct / n,
        stderr=100.0 * binomial_stderr(correct, n),
        ci_low=100.0 * low,
        ci_high=100.0 * high,
    )
