"""The contract between the run loop and a model backend.

The run loop tokenizes prompts itself (see `evaluators/tokenization.py`) and hands the backend `ScoreRequest`s:
token ids, how many leading ids a subject's requests share (for KV-prefix reuse), and the candidate ids to read.
A backend returns one `CandidateScores` per request, in request order, and never writes files or database rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from evaluators.records import CandidateScores

ScoreMethod = Literal["max_logit", "logprob"]


@dataclass(frozen=True)
class ScoreRequest:
    """One question to score."""

    ids: tuple[int, ...]
    """Full prompt token ids (special tokens included as the template's tokenizer policy says)."""
    candidates: tuple[tuple[int, ...], ...]
    """Per class letter, the token ids to read. `max_logit`: alternative single-token ids whose raw logits at the
    last position are max-ed (ColossalEval: "Answer: X" and "答案：X"). `logprob`: the continuation's ids, whose
    log-probabilities are summed (lm-evaluation-harness)."""
    method: ScoreMethod = "max_logit"
    prefix_len: int = 0
    """Number of leading ids that equal the subject's shared prefix ids (0: no reuse for this request)."""
    generate: bool = False
    """Also decode greedily (up to `max_new_tokens`) and return the text in `CandidateScores.output`."""
    max_new_tokens: int = 32


ProgressCallback = Callable[[int], None]
"""Called with the number of requests finished since the last call."""


class Backend(Protocol):
    """What every backend implements (transformers: `hf.py`; vLLM: `vllm.py`)."""

    name: str
    info: dict[str, Any]
    """Facts for the reproducibility record: dtype, device, attention implementation, parameter count, versions."""

    def score(self, requests: Sequence[ScoreRequest], on_progress: ProgressCallback | None = None) -> list[CandidateScores]:
        """Score every request; results in request order."""
        ...

    def close(self) -> None:
        """Release the model (GPU memory)."""
        ...


@dataclass
class BackendOptions:
    """How to load a model; shared by all backends."""

    model_path: str
    device: str = "auto"  # "cpu", "cuda", "cuda:1", or "auto" (cuda when available)
    dtype: str = "auto"  # "float32", "bfloat16", "float16", or "auto" (float32 on CPU, bfloat16 on GPU)
    allow_remote_code: bool = False
    revision: str | None = None
    max_batch_tokens: int = 16384  # token budget per batch of suffixes; halved on out-of-memory
    max_batch_size: int = 64
    extra: dict[str, Any] = field(default_factory=dict)
