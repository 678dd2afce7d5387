"""The vLLM backend's options, request construction and result parsing, against vLLM's real classes (no engine runs
here; tests/evaluators/backends/test_vllm_engine.py runs one).

Run in .venv-vllm (scripts/setup_vllm_venv.sh); elsewhere every test but the import-guard one is skipped.
The outputs below are built with vLLM's own `RequestOutput` / `CompletionOutput` / `Logprob` types, shaped as the
engine returns them; they test our parsing, not the engine's numbers.
"""

from __future__ import annotations

import importlib.util
import math
import struct

import pytest

from evaluators.backends import load_backend
from evaluators.backends.base import BackendOptions, ScoreRequest, VLLMOptions

HAS_VLLM = importlib.util.find_spec("vllm") is not None
# LLaMA-2 candidate ids (scoring.md §3.1): "▁A".."▁D" and bare "A".."D".
E_IDS = (319, 350, 315, 360)
Z_IDS = (29909, 29933, 29907, 29928)
LETTERS = tuple(zip(E_IDS, Z_IDS, strict=True))


@pytest.fixture(scope="module")
def vb():
    pytest.importorskip("vllm")
    return pytest.importorskip("evaluators.backends.vllm")


@pytest.fixture(scope="module")
def vo():
    """vLLM's output classes."""
    pytest.importorskip("vllm")
    from vllm.logprobs import Logprob
    from vllm.outputs import CompletionOutput, RequestOutput

    return RequestOutput, CompletionOutput, Logprob


def sample_output(vo, request_id, prompt_ids, values, sampled, cached=0, text=""):
    """A finished request as the engine returns it for max_tokens=1 with logprob_token_ids (+ the sampled token)."""
    RequestOutput, CompletionOutput, Logprob = vo
    position = {token: Logprob(logprob=value, rank=None, decoded_token=None) for token, value in values.items()}
    completion = CompletionOutput(index=0, text=text, token_ids=[sampled], cumulative_logprob=None,
                                  logprobs=[position], finish_reason="length")
    return RequestOutput(request_id=request_id, prompt=None, prompt_token_ids=list(prompt_ids), prompt_logprobs=None,
                         outputs=[completion], finished=True, num_cached_tokens=cached)


def generation_output(vo, request_id, prompt_ids, text):
    RequestOutput, CompletionOutput, _ = vo
    completion = CompletionOutput(index=0, text=text, token_ids=[1, 2], cumulative_logprob=None, logprobs=None,
                                  finish_reason="stop")
    return RequestOutput(request_id=request_id, prompt=None, prompt_token_ids=list(prompt_ids), prompt_logprobs=None,
                         outputs=[completion], finished=True)


def prompt_logprob_output(vo, request_id, ids, logprobs):
    """prompt_logprobs=1: position 0 is None, position i holds prompt token i (and maybe a top-1 token)."""
    RequestOutput, CompletionOutput, Logprob = vo
    rows = [None] + [{token: Logprob(logprob=lp, rank=2), 7: Logprob(logprob=-0.01, rank=1)}
                     for token, lp in zip(ids[1:], logprobs, strict=True)]
    completion = CompletionOutput(index=0, text="", token_ids=[5], cumulative_logprob=None, logprobs=None)
    return RequestOutput(request_id=request_id, prompt=None, prompt_token_ids=list(ids), prompt_logprobs=rows,
                         outputs=[completion], finished=True)


# ------------------------------------------------------------------ import guard (runs everywhere)
def test_loader_names_the_missing_package_when_vllm_is_absent():
    if HAS_VLLM:
        pytest.skip("vllm is installed in this environment")
    with pytest.raises(ValueError, match="backend 'vllm' is not installed.*vllm"):
        load_backend("vllm", BackendOptions(model_path="/nonexistent"))


