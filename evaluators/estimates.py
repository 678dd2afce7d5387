"""The early estimate: a full-benchmark accuracy from a stratified sample, with its 95% interval.

Stratified estimator over subjects s with N_s questions (N = Σ N_s), n_s of them sampled and k_s right:
    p̂ = Σ W_s p_s,  W_s = N_s / N,  p_s = k_s / n_s            (subject-weighted to the full set, i.e. the micro
                                                                  accuracy the full run would report)
    Var(p̂) = Σ W_s² (1 − n_s / N_s) p_s (1 − p_s) / (n_s − 1)   (sampling without replacement: the finite
                                                                  population correction; the 0/1 sample variance)
A subject with n_s = 1 contributes 0 variance (as `statistics.binomial_stderr` does). Interval: p̂ ± z·SE,
clipped to [0, 100]. Everything is in percent. Pure Python.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from evaluators.records import Prediction
from evaluators.statistics import Z95


@dataclass(frozen=True)
class Stratum:
    """One subject of the estimate: its full size, how many were scored and how many of those were right."""

    subject: str
    population: int  # N_s
    n: int  # n_s scored (sampled) questions
    correct: int  # k_s


@dataclass(frozen=True)
class Estimate:
    """A stratified estimate of the full-set accuracy, in percent; `n` of `population` questions scored."""

    acc: float
    stderr: float
    ci_low: float
    ci_high: float
    n: int
    population: int
    subjects: int


def _check(stratum: Stratum) -> None:
    if not 1 <= stratum.n <= stratum.population:
        raise ValueError(f"{stratum.subject}: scored questions must lie in [1, {stratum.population}], got {stratum.n}")
    if not 0 <= stratum.correct <= stratum.n:
        raise ValueError(f"{stratum.subject}: correct must lie in [0, {stratum.n}], got {stratum.correct}")


def stratified_estimate(strata: Sequence[Stratum], z: float = Z95) -> Estimate:
    """The subject-weighted estimate of the accuracy over all `population` questions (see the module docstring)."""
    if not strata:
        raise ValueError("no subjects to estimate from")
    for stratum in strata:
        _check(stratum)
    total = sum(s.population for s in strata)
    mean = variance = 0.0
    for s in strata:
        weight = s.population / total
        p = s.correct / s.n
        mean += weight * p
        if s.n > 1:
            variance += weight * weight * (1.0 - s.n / s.population) * p * (1.0 - p) / (s.n - 1)
    se = math.sqrt(variance)
    return Estimate(acc=100.0 * mean, stderr=100.0 * se, ci_low=100.0 * max(0.0, mean - z * se),
                    ci_high=100.0 * min(1.0, mean + z * se), n=sum(s.n for s in strata), population=total,
                    subjects=len(strata))


def strata_from_predictions(predictions: Iterable[Prediction], sampled: Collection[str],
                            populations: Mapping[str, int], metric: str) -> list[Stratum]:
    """Per-subject counts of the sampled predictions under `metric` ("first_token" or "combined")."""
    n: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    for p in predictions:
        if p.question_id in sampled:
            n[p.subject] += 1
            correct[p.subject] += int(p.correct_combined if metric == "combined" else p.correct)
    return [Stratum(subject=s, population=populations[s], n=n[s], correct=correct[s]) for s in sorted(populations)]
