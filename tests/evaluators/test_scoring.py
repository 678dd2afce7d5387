"""Scoring rules (scoring.md §3, §7): candidate ids, argmax with ties and NaN, the letter rule, the combined
metric and `make_prediction`."""

from __future__ import annotations

import math

import pytest
import sentencepiece as spm

from evaluators.records import CandidateScores, Prompt
from evaluators.scoring import (
    candidate_ids,
    combined_correct,
    first_capital_letter,
    first_token_prediction,
    harness_continuation_ids,
    make_prediction,
)
from evaluators.templates import get_template

ABCD = ("A", "B", "C", "D")
NAN = float("nan")


@pytest.fixture(scope="module")
def sp(data_dir) -> spm.SentencePieceProcessor:
    return spm.SentencePieceProcessor(model_file=str(data_dir / "tokenizers/llama2/tokenizer.model"))


def test_llama2_candidate_ids(sp):
    ids = candidate_ids(ABCD, sp.encode, get_template("colossaleval").candidate_strings)
    assert [e for e, _ in ids] == [319, 350, 315, 360]
    assert [z for _, z in ids] == [29909, 29933, 29907, 29928]


def test_llama2_answer_prompt_ends_in_a_lone_space_piece(sp):
    assert sp.encode("Answer: ") == [673, 29901, 29871]  # §3.2 rule 6


def test_multi_character_classes_are_rejected(sp):
    with pytest.raises(ValueError, match="single character"):
        candidate_ids(("A", "AB"), sp.encode, get_template("colossaleval").candidate_strings)


def test_harness_continuation_ids_llama2(sp):
    def encode_with_bos(text):
        return [1, *sp.encode(text)]

    ctx, cont = harness_continuation_ids("Q\nAnswer:", " A", encode_with_bos)
    assert cont == [319] and ctx[0] == 1 and ctx == encode_with_bos("Q\nAnswer:")
    # a context ending in spaces hands them to the continuation, as lm-eval's _encode_pair does
    ctx2, cont2 = harness_continuation_ids("Q\nAnswer: ", "A", encode_with_bos)
    assert (ctx2, cont2) == (ctx, [319])


def test_argmax_ties_go_to_the_earliest_letter():
    assert first_token_prediction([1.0, 3.0, 3.0, 0.0], ABCD) == "B"
    assert first_token_prediction([2.0, 2.0, 2.0, 2.0], ABCD) == "A"
    assert first_token_prediction([-math.inf] * 4, ABCD) == "A"
    assert first_token_prediction([0.0, 0.0, 0.0, 5.0], ABCD) == "D"


def test_nan_signals_the_letter_rule():
    assert first_token_prediction([1.0, NAN, 0.0, 0.0], ABCD) is None


def test_score_count_must_match_letters():
    with pytest.raises(ValueError):
        first_token_prediction([1.0, 2.0], ABCD)


@pytest.mark.parametrize(
    ("output", "letter"),
    [
        ("B. xxx", "B"),
        ("(C)", "C"),
        ("答案是D", "D"),
        ("Answer: B", "B"),
        ("Because it is so", None),
        ("A large number", "A"),
        ("  E is not a class, then C", "C"),
        ("", None),
    ],
)
def test_first_capital_letter_examples(output, letter):
    assert first_capital_letter(output, ABCD) == letter


def test_letter_range_follows_the_classes():
    assert first_capital_letter("E then A", ("A", "B", "C", "D", "E")) == "E"
    assert first_capital_letter("E then A", ABCD) == "A"


@pytest.mark.parametrize(
    ("pred", "letter", "gold", "expected"),
    [
        ("A", "A", "A", True),
        ("A", "B", "A", True),
        ("B", "A", "A", True),
        ("B", "C", "A", False),
        ("B", None, "A", False),
        ("A", None, "A", True),
        ("A", "A", "", False),
    ],
)
def test_combined_metric_truth_table(pred, letter, gold, expected):
    assert combined_correct(pred, letter, gold) is expected


def prompt(gold: str = "B") -> Prompt:
    return Prompt(
        question_id="s/3", subject="s", text="P", prefix="", gold=gold, letters=ABCD,
        shots_used=0, shots_available=0, sha256="ab" * 32,
    )


def test_make_prediction_first_token():
    pred = make_prediction(prompt(), CandidateScores(scores=(0.1, 0.9, 0.2, 0.3)), "first_token")
    assert (pred.pred, pred.correct, pred.letter, pred.correct_combined, pred.prompt) == ("B", True, None, None, None)
    assert pred.scores == {"A": 0.1, "B": 0.9, "C": 0.2, "D": 0.3}
    assert pred.prompt_sha256 == "ab" * 32 and pred.question_id == "s/3"
    kept = make_prediction(prompt(), CandidateScores(scores=(0.1, 0.9, 0.2, 0.3)), "first_token", True)
    assert kept.prompt == "P"


def test_make_prediction_combined_needs_output_and_uses_either_rule():
    scores = CandidateScores(scores=(0.9, 0.1, 0.2, 0.3), output="The answer is B.")
    pred = make_prediction(prompt(), scores, "combined")
    assert (pred.pred, pred.correct, pred.letter, pred.correct_combined) == ("A", False, "B", True)
    with pytest.raises(ValueError, match="greedy output"):
        make_prediction(prompt(), CandidateScores(scores=(0.9, 0.1, 0.2, 0.3)), "combined")


def test_make_prediction_stores_combined_for_first_token_metric_when_output_exists():
    scores = CandidateScores(scores=(0.9, 0.1, 0.2, 0.3), output="(B)")
    pred = make_prediction(prompt(), scores, "first_token")
    assert (pred.correct, pred.correct_combined) == (False, True)


def test_make_prediction_nan_uses_the_letter_rule():
    pred = make_prediction(prompt(), CandidateScores(scores=(NAN, 0.1, 0.2, 0.3), output="B"), "first_token")
    assert (pred.pred, pred.correct, pred.letter) == ("B", True, "B")
    wrong = make_prediction(prompt(), CandidateScores(scores=(NAN,) * 4, output="Because"), "first_token")
    assert (wrong.pred, wrong.correct, wrong.letter) == ("", False, None)
    by_text = make_prediction(
        prompt(), CandidateScores(scores=(NAN,) * 4, output="Paris"), "first_token", gold_text="Paris"
    )
    assert by_text.correct and by_text.pred == ""
    with pytest.raises(ValueError, match="NaN"):
        make_prediction(prompt(), CandidateScores(scores=(NAN, 0.1, 0.2, 0.3)), "first_token")


def test_unknown_metric_is_rejected():
    with pytest.raises(ValueError, match="first_token, combined"):
        make_prediction(prompt(), CandidateScores(scores=(0.0,) * 4), "accuracy")
