"""How the job page shows one question: pure functions over a stored prompt and its candidate scores.

A subject's prompts share their few-shot block; `shared_prefix` finds it from two prompts of the subject (cut at
the blank line that ends the last shot), so the page shows it once per subject and each question on its own.
`parse_options` splits a question's text into its stem and lettered options; `candidate_probabilities` turns the
candidates' raw scores (logits or log-probabilities) into probabilities over the candidates (a softmax).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

SHOT_SEPARATOR = "\n\n"
_OPTION = re.compile(r"^\s*\(?([A-Z])\s*[).．、:：]\s?(.*)$")


def shared_prefix(prompts: Sequence[str]) -> str:
    """The few-shot block common to `prompts` (at least two), ending at a shot boundary; "" when there is none."""
    if len(prompts) < 2:
        return ""
    common = prompts[0]
    for prompt in prompts[1:]:
        length = 0
        for x, y in zip(common, prompt, strict=False):
            if x != y:
                break
            length += 1
        common = common[:length]
    cut = common.rfind(SHOT_SEPARATOR)
    return common[: cut + len(SHOT_SEPARATOR)] if cut >= 0 else ""


def question_text(prompt: str, prefix: str) -> str:
    """The prompt without the subject's shared block (the whole prompt when it does not start with it)."""
    return prompt[len(prefix):] if prefix and prompt.startswith(prefix) else prompt


@dataclass(frozen=True)
class Option:
    letter: str
    text: str
    probability: float | None
    gold: bool
    pred: bool


@dataclass(frozen=True)
class QuestionView:
    stem: str  # the question without its options (the whole text when no options were found)
    options: list[Option]
    tail: str  # what follows the options (e.g. "Answer:")


def candidate_probabilities(scores: Mapping[str, float]) -> dict[str, float]:
    """Softmax over the candidates' scores: the model's probability of each letter given only these candidates."""
    finite = {k: v for k, v in scores.items() if math.isfinite(v)}
    if not finite:
        return {k: 0.0 for k in scores}
    top = max(finite.values())
    weights = {k: math.exp(v - top) if k in finite else 0.0 for k, v in scores.items()}
    total = sum(weights.values())
    return {k: w / total for k, w in weights.items()}


def parse_options(text: str, letters: Sequence[str], *, gold: str, pred: str,
                  probabilities: Mapping[str, float]) -> QuestionView:
    """Split `text` at consecutive lines `A. ...`, `B. ...` (in letter order, from the first letter)."""
    lines = text.split("\n")
    for start, line in enumerate(lines):
        match = _OPTION.match(line)
        if not match or match.group(1) != letters[0]:
            continue
        options = []
        for letter, option_line in zip(letters, lines[start:], strict=False):
            found = _OPTION.match(option_line)
            if not found or found.group(1) != letter:
                break
            options.append(Option(letter=letter, text=found.group(2), probability=probabilities.get(letter),
                                  gold=letter == gold, pred=letter == pred))
        if len(options) >= 2:
            end = start + len(options)
            return QuestionView(stem="\n".join(lines[:start]).rstrip(), options=options,
                                tail="\n".join(lines[end:]).strip())
    return QuestionView(stem=text, options=[], tail="")
