"""From a benchmark request to the exact token sequences a backend scores (no model needed).

`build_plan` loads the questions and shots, assembles every prompt with the template, tokenizes it with the
template's tokenizer policy, applies the over-length rules, works out the candidate ids, and decides per question
whether the subject's few-shot prefix KV can be reused: only when the question kept all its shots, was not
truncated, and the prefix's own token ids are a token-prefix of the whole prompt's ids (scoring.md §2.3 rule 6).
Questions that fail the test fall back to the full prompt and are counted. `cbench prompts` prints this plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from evaluators.backends.base import ScoreRequest
from evaluators.catalog import DEFAULT_MAX_LENGTH, load_spec
from evaluators.dataset_spec import DatasetSpec
from evaluators.loaders import load_questions, load_shots
from evaluators.prompting import build_prompts, harness_truncate, middle_truncate
from evaluators.records import Prompt, Question
from evaluators.scoring import candidate_ids, harness_split, split_whole
from evaluators.templates import Template, get_template
from evaluators.tokenization import TextTokenizer


@dataclass(frozen=True)
class PlannedQuestion:
    question: Question
    prompt: Prompt
    request: ScoreRequest
    truncated: bool


@dataclass
class Plan:
    spec: DatasetSpec
    template: Template
    split: str
    items: list[PlannedQuestion]
    candidate_ids: tuple[tuple[int, ...], ...] | None  # max_logit templates (the same for every question)
    shots_dropped: int = 0  # questions whose prompt lost shots to the budget (§2.3)
    truncated: int = 0  # questions middle-/left-truncated (§2.4, §7)
    prefix_fallbacks: int = 0  # questions with shots whose prefix KV could not be reused
    subjects: list[str] = field(default_factory=list)


class EncodeMemo:
    """Token ids with default special tokens, memoised; `prime` tokenizes many texts in one multi-threaded batch
    (the whole prompts of a benchmark take most of a plan's time when encoded one by one)."""

    def __init__(self, tokenizer: TextTokenizer) -> None:
        self.tokenizer = tokenizer
        self.ids: dict[str, tuple[int, ...]] = {}

    def prime(self, texts: Iterable[str]) -> None:
        missing = [t for t in dict.fromkeys(texts) if t not in self.ids]
        if missing:
            self.ids.update(zip(missing, map(tuple, self.tokenizer.encode_batch(missing)), strict=True))

    def __call__(self, text: str) -> tuple[int, ...]:
        if text not in self.ids:
            self.ids[text] = tuple(self.tokenizer.encode(text))
        return self.ids[text]


def select_questions(spec: DatasetSpec, data_dir: Path, split: str, subjects: Iterable[str] | None,
                     limit: int | None) -> dict[str, list[Question]]:
    """Questions per subject; `limit` keeps the first N of each subject."""
    if limit is not None and limit < 1:
        raise ValueError(f"--limit must be a positive number of questions per subject, got {limit}")
    selected = load_questions(spec, data_dir, split=split, subjects=subjects)
    return {key: qs[:limit] if limit else qs for key, qs in selected.items()}


def build_plan(benchmark: str, template_id: str, tokenizer: TextTokenizer, data_dir: str | Path, *,
               subjects: Iterable[str] | None = None, limit: int | None = None, split: str | None = None,
               max_length: int = DEFAULT_MAX_LENGTH, max_new_tokens: int = 32, reuse_prefix: bool = True,
               generate: bool = False) -> Plan:
    """Read the questions and shots of a benchmark request from `data_dir`, then `plan_questions` them."""
    spec = load_spec(benchmark)
    template = get_template(template_id)
    split = split or spec.eval_split
    if split not in spec.splits:
        raise ValueError(f"{benchmark} has no split {split!r}; valid: {', '.join(spec.splits)}")
    data_dir = Path(data_dir)
    per_subject = select_questions(spec, data_dir, split, subjects, limit)
    shots = {key: load_shots(spec, data_dir, key) for key in per_subject}
    return plan_questions(spec, template, tokenizer, split, per_subject, shots,
                          max_length=max_length, max_new_tokens=max_new_tokens, reuse_prefix=reuse_prefix,
                          generate=generate)


def plan_questions(spec: DatasetSpec, template: Template, tokenizer: TextTokenizer, split: str,
                   per_subject: dict[str, list[Question]], shots: dict[str, list[Question]], *,
                   max_length: int = DEFAULT_MAX_LENGTH, max_new_tokens: int = 32, reuse_prefix: bool = True,
                   generate: bool = False, harness_chunk_size: int = 256) -> Plan:
    """The plan of already loaded questions (per subject, with their subjects' shots); reads no files.
    `harness_chunk_size`: prompts per batched tokenization of the harness continuations."""
    encode = EncodeMemo(tokenizer)
    questions = [q for qs in per_subject.values() for q in qs]
    if template.shot_budget:  # the budget counts n(item + gold) for every question: tokenize them in one batch
        encode.prime(template.item(q) + q.gold for q in questions)
    prompts = build_prompts(questions, shots, template, count_tokens=lambda t: len(encode(t)), max_length=max_length)
    encode.prime(p.text for p in prompts)
    plan = Plan(spec=spec, template=template, split=split, items=[], candidate_ids=None, subjects=list(per_subject))
    if template.scoring_method == "max_logit":
        plan.candidate_ids = candidate_ids(spec.letters, lambda t: tokenizer.encode(t, add_special_tokens=False),
                                           template.candidate_strings)
        pairs: Iterator[list[tuple[list[int], list[int]]]] = iter(())
    else:
        pairs = harness_pairs(prompts, encode, template, harness_chunk_size)

    for question, prompt in zip(questions, prompts, strict=True):
        if prompt.shots_used < prompt.shots_available:
            plan.shots_dropped += 1
        if template.scoring_method == "max_logit":
            ids, truncated = middle_truncate(encode(prompt.text), max_length=max_length, max_new_tokens=max_new_tokens,
                                             encode=tokenizer.encode, decode=tokenizer.decode, truncate_left=True)
            candidates = plan.candidate_ids or ()
        else:
            ids, candidates, truncated = _harness_request(prompt, next(pairs), max_length)
        prefix_len = 0
        if reuse_prefix and prompt.prefix and not truncated:
            prefix_ids = encode(prompt.prefix)
            full_shots = prompt.shots_used == prompt.shots_available
            if full_shots and len(ids) > len(prefix_ids) and tuple(ids[: len(prefix_ids)]) == prefix_ids:
                prefix_len = len(prefix_ids)
            else:
                plan.prefix_fallbacks += 1
        plan.truncated += int(truncated)
        request = ScoreRequest(ids=tuple(ids), candidates=tuple(candidates), method=template.scoring_method,
                               prefix_len=prefix_len, generate=generate, max_new_tokens=max_new_tokens)
        plan.items.append(PlannedQuestion(question=question, prompt=prompt, request=request, truncated=truncated))
    return plan


def harness_pairs(prompts: Sequence[Prompt], encode: EncodeMemo, template: Template,
                  chunk_size: int = 256) -> Iterator[list[tuple[list[int], list[int]]]]:
    """Per prompt, per letter: (context ids, continuation ids) as `scoring.harness_continuation_ids` gives them, the
    continuation being the template's candidate string (" X").

    The `context + " X"` texts of a chunk of prompts are tokenized in one batch (multi-threaded), the contexts come
    from the memo; only the ids are kept, so memory stays bounded by the chunk.
    """
    for start in range(0, len(prompts), chunk_size):
        chunk = prompts[start:start + chunk_size]
        texts = [[harness_split(prompt.text, *template.candidate_strings(letter)) for letter in prompt.letters]
                 for prompt in chunk]
        wholes = iter(encode.tokenizer.encode_batch([context + cont for row in texts for context, cont in row]))
        for row in texts:
            yield [split_whole(next(wholes), encode(context)) for context, _ in row]


def _harness_request(prompt: Prompt, pairs: list[tuple[list[int], list[int]]],
                     max_length: int) -> tuple[list[int], list[tuple[int, ...]], bool]:
    """Context ids and per-letter continuation ids the way lm-evaluation-harness 0.4 builds them (§7)."""
    continuations: list[tuple[int, ...]] = []
    context_ids: list[int] = []
    truncated = False
    for letter, (ctx, cont) in zip(prompt.letters, pairs, strict=True):
        if not cont:
            raise ValueError(f"{prompt.question_id}: continuation ' {letter}' encodes to no tokens")
        model_input, cut = harness_truncate(ctx, cont, max_length=max_length)
        context_ids = model_input[: len(model_input) - (len(cont) - 1)] if len(cont) > 1 else model_input
        truncated = truncated or cut
        continuations.append(tuple(cont))
    return context_ids, continuations, truncated
