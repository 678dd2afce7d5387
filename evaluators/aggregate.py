"""Aggregation of predictions into a `BenchmarkSummary` (scoring.md §4).

The headline is the micro average over the listed subjects, 100 × Σcorrect / N, which equals ColossalEval's
Σ acc_s × n_s / N. Per-subject accuracies and the unweighted macro mean (ColossalEval computes none; labelled
`macro_acc`) come along. Counts stay integers. A summary whose N differs from the expected count is still
returned (marked `complete=False`) so progress can be shown, but `overall_score` refuses to publish it.
Duplicate question ids are rejected rather than merged, so a padded multi-worker merge cannot inflate N (§4.5).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from evaluators.records import Accuracy, BenchmarkSummary, Prediction, SubjectSummary
from evaluators.scoring import METRICS
from evaluators.statistics import accuracy


class IncompleteRunError(ValueError):
    """An overall score was requested for a run whose question count is not the expected one."""


def _is_correct(prediction: Prediction, metric: str) -> bool:
    if metric == "first_token":
        return prediction.correct
    if prediction.correct_combined is None:
        raise ValueError(f"{prediction.question_id}: no combined result stored (greedy output missing)")
    return prediction.correct_combined


def summarize(
    benchmark: str,
    predictions: Iterable[Prediction],
    *,
    metric: str = "first_token",
    expected_n: int | None = None,
    subject_names: Mapping[str, str] | None = None,
) -> BenchmarkSummary:
    """Micro (headline), per-subject and macro accuracies of `predictions` under `metric`.

    `expected_n` is the benchmark's expected question count (`catalog.expected_count`); `subject_names` maps a
    subject key to its display name (default: the key). Subjects are listed in sorted key order.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(METRICS)}")
    items = list(predictions)
    if not items:
        raise ValueError(f"no predictions to summarize for {benchmark}")
    duplicates = [qid for qid, count in Counter(p.question_id for p in items).items() if count > 1]
    if duplicates:
        raise ValueError(f"duplicate predictions for {len(duplicates)} question(s), e.g. {duplicates[0]!r}")
    unlabelled = [p.question_id for p in items if not p.gold]
    if unlabelled:
        raise ValueError(f"{len(unlabelled)} prediction(s) have no gold answer (e.g. {unlabelled[0]!r}); cannot score")

    correct: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for p in items:
        total[p.subject] += 1
        correct[p.subject] += int(_is_correct(p, metric))

    names = subject_names or {}
    subjects = [
        SubjectSummary(subject=key, display=names.get(key, key), accuracy=accuracy(correct[key], total[key]))
        for key in sorted(total)
    ]
    n = sum(total.values())
    return BenchmarkSummary(
        benchmark=benchmark,
        metric=metric,
        n=n,
        expected_n=expected_n,
        complete=expected_n is not None and n == expected_n,
        micro=accuracy(sum(correct.values()), n),
        macro_acc=sum(s.accuracy.acc for s in subjects) / len(subjects),
        subjects=subjects,
    )


def overall_score(summary: BenchmarkSummary) -> Accuracy:
    """The publishable overall accuracy; raises `IncompleteRunError` unless N equals the expected count (§4.4)."""
    if summary.expected_n is None:
        raise IncompleteRunError(f"{summary.benchmark}: no expected question count; refusing to publish")
    if summary.n != summary.expected_n:
        raise IncompleteRunError(
            f"{summary.benchmark}: {summary.n} questions scored, expected {summary.expected_n}; refusing to publish"
        )
    return summary.micro
