"""Regression verdicts for a checkpoint: paired tests against a baseline checkpoint, Holm-corrected.

For each benchmark the new checkpoint (A) and the baseline (B) are compared on the questions both have: the exact
McNemar p-value and the paired bootstrap interval of accuracy(A) − accuracy(B) (`evaluators.paired_stats`). The
p-values of one checkpoint's benchmarks (against one baseline) are corrected together with Holm's step-down
method, which controls the family-wise error rate at `alpha` with no assumption on how benchmarks correlate.
A benchmark is `improved` or `regressed` when its Holm-adjusted p-value is below `alpha` (direction: the sign of
the difference), else `no significant change`. Pure Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evaluators.paired_stats import PairedCounts, bootstrap_diff_interval, mcnemar_exact, paired_counts

ALPHA = 0.05
IMPROVED, REGRESSED, NO_CHANGE = "improved", "regressed", "no significant change"
VERDICTS = (IMPROVED, REGRESSED, NO_CHANGE)
BOOTSTRAP_SEED = 0


@dataclass(frozen=True)
class Verdict:
    """One (checkpoint, benchmark) against one baseline; differences and interval in percentage points."""

    key: str  # the benchmark
    counts: PairedCounts
    diff: float
    ci_low: float
    ci_high: float
    p_value: float  # exact McNemar, uncorrected
    p_adjusted: float  # Holm-adjusted over the checkpoint's benchmarks
    verdict: str


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values, in input order: sorted ascending, p̃_(i) = max_{j ≤ i} min(1, (m − j + 1) p_(j))."""
    for p in p_values:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p-values must lie in [0, 1], got {p}")
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def classify(diff: float, p_adjusted: float, alpha: float = ALPHA) -> str:
    if p_adjusted < alpha and diff > 0:
        return IMPROVED
    if p_adjusted < alpha and diff < 0:
        return REGRESSED
    return NO_CHANGE


def judge(outcomes: Mapping[str, tuple[Sequence[bool], Sequence[bool]]], *, alpha: float = ALPHA,
          resamples: int = 2000, seed: int = BOOTSTRAP_SEED) -> list[Verdict]:
    """Verdicts for every benchmark of one checkpoint against one baseline.

    `outcomes` maps a benchmark to the (new, baseline) correctness vectors over the shared questions, in the same
    question order. Benchmarks without shared questions are left out (nothing to test).
    """
    tested = {key: paired_counts(a, b) for key, (a, b) in outcomes.items() if len(a)}
    keys = sorted(tested)
    p_values = [mcnemar_exact(tested[k].only_a, tested[k].only_b) for k in keys]
    adjusted = holm_adjust(p_values)
    verdicts = []
    for key, p, p_adj in zip(keys, p_values, adjusted, strict=True):
        counts = tested[key]
        low, high = bootstrap_diff_interval(counts, resamples=resamples, seed=seed)
        verdicts.append(Verdict(key=key, counts=counts, diff=counts.diff, ci_low=low, ci_high=high, p_value=p,
                                p_adjusted=p_adj, verdict=classify(counts.diff, p_adj, alpha)))
    return verdicts
