"""Accuracy on overlapping vs clean questions, the analysis of the Llama 2 report (Touvron et al. 2023, §A.6).

Given one model's per-question outcomes on a benchmark and the set of questions the check flagged: accuracy on
the overlapping and on the clean questions (each with its Wilson interval), their difference overlap − clean with
Newcombe's hybrid-score 95% interval (the two groups are disjoint questions answered by the same model, so the
interval is the one for two independent proportions), and the Llama 2 z-score of the overlapping subset against
the whole benchmark, (mean_overlap − mean_all) / (sd_all / sqrt(n_overlap)). A positive difference whose interval
excludes 0 says the model does better where the corpus held the question: contamination that changes the score.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from evaluators.records import Accuracy
from evaluators.statistics import accuracy, wilson_interval


@dataclass(frozen=True)
class CleanSplit:
    questions: int
    overall: Accuracy | None  # every question (the usual score of these predictions)
    overlapping: Accuracy | None  # None when no question overlaps
    clean: Accuracy | None  # None when every question overlaps
    difference: float | None  # overlapping − clean, percentage points
    diff_low: float | None
    diff_high: float | None
    z_overlap: float | None  # Llama 2 z-score of the overlapping subset


def newcombe_interval(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """95% interval of p1 − p2 (fractions) from the two Wilson intervals (Newcombe 1998, method 10)."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1)
    l2, u2 = wilson_interval(k2, n2)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def clean_split(correct: Mapping[str, bool], flagged: Iterable[str]) -> CleanSplit:
    """`correct`: question id -> outcome; `flagged`: question ids with an overlap (ids not in `correct` ignored)."""
    dirty = {q for q in flagged if q in correct}
    n_all = len(correct)
    k_dirty = sum(1 for q in dirty if correct[q])
    n_dirty = len(dirty)
    k_all = sum(1 for v in correct.values() if v)
    k_clean, n_clean = k_all - k_dirty, n_all - n_dirty
    over = accuracy(k_dirty, n_dirty) if n_dirty else None
    clean = accuracy(k_clean, n_clean) if n_clean else None
    difference = low = high = z = None
    if over and clean:
        difference = over.acc - clean.acc
        lo, hi = newcombe_interval(k_dirty, n_dirty, k_clean, n_clean)
        low, high = 100.0 * lo, 100.0 * hi
    if n_dirty and n_all > 1:
        mean = k_all / n_all
        sd = math.sqrt(mean * (1 - mean) * n_all / (n_all - 1))
        if sd > 0:
            z = (k_dirty / n_dirty - mean) / (sd / math.sqrt(n_dirty))
    return CleanSplit(questions=n_all, overall=accuracy(k_all, n_all) if n_all else None, overlapping=over, clean=clean, difference=difference, diff_low=low,
                      diff_high=high, z_overlap=z)
