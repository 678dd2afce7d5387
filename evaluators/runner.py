"""The run loop: plan a benchmark, score it chunk by chunk, hand predictions out as they are made.

Chunks follow subjects (so a subject's prefix KV is computed once per chunk) and hold at most `chunk_size`
questions; between chunks the loop checks `should_stop` (cancel, SIGTERM) and passes each chunk's predictions to
`on_predictions` (the worker commits them). Questions in `skip_ids` (already stored by an earlier attempt) are not
scored again. Items whose scores come back NaN are re-run with greedy generation for the letter rule (§3.2.5).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluators.aggregate import summarize
from evaluators.backends.base import Backend, ScoreRequest
from evaluators.catalog import load_spec
from evaluators.plan import Plan, PlannedQuestion, build_plan
from evaluators.records import BenchmarkSummary, CandidateScores, Prediction
from evaluators.run_record import build_record
from evaluators.scoring import make_prediction
from evaluators.templates import get_template
from evaluators.tokenization import TextTokenizer, load_tokenizer


@dataclass
class RunOptions:
    benchmark: str
    template: str = "colossaleval"
    data_dir: Path = Path("data")
    subjects: list[str] | None = None
    limit: int | None = None  # first N questions of each subject
    split: str | None = None  # default: the benchmark's eval split (C-Eval: val; "test" for export)
    max_length: int = 4096  # L of scoring.md §2.3
    max_new_tokens: int = 32
    reuse_prefix: bool = True
    keep_prompt_text: bool = True
    generate: bool | None = None  # default: when a stored metric needs the greedy output
    chunk_size: int = 512


@dataclass
class RunOutcome:
    predictions: list[Prediction]
    record: dict[str, Any]
    cancelled: bool
    skipped: int = 0
    plan_items: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _chunks(items: Sequence[PlannedQuestion], size: int) -> Iterable[list[PlannedQuestion]]:
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
                  on_progress: Callable[[int, int], None] | None = None) -> RunOutcome:
    """Score one benchmark with `backend`; see the module docstring for the callbacks."""
    spec = load_spec(options.benchmark)
    template = get_template(options.template)
    if tokenizer is None:
        tokenizer = load_tokenizer(backend.info["model_path"], template.tokenizer_policy,  # type: ignore[arg-type]
                                   revision=backend.info.get("revision"))
    generate = needs_generation(options.benchmark) if options.generate is None else options.generate
    plan = build_plan(options.benchmark, options.template, tokenizer, options.data_dir, subjects=options.subjects,
                      limit=options.limit, split=options.split, max_length=options.max_length,
                      max_new_tokens=options.max_new_tokens, reuse_prefix=options.reuse_prefix, generate=generate)
    todo = [item for item in plan.items if item.question.id not in skip_ids]
    total, done = len(plan.items), len(plan.items) - len(todo)
    if on_progress:
        on_progress(done, total)
    predictions: list[Prediction] = []
    nan_count, cancelled = 0, False
    for chunk in _chunks(todo, options.chunk_size):
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
    record = build_record(plan, tokenizer_impl=tokenizer.implementation, tokenizer_sha256=tokenizer.files_sha256,
                          backend_info=backend.info, max_length=options.max_length,
                          max_new_tokens=options.max_new_tokens, limit=options.limit,
                          reuse_prefix=options.reuse_prefix, nan_count=nan_count,
                          tokenizer_fallback=getattr(tokenizer, "fallback_reason", None))
    return RunOutcome(predictions=predictions, record=record, cancelled=cancelled, skipped=len(plan.items) - len(todo),
                      plan_items=len(plan.items))


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


def plan_for_backend(backend: Backend, options: RunOptions) -> Plan:
    """The plan `run_benchmark` would score (for inspection and tests)."""
    template = get_template(options.template)
    tokenizer = load_tokenizer(backend.info["model_path"], template.tokenizer_policy)  # type: ignore[arg-type]
    return build_plan(options.benchmark, options.template, tokenizer, options.data_dir, subjects=options.subjects,
                      limit=options.limit, split=options.split, max_length=options.max_length,
                      reuse_prefix=options.reuse_prefix)
