"""Version-neutral few-shot prefix KV caches (transformers 4.51 and 5.x).

A subject's prefix is run once. For its suffix batches, `SharedPrefixCache` holds one preallocated key/value buffer
per layer, `[rows, kv_heads, prefix + width, head_dim]`, whose first `prefix` positions are filled once per subject;
each batch only writes its suffix keys/values behind them and attends to a view of the buffer. Compared with handing
every batch a fresh `DynamicCache` of expanded prefix tensors (whose concatenation copies the whole prefix once per
question), this removes a prefix-sized copy per question: on a 7B model with a 2,500-token MMLU prefix that copy is
about 1.2 GB of memory traffic per question. The layers of the underlying `DynamicCache` keep the batch-1 prefix,
so its length bookkeeping (masks, cache positions) is the stock one.

This is the backend's `prefix_attention="buffer"` mode, kept as the baseline of the default `split` mode
(`prefix_attention.py`), which needs no per-row copy at all. `empty_cache`, `output_cache` and `cache_tensors` serve
both modes (the prefix forward).
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import DynamicCache

KVLayers = list[tuple[torch.Tensor, torch.Tensor]]


def empty_cache() -> DynamicCache:
    return DynamicCache()


def output_cache(output: Any) -> Any:
    """The cache a decoder returned (`cache` in transformers >= 5.2x, `past_key_values` before)."""
    return output.get("cache") if output.get("cache") is not None else output.get("past_key_values")


def cache_tensors(cache: Any) -> KVLayers:
    """Per-layer (key, value) tensors of a filled cache, whatever the transformers version."""
    if hasattr(cache, "layers"):  # transformers >= 4.56
        return [(layer.keys, layer.values) for layer in cache.layers]
    if hasattr(cache, "key_cache"):  # transformers 4.51
        return list(zip(cache.key_cache, cache.value_cache, strict=True))
    return [(k, v) for k, v in cache]  # legacy tuple format


class SharedPrefixCache(DynamicCache):
    """A cache for suffix batches after one shared prefix; see the module docstring.

    `rows` and `width` bound every batch this cache serves (batches are length-sorted, so the first is the widest).
    """

    def __init__(self, prefix: KVLayers, rows: int, width: int) -> None:
        super().__init__([(k, v) for k, v in prefix])
        self.prefix_len = prefix[0][0].shape[-2]
        self.rows, self.width = rows, width
        self._buffers: KVLayers = []
        for key, value in prefix:
            shape = (rows, key.shape[1], self.prefix_len + width, key.shape[3])
            key_buffer, value_buffer = key.new_empty(shape), value.new_empty(shape)
            key_buffer[:, :, : self.prefix_len] = key
            value_buffer[:, :, : self.prefix_len] = value
            self._buffers.append((key_buffer, value_buffer))

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, layer_idx: int, *args: Any,
               **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        rows, _, width, _ = key_states.shape
        if rows > self.rows or width > self.width:
            raise ValueError(f"batch {rows}x{width} exceeds the shared-prefix buffer {self.rows}x{self.width}")
        end = self.prefix_len + width
        key_buffer, value_buffer = self._buffers[layer_idx]
        key_buffer[:rows, :, self.prefix_len:end] = key_states
        value_buffer[:rows, :, self.prefix_len:end] = value_states
        return key_buffer[:rows, :, :end], value_buffer[:rows, :, :end]
