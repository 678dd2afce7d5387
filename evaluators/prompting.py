"""Prompt assembly and the over-length rules (scoring.md §2.3, §2.4, §7).

`assemble_prompt` joins a template's header, shots and test item under ColossalEval's shot budget: shots are
added in order while the prefix fits `L − n(q + t)` tokens, stopping at the first that overflows, and header +
first shot are kept even when they alone overflow. The harness template keeps every shot; its over-length rule is
left truncation of the token sequence (`harness_truncate`). ColossalEval's second rule, applied to token ids just
before scoring, is `middle_truncate`. Tokenizers come in as callables, so this module never imports torch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

from evaluators.records import Prompt, Question
from evaluators.templates import Template

CountTokens = Callable[[str], int]

SEPARATOR = "\n\n"


def _header(question: Question, template: Template) -> str:
    header = template.header(question)
    if header is None:
        raise ValueError(
            f"template {template.id!r} has no header for {question.benchmark}; that benchmark is zero-shot"
        )
    return header + SEPARATOR


def subject_prefix(question: Question, shots: Sequence[Question], template: Template) -> str:
    """The prefix shared by every item of `question`'s subject when all shots fit: header + each shot + "\\n\\n".
    "" for a zero-shot prompt without a header (ColossalEval GAOKAO)."""
    if not shots:
        return _header(question, template) if template.header_when_zero_shot else ""
    return _header(question, template) + "".join(template.shot(s) + SEPARATOR for s in shots)


def _budgeted_prefix(
    header: str, shot_texts: Sequence[str], budget: int, count_tokens: CountTokens
) -> tuple[str, int]:
    """§2.3 steps 2-4: (prefix, number of shots it holds)."""
    candidate = header
    accepted: tuple[str, int] | None = None
    for used, shot in enumerate(shot_texts, start=1):
        candidate = candidate + shot + SEPARATOR
        if count_tokens(candidate) <= budget:
            accepted = (candidate, used)
        else:
            break
    return accepted if accepted is not None else (candidate, 1)


def assemble_prompt(
    question: Question,
    shots: Sequence[Question],
    template: Template,
    *,
    count_tokens: CountTokens | None,
    max_length: int | None,
) -> Prompt:
    """The full prompt for `question` (§2.3). `count_tokens(text)` is the spec's n(): token count WITH the
    default special tokens (BOS). ColossalEval templates need `count_tokens` and `max_length` (L) when there are
    shots; the harness template keeps all shots and needs neither."""
    item = template.item(question)
    if not shots:
        prefix, used = subject_prefix(question, (), template), 0
    elif not template.shot_budget:
        prefix, used = subject_prefix(question, shots, template), len(shots)
    else:
        if count_tokens is None or max_length is None:
            raise ValueError(f"template {template.id!r} needs count_tokens and max_length for its shot budget")
        budget = max_length - count_tokens(item + question.gold)
        shot_texts = [template.shot(s) for s in shots]
        prefix, used = _budgeted_prefix(_header(question, template), shot_texts, budget, count_tokens)
    text = prefix + item
    return Prompt(
        question_id=question.id,
        subject=question.subject,
        text=text,
        prefix=prefix,
        gold=question.gold,
        letters=question.letters,
        shots_used=used,
        shots_available=len(shots),
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def build_prompts(
    questions: Sequence[Question],
    shots: Mapping[str, Sequence[Question]],
    template: Template,
    *,
    count_tokens: CountTokens | None,
    max_length: int | None,
) -> list[Prompt]:
    """`assemble_prompt` for many questions; `shots` maps subject -> its shots (missing: zero-shot). Token counts
    are memoised, since every item of a subject re-counts the same growing prefixes."""
    counted = count_tokens
    if count_tokens is not None:
        memo: dict[str, int] = {}

        def counted(text: str) -> int:
            if text not in memo:
                memo[text] = count_tokens(text)
            return memo[text]

    return [
        assemble_prompt(q, shots.get(q.subject, ()), template, count_tokens=counted, max_length=max_length)
        for q in questions
    ]


def middle_truncate(
    ids: Sequence[int],
    *,
    max_length: int,
    max_new_tokens: int = 32,
    encode: Callable[[str], Sequence[int]],
    decode: Callable[[Sequence[int]], str],
    truncate_left: bool,
) -> tuple[list[int], bool]:
    """ColossalEval's second over-length rule (§2.4). If `len(ids) > L − m`, keep `h = (L − m) // 2` tokens from
    each end, decode both halves (`decode` must skip special tokens), re-encode the joined text with `encode`
    (default special tokens) and cut it to `L − m` ids: from the left (keep the end) when `truncate_left`
    (batch size above 1), else from the right. Returns (ids, truncated)."""
    limit = max_length - max_new_tokens
    if limit < 2:
        raise ValueError(f"max_length {max_length} leaves no room for a prompt after {max_new_tokens} new tokens")
    if len(ids) <= limit:
        return list(ids), False
    half = limit // 2
    text = decode(list(ids[:half])) + decode(list(ids[-half:]))
    new_ids = list(encode(text))
    if len(new_ids) > limit:
        new_ids = new_ids[-limit:] if truncate_left else new_ids[:limit]
    return new_ids, True


def harness_truncate(
    context_ids: Sequence[int], continuation_ids: Sequence[int], *, max_length: int
) -> tuple[list[int], bool]:
    """lm-eval 0.4's over-length rule: the model input is `(context + continuation)[-(L + 1):][:-1]`, i.e. the
    context is cut from the left so that input plus the scored continuation fit L. Returns (input ids,
    truncated)."""
    if max_length < 1:
        raise ValueError(f"max_length must be positive, got {max_length}")
    if not continuation_ids:
        raise ValueError("empty continuation")
    whole = list(context_ids) + list(continuation_ids)
    return whole[-(max_length + 1) :][:-1], len(whole) > max_length + 1
