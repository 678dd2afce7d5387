"""Conformance on real pretrained weights: SmolLM2-135M (GGUF Q4_1 dequantised to float32, CPU).

- the `harness` template gives lm-evaluation-harness 0.4.13's prediction on every question of several MMLU subjects,
  with log-likelihoods within 1e-4 (lm-eval runs through the generated local tasks of `bench/lmeval_task.py`);
- predictions are identical with and without prefix reuse (the longest-common-prefix split of a byte-level BPE
  tokenizer), across batch sizes and across the prefix-attention modes, for both scoring methods.
The converted model is cached per machine (`smollm2_dir`); the backend is loaded once for the module. To keep CI
time in check the lm-eval comparison scores the first CBENCH_CONFORMANCE_LIMIT questions of each subject (default 20;
0 = every question of the three subjects, 300 in all), the invariance test the first CBENCH_INVARIANCE_LIMIT
(default 6) of one subject under five configurations and both templates.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

LMEVAL_SUBJECTS = ["abstract_algebra", "global_facts", "college_chemistry"]  # 100 questions each
INVARIANCE_SUBJECTS = ["anatomy"]
LMEVAL_LIMIT = int(os.environ.get("CBENCH_CONFORMANCE_LIMIT", "20")) or None
INVARIANCE_LIMIT = int(os.environ.get("CBENCH_INVARIANCE_LIMIT", "6"))


@pytest.fixture(scope="module")
def smollm2_backend(smollm2_dir: Path):
    from evaluators.backends import load_backend
    from evaluators.backends.base import BackendOptions

    backend = load_backend("hf", BackendOptions(model_path=str(smollm2_dir), device="cpu", dtype="float32"))
    yield backend
    backend.close()


def test_harness_template_matches_lm_evaluation_harness(smollm2_dir: Path, smollm2_backend, data_dir: Path,
                                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("lm_eval")
    for name in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "datasets"))
    from bench.eval_vs_lmeval import compare, run_lmeval
    from bench.lmeval_task import TASK_PREFIX, write_tasks
    from evaluators.runner import RunOptions, run_benchmark

    tasks = write_tasks(LMEVAL_SUBJECTS, data_dir, tmp_path / "tasks")
    lm_results, _lm, _ = run_lmeval(smollm2_dir, tmp_path / "tasks", tasks, batch_size=8, limit=LMEVAL_LIMIT)
    outcome = run_benchmark(smollm2_backend, RunOptions(benchmark="mmlu", template="harness", data_dir=data_dir,
                                                        subjects=LMEVAL_SUBJECTS, limit=LMEVAL_LIMIT))
    n = 3 * (LMEVAL_LIMIT or 100)
    assert outcome.record["prefix_reuse_rate"]["question_rate"] == 1.0  # every question reused its subject prefix
    agreement = compare(lm_results, outcome.predictions, TASK_PREFIX)
    assert agreement["lmeval_questions"] == len(outcome.predictions) == n
    assert agreement["same_prompt"] == n
    assert agreement["disagreements"] == []
    assert agreement["agree"] == n
    assert agreement["max_abs_loglik_diff"] < 1e-4
    assert len({p.pred for p in outcome.predictions}) > 1  # a real model, not one letter everywhere


def _predictions(backend, data_dir: Path, template: str, reuse_prefix: bool) -> list:
    from evaluators.runner import RunOptions, run_benchmark

    outcome = run_benchmark(backend, RunOptions(benchmark="mmlu", template=template, data_dir=data_dir,
                                                subjects=INVARIANCE_SUBJECTS, limit=INVARIANCE_LIMIT,
                                                reuse_prefix=reuse_prefix))
    return outcome.predictions


@pytest.mark.parametrize("template", ["colossaleval", "harness"])
def test_predictions_do_not_depend_on_reuse_batching_or_attention_mode(smollm2_backend, data_dir: Path,
                                                                       template: str) -> None:
    backend = smollm2_backend
    default_mode, default_tokens = backend.prefix_attention, backend.max_batch_tokens
    runs = {}
    try:
        for reuse, mode, tokens in ((False, "split", 16384), (True, "split", 16384), (True, "split", 120),
                                    (True, "buffer", 16384), (True, "buffer", 120)):
            backend.prefix_attention, backend.max_batch_tokens = mode, tokens
            runs[(reuse, mode, tokens)] = _predictions(backend, data_dir, template, reuse)
    finally:
        backend.prefix_attention, backend.max_batch_tokens = default_mode, default_tokens
    reference = runs.pop((False, "split", 16384))
    for key, predictions in runs.items():
        assert [p.pred for p in predictions] == [p.pred for p in reference], key
        worst = max(abs(p.scores[c] - r.scores[c]) for p, r in zip(predictions, reference, strict=True)
                    for c in r.scores)
        assert worst < 1e-3, (key, worst)
