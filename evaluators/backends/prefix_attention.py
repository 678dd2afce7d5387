"""Shared-prefix attention over packed suffixes: no per-row prefix copies, no padding in the matmuls.

A subject's few-shot prefix is identical for all of its questions. Softmax attention over `prefix + suffix` keys
splits exactly into two attentions merged by their log-sum-exp (the decomposition behind vLLM's cascade attention
and Hydragen):

    out = out_p * exp(lse_p - lse) + out_s * exp(lse_s - lse),   lse = logaddexp(lse_p, lse_s)

A batch of suffixes is packed into one sequence of `T` real tokens (no padding: the projections and the MLP, which
are most of the FLOPs, run on real tokens only), with position ids restarting after the prefix for each suffix.

* prefix part: all `T` queries attend to the single batch-1 prefix KV with no mask. Query heads that share a KV head
  are folded into one long sequence (`[1, kv_heads, groups * T, head_dim]`), so the prefix keys and values are read
  once per batch, never copied per question, and the kernel needs no mask (flash kernel eligible);
* suffix part: each suffix's causal self-attention. The packed queries/keys/values are scattered into a
  right-padded `[rows, heads, width, head_dim]` layout (a suffix-sized copy), run through a causal kernel, and
  gathered back; padding is never attended to by a real position under the causal rule.

`attention_with_lse` picks PyTorch's fused kernels that also return the log-sum-exp (CUDA flash for fp16/bf16,
CUDA memory-efficient for float32, the CPU flash kernel on CPU) and falls back to an explicit float32 computation
when a fused kernel refuses the inputs. These are PyTorch's private `aten` ops, the same ones SDPA dispatches to.

The Hugging Face side: `register()` adds `SHARED_PREFIX_ATTENTION` to transformers' `AttentionInterface`;
`attention_override(config)` switches a model to it for the duration of a forward, and a `PrefixBatch` travels to
every attention layer as the `cbench_shared_prefix` keyword (transformers 4.51 and 5.x pass extra forward keywords
through to the attention function). The caller passes a placeholder 4-D attention mask, which both transformers
versions take as "already prepared" and so build no `T x T` mask; this attention reads no mask.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

SHARED_PREFIX_ATTENTION = "cbench_shared_prefix"
PREFIX_KWARG = "cbench_shared_prefix"


class SplitAttentionUnsupported(ValueError):
    """The model's attention needs something the split attention does not do (softcapping, a sliding window shorter
    than prefix + suffix, attention sinks); the backend then uses its buffer mode."""


class SlidingWindowExceeded(SplitAttentionUnsupported):
    """A batch spans more than the model's sliding window: only this batch's prefix group needs the buffer mode (a
    shorter prompt of the same model still fits the split attention)."""


@dataclass
class SharedPrefix:
    """One subject's prefix keys/values per layer, each `[1, kv_heads, prefix_len, head_dim]`; None for requests
    without a shared prefix (zero-shot prompts, prefix fallbacks), which are packed all the same."""

    layers: list[tuple[torch.Tensor, torch.Tensor]] | None
    kernels: set[str] = field(default_factory=set)
    """Names of the kernels `attention_with_lse` used (filled while scoring; for the reproducibility record)."""
    calls: int = 0
    """Attention layers run through `shared_prefix_attention_forward` so far (the caller checks every layer did)."""

    @property
    def length(self) -> int:
        return self.layers[0][0].shape[-2] if self.layers else 0


@dataclass(frozen=True)
class PackedRows:
    """Where each token of a packed batch sits in the right-padded `[rows, width]` layout."""

    row: torch.Tensor  # [T] long
    col: torch.Tensor  # [T] long
    rows: int
    width: int

    @classmethod
    def from_lengths(cls, lengths: list[int], device: torch.device | str = "cpu") -> PackedRows:
        row = torch.repeat_interleave(torch.arange(len(lengths)), torch.tensor(lengths))
        col = torch.cat([torch.arange(n) for n in lengths])
        return cls(row=row.to(device), col=col.to(device), rows=len(lengths), width=max(lengths))

    def pad(self, packed: torch.Tensor) -> torch.Tensor:
        """`[1, heads, T, dim]` -> `[rows, heads, width, dim]` (zeros where a suffix is shorter than `width`)."""
        _, heads, _, dim = packed.shape
        padded = packed.new_zeros(self.rows, heads, self.width, dim)
        padded[self.row, :, self.col] = packed[0].transpose(0, 1)
        return padded

    def unpad(self, padded: torch.Tensor) -> torch.Tensor:
        """`[rows, heads, width, ...]` -> `[1, heads, T, ...]`, the inverse of `pad` on real positions."""
        return padded[self.row, :, self.col].transpose(0, 1).unsqueeze(0)


@dataclass(frozen=True)
class PrefixBatch:
    """What the attention layers need for one packed batch: the subject's prefix and the batch's layout."""

    prefix: SharedPrefix
    packed: PackedRows


# ---------------------------------------------------------------------------------------------- kernels
def _math_attention_with_lse(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool, scale: float,
                             mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    scores = torch.matmul(q.float(), k.float().transpose(-1, -2)) * scale
    if mask is not None:
        scores = scores + mask.float()
    elif causal:
        q_len, k_len = scores.shape[-2:]
        allowed = torch.ones(q_len, k_len, dtype=torch.bool, device=q.device).tril()
        scores = scores.masked_fill(~allowed, float("-inf"))
    lse = torch.logsumexp(scores, dim=-1)
    out = torch.matmul(torch.softmax(scores, dim=-1), v.float())
    return out.to(q.dtype), lse


def attention_with_lse(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, causal: bool, scale: float,
                       kernels: set[str] | None = None,
                       mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention output `[B, H, Lq, D]` and float32 log-sum-exp `[B, H, Lq]`; q, k, v have equal head counts.

    `causal` is top-left aligned (query i sees keys 0..i), which is what both uses here need: the prefix part is not
    causal and the suffix part has `Lq == Lk`. `mask` (additive `[Lq, Lk]`, CPU kernel or math only) replaces it.
    """
    q_len = q.shape[-2]
    name, result = "math", None
    try:
        if mask is not None and q.device.type != "cpu":
            pass  # the CUDA kernels used here take no mask: the math fallback below
        elif q.device.type == "cuda" and q.dtype in (torch.float16, torch.bfloat16) and q.shape[-1] % 8 == 0 \
                and q.shape[-1] <= 256:
            name = "flash"
            out = torch.ops.aten._scaled_dot_product_flash_attention(q, k, v, 0.0, causal, False, scale=scale)
            result = out[0], out[1]
        elif q.device.type == "cuda":
            name = "efficient"
            out = torch.ops.aten._scaled_dot_product_efficient_attention(q, k, v, None, True, 0.0, causal, scale=scale)
            result = out[0], out[1]
        elif q.device.type == "cpu":
            name = "cpu_flash"
            out = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(
                q, k, v, 0.0, causal and mask is None, attn_mask=mask, scale=scale)
            result = out[0], out[1]
    except torch.OutOfMemoryError:
        raise  # the caller halves its batch; the explicit fallback would need more memory still
    except (RuntimeError, NotImplementedError, AttributeError):
        result = None  # the fused kernel refuses these inputs (dtype, head size, build)
    if result is None or result[1].shape[-1] < q_len:
        name = "math"
        result = _math_attention_with_lse(q, k, v, causal, scale, mask)
    if kernels is not None:
        kernels.add(name)
    out, lse = result
    return out, lse[..., :q_len].float()  # the memory-efficient kernel pads the lse length to a multiple of 32


