"""Count the arithmetic a scoring run does, for FLOP-rate figures.

Formula (forward pass, multiply-add = 2 FLOPs), with `P` = weights of the decoder layers (attention and MLP
projections; embeddings and norms excluded), `d` = hidden size, `l` = layers, `V` = vocabulary:

- every token processed costs `2 P` plus attention `4 l d p` (scores and weighted sum over the `p` earlier
  positions it attends to, its own included);
- every position that goes through the LM head costs `2 d V`: one row per question in our backend (last position
  only), every position in lm-evaluation-harness (it computes the full logits).

`MeteredBackend` wraps a backend and applies this to the requests it is asked to score, mirroring the transformers
backend's work: per `score()` call, a shared prefix (`prefix_len`) is run once per distinct prefix, then each
suffix; padding is not counted (it is waste, and lowers the achieved rate). The wall time inside `score()` is kept,
and the process CPU time (all threads; on a shared machine it counts only the time the scheduler gave us).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evaluators.backends.base import Backend, ScoreRequest
from evaluators.records import CandidateScores


@dataclass(frozen=True)
class ModelDims:
    layer_params: int  # P
    hidden: int  # d
    layers: int  # l
    vocab: int  # V

    @classmethod
    def from_config(cls, config: Any) -> ModelDims:
        d, layers, inter = config.hidden_size, config.num_hidden_layers, config.intermediate_size
        heads = config.num_attention_heads
        kv_heads = getattr(config, "num_key_value_heads", None) or heads
        head_dim = getattr(config, "head_dim", None) or d // heads
        attention = d * heads * head_dim * 2 + d * kv_heads * head_dim * 2  # q, o + k, v
        return cls(layer_params=layers * (attention + 3 * d * inter), hidden=d, layers=layers,
                   vocab=config.vocab_size)


def span_flops(dims: ModelDims, start: int, length: int) -> float:
    """FLOPs of running `length` tokens at positions start .. start+length-1 (without the LM head)."""
    positions = length * start + length * (length + 1) / 2  # sum of attended keys: p + 1 for position p
    return 2.0 * dims.layer_params * length + 4.0 * dims.layers * dims.hidden * positions


def head_flops(dims: ModelDims, rows: int) -> float:
    return 2.0 * dims.hidden * dims.vocab * rows


def request_cost(dims: ModelDims, requests: Sequence[ScoreRequest]) -> tuple[int, float]:
    """(tokens processed, FLOPs) of scoring `requests` in one `score()` call of the transformers backend."""
    prefixes: set[tuple[int, ...]] = set()
    tokens, flops = 0, 0.0
    for request in requests:
        prefix_len = request.prefix_len if 0 < request.prefix_len < len(request.ids) else 0
        if prefix_len and request.ids[:prefix_len] not in prefixes:
            prefixes.add(request.ids[:prefix_len])
            tokens += prefix_len
            flops += span_flops(dims, 0, prefix_len)
        suffix = len(request.ids) - prefix_len
        tokens += suffix
        flops += span_flops(dims, prefix_len, suffix) + head_flops(dims, 1)
        for continuation in request.candidates if request.method == "logprob" else ():
            if len(continuation) > 1:  # one extra full pass with full logits
                extra = len(request.ids) + len(continuation) - 1
                tokens += extra
                flops += span_flops(dims, 0, extra) + head_flops(dims, extra)
    return tokens, flops


def full_sequence_cost(dims: ModelDims, lengths: Sequence[int]) -> tuple[int, float]:
    """(tokens, FLOPs) of full forward passes with full logits, one per sequence (lm-evaluation-harness)."""
    return sum(lengths), sum(span_flops(dims, 0, n) + head_flops(dims, n) for n in lengths)


class MeteredBackend:
    """A backend wrapper that adds up scoring time, tokens and FLOPs (see the module docstring)."""

    def __init__(self, backend: Backend, dims: ModelDims) -> None:
        self.backend = backend
        self.dims = dims
        self.name = backend.name
        self.model_path, self.revision = backend.model_path, backend.revision
        self.info = backend.info
        self.seconds = 0.0
        self.cpu_seconds = 0.0
        self.tokens = 0
        self.flops = 0.0
        self.requests = 0
        self.lengths: list[int] = []  # full prompt length of every request (what a no-reuse run would process)

    def score(self, requests: Sequence[ScoreRequest], on_progress: Any = None) -> list[CandidateScores]:
        tokens, flops = request_cost(self.dims, requests)
        start, cpu_start = time.perf_counter(), time.process_time()
        result = self.backend.score(requests, on_progress)
        self.seconds += time.perf_counter() - start
        self.cpu_seconds += time.process_time() - cpu_start
        self.tokens += tokens
        self.flops += flops
        self.requests += len(requests)
        self.lengths.extend(len(r.ids) for r in requests)
        return result

    def close(self) -> None:
        self.backend.close()
