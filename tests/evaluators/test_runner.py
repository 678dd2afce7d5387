"""The run loop on real data with a tiny random LLaMA: callbacks, skipping, cancel, records, prefix reuse."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

pytest.importorskip("torch")

from evaluators.runner import RunOptions, run_benchmark, summarize_predictions
from evaluators.sampling import SampleRule
from evaluators.tokenization import SentencePieceTokenizer, load_tokenizer

SUBJECTS = ["abstract_algebra", "college_physics"]


def _options(data_dir: Path, **overrides) -> RunOptions:
    return dataclasses.replace(RunOptions(benchmark="mmlu", data_dir=data_dir, subjects=SUBJECTS, limit=6), **overrides)


def test_chunks_progress_and_record(hf_backend, data_dir):
    chunks, progress = [], []
    outcome = run_benchmark(hf_backend, _options(data_dir, chunk_size=4), on_predictions=chunks.append,
                            on_progress=lambda done, total: progress.append((done, total)))
    assert len(outcome.predictions) == 12 and not outcome.cancelled
    assert [len(c) for c in chunks] == [4, 2, 4, 2]  # chunks never straddle subjects
    assert progress[0] == (0, 12) and progress[-1] == (12, 12)
    record = outcome.record
    assert record["template"] == "colossaleval" and record["header_variant"] == "dec2023"
    assert record["candidate_ids"] == [[319, 29909], [350, 29933], [315, 29907], [360, 29928]]
    assert record["tokenizer"]["implementation"].startswith("sentencepiece")
    assert record["counts"]["prefix_fallbacks"] == 0
    assert record["backend"]["attn_implementation"] == "sdpa" and record["backend"]["dtype"] == "float32"
    assert "mmlu/data/test/abstract_algebra_test.csv" in record["dataset_checksums"]
    assert len(record["prompts_sha256"]) == 64 and record["versions"]["transformers"]


def test_prefix_reuse_gives_identical_predictions(hf_backend, data_dir):
    reused = run_benchmark(hf_backend, _options(data_dir))
    full = run_benchmark(hf_backend, _options(data_dir, reuse_prefix=False))
    assert [p.pred for p in reused.predictions] == [p.pred for p in full.predictions]
    for a, b in zip(reused.predictions, full.predictions, strict=True):
        assert a.scores == pytest.approx(b.scores, abs=1e-3)


def test_skip_ids_are_not_scored_again(hf_backend, data_dir):
    first = run_benchmark(hf_backend, _options(data_dir))
    done = {p.question_id for p in first.predictions[:5]}
    second = run_benchmark(hf_backend, _options(data_dir), skip_ids=done)
    assert second.skipped == 5
    assert {p.question_id for p in second.predictions} == {p.question_id for p in first.predictions} - done
    merged = first.predictions[:5] + second.predictions
    assert summarize_predictions("mmlu", merged).micro == summarize_predictions("mmlu", first.predictions).micro


def test_should_stop_cancels_between_chunks(hf_backend, data_dir):
    calls = []
    outcome = run_benchmark(hf_backend, _options(data_dir, chunk_size=3), should_stop=lambda: len(calls) >= 1,
                            on_predictions=calls.append)
    assert outcome.cancelled and len(outcome.predictions) == 3


def test_agieval_generates_for_the_combined_metric(hf_backend, data_dir):
    options = RunOptions(benchmark="agieval", data_dir=data_dir, subjects=["sat-math"], limit=2, max_new_tokens=4)
    outcome = run_benchmark(hf_backend, options)
    assert all(p.output is not None and p.correct_combined is not None for p in outcome.predictions)
    summary = summarize_predictions("agieval", outcome.predictions)
    assert summary.metric == "combined" and summary.n == 2 and not summary.complete


def test_sentencepiece_policy_keeps_runs_of_spaces(tiny_model):
    """scoring.md §3.5: SentencePiece keeps `▁` `▁Which` where transformers 5 would give `▁▁` `Wh` `ich`."""
    tokenizer = load_tokenizer(tiny_model, "sentencepiece")
    assert isinstance(tokenizer, SentencePieceTokenizer)
    assert tokenizer.encode("Question:  Which of") == [1, 894, 29901, 29871, 8449, 310]
    assert tokenizer.encode("Answer: A", add_special_tokens=False) == [673, 29901, 319]
    assert tokenizer.decode([1, 673, 29901, 319]) == "Answer: A"


@pytest.mark.parametrize("policy", ["sentencepiece", "hf"])
def test_batch_encoding_equals_one_by_one(tiny_model, policy):
    tokenizer = load_tokenizer(tiny_model, policy)
    texts = ["Question:  Which of", "题目：下列\\n答案：", "The following are\n\nQuestion: x\nAnswer: ", " lead"]
    assert tokenizer.encode_batch(texts) == [tokenizer.encode(t) for t in texts]


def test_sample_then_rest_equals_one_pass(hf_backend, data_dir):
    """The early-estimate order changes when questions are scored, never what they score."""
    one_pass = run_benchmark(hf_backend, _options(data_dir, limit=20))
    seen: list = []
    two_pass = run_benchmark(hf_backend, _options(data_dir, limit=20, sample=SampleRule(), chunk_size=7),
                             on_sample_scored=lambda info: seen.append((info, len(chunks))),
                             on_predictions=(chunks := []).append)
    info, chunks_before = seen[0]
    assert len(seen) == 1 and info.populations == {"abstract_algebra": 20, "college_physics": 20}
    assert len(info.ids) == 10  # 10% of 20 is 2, at least 5 per subject
    sampled_first = [p.question_id for c in chunks[:chunks_before] for p in c]
    assert set(sampled_first) == info.ids
    assert sorted(p.question_id for p in two_pass.predictions) == sorted(p.question_id for p in one_pass.predictions)
    by_id = {p.question_id: p for p in one_pass.predictions}
    for p in two_pass.predictions:
        assert p.pred == by_id[p.question_id].pred
        assert p.scores == pytest.approx(by_id[p.question_id].scores, abs=1e-4)
    assert two_pass.record["sample"] == {"fraction": 0.1, "minimum": 5, "seed": "cbench-sample-v1", "n": 10,
                                         "sample_only": False}


def test_resume_keeps_the_sample_first_order(hf_backend, data_dir):
    options = _options(data_dir, limit=12, sample=SampleRule(), chunk_size=3)
    uninterrupted = [p.question_id for p in run_benchmark(hf_backend, options).predictions]
    stored: list[str] = []
    first = run_benchmark(hf_backend, options, should_stop=lambda: len(stored) >= 4,
                          on_predictions=lambda chunk: stored.extend(p.question_id for p in chunk))
    assert first.cancelled
    second = run_benchmark(hf_backend, options, skip_ids=frozenset(stored))
    assert stored + [p.question_id for p in second.predictions] == uninterrupted


def test_sample_only_stops_after_the_sample(hf_backend, data_dir):
    outcome = run_benchmark(hf_backend, _options(data_dir, limit=30, sample_only=True))
    assert len(outcome.predictions) == 10 and outcome.record["sample"]["sample_only"]
    assert not summarize_predictions("mmlu", outcome.predictions).complete