def merge_attention(out_a: torch.Tensor, lse_a: torch.Tensor, out_b: torch.Tensor,
                    lse_b: torch.Tensor) -> torch.Tensor:
    """Exact softmax attention over the union of two disjoint key sets, from each part's output and log-sum-exp."""
    lse = torch.logaddexp(lse_a, lse_b)
    weight_a = torch.exp(lse_a - lse).unsqueeze(-1)
    weight_b = torch.exp(lse_b - lse).unsqueeze(-1)
    return (out_a.float() * weight_a + out_b.float() * weight_b).to(out_a.dtype)


def prefix_attention(query: torch.Tensor, prefix_key: torch.Tensor, prefix_value: torch.Tensor, *, scale: float,
                     kernels: set[str] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Every query `[B, H, L, D]` attends to the whole batch-1 prefix `[1, Hkv, P, D]`: output and lse."""
    rows, heads, q_len, dim = query.shape
    kv_heads = prefix_key.shape[1]
    groups = heads // kv_heads
    # Fold (group, row, position) into one query sequence per KV head: no mask, the prefix is read once.
    folded = query.view(rows, kv_heads, groups, q_len, dim).permute(1, 2, 0, 3, 4).reshape(1, kv_heads, -1, dim)
    out, lse = attention_with_lse(folded, prefix_key, prefix_value, causal=False, scale=scale, kernels=kernels)
    out = out.reshape(kv_heads, groups, rows, q_len, dim).permute(2, 0, 1, 3, 4).reshape(rows, heads, q_len, dim)
    lse = lse.reshape(kv_heads, groups, rows, q_len).permute(2, 0, 1, 3).reshape(rows, heads, q_len)
    return out, lse


def split_prefix_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, prefix_key: torch.Tensor,
                           prefix_value: torch.Tensor, packed: PackedRows, *, scale: float,
                           kernels: set[str] | None = None) -> torch.Tensor:
    """Attention of packed suffix tokens over `prefix + own causal suffix`; returns `[1, H, T, D]`.

    query `[1, H, T, D]`; key/value `[1, Hkv, T, D]` (the suffixes' own, packed as `packed` says); prefix key/value
    `[1, Hkv, P, D]`; H = groups * Hkv.
    """
    out_p, lse_p = prefix_attention(query, prefix_key, prefix_value, scale=scale, kernels=kernels)
    out_s, lse_s = packed_causal_attention(query, key, value, packed, scale=scale, kernels=kernels)
    return merge_attention(out_p, lse_p, out_s, lse_s)


def packed_causal_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, packed: PackedRows, *,
                            scale: float, kernels: set[str] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Each packed suffix's causal self-attention (query `[1, H, T, D]`, key/value `[1, Hkv, T, D]`): output
    `[1, H, T, D]` and log-sum-exp `[1, H, T]`, through a padded `[rows, H, width, D]` layout.

    On CPU the query heads that share a KV head are folded into one query sequence `[rows, Hkv, groups * width, D]`
    under a causal mask repeated per group, so the keys/values are not copied `groups` times (same result: each
    query row sees the same keys with the same scores)."""
    groups = query.shape[1] // key.shape[1]
    padded_key, padded_value = packed.pad(key), packed.pad(value)
    if groups > 1 and query.device.type == "cpu":
        padded_query = packed.pad(query)
        rows, heads, width, dim = padded_query.shape
        folded = padded_query.view(rows, heads // groups, groups * width, dim)
        allowed = torch.ones(width, width, dtype=torch.bool, device=query.device).tril().repeat(groups, 1)
        mask = torch.zeros(groups * width, width, dtype=query.dtype, device=query.device)
        mask.masked_fill_(~allowed, float("-inf"))
        out, lse = attention_with_lse(folded, padded_key, padded_value, causal=True, scale=scale, kernels=kernels,
                                      mask=mask)
        return packed.unpad(out.reshape(rows, heads, width, dim)), packed.unpad(lse.reshape(rows, heads, width))
    if groups > 1:
        padded_key = padded_key.repeat_interleave(groups, dim=1)
        padded_value = padded_value.repeat_interleave(groups, dim=1)
    out, lse = attention_with_lse(packed.pad(query), padded_key, padded_value, causal=True, scale=scale,
                                  kernels=kernels)
    return packed.unpad(out), packed.unpad(lse)


# ---------------------------------------------------------------------------------------------- transformers glue
def shared_prefix_attention_forward(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor,
                                    value: torch.Tensor, attention_mask: torch.Tensor | None, dropout: float = 0.0,
                                    scaling: float | None = None, **kwargs: Any) -> tuple[torch.Tensor, None]:
    """An `AttentionInterface` function: `key`/`value` are the packed suffixes' own; the prefix and the packing come
    from the keyword; `attention_mask` (a placeholder) is not read."""
    batch: PrefixBatch | None = kwargs.get(PREFIX_KWARG)
    if batch is None:
        raise ValueError(f"the {SHARED_PREFIX_ATTENTION} attention needs the {PREFIX_KWARG} keyword")
    check_supported(module, kwargs, batch.prefix.length + batch.packed.width)
    batch.prefix.calls += 1
    scale = scaling if scaling is not None else query.shape[-1] ** -0.5
    if batch.prefix.layers is None:
        out, _ = packed_causal_attention(query, key, value, batch.packed, scale=scale, kernels=batch.prefix.kernels)
    else:
        prefix_key, prefix_value = batch.prefix.layers[module.layer_idx]
        out = split_prefix_attention(query, key, value, prefix_key, prefix_value, batch.packed, scale=scale,
                                     kernels=batch.prefix.kernels)
    return out.transpose(1, 2).contiguous(), None


def check_supported(module: torch.nn.Module, kwargs: dict[str, Any], span: int) -> None:
    """Raise `SplitAttentionUnsupported` for attention variants this implementation would get wrong."""
    if getattr(module, "layer_idx", None) is None:
        raise SplitAttentionUnsupported("the attention module has no layer_idx")
    if kwargs.get("softcap") is not None:
        raise SplitAttentionUnsupported(f"attention logit softcapping ({kwargs['softcap']})")
    if kwargs.get("s_aux") is not None:
        raise SplitAttentionUnsupported("attention sinks")
    window = kwargs.get("sliding_window")
    if window is not None and window < span:
        raise SlidingWindowExceeded(f"sliding window {window} < prefix + suffix {span}")


_registered = False


def register() -> None:
    """Make `SHARED_PREFIX_ATTENTION` a valid attention implementation name (idempotent)."""
    global _registered
    if not _registered:
        from transformers import AttentionInterface

        AttentionInterface.register(SHARED_PREFIX_ATTENTION, shared_prefix_attention_forward)
        _registered = True


@contextlib.contextmanager
def attention_override(config: Any) -> Iterator[None]:
    """Run the model's attention layers through `shared_prefix_attention_forward` inside the block."""
    register()
    previous = config._attn_implementation
    config._attn_implementation = SHARED_PREFIX_ATTENTION
    try:
        yield
    finally:
        config._attn_implementation = previous
