"""The run loop: plan a benchmark, score it chunk by chunk, hand predictions out as they are made.

Chunks follow subjects (so a subject's prefix KV is computed once per chunk) and hold at most `chunk_size`
questions; between chunks the loop checks `should_stop` (cancel, SIGTERM) and passes each chunk's predictions to
`on_predictions` (the worker commits them). Questions in `skip_ids` (already stored by an earlier attempt) are not
scored again. Items whose scores come back NaN are re-run with greedy generation for the letter rule (§3.2.5).
With `sample` set, the seeded stratified sample (`evaluators.sampling`) is scored first and `on_sample_scored` is
called once all of it is stored (so an early estimate can be published), then the rest; `sample_only` stops after
the sample. The order is a pure function of the plan, so a resumed job continues in the same order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluators.aggregate import summarize
from evaluators.backends.base import Backend, ScoreRequest
from evaluators.catalog import DEFAULT_MAX_LENGTH, load_spec
from evaluators.plan import Plan, PlannedQuestion, build_plan
from evaluators.records import BenchmarkSummary, CandidateScores, Prediction
from evaluators.run_record import build_record
from evaluators.sampling import SampleRule, stratified_sample
from evaluators.scoring import make_prediction
from evaluators.templates import DEFAULT_TEMPLATE, get_template
from evaluators.tokenization import TextTokenizer, load_tokenizer


@dataclass
class RunOptions:
    benchmark: str
    data_dir: Path
    template: str = DEFAULT_TEMPLATE
    subjects: list[str] | None = None
    limit: int | None = None  # first N questions of each subject
    split: str | None = None  # default: the benchmark's eval split (C-Eval: val; "test" for export)
    max_length: int = DEFAULT_MAX_LENGTH  # L of scoring.md §2.3
    max_new_tokens: int = 32
    reuse_prefix: bool = True
    keep_prompt_text: bool = True
    generate: bool | None = None  # default: when a stored metric needs the greedy output
    chunk_size: int = 512
    sample: SampleRule | None = None  # score this stratified sample first (early estimate)
    sample_only: bool = False  # stop after the sample


@dataclass(frozen=True)
class SampleInfo:
    """The early-estimate sample of a plan: the sampled ids and every subject's full question count."""

    ids: frozenset[str]
    populations: dict[str, int]
    rule: SampleRule


@dataclass
class RunOutcome:
    predictions: list[Prediction]
    record: dict[str, Any]
    cancelled: bool
    skipped: int = 0


def chunk_questions(items: Sequence[PlannedQuestion], size: int) -> Iterable[list[PlannedQuestion]]:
    chunk: list[PlannedQuestion] = []
    for item in items:
        if chunk and (len(chunk) >= size or item.prompt.subject != chunk[-1].prompt.subject):
            yield chunk
            chunk = []
        chunk.append(item)
    if chunk:
        yield chunk


def needs_generation(benchmark: str) -> bool:
    return "combined" in load_spec(benchmark).stored_metrics


