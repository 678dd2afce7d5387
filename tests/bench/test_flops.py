"""FLOP accounting used by the benchmark scripts."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bench.flops import ModelDims, full_sequence_cost, head_flops, request_cost, span_flops
from evaluators.backends.base import ScoreRequest

DIMS = ModelDims(layer_params=1000, hidden=8, layers=2, vocab=50)


def test_llama_7b_decoder_weights() -> None:
    config = SimpleNamespace(hidden_size=4096, num_hidden_layers=32, intermediate_size=11008, num_attention_heads=32,
                             num_key_value_heads=32, vocab_size=32000)
    dims = ModelDims.from_config(config)
    assert dims.layer_params == 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008)


def test_span_counts_weights_and_attended_positions() -> None:
    # 3 tokens at positions 4, 5, 6 attend to 5, 6, 7 keys
    assert span_flops(DIMS, 4, 3) == 2 * 1000 * 3 + 4 * 2 * 8 * (5 + 6 + 7)


def test_shared_prefix_counted_once_per_call() -> None:
    prefix = (1, 5, 6, 7)
    requests = [ScoreRequest(ids=prefix + (9, 10), candidates=((1,),), prefix_len=4),
                ScoreRequest(ids=prefix + (11,), candidates=((1,),), prefix_len=4)]
    tokens, flops = request_cost(DIMS, requests)
    assert tokens == 4 + 2 + 1
    expected = span_flops(DIMS, 0, 4) + span_flops(DIMS, 4, 2) + span_flops(DIMS, 4, 1) + 2 * head_flops(DIMS, 1)
    assert flops == pytest.approx(expected)


def test_full_sequences_pay_the_head_on_every_position() -> None:
    tokens, flops = full_sequence_cost(DIMS, [3, 2])
    assert tokens == 5
    assert flops == pytest.approx(span_flops(DIMS, 0, 3) + span_flops(DIMS, 0, 2) + head_flops(DIMS, 5))
