"""The batching replay counts padding and prefix-KV bytes as the backend's batch sizing implies."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from bench.batch_layout import KV_BYTES_PER_TOKEN_7B, replay


def test_packed_batches_have_no_padding_and_read_the_prefix_once_per_batch():
    chunks = [(80, [30, 10, 10, 10, 10])]
    split = replay(chunks, packed=True, budget=100, max_rows=64)
    assert split["forwards"] == 2  # 40 + 20 + 20 + 20, then the last 10
    assert split["suffix_positions"] == split["real_suffix_tokens"] == 70
    assert split["padding_fraction"] == 0
    assert split["prefix_kv_read_gb"] == round(2 * 80 * KV_BYTES_PER_TOKEN_7B / 1e9, 1)


def test_padded_batches_pay_for_the_longest_row_and_a_buffer_per_row():
    buffer = replay([(80, [30, 10, 10, 10, 10])], packed=False, budget=100, max_rows=64)
    assert buffer["forwards"] == 2  # 100 // (30 + 10) = 2 rows, then 100 // (10 + 10) = 5 -> the 3 left
    assert buffer["suffix_positions"] == 2 * 30 + 3 * 10
    assert buffer["real_suffix_tokens"] == 70
    assert buffer["buffer_peak_gib"] > 0
