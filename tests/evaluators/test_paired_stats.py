"""Exact McNemar against hand-computed binomials; the count-based bootstrap against a plain index bootstrap."""

from __future__ import annotations

import math
import random

import pytest

from evaluators.paired_stats import (
    PairedCounts,
    bootstrap_diff_interval,
    mcnemar_exact,
    paired_bootstrap_interval,
    paired_counts,
)


def test_mcnemar_known_values() -> None:
    assert mcnemar_exact(1, 9) == 0.021484375  # 2 * (1 + 10) / 1024
    assert mcnemar_exact(9, 1) == 0.021484375
    assert mcnemar_exact(0, 5) == 0.0625  # 2 / 32
    assert mcnemar_exact(0, 0) == 1.0
    for b in (1, 2, 7, 50):
        assert mcnemar_exact(b, b) == 1.0


def test_mcnemar_matches_binomial_sum() -> None:
    b, c = 12, 30
    n = b + c
    expected = 2 * sum(math.comb(n, k) for k in range(b + 1)) / 2**n
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-12)


def test_mcnemar_matches_scipy_when_installed() -> None:
    stats = pytest.importorskip("scipy.stats")
    for b, c in ((1, 9), (3, 4), (20, 35), (100, 140)):
        assert mcnemar_exact(b, c) == pytest.approx(stats.binomtest(b, b + c, 0.5).pvalue, rel=1e-9)


@pytest.mark.parametrize("b, c", [(-1, 2), (1.5, 2), (True, 3)])
def test_mcnemar_rejects_bad_counts(b, c) -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        mcnemar_exact(b, c)


def test_paired_counts() -> None:
    counts = paired_counts([True, True, False, False, True], [True, False, True, False, False])
    assert counts == PairedCounts(n=5, both=1, only_a=2, only_b=1, neither=1)
    assert counts.diff == pytest.approx(20.0)
    with pytest.raises(ValueError, match="equal length"):
        paired_counts([True], [True, False])


def test_bootstrap_is_seeded_and_brackets_the_difference() -> None:
    a = [i % 3 != 0 for i in range(600)]
    b = [i % 4 != 0 for i in range(600)]
    first = paired_bootstrap_interval(a, b, seed=7)
    assert first == paired_bootstrap_interval(a, b, seed=7)
    low, high = first
    diff = paired_counts(a, b).diff
    assert low < diff < high


def test_bootstrap_agrees_with_index_resampling() -> None:
    rng = random.Random(11)
    a = [rng.random() < 0.6 for _ in range(500)]
    b = [rng.random() < 0.5 for _ in range(500)]
    resamples = 3000
    plain = []
    index_rng = random.Random(5)
    for _ in range(resamples):
        picks = [index_rng.randrange(500) for _ in range(500)]
        plain.append(100.0 * sum(int(a[i]) - int(b[i]) for i in picks) / 500)
    plain.sort()
    low, high = paired_bootstrap_interval(a, b, resamples=resamples, seed=5)
    assert low == pytest.approx(plain[int(0.025 * resamples)], abs=0.8)
    assert high == pytest.approx(plain[int(0.975 * resamples)], abs=0.8)


def test_bootstrap_without_discordant_pairs_is_zero() -> None:
    counts = PairedCounts(n=10, both=6, only_a=0, only_b=0, neither=4)
    assert bootstrap_diff_interval(counts) == (0.0, 0.0)


def test_bootstrap_rejects_bad_arguments() -> None:
    counts = PairedCounts(n=10, both=6, only_a=2, only_b=0, neither=2)
    with pytest.raises(ValueError, match="resamples"):
        bootstrap_diff_interval(counts, resamples=0)
    with pytest.raises(ValueError, match="level"):
        bootstrap_diff_interval(counts, level=1.0)
    with pytest.raises(ValueError, match="no paired"):
        bootstrap_diff_interval(PairedCounts(0, 0, 0, 0, 0))
