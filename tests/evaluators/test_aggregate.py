"""Aggregation and binomial statistics (scoring.md §4): micro headline, refusal of a wrong N, known values."""

from __future__ import annotations

import math
import statistics as stdlib_statistics

import pytest

from evaluators.aggregate import IncompleteRunError, overall_score, summarize
from evaluators.records import Prediction
from evaluators.statistics import accuracy, binomial_stderr, wilson_interval


def pred(subject: str, index: int, correct: bool, combined: bool | None = None) -> Prediction:
    return Prediction(
        question_id=f"{subject}/{index}", subject=subject, gold="A", pred="A" if correct else "B",
        scores={"A": 0.0}, correct=correct, prompt_sha256="0" * 64, correct_combined=combined,
    )


def batch(subject: str, n: int, k: int, combined_extra: int = 0) -> list[Prediction]:
    return [pred(subject, i, i < k, i < k + combined_extra) for i in range(n)]


PREDICTIONS = batch("b_small", 10, 9) + batch("a_large", 90, 30, combined_extra=6)


def test_micro_is_100_times_correct_over_n_not_the_macro_mean():
    summary = summarize("mmlu", PREDICTIONS, expected_n=100, subject_names={"a_large": "A Large"})
    assert summary.n == 100 and summary.micro.correct == 39
    assert summary.micro.acc == pytest.approx(39.0)
    assert summary.macro_acc == pytest.approx((90.0 + 100 * 30 / 90) / 2)
    assert [s.subject for s in summary.subjects] == ["a_large", "b_small"]
    assert [s.display for s in summary.subjects] == ["A Large", "b_small"]
    assert [(s.accuracy.correct, s.accuracy.n) for s in summary.subjects] == [(30, 90), (9, 10)]
    # ColossalEval's Σ acc_s × n_s / N is the same number
    weighted = sum(s.accuracy.acc * s.accuracy.n for s in summary.subjects) / summary.n
    assert weighted == pytest.approx(summary.micro.acc)
    assert summary.complete and overall_score(summary) == summary.micro


def test_combined_metric_counts_correct_combined():
    summary = summarize("agieval", PREDICTIONS, metric="combined", expected_n=100)
    assert summary.micro.correct == 45 and summary.metric == "combined"


def test_combined_metric_needs_stored_results():
    with pytest.raises(ValueError, match="combined"):
        summarize("agieval", [pred("s", 0, True)], metric="combined")


@pytest.mark.parametrize("expected_n", [99, 101, None])
def test_overall_score_refused_for_wrong_n(expected_n):
    summary = summarize("mmlu", PREDICTIONS, expected_n=expected_n)
    assert not summary.complete
    with pytest.raises(IncompleteRunError, match="refusing to publish"):
        overall_score(summary)


def test_duplicates_and_empty_and_unlabelled_are_rejected():
    with pytest.raises(ValueError, match="duplicate"):
        summarize("mmlu", PREDICTIONS + [pred("a_large", 3, True)], expected_n=101)
    with pytest.raises(ValueError, match="no predictions"):
        summarize("mmlu", [], expected_n=0)
    unlabelled = Prediction(
        question_id="s/0", subject="s", gold="", pred="A", scores={}, correct=False, prompt_sha256=""
    )
    with pytest.raises(ValueError, match="no gold"):
        summarize("ceval", [unlabelled])
    with pytest.raises(ValueError, match="metric"):
        summarize("mmlu", PREDICTIONS, metric="macro")


@pytest.mark.parametrize(("k", "n"), [(39, 100), (1, 3), (7451, 14042), (0, 5), (5, 5)])
def test_stderr_is_the_sample_stderr_lm_eval_reports(k, n):
    values = [1] * k + [0] * (n - k)
    expected = stdlib_statistics.stdev(values) / math.sqrt(n)
    assert binomial_stderr(k, n) == pytest.approx(expected, abs=1e-12)


def test_stderr_known_values():
    assert binomial_stderr(50, 100) == pytest.approx(math.sqrt(0.25 / 99))
    assert binomial_stderr(1, 2) == pytest.approx(0.5)
    assert binomial_stderr(1, 1) == 0.0


def test_wilson_known_values():
    low, high = wilson_interval(5, 10)
    assert (low, high) == (pytest.approx(0.236593, abs=1e-6), pytest.approx(0.763407, abs=1e-6))
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(1.959963984540054**2 / (10 + 1.959963984540054**2))
    low, high = wilson_interval(10, 10)
    assert high == 1.0 and low == pytest.approx(10 / (10 + 1.959963984540054**2))


def test_accuracy_is_in_percent_with_integer_counts():
    acc = accuracy(834, 1418)
    assert (acc.correct, acc.n) == (834, 1418)
    assert f"{acc.acc:.2f}" == "58.82"  # the published GAOKAO value of §6
    assert acc.ci_low < acc.acc < acc.ci_high
    assert acc.stderr == pytest.approx(100 * math.sqrt(acc.acc / 100 * (1 - acc.acc / 100) / 1417))


@pytest.mark.parametrize(("k", "n"), [(-1, 5), (6, 5), (0, 0), (1.0, 5), (True, 5)])
def test_bad_counts_are_rejected(k, n):
    with pytest.raises(ValueError):
        accuracy(k, n)
