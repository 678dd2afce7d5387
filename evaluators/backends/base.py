"""The contract between the run loop and a model backend.

The run loop tokenizes prompts itself (see `evaluators/tokenization.py`) and hands the backend `ScoreRequest`s:
token ids, how many leading ids a subject's requests share (for KV-prefix reuse), and the candidate ids to read.
A backend returns one `CandidateScores` per request, in request order, and never writes files or database rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from evaluators.backends.options import BackendOptions, ScoreMethod, VLLMOptions
from evaluators.records import CandidateScores

__all__ = ["Backend", "BackendOptions", "ProgressCallback", "ScoreMethod", "ScoreRequest", "VLLMOptions"]


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
    model_path: str
    """The model directory (or Hub id) loaded; the run loop loads its tokenizer from here."""
    revision: str | None
    info: dict[str, Any]
    """Facts for the reproducibility record: dtype, device, attention implementation, parameter count, versions."""

    def score(self, requests: Sequence[ScoreRequest], on_progress: ProgressCallback | None = None) -> list[CandidateScores]:
        """Score every request; results in request order."""
        ...

    def close(self) -> None:
        """Release the model (GPU memory)."""
        ...