# ------------------------------------------------------------------ engine options
def test_engine_kwargs_turn_on_prefix_caching_and_raw_logits(vb, tmp_path, data_dir):
    import vllm

    from evaluators.tiny_model import build_tiny_llama

    path = str(build_tiny_llama(tmp_path / "tiny", data_dir / "tokenizers" / "llama2", seed=0))  # no hub look-up
    options = BackendOptions(model_path=path, vllm=VLLMOptions(gpu_memory_utilization=0.5, kv_cache_gib=1.5,
                                                               max_num_seqs=8))
    kwargs = vb.engine_kwargs(options, "cuda")
    assert kwargs["enable_prefix_caching"] is True
    assert kwargs["logprobs_mode"] == "raw_logits"
    assert kwargs["dtype"] == "bfloat16"
    assert kwargs["generation_config"] == "vllm"
    assert kwargs["gpu_memory_utilization"] == 0.5
    assert kwargs["kv_cache_memory_bytes"] == 3 * 2**29
    assert kwargs["max_num_seqs"] == 8
    assert "max_model_len" not in kwargs  # unset: vLLM's default
    vllm.EngineArgs(**kwargs)  # every key is a real engine argument (no model is loaded)


def test_auto_dtype_is_float32_on_cpu(vb):
    assert vb.engine_kwargs(BackendOptions(model_path="m/m"), "cpu")["dtype"] == "float32"
    assert vb.engine_kwargs(BackendOptions(model_path="m/m", device="cpu", dtype="bfloat16"), "cpu")["dtype"] \
        == "bfloat16"


def test_logprob_method_uses_raw_logprobs(vb):
    kwargs = vb.engine_kwargs(BackendOptions(model_path="m/m", dtype="float16", score_method="logprob"), "cuda")
    assert kwargs["logprobs_mode"] == "raw_logprobs"
    assert kwargs["dtype"] == "float16"


@pytest.mark.parametrize("options, platform, message", [
    (BackendOptions(model_path="m/m", device="cpu"), "cuda", "runs on 'cuda'"),
    (BackendOptions(model_path="m/m", device="cuda"), "cpu", "runs on 'cpu'"),
    (BackendOptions(model_path="m/m", device="cuda:1"), "cuda", "CUDA_VISIBLE_DEVICES"),
    (BackendOptions(model_path="m/m", dtype="int4"), "cpu", "unknown dtype"),
])
def test_engine_kwargs_reject_bad_options(vb, options, platform, message):
    with pytest.raises(ValueError, match=message):
        vb.engine_kwargs(options, platform)


def test_model_directory_without_config_is_refused(vb, tmp_path):
    with pytest.raises(ValueError, match="no config.json"):
        vb.engine_kwargs(BackendOptions(model_path=str(tmp_path)), "cpu")


def test_constructor_refuses_a_device_the_platform_does_not_run(vb, tmp_path):
    from vllm.platforms import current_platform

    (tmp_path / "config.json").write_text("{}")
    other = "cuda" if current_platform.device_type == "cpu" else "cpu"
    with pytest.raises(ValueError, match=f"runs on {current_platform.device_type!r}"):
        vb.VLLMBackend(BackendOptions(model_path=str(tmp_path), device=other))


# ------------------------------------------------------------------ request construction
def test_max_logit_request_is_one_greedy_token_with_exact_candidate_ids(vb):
    request = ScoreRequest(ids=(1, 100, 200), candidates=LETTERS, prefix_len=2)
    [call] = vb.engine_calls([request], "max_logit")
    assert call.role == "score" and call.index == 0
    assert call.prompt == {"prompt_token_ids": [1, 100, 200]}
    params = call.params
    assert params.max_tokens == 1 and params.temperature == 0.0
    assert params.logprob_token_ids == sorted(E_IDS + Z_IDS)
    assert params.num_logprobs == 8
    assert params.prompt_logprobs is None  # generated-token values, never prompt_logprobs (vllm#8268)
    assert params.detokenize is False


def test_generate_adds_a_greedy_request_on_the_same_prompt(vb):
    request = ScoreRequest(ids=(1, 5), candidates=LETTERS, generate=True, max_new_tokens=32)
    score, generate = vb.engine_calls([request], "max_logit")
    assert (score.role, generate.role) == ("score", "generate")
    assert generate.prompt == score.prompt
    assert generate.params.max_tokens == 32 and generate.params.temperature == 0.0
    assert generate.params.skip_special_tokens is True and generate.params.logprob_token_ids is None


def test_one_token_continuations_share_one_request(vb):
    request = ScoreRequest(ids=(1, 5), candidates=((319,), (350,), (315,), (360,)), method="logprob")
    [call] = vb.engine_calls([request], "logprob")
    assert call.params.logprob_token_ids == [315, 319, 350, 360]


