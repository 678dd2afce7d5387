"""Typed backend options: validation, hashing (the worker's cache key) and the one builder of CLI and worker."""

from __future__ import annotations

import dataclasses

import pytest

from app.core.config import Settings
from evaluators.backends.options import BackendOptions, VLLMOptions, backend_options


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)


def test_options_are_frozen_and_equal_options_hash_equal():
    a = BackendOptions(model_path="m", vllm=VLLMOptions(kv_cache_gib=2.0))
    b = BackendOptions(model_path="m", vllm=VLLMOptions(kv_cache_gib=2.0))
    assert a == b and hash(a) == hash(b)
    assert a != dataclasses.replace(a, vllm=VLLMOptions(kv_cache_gib=3.0))
    assert a != dataclasses.replace(a, score_method="logprob")
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.device = "cpu"  # type: ignore[misc]


@pytest.mark.parametrize("build, message", [
    (lambda: BackendOptions(model_path="m", score_method="ppl"), "unknown score_method 'ppl'"),
    (lambda: BackendOptions(model_path="m", prefix_attention="ring"), "unknown prefix_attention 'ring'"),
    (lambda: VLLMOptions(gpu_memory_utilization=1.5), "gpu_memory_utilization"),
    (lambda: VLLMOptions(max_model_len=0), "max_model_len"),
    (lambda: VLLMOptions(kv_cache_gib=-1), "kv_cache_gib"),
    (lambda: VLLMOptions(chunk_size=0), "chunk_size"),
])
def test_bad_options_are_refused_naming_the_field(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_builder_takes_the_score_method_from_the_template_and_engine_defaults_from_settings():
    config = settings(vllm_kv_cache_gib=1.5, vllm_max_num_seqs=4, vllm_max_model_len=2048, allow_remote_code=True)
    colossal = backend_options(config, model_path="m", template="colossaleval", device="cpu")
    harness = backend_options(config, model_path="m", template="harness", device="cpu", dtype="float32")
    assert (colossal.score_method, harness.score_method) == ("max_logit", "logprob")
    assert colossal.vllm == VLLMOptions(kv_cache_gib=1.5, max_num_seqs=4, max_model_len=2048)
    assert colossal.allow_remote_code is True  # the settings' value unless the caller says otherwise
    assert backend_options(config, model_path="m", template="colossaleval", device="cpu",
                           allow_remote_code=False).allow_remote_code is False
    assert colossal.max_batch_tokens == BackendOptions.max_batch_tokens
    assert backend_options(config, model_path="m", template="colossaleval", device="cpu",
                           max_batch_tokens=512).max_batch_tokens == 512


def test_engine_settings_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("CBENCH_VLLM_KV_CACHE_GIB", "")  # empty: unset (vLLM sizes the cache itself)
    monkeypatch.setenv("CBENCH_VLLM_GPU_MEMORY_UTILIZATION", "0.8")
    monkeypatch.setenv("CBENCH_VLLM_MAX_NUM_SEQS", "16")
    config = settings()
    assert (config.vllm_kv_cache_gib, config.vllm_gpu_memory_utilization, config.vllm_max_num_seqs) == \
        (None, 0.8, 16)
    assert settings().vllm_max_model_len is None
    monkeypatch.delenv("CBENCH_VLLM_KV_CACHE_GIB")
    assert settings().vllm_kv_cache_gib == 2.0  # the CPU-sized default
