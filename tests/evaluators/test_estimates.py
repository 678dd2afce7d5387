"""The stratified estimator against a hand computation."""

from __future__ import annotations

import math

import pytest

from evaluators.estimates import Stratum, stratified_estimate


def test_estimate_matches_the_stratified_formula_by_hand() -> None:
    # A: N=100, n=10, k=7; B: N=50, n=5, k=2. W = 2/3, 1/3.
    estimate = stratified_estimate([Stratum("a", 100, 10, 7), Stratum("b", 50, 5, 2)])
    mean = 2 / 3 * 0.7 + 1 / 3 * 0.4  # 0.6
    variance = (2 / 3) ** 2 * (1 - 10 / 100) * 0.7 * 0.3 / 9 + (1 / 3) ** 2 * (1 - 5 / 50) * 0.4 * 0.6 / 4
    assert variance == pytest.approx(0.0153333333, rel=1e-8)
    se = math.sqrt(variance)
    assert estimate.acc == pytest.approx(100 * mean) == pytest.approx(60.0)
    assert estimate.stderr == pytest.approx(100 * se)
    assert estimate.ci_low == pytest.approx(100 * (0.6 - 1.959963984540054 * se))
    assert estimate.ci_high == pytest.approx(100 * (0.6 + 1.959963984540054 * se))
    assert (estimate.n, estimate.population, estimate.subjects) == (15, 150, 2)


def test_a_fully_scored_set_has_no_sampling_error_and_equals_the_micro_accuracy() -> None:
    estimate = stratified_estimate([Stratum("a", 10, 10, 3), Stratum("b", 30, 30, 20)])
    assert estimate.acc == pytest.approx(100 * 23 / 40)
    assert estimate.stderr == 0.0
    assert estimate.ci_low == estimate.ci_high == pytest.approx(57.5)


def test_interval_is_clipped_to_the_percent_range() -> None:
    estimate = stratified_estimate([Stratum("a", 1000, 5, 5), Stratum("b", 10, 5, 4)])
    assert estimate.ci_high <= 100.0
    assert estimate.ci_low >= 0.0


@pytest.mark.parametrize("stratum", [Stratum("a", 10, 0, 0), Stratum("a", 10, 11, 1), Stratum("a", 10, 5, 6)])
def test_impossible_counts_are_refused(stratum: Stratum) -> None:
    with pytest.raises(ValueError, match="a:"):
        stratified_estimate([stratum])