def test_multi_token_continuations_use_prompt_logprobs(vb):
    request = ScoreRequest(ids=(1, 5, 6), candidates=((10, 11), (12,)), method="logprob")
    calls = vb.engine_calls([request], "logprob")
    assert [c.role for c in calls] == ["continuation", "continuation"]
    assert [c.prompt["prompt_token_ids"] for c in calls] == [[1, 5, 6, 10, 11], [1, 5, 6, 12]]
    assert [c.candidate for c in calls] == [0, 1]
    assert all(c.params.prompt_logprobs == 1 and c.params.max_tokens == 1 for c in calls)


def test_method_must_match_the_engine(vb):
    request = ScoreRequest(ids=(1,), candidates=((3,),), method="logprob")
    with pytest.raises(ValueError, match="score_method"):
        vb.engine_calls([request], "max_logit")


@pytest.mark.parametrize("request_", [ScoreRequest(ids=(), candidates=LETTERS),
                                      ScoreRequest(ids=(1,), candidates=((319,), ()))])
def test_malformed_requests_are_refused(vb, request_):
    with pytest.raises(ValueError, match="request 0"):
        vb.engine_calls([request_], "max_logit")


# ------------------------------------------------------------------ result parsing
def test_max_over_alternatives_in_letter_order(vb, vo):
    request = ScoreRequest(ids=(1, 9), candidates=LETTERS, prefix_len=1)
    values = {319: 1.5, 29909: 2.25, 350: -3.0, 29933: -4.0, 315: 0.0, 29907: 7.125, 360: 0.5, 29928: 0.5}
    calls = vb.engine_calls([request], "max_logit")
    [result] = vb.assemble([request], calls, [sample_output(vo, "0", request.ids, {**values, 13: 9.0}, 13, cached=1)])
    assert result.scores == (2.25, -3.0, 7.125, 0.5)
    assert result.output is None
    assert result.prefix_reused is True


def test_ties_are_kept_as_equal_scores(vb, vo):
    request = ScoreRequest(ids=(1,), candidates=LETTERS)
    values = dict.fromkeys(E_IDS + Z_IDS, -1.0)
    calls = vb.engine_calls([request], "max_logit")
    [result] = vb.assemble([request], calls, [sample_output(vo, "0", request.ids, values, 319)])
    assert result.scores == (-1.0, -1.0, -1.0, -1.0)
    assert result.prefix_reused is False


def test_float32_values_come_through_unchanged(vb, vo):
    value = struct.unpack("f", struct.pack("f", 0.1))[0]  # a float32 value, as the engine's tensors hold
    request = ScoreRequest(ids=(1,), candidates=((319, 29909),))
    calls = vb.engine_calls([request], "max_logit")
    [result] = vb.assemble([request], calls, [sample_output(vo, "0", (1,), {319: value, 29909: -math.inf}, 319)])
    assert result.scores == (value,)


def test_a_missing_candidate_is_an_error_not_a_guess(vb, vo):
    request = ScoreRequest(ids=(1,), candidates=LETTERS)
    values = {token: 0.0 for token in E_IDS + Z_IDS if token != 29907}
    calls = vb.engine_calls([request], "max_logit")
    with pytest.raises(RuntimeError, match=r"candidate token ids \[29907\]"):
        vb.assemble([request], calls, [sample_output(vo, "0", request.ids, values, 319)])


def test_missing_logprobs_are_an_error(vb, vo):
    RequestOutput, CompletionOutput, _ = vo
    request = ScoreRequest(ids=(1,), candidates=LETTERS)
    output = RequestOutput(request_id="0", prompt=None, prompt_token_ids=[1], prompt_logprobs=None, finished=True,
                           outputs=[CompletionOutput(index=0, text="", token_ids=[3], cumulative_logprob=None,
                                                     logprobs=None)])
    with pytest.raises(RuntimeError, match="no logprobs"):
        vb.assemble([request], vb.engine_calls([request], "max_logit"), [output])


