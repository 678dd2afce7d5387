"""Verdicts on constructed prediction sets: a known regression, a known improvement, no change; Holm."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import pytest

from evaluators.verdicts import IMPROVED, NO_CHANGE, REGRESSED, holm_adjust, judge


def _vectors(both: int, only_new: int, only_old: int, neither: int) -> tuple[list[bool], list[bool]]:
    new = [True] * both + [True] * only_new + [False] * only_old + [False] * neither
    old = [True] * both + [False] * only_new + [True] * only_old + [False] * neither
    return new, old


def _mcnemar(b: int, c: int) -> float:
    n = b + c
    return float(min(Fraction(1), Fraction(2 * sum(comb(n, k) for k in range(min(b, c) + 1)), 2**n)))


def test_regression_improvement_and_no_change_with_exact_p_values() -> None:
    outcomes = {"mmlu": _vectors(60, 0, 30, 10),      # the new checkpoint lost 30 questions, gained none
                "cmmlu": _vectors(50, 20, 2, 28),     # gained 20, lost 2
                "ceval": _vectors(40, 5, 5, 50)}      # 5 each way
    verdicts = {v.key: v for v in judge(outcomes)}
    assert verdicts["mmlu"].p_value == pytest.approx(2 / 2**30, rel=1e-12)
    assert verdicts["cmmlu"].p_value == pytest.approx(2 * (1 + 22 + 231) / 2**22, rel=1e-12)
    assert verdicts["ceval"].p_value == 1.0
    # Holm over three: smallest ×3, next ×2, largest ×1 (monotone)
    assert verdicts["mmlu"].p_adjusted == pytest.approx(3 * 2 / 2**30, rel=1e-12)
    assert verdicts["cmmlu"].p_adjusted == pytest.approx(2 * 2 * 254 / 2**22, rel=1e-12)
    assert verdicts["ceval"].p_adjusted == 1.0
    assert (verdicts["mmlu"].verdict, verdicts["cmmlu"].verdict, verdicts["ceval"].verdict) == (
        REGRESSED, IMPROVED, NO_CHANGE)
    assert verdicts["mmlu"].diff == pytest.approx(-30.0)
    assert verdicts["cmmlu"].diff == pytest.approx(18.0)
    assert verdicts["mmlu"].ci_high < 0 < verdicts["cmmlu"].ci_low
    assert verdicts["ceval"].ci_low < 0 < verdicts["ceval"].ci_high


def test_holm_correction_can_turn_a_nominal_difference_into_no_change() -> None:
    single = judge({"mmlu": _vectors(50, 0, 6, 44)})[0]
    assert single.p_value == pytest.approx(_mcnemar(0, 6)) == pytest.approx(0.03125)
    assert single.verdict == REGRESSED
    pair = judge({"mmlu": _vectors(50, 0, 6, 44), "cmmlu": _vectors(50, 0, 6, 44)})
    assert [v.p_adjusted for v in pair] == [pytest.approx(0.0625)] * 2
    assert [v.verdict for v in pair] == [NO_CHANGE, NO_CHANGE]


def test_holm_adjust_by_hand() -> None:
    assert holm_adjust([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert holm_adjust([]) == []
    with pytest.raises(ValueError, match="p-values"):
        holm_adjust([1.5])


def test_benchmarks_without_shared_questions_are_left_out() -> None:
    assert judge({"mmlu": ([], [])}) == []
