"""From a benchmark request to the exact token sequences a backend scores (no model needed).

`build_plan` loads the questions and shots, assembles every prompt with the template, tokenizes it with the
template's tokenizer policy, checks that the tokenizer round-trips every prompt (`check_round_trip`; a failure is a
`TokenizationError` naming the tokenizer and the first failing text), applies the over-length rules, works out the
candidate ids, and decides per question how many leading ids reuse the subject's few-shot prefix KV. Only a question
that kept all its shots and was not truncated reuses a prefix:

- when the prefix's own token ids are a token-prefix of the whole prompt's ids (scoring.md §2.3 rule 6), all of
  them (the SentencePiece case);
- otherwise (byte-level BPE: the prefix alone ends in one `ĊĊ` token where the whole prompt has `Ċ`, `Ċ`), the
  longest common prefix of the subject's failing prompts' ids and the prefix's own ids: exact by construction,
  since every such request's reused ids are literally its own first ids.

Questions left without reuse are counted (`prefix_fallbacks`); `Plan.prefix_reuse` gives the reuse rate that the
run record and `cbench prompts` report. `cbench prompts` prints this plan.
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
from evaluators.tokenization import RoundTripCheck, TextTokenizer, TokenizationError, check_round_trip


@dataclass(frozen=True)
class PlannedQuestion:
    question: Question
    prompt: Prompt
    request: ScoreRequest
    truncated: bool
    prefix_rule: str = "none"  # "token_prefix", "common_prefix" or "none"


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
    round_trip: RoundTripCheck | None = None
    bos_added: bool = False  # whether the tokenizer put its BOS in front of the prompts (its own policy)

    @property
    def prefix_reuse(self) -> PrefixReuse:
        with_prefix = [i for i in self.items if i.prompt.prefix]
        return PrefixReuse(
            questions=len(self.items), questions_with_prefix=len(with_prefix),
            questions_reusing=sum(1 for i in self.items if i.request.prefix_len > 0),
            prompt_tokens=sum(len(i.request.ids) for i in self.items),
            reused_tokens=sum(i.request.prefix_len for i in self.items),
            by_common_prefix=sum(1 for i in self.items if i.prefix_rule == "common_prefix"))


@dataclass(frozen=True)
class PrefixReuse:
    """How much of a plan's prompts reuse a subject's prefix KV (per benchmark and tokenizer)."""

    questions: int
    questions_with_prefix: int  # questions whose prompt has shots at all
    questions_reusing: int
    prompt_tokens: int
    reused_tokens: int  # sum of prefix_len: tokens served from a prefix computed once per subject
    by_common_prefix: int  # questions split at the longest common prefix (the token-prefix test failed)

    @property
    def question_rate(self) -> float:
        return self.questions_reusing / self.questions_with_prefix if self.questions_with_prefix else 0.0

    @property
    def token_rate(self) -> float:
        return self.reused_tokens / self.prompt_tokens if self.prompt_tokens else 0.0

    def to_dict(self) -> dict[str, float | int]:
        return {"questions": self.questions, "questions_with_prefix": self.questions_with_prefix,
                "questions_reusing": self.questions_reusing, "question_rate": round(self.question_rate, 4),
                "prompt_tokens": self.prompt_tokens, "reused_tokens": self.reused_tokens,
                "token_rate": round(self.token_rate, 4), "by_common_prefix": self.by_common_prefix}


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

    plan.round_trip = check_round_trip(tokenizer, {p.text: encode(p.text) for p in prompts})
    if not plan.round_trip.passed:
        raise TokenizationError(f"tokenizer {tokenizer.implementation} does not round-trip the prompts of {spec.name} "
                                f"(decode(encode(text)) != text); first failing text: "
                                f"{_clip(plan.round_trip.first_failure or '')!r}")

    drafts: list[tuple[Question, Prompt, list[int], tuple[tuple[int, ...], ...], bool]] = []
    for question, prompt in zip(questions, prompts, strict=True):
        if prompt.shots_used < prompt.shots_available:
            plan.shots_dropped += 1
        if template.scoring_method == "max_logit":
            ids, truncated = middle_truncate(encode(prompt.text), max_length=max_length, max_new_tokens=max_new_tokens,
                                             encode=tokenizer.encode, decode=tokenizer.decode, truncate_left=True)
            candidates = plan.candidate_ids or ()
        else:
            ids, candidates, truncated = _harness_request(prompt, next(pairs), max_length)
        plan.truncated += int(truncated)
        drafts.append((question, prompt, ids, tuple(tuple(c) for c in candidates), truncated))

    splits = prefix_splits([(p, ids, t) for _, p, ids, _, t in drafts], encode) if reuse_prefix else {}
    for index, (question, prompt, ids, candidates, truncated) in enumerate(drafts):
        prefix_len, rule = splits.get(index, (0, "none"))
        if reuse_prefix and prompt.prefix and prefix_len == 0:
            plan.prefix_fallbacks += 1
        request = ScoreRequest(ids=tuple(ids), candidates=candidates, method=template.scoring_method,
                               prefix_len=prefix_len, generate=generate, max_new_tokens=max_new_tokens)
        plan.items.append(PlannedQuestion(question=question, prompt=prompt, request=request, truncated=truncated,
                                          prefix_rule=rule))
    plan.bos_added = bool(plan.items) and tokenizer.bos_id is not None \
        and plan.items[0].request.ids[:1] == (tokenizer.bos_id,)
    return plan


def prefix_splits(drafts: Sequence[tuple[Prompt, Sequence[int], bool]],
                  encode: EncodeMemo) -> dict[int, tuple[int, str]]:
    """Per draft index (prompt, ids, truncated): (prefix_len, rule) for the questions that reuse a prefix.

    A question reuses only when it kept all its shots and was not truncated. `token_prefix`: the prefix's own ids
    start the prompt's ids. `common_prefix`: for the other questions with the same prefix text, the longest common
    prefix of their ids and the prefix's ids (see the module docstring); kept only when it leaves every one of those
    prompts at least one id of its own.
    """
    splits: dict[int, tuple[int, str]] = {}
    failing: dict[str, list[int]] = {}
    for index, (prompt, ids, truncated) in enumerate(drafts):
        if not prompt.prefix or truncated or prompt.shots_used < prompt.shots_available:
            continue
        prefix_ids = encode(prompt.prefix)
        if len(ids) > len(prefix_ids) and tuple(ids[: len(prefix_ids)]) == prefix_ids:
            splits[index] = (len(prefix_ids), "token_prefix")
        else:
            failing.setdefault(prompt.prefix, []).append(index)
    for prefix, indices in failing.items():
        common = common_prefix_length([encode(prefix), *(drafts[i][1] for i in indices)])
        if common > 0 and all(len(drafts[i][1]) > common for i in indices):
            splits.update({i: (common, "common_prefix") for i in indices})
    return splits


def common_prefix_length(sequences: Sequence[Sequence[int]]) -> int:
    """Length of the longest common prefix of `sequences` (0 for none)."""
    if not sequences:
        return 0
    length = min(len(s) for s in sequences)
    first = sequences[0]
    for other in sequences[1:]:
        n = 0
        while n < length and other[n] == first[n]:
            n += 1
        length = n
    return length


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


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