def test_generation_text_is_stripped_and_results_keep_request_order(vb, vo):
    requests = [ScoreRequest(ids=(1, 2), candidates=LETTERS, generate=True),
                ScoreRequest(ids=(1, 3), candidates=LETTERS)]
    calls = vb.engine_calls(requests, "max_logit")
    assert [(c.index, c.role) for c in calls] == [(0, "score"), (0, "generate"), (1, "score")]
    first = dict.fromkeys(E_IDS + Z_IDS, 0.0) | {350: 1.0}
    second = dict.fromkeys(E_IDS + Z_IDS, 0.0) | {29928: 2.0}
    outputs = [sample_output(vo, "0", (1, 2), first, 350), generation_output(vo, "1", (1, 2), " B. because\n"),
               sample_output(vo, "2", (1, 3), second, 29928)]
    results = vb.assemble(requests, calls, outputs)
    assert [r.scores for r in results] == [(0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 0.0, 2.0)]
    assert [r.output for r in results] == ["B. because", None]


def test_output_count_mismatch_is_an_error(vb, vo):
    request = ScoreRequest(ids=(1,), candidates=LETTERS)
    with pytest.raises(RuntimeError, match="0 outputs for 1 requests"):
        vb.assemble([request], vb.engine_calls([request], "max_logit"), [])


def test_continuation_logprobs_are_summed_over_the_continuation_only(vb, vo):
    request = ScoreRequest(ids=(1, 5, 6), candidates=((10, 11), (12,)), method="logprob")
    calls = vb.engine_calls([request], "logprob")
    outputs = [prompt_logprob_output(vo, "0", [1, 5, 6, 10, 11], [-9.0, -8.0, -0.5, -0.25]),
               prompt_logprob_output(vo, "1", [1, 5, 6, 12], [-9.0, -8.0, -2.0])]
    [result] = vb.assemble([request], calls, outputs)
    assert result.scores == (-0.75, -2.0)


def test_one_token_logprobs_read_directly(vb, vo):
    request = ScoreRequest(ids=(1, 5), candidates=((319,), (350,)), method="logprob")
    calls = vb.engine_calls([request], "logprob")
    [result] = vb.assemble([request], calls, [sample_output(vo, "0", (1, 5), {319: -1.25, 350: -0.5}, 350)])
    assert result.scores == (-1.25, -0.5)


def test_missing_prompt_logprobs_are_an_error(vb, vo):
    RequestOutput, CompletionOutput, _ = vo
    request = ScoreRequest(ids=(1, 5), candidates=((10, 11), (12,)), method="logprob")
    calls = vb.engine_calls([request], "logprob")
    bare = [RequestOutput(request_id=str(i), prompt=None, prompt_token_ids=c.prompt["prompt_token_ids"],
                          prompt_logprobs=None, finished=True,
                          outputs=[CompletionOutput(index=0, text="", token_ids=[3], cumulative_logprob=None,
                                                    logprobs=None)]) for i, c in enumerate(calls)]
    with pytest.raises(RuntimeError, match="no prompt logprobs"):
        vb.assemble([request], calls, bare)


def test_sampling_params_pass_vllms_own_validation_for_a_llama_config(vb, data_dir, tmp_path):
    """vLLM's `SamplingParams.verify` against a real `ModelConfig` of a locally built tiny LLaMA (no engine)."""
    from vllm.config import ModelConfig
    from vllm.exceptions import VLLMValidationError

    from evaluators.tiny_model import build_tiny_llama

    path = str(build_tiny_llama(tmp_path / "tiny", data_dir / "tokenizers" / "llama2", seed=0))
    kwargs = vb.engine_kwargs(BackendOptions(model_path=path), "cpu")
    config = ModelConfig(model=path, tokenizer=path, dtype="float32", logprobs_mode=kwargs["logprobs_mode"],
                         generation_config=kwargs["generation_config"])
    assert config.logprobs_mode == "raw_logits"
    requests = [ScoreRequest(ids=(1, 673, 29901), candidates=LETTERS, generate=True),
                ScoreRequest(ids=(1, 673), candidates=((319, 31999),))]
    for call in vb.engine_calls(requests, "max_logit"):
        call.params.verify(config, None, None, None)
    out_of_vocab = vb.engine_calls([ScoreRequest(ids=(1,), candidates=((32000,),))], "max_logit")[0]
    with pytest.raises(VLLMValidationError, match="out-of-vocab"):
        out_of_vocab.params.verify(config, None, None, None)
