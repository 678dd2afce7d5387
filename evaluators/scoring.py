"""Scoring rules (scoring.md §3, §7): candidate token ids, the first-token prediction, the first-capital-letter
rule, the combined metric, and the `Prediction` record built from a backend's `CandidateScores`.

Everything here is pure: tokenizers come in as `encode` callables (text -> ids), so no torch or transformers
import is needed. Scores are plain floats in letter order; NaN anywhere switches an item to the letter rule
(§3.2 rule 5) instead of silently predicting "A".
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

from evaluators.records import CandidateScores, Prediction, Prompt

Encode = Callable[[str], Sequence[int]]

METRICS = ("first_token", "combined")
"""Accuracy metrics (§3.2, §3.4): the first-token prediction alone, or AGIEval's first-token-or-letter."""


def _check_letters(letters: Sequence[str]) -> None:
    if not letters:
        raise ValueError("no class letters given")
    for letter in letters:
        if len(letter) != 1:
            raise ValueError(f"class {letter!r} is not a single character; first-token scoring needs one")


def candidate_ids(letters: Sequence[str], encode_no_special: Encode,
                  candidate_strings: Callable[[str], Sequence[str]]) -> tuple[tuple[int, ...], ...]:
    """Per letter c: the last id of each of the template's `candidate_strings(c)` ("Answer: c" and "答案：c" for
    ColossalEval), encoded without special tokens (§3.1).

    LLaMA-2 gives ((319, 29909), (350, 29933), (315, 29907), (360, 29928)) for A-D.
    """
    _check_letters(letters)
    result = []
    for letter in letters:
        ids = []
        for text in candidate_strings(letter):
            encoded = list(encode_no_special(text))
            if not encoded:
                raise ValueError(f"tokenizer returned no ids for {text!r}")
            ids.append(int(encoded[-1]))
        result.append(tuple(ids))
    return tuple(result)


def harness_split(context: str, continuation: str) -> tuple[str, str]:
    """lm-eval 0.4 `_encode_pair`'s texts: the context's trailing spaces move to the front of the continuation."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        return context[:-n_spaces], context[-n_spaces:] + continuation
    return context, continuation


def harness_continuation_ids(context: str, continuation: str, encode: Encode) -> tuple[list[int], list[int]]:
    """(context ids, continuation ids) the way lm-eval 0.4 `_encode_pair` splits them: `harness_split`, then
    `whole = encode(context + continuation)`, `ctx = encode(context)`, continuation = whole[len(ctx):]. `encode`
    applies the harness's special-token policy (BOS or not)."""
    context, continuation = harness_split(context, continuation)
    return split_whole(list(encode(context + continuation)), list(encode(context)))


def split_whole(whole: Sequence[int], ctx: Sequence[int]) -> tuple[list[int], list[int]]:
    """(context ids, continuation ids) from the ids of `context + continuation` and of `context` alone."""
    return list(ctx), list(whole[len(ctx):])


def first_token_prediction(scores: Sequence[float], letters: Sequence[str]) -> str | None:
    """Argmax letter over `scores` (letter order); ties go to the earliest letter. None when any score is NaN:
    the caller must then apply the letter rule to the greedy output (§3.2 rule 5)."""
    if len(scores) != len(letters):
        raise ValueError(f"{len(scores)} scores for {len(letters)} letters")
    _check_letters(letters)
    if any(math.isnan(s) for s in scores):
        return None
    best = 0
    for i, score in enumerate(scores):
        if score > scores[best]:
            best = i
    return letters[best]


def letter_pattern(letters: Sequence[str]) -> re.Pattern[str]:
    """`(?<![a-z])[A-D](?![a-z])` for classes A-D; the range runs from the first to the last class letter."""
    _check_letters(letters)
    return re.compile(f"(?<![a-z])[{re.escape(letters[0])}-{re.escape(letters[-1])}](?![a-z])")


def first_capital_letter(output: str, letters: Sequence[str]) -> str | None:
    """The first class capital in `output` with no lowercase ASCII letter right before or after it (§3.3)."""
    match = letter_pattern(letters).search(output.strip())
    return match.group(0) if match else None


def combined_correct(pred: str | None, letter: str | None, gold: str) -> bool:
    """AGIEval's combined metric: correct if the first-token prediction OR the letter rule hits the gold."""
    return bool(gold) and (pred == gold or letter == gold)


def make_prediction(
    prompt: Prompt,
    candidate_scores: CandidateScores,
    metric: str,
    keep_prompt_text: bool = False,
    *,
    gold_text: str | None = None,
) -> Prediction:
    """Turn one backend answer into a stored `Prediction`.

    `metric` is the benchmark's headline metric: "combined" (AGIEval) needs the greedy output; with
    "first_token" the combined result is still stored whenever an output exists (GAOKAO). NaN scores use the
    letter rule for `pred`, and `correct` is also true when the output equals `gold_text` (the gold option's
    text, when the caller knows it), as ColossalEval does.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(METRICS)}")
    letters = prompt.letters
    scores = tuple(float(s) for s in candidate_scores.scores)
    output = candidate_scores.output
    if metric == "combined" and output is None:
        raise ValueError(f"{prompt.question_id}: the combined metric needs the greedy output")

    pred = first_token_prediction(scores, letters)
    letter = first_capital_letter(output, letters) if output is not None else None
    if pred is None:
        if output is None:
            raise ValueError(f"{prompt.question_id}: NaN scores and no greedy output for the letter rule")
        pred = letter or ""
        correct = bool(prompt.gold) and (letter == prompt.gold or (gold_text is not None and output.strip() == gold_text))
    else:
        correct = bool(prompt.gold) and pred == prompt.gold

    return Prediction(
        question_id=prompt.question_id,
        subject=prompt.subject,
        gold=prompt.gold,
        pred=pred,
        scores=dict(zip(letters, scores, strict=True)),
        correct=correct,
        prompt_sha256=prompt.sha256,
        output=output,
        letter=letter,
        correct_combined=combined_correct(pred, letter, prompt.gold) if output is not None else None,
        prompt=prompt.text if keep_prompt_text else None,
    )
