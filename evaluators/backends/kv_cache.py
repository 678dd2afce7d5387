"""Version-neutral helpers for the few-shot prefix KV cache (transformers 4.51 and 5.x).

The prefix of a subject is run once; its per-layer key/value tensors are then handed to every suffix batch as a
fresh `DynamicCache` whose tensors are batch-expanded views (no copy until the model concatenates the suffix).
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import DynamicCache


def make_cache(layers: list[tuple[torch.Tensor, torch.Tensor]] | None) -> DynamicCache:
    """A `DynamicCache`, optionally pre-filled with per-layer (key, value) tensors."""
    return DynamicCache(layers) if layers is not None else DynamicCache()


def prefix_cache_tensors(cache: Any) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per-layer (key, value) tensors of a filled cache, whatever the transformers version."""
    if hasattr(cache, "layers"):  # transformers >= 4.56
        return [(layer.keys, layer.values) for layer in cache.layers]
    if hasattr(cache, "key_cache"):  # transformers 4.51
        return list(zip(cache.key_cache, cache.value_cache, strict=True))
    return [(k, v) for k, v in cache]  # legacy tuple format


def expand_cache(layers: list[tuple[torch.Tensor, torch.Tensor]], batch: int) -> DynamicCache:
    """A new cache holding the prefix for `batch` rows (expanded views of the batch-1 tensors)."""
    return make_cache([(k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1)) for k, v in layers])