def run_benchmark(backend: Backend, options: RunOptions, *, tokenizer: TextTokenizer | None = None,
                  skip_ids: frozenset[str] | set[str] = frozenset(),
                  on_predictions: Callable[[list[Prediction]], None] | None = None,
                  should_stop: Callable[[], bool] | None = None,
                  on_progress: Callable[[int, int], None] | None = None,
                  on_sample_scored: Callable[[SampleInfo], None] | None = None) -> RunOutcome:
    """Score one benchmark with `backend`; see the module docstring for the callbacks."""
    spec = load_spec(options.benchmark)
    template = get_template(options.template)
    if tokenizer is None:
        tokenizer = load_tokenizer(backend.model_path, template.tokenizer_policy,  # type: ignore[arg-type]
                                   revision=backend.revision)
    generate = needs_generation(options.benchmark) if options.generate is None else options.generate
    plan = build_plan(options.benchmark, options.template, tokenizer, options.data_dir, subjects=options.subjects,
                      limit=options.limit, split=options.split, max_length=options.max_length,
                      max_new_tokens=options.max_new_tokens, reuse_prefix=options.reuse_prefix, generate=generate)
    sample, parts = scoring_order(plan, options)
    total = sum(len(part) for part in parts)
    todo_parts = [[item for item in part if item.question.id not in skip_ids] for part in parts]
    done = total - sum(len(part) for part in todo_parts)
    if on_progress:
        on_progress(done, total)
    predictions: list[Prediction] = []
    nan_count, cancelled = 0, False
    for part_index, todo in enumerate(todo_parts):
        for chunk in chunk_questions(todo, options.chunk_size):
            if should_stop and should_stop():
                cancelled = True
                break
            scored = backend.score([item.request for item in chunk])
            chunk_predictions, nans = _predictions_for(backend, chunk, scored, spec.metric, options.keep_prompt_text)
            nan_count += nans
            predictions.extend(chunk_predictions)
            if on_predictions:
                on_predictions(chunk_predictions)
            done += len(chunk)
            if on_progress:
                on_progress(done, total)
        if cancelled:
            break
        if part_index == 0 and sample and on_sample_scored:
            on_sample_scored(sample)
    record = build_record(plan, tokenizer_impl=tokenizer.implementation, tokenizer_sha256=tokenizer.files_sha256,
                          backend_info=backend.info, max_length=options.max_length,
                          max_new_tokens=options.max_new_tokens, limit=options.limit,
                          reuse_prefix=options.reuse_prefix, nan_count=nan_count,
                          tokenizer_fallback=getattr(tokenizer, "fallback_reason", None))
    if sample:
        record["sample"] = {"fraction": sample.rule.fraction, "minimum": sample.rule.minimum, "seed": sample.rule.seed,
                            "n": len(sample.ids), "sample_only": options.sample_only}
    return RunOutcome(predictions=predictions, record=record, cancelled=cancelled,
                      skipped=total - sum(len(part) for part in todo_parts))


def scoring_order(plan: Plan, options: RunOptions) -> tuple[SampleInfo | None, list[list[PlannedQuestion]]]:
    """The sample (if any) and the two parts scored one after the other: [sample, rest] in plan order each;
    [sample, []] with `sample_only`; [[], everything] without a sample."""
    rule = options.sample or (SampleRule() if options.sample_only else None)
    sample = plan_sample(plan, rule) if rule else None
    if sample is None:
        return None, [[], list(plan.items)]
    first = [item for item in plan.items if item.question.id in sample.ids]
    rest = [] if options.sample_only else [item for item in plan.items if item.question.id not in sample.ids]
    return sample, [first, rest]


def plan_sample(plan: Plan, rule: SampleRule) -> SampleInfo:
    """The stratified sample of `plan`'s questions under `rule`."""
    ids_by_subject: dict[str, list[str]] = {}
    for item in plan.items:
        ids_by_subject.setdefault(item.question.subject, []).append(item.question.id)
    return SampleInfo(ids=stratified_sample(plan.spec.name, ids_by_subject, rule),
                      populations={subject: len(ids) for subject, ids in ids_by_subject.items()}, rule=rule)


def _predictions_for(backend: Backend, chunk: list[PlannedQuestion], scored: list[CandidateScores], metric: str,
                     keep_prompt_text: bool) -> tuple[list[Prediction], int]:
    """Predictions for a scored chunk; NaN items are re-run with generation for the letter rule."""
    nan_rows = [i for i, s in enumerate(scored) if any(math.isnan(x) for x in s.scores) and s.output is None]
    if nan_rows:
        retry = [_with_generation(chunk[i].request) for i in nan_rows]
        for i, result in zip(nan_rows, backend.score(retry), strict=True):
            scored[i] = CandidateScores(scores=scored[i].scores, output=result.output)
    nan_count = sum(1 for s in scored if any(math.isnan(x) for x in s.scores))
    predictions = []
    for item, result in zip(chunk, scored, strict=True):
        q = item.question
        gold_text = q.options[q.letters.index(q.gold)] if q.gold in q.letters and q.options else None
        predictions.append(make_prediction(item.prompt, result, metric, keep_prompt_text, gold_text=gold_text))
    return predictions, nan_count


def _with_generation(request: ScoreRequest) -> ScoreRequest:
    return ScoreRequest(ids=request.ids, candidates=request.candidates, method=request.method,
                        prefix_len=request.prefix_len, generate=True, max_new_tokens=request.max_new_tokens)


def summarize_predictions(benchmark: str, predictions: Iterable[Prediction]) -> BenchmarkSummary:
    """The benchmark summary of stored predictions: the spec's headline metric, the full expected count (so
    `complete` means a publishable full run) and the spec's display names."""
    spec = load_spec(benchmark)
    return summarize(benchmark, predictions, metric=spec.metric, expected_n=spec.expected_n,
                     subject_names={s.key: s.display for s in spec.subjects})

