"""Conformance on a second real architecture family: Gemma 3 270M (GGUF Q4_K_M dequantised to float32, CPU).

Gemma 3 interleaves five sliding-window layers (window 512) with one global layer, scales queries by
`query_pre_attn_scalar` and has no logit softcapping. The split prefix attention implements no window: it serves a
batch while prefix + widest suffix fits in the window (where the window masks nothing) and refuses otherwise; the
backend then scores in the buffer mode (transformers' own sliding-window masks) and records why. Checked here, on
one MMLU subject whose prompts fit in the window (`WITHIN`) and one whose longer prompts do not (`BEYOND`: its prefix
fits, prefix + suffix does not):
- which mode serves each, and the recorded reason (the window and the span that exceeded it);
- predictions identical with and without prefix reuse, across batch sizes and attention modes (`colossaleval`);
- the `harness` template gives lm-evaluation-harness 0.4.13's predictions, log-likelihoods within 1e-4 (lm-eval runs
  the unsplit prompts through transformers' sliding-window masks, so beyond the window this checks the fallback).
The converted model is cached per machine (`gemma3_dir`); backend and tokenizer are loaded once for the module. The
first CBENCH_GEMMA3_LIMIT questions of each subject are scored (default 2, the fewest with a `BEYOND` prompt past the
window; CI's cores are shared). Without the window check the split attention would attend past the window: on
`public_relations/1` (`harness`) that moves a log-likelihood by 0.11 (`bench/sliding_window_effect.py`), far
beyond these tests' tolerances.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

WITHIN, BEYOND = "anatomy", "public_relations"  # 5-shot prompts of about 350 tokens; 390 and 540 (prefix about 350)
LIMIT = int(os.environ.get("CBENCH_GEMMA3_LIMIT", "2"))
WINDOW = 512


@pytest.fixture(scope="module")
def gemma3_tokenizer(gemma3_dir: Path):
    from evaluators.tokenization import load_tokenizer

    return load_tokenizer(gemma3_dir, "hf")  # no tokenizer.model: both policies load this tokenizer.json


@pytest.fixture(scope="module")
def gemma3_backend(gemma3_dir: Path):
    from evaluators.backends import load_backend
    from evaluators.backends.base import BackendOptions

    backend = load_backend("hf", BackendOptions(model_path=str(gemma3_dir), device="cpu", dtype="float32"))
    yield backend
    backend.close()


def _run(backend, tokenizer, data_dir: Path, template: str, subjects: list[str], reuse_prefix: bool = True):
    from evaluators.runner import RunOptions, run_benchmark

    return run_benchmark(backend, RunOptions(benchmark="mmlu", template=template, data_dir=data_dir,
                                             subjects=subjects, limit=LIMIT, reuse_prefix=reuse_prefix),
                         tokenizer=tokenizer)


def _span(tokenizer, data_dir: Path, subject: str) -> int:
    """Prefix + longest suffix of the subject's planned requests: what the first (widest) packed batch spans."""
    from evaluators.plan import build_plan

    requests = [item.request for item in build_plan("mmlu", "harness", tokenizer, data_dir, subjects=[subject],
                                                    limit=LIMIT).items]
    prefix = {r.prefix_len for r in requests}
    assert len(prefix) == 1 and 0 < prefix.pop() < WINDOW  # one shared prefix, inside the window
    return max(len(r.ids) for r in requests)


def test_split_within_the_window_buffer_beyond_it_with_the_reason(gemma3_backend, gemma3_tokenizer,
                                                                   data_dir: Path) -> None:
    backend = gemma3_backend
    backend.prefix_attention = "split"
    backend.info.pop("prefix_attention_note", None)
    assert _span(gemma3_tokenizer, data_dir, WITHIN) <= WINDOW
    within = _run(backend, gemma3_tokenizer, data_dir, "harness", [WITHIN])
    assert within.record["prefix_reuse_rate"]["question_rate"] == 1.0
    assert backend.info["prefix_attention"] == "split" and "prefix_attention_note" not in backend.info
    assert backend.info["prefix_attention_kernels"]  # the split attention ran (its kernels are recorded)

    span = _span(gemma3_tokenizer, data_dir, BEYOND)
    assert span > WINDOW
    beyond = _run(backend, gemma3_tokenizer, data_dir, "harness", [BEYOND])
    recorded = beyond.record["backend"]
    assert recorded["prefix_attention"] == "split"  # only the wide prefix group went to the buffer mode
    assert recorded["prefix_attention_note"] == (f"buffer mode for prefix groups wider than the sliding window "
                                                 f"(sliding window {WINDOW} < prefix + suffix {span})")
    assert beyond.record["prefix_reuse_rate"]["question_rate"] == 1.0  # the buffer mode still reuses the prefix KV
    again = _run(backend, gemma3_tokenizer, data_dir, "harness", [WITHIN])  # a later narrow group: split again
    assert backend.info["prefix_attention"] == "split"
    assert [p.scores for p in again.predictions] == [p.scores for p in within.predictions]


def test_predictions_do_not_depend_on_reuse_batching_or_attention_mode(gemma3_backend, gemma3_tokenizer,
                                                                       data_dir: Path) -> None:
    """The `colossaleval` template (max-logit over the pinned candidate ids); the `harness` one is held to lm-eval."""
    backend, template = gemma3_backend, "colossaleval"
    default_tokens = backend.max_batch_tokens
    runs = {}
    try:
        for reuse, mode, tokens in ((False, "buffer", 16384), (True, "split", 16384), (True, "split", 120),
                                    (True, "buffer", 120)):
            backend.prefix_attention, backend.max_batch_tokens = mode, tokens
            runs[(reuse, mode, tokens)] = _run(backend, gemma3_tokenizer, data_dir, template, [WITHIN, BEYOND],
                                               reuse_prefix=reuse).predictions
    finally:
        backend.prefix_attention, backend.max_batch_tokens = "split", default_tokens
    reference = runs.pop((False, "buffer", 16384))  # whole prompts, right-padded batches: no prefix KV at all
    assert len(reference) == 2 * LIMIT
    for key, predictions in runs.items():
        assert [p.pred for p in predictions] == [p.pred for p in reference], key
        worst = max(abs(p.scores[c] - r.scores[c]) for p, r in zip(predictions, reference, strict=True)
                    for c in r.scores)
        assert worst < 1e-3, (key, worst)


def test_harness_template_matches_lm_evaluation_harness(gemma3_dir: Path, gemma3_backend, gemma3_tokenizer,
                                                        data_dir: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("lm_eval")
    for name in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "datasets"))
    from bench.eval_vs_lmeval import compare, run_lmeval
    from bench.lmeval_task import TASK_PREFIX, write_tasks

    subjects = [WITHIN, BEYOND]
    tasks = write_tasks(subjects, data_dir, tmp_path / "tasks")
    lm_results, lm, _ = run_lmeval(gemma3_dir, tmp_path / "tasks", tasks, batch_size=8, limit=LIMIT)
    del lm
    gemma3_backend.prefix_attention = "split"
    outcome = _run(gemma3_backend, gemma3_tokenizer, data_dir, "harness", subjects)
    assert outcome.record["tokenizer"]["bos_added"] is True  # lm-eval leaves BOS to the tokenizer, which adds <bos>
    n = len(subjects) * LIMIT
    agreement = compare(lm_results, outcome.predictions, TASK_PREFIX)
    assert agreement["lmeval_questions"] == len(outcome.predictions) == n
    assert agreement["same_prompt"] == n
    assert agreement["disagreements"] == []
    assert agreement["max_abs_loglik_diff"] < 1e-4
