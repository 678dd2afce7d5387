"""How a backend is loaded: typed, frozen options (hashable, so the worker's backend cache keys on them).

`BackendOptions` holds what every backend reads plus the transformers backend's knobs; `VLLMOptions` the vLLM
engine's. `backend_options` is the one builder the CLI (`cbench eval`) and the worker use: the score method comes
from the template, the vLLM engine defaults from the settings object (`app/core/config.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from app.core.config import Settings

ScoreMethod = Literal["max_logit", "logprob"]
PrefixAttention = Literal["split", "buffer"]
SCORE_METHODS: tuple[str, ...] = ("max_logit", "logprob")
PREFIX_ATTENTION_MODES: tuple[str, ...] = ("split", "buffer")


@dataclass(frozen=True)
class VLLMOptions:
    """vLLM engine options; None leaves vLLM's own default."""

    gpu_memory_utilization: float | None = None
    """CUDA: the fraction of GPU memory the engine may use. CPU: the fraction of host memory it reserves."""
    max_model_len: int | None = None
    """Longest prompt + generation the engine accepts (None: the model's `max_position_embeddings`)."""
    max_num_seqs: int | None = None
    """Sequences scheduled together."""
    max_num_batched_tokens: int | None = None
    """Tokens per engine step."""
    kv_cache_gib: float | None = None
    """KV cache size in GiB (`kv_cache_memory_bytes`); on CPU it replaces the memory-fraction sizing."""
    tensor_parallel_size: int | None = None
    enforce_eager: bool | None = None
    """Skip torch.compile / CUDA graphs: a much faster engine start, for tests and short runs."""
    chunk_size: int = 1024
    """Requests handed to one `LLM.generate` call."""

    def __post_init__(self) -> None:
        if self.gpu_memory_utilization is not None and not 0 < self.gpu_memory_utilization <= 1:
            raise ValueError(f"gpu_memory_utilization must be in (0, 1], got {self.gpu_memory_utilization}")
        for name in ("max_model_len", "max_num_seqs", "max_num_batched_tokens", "tensor_parallel_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value}")
        if self.kv_cache_gib is not None and self.kv_cache_gib <= 0:
            raise ValueError(f"kv_cache_gib must be positive, got {self.kv_cache_gib}")
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive integer, got {self.chunk_size}")


@dataclass(frozen=True)
class BackendOptions:
    """How to load a model; shared by all backends."""

    model_path: str
    device: str = "auto"  # "cpu", "cuda", "cuda:1", or "auto" (cuda when available)
    dtype: str = "auto"  # "float32", "bfloat16", "float16", or "auto" (float32 on CPU, bfloat16 on GPU)
    allow_remote_code: bool = False
    revision: str | None = None
    score_method: ScoreMethod = "max_logit"
    """The template's scoring method; the vLLM engine serves one (its `logprobs_mode` is engine-wide)."""
    max_batch_tokens: int = 16384  # transformers: token budget per batch of suffixes
    max_batch_size: int = 64  # transformers: questions per batch
    prefix_attention: PrefixAttention = "split"  # transformers: see `evaluators/backends/prefix_attention.py`
    attn_implementation: str | None = None  # transformers: None picks one for the device and dtype
    vllm: VLLMOptions = field(default_factory=VLLMOptions)

    def __post_init__(self) -> None:
        if self.score_method not in SCORE_METHODS:
            raise ValueError(f"unknown score_method {self.score_method!r}; valid: {', '.join(SCORE_METHODS)}")
        if self.prefix_attention not in PREFIX_ATTENTION_MODES:
            raise ValueError(f"unknown prefix_attention {self.prefix_attention!r}; "
                             f"valid: {', '.join(PREFIX_ATTENTION_MODES)}")


def vllm_options(settings: Settings) -> VLLMOptions:
    """The vLLM engine options the settings object gives (`CBENCH_VLLM_*`)."""
    return VLLMOptions(gpu_memory_utilization=settings.vllm_gpu_memory_utilization,
                       max_model_len=settings.vllm_max_model_len, max_num_seqs=settings.vllm_max_num_seqs,
                       kv_cache_gib=settings.vllm_kv_cache_gib, enforce_eager=settings.vllm_enforce_eager)


def backend_options(settings: Settings, *, model_path: str, template: str, device: str, dtype: str = "auto",
                    revision: str | None = None, allow_remote_code: bool | None = None,
                    max_batch_tokens: int | None = None) -> BackendOptions:
    """The options to load `model_path` for a run of `template` (the one builder of CLI and worker)."""
    from evaluators.templates import get_template

    return BackendOptions(
        model_path=model_path, device=device, dtype=dtype, revision=revision,
        allow_remote_code=settings.allow_remote_code if allow_remote_code is None else allow_remote_code,
        score_method=get_template(template).scoring_method,
        max_batch_tokens=max_batch_tokens or BackendOptions.max_batch_tokens,
        vllm=vllm_options(settings))
