"""Normalisation (one rule for corpus and benchmark text), n per script, and the clean-subset statistics."""

from __future__ import annotations

import math

import pytest

from contamination.clean_scores import clean_split, newcombe_interval
from contamination.normalise import N_CJK, N_LATIN, corpus_ns, query_n, units


def test_reformatting_does_not_change_the_units():
    original = "Which of the following is true?\nA. The heart\nB. The lung"
    retyped = "WHICH  of the following, is TRUE ？ (A) The heart (B) the LUNG"
    assert units(original) == units(retyped) == ["which", "of", "the", "following", "is", "true", "the", "heart",
                                                  "the", "lung"]


def test_chinese_is_cut_into_characters_and_full_width_forms_fold():
    assert units("下列关于ＤＮＡ的说法，正确的是（　）A．选项") == list("下列关于") + ["dna"] + list("的说法正确的是选项")


def test_answer_markers_and_labels_go():
    assert units("Q: 2+2?\nAnswer: (C) four") == ["q", "2", "2", "four"]
    assert units("答案：选项") == list("选项")
    assert units("plan A. then") == ["plan", "then"]  # the same on both sides, so harmless


def test_n_per_script():
    assert query_n(units("这是一个中文问题而且相当长")) == N_CJK
    assert query_n(units("an English question")) == N_LATIN
    assert corpus_ns(units("english words only here")) == (N_LATIN,)
    assert set(corpus_ns(units("mixed 中文 text with 汉字 inside 以及更多"))) == {N_LATIN, N_CJK}


def test_clean_split_numbers():
    correct = {f"q{i}": i < 6 for i in range(10)}  # 6/10 right
    split = clean_split(correct, ["q0", "q1", "q2", "q9", "unknown"])  # overlap: 3/4 right, clean: 3/6 right
    assert split.questions == 10
    assert split.overall.correct == 6
    assert (split.overlapping.correct, split.overlapping.n) == (3, 4)
    assert (split.clean.correct, split.clean.n) == (3, 6)
    assert split.difference == pytest.approx(75.0 - 50.0)
    low, high = newcombe_interval(3, 4, 3, 6)
    assert (split.diff_low, split.diff_high) == (pytest.approx(100 * low), pytest.approx(100 * high))
    assert low < 0.25 < high
    sd = math.sqrt(0.6 * 0.4 * 10 / 9)
    assert split.z_overlap == pytest.approx((0.75 - 0.6) / (sd / 2))


def test_newcombe_matches_the_published_example():
    # Newcombe (1998), Table II example (56/70 vs 48/80): method 10 gives 0.0524 to 0.3339
    low, high = newcombe_interval(56, 70, 48, 80)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def test_clean_split_without_overlap_or_without_clean_questions():
    correct = {"a": True, "b": False}
    none = clean_split(correct, [])
    assert none.overlapping is None and none.clean.n == 2 and none.difference is None
    every = clean_split(correct, ["a", "b"])
    assert every.clean is None and every.overlapping.n == 2 and every.difference is None
