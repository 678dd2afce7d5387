"""Shared-prefix (split) attention equals ordinary masked attention over prefix + suffix."""

from __future__ import annotations

import dataclasses

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from evaluators.backends.base import ScoreRequest  # noqa: E402
from evaluators.backends.prefix_attention import (  # noqa: E402
    PackedRows,
    attention_with_lse,
    merge_attention,
    split_prefix_attention,
)


def _reference(query, key, value, prefix_key, prefix_value, lengths, scale):
    """Per suffix, plain SDPA over `prefix + suffix` keys with a prefix-visible, causal-suffix mask; packed result."""
    groups = query.shape[1] // prefix_key.shape[1]
    outputs, offset = [], 0
    for length in lengths:
        span = slice(offset, offset + length)
        keys = torch.cat([prefix_key, key[:, :, span]], dim=2).repeat_interleave(groups, dim=1)
        values = torch.cat([prefix_value, value[:, :, span]], dim=2).repeat_interleave(groups, dim=1)
        prefix_len = prefix_key.shape[2]
        mask = torch.ones(length, prefix_len + length, dtype=torch.bool)
        mask[:, prefix_len:] = torch.ones(length, length, dtype=torch.bool).tril()
        outputs.append(F.scaled_dot_product_attention(query[:, :, span], keys, values, attn_mask=mask, scale=scale))
        offset += length
    return torch.cat(outputs, dim=2)


LENGTHS = [9, 5, 1, 4]


def _tensors(heads=8, kv_heads=2, prefix_len=17, dim=16, dtype=torch.float32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    total = sum(LENGTHS)

    def randn(*shape):
        return torch.randn(*shape, generator=generator).to(dtype)

    return (randn(1, heads, total, dim), randn(1, kv_heads, total, dim), randn(1, kv_heads, total, dim),
            randn(1, kv_heads, prefix_len, dim), randn(1, kv_heads, prefix_len, dim))


def test_packed_rows_pad_and_unpad_are_inverse():
    packed = PackedRows.from_lengths(LENGTHS)
    assert (packed.rows, packed.width) == (4, 9)
    assert packed.row.tolist() == [0] * 9 + [1] * 5 + [2] + [3] * 4
    values = torch.arange(sum(LENGTHS) * 2, dtype=torch.float32).view(1, 1, -1, 2)
    padded = packed.pad(values)
    assert padded.shape == (4, 1, 9, 2)
    assert padded[2, 0, 1:].abs().sum() == 0  # the one-token suffix is padded with zeros
    torch.testing.assert_close(packed.unpad(padded), values)


@pytest.mark.parametrize("heads,kv_heads", [(4, 4), (8, 2), (6, 1)])
def test_split_attention_equals_masked_attention_per_suffix(heads, kv_heads):
    query, key, value, pk, pv = _tensors(heads=heads, kv_heads=kv_heads)
    kernels: set[str] = set()
    out = split_prefix_attention(query, key, value, pk, pv, PackedRows.from_lengths(LENGTHS), scale=0.25,
                                 kernels=kernels)
    torch.testing.assert_close(out, _reference(query, key, value, pk, pv, LENGTHS, 0.25), atol=2e-6, rtol=1e-5)
    assert kernels == {"cpu_flash"}


def test_math_fallback_agrees_with_the_fused_cpu_kernel(monkeypatch):
    tensors = _tensors(kv_heads=8)
    packed = PackedRows.from_lengths(LENGTHS)
    fused = split_prefix_attention(*tensors, packed, scale=0.25)

    def refuse(*args, **kwargs):
        raise RuntimeError("kernel refuses these inputs")

    monkeypatch.setattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", refuse)
    kernels: set[str] = set()
    fallback = split_prefix_attention(*tensors, packed, scale=0.25, kernels=kernels)
    assert kernels == {"math"}
    torch.testing.assert_close(fallback, fused, atol=2e-6, rtol=1e-5)


def test_out_of_memory_in_the_fused_kernel_is_not_turned_into_the_fallback(monkeypatch):
    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("no memory")

    monkeypatch.setattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", out_of_memory)
    query, key, value, _, _ = _tensors(heads=2, kv_heads=2)
    with pytest.raises(torch.OutOfMemoryError):
        attention_with_lse(query, key, value, causal=True, scale=0.3)


def test_attention_with_lse_returns_the_log_sum_exp():
    query, key, value, _, _ = _tensors(heads=4, kv_heads=4)
    out, lse = attention_with_lse(query, key, value, causal=True, scale=0.3)
    scores = (query @ key.transpose(-1, -2)) * 0.3
    total = sum(LENGTHS)
    scores = scores.masked_fill(~torch.ones(total, total, dtype=torch.bool).tril(), float("-inf"))
    torch.testing.assert_close(lse, torch.logsumexp(scores, -1), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out, torch.softmax(scores, -1) @ value, atol=2e-6, rtol=1e-5)


def test_merge_of_two_halves_is_attention_over_the_union():
    query, key, value, _, _ = _tensors(heads=2, kv_heads=2)
    half = 7
    out_a, lse_a = attention_with_lse(query, key[:, :, :half], value[:, :, :half], causal=False, scale=0.5)
    out_b, lse_b = attention_with_lse(query, key[:, :, half:], value[:, :, half:], causal=False, scale=0.5)
    merged = merge_attention(out_a, lse_a, out_b, lse_b)
    torch.testing.assert_close(merged, F.scaled_dot_product_attention(query, key, value, scale=0.5),
                               atol=2e-6, rtol=1e-5)


def test_bfloat16_split_attention_stays_close_to_float32():
    tensors32 = _tensors(seed=5)
    packed = PackedRows.from_lengths(LENGTHS)
    out32 = split_prefix_attention(*tensors32, packed, scale=0.25)
    out16 = split_prefix_attention(*(t.to(torch.bfloat16) for t in tensors32), packed, scale=0.25)
    assert out16.dtype == torch.bfloat16
    torch.testing.assert_close(out16.float(), out32, atol=3e-2, rtol=3e-2)


# ---------------------------------------------------------------------------------------------- through the backend
CANDIDATES = ((319, 29909), (350, 29933), (315, 29907), (360, 29928))


def _gqa_backend(mode: str):
    from transformers import LlamaConfig, LlamaForCausalLM

    from evaluators.backends.base import BackendOptions
    from evaluators.backends.hf import HFBackend

    torch.manual_seed(7)
    config = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=8,
                         num_key_value_heads=2, vocab_size=32000, max_position_embeddings=512,
                         attn_implementation="sdpa")
    model = LlamaForCausalLM(config).float()
    options = BackendOptions(model_path="in-memory", device="cpu", max_batch_size=4, prefix_attention=mode)
    return HFBackend(options, model=model)


def _requests(prefix_len: int, count: int) -> list[ScoreRequest]:
    generator = torch.Generator().manual_seed(11)
    prefix = [1] + torch.randint(3, 32000, (prefix_len - 1,), generator=generator).tolist()
    return [ScoreRequest(ids=tuple(prefix + torch.randint(3, 32000, (2 + (5 * k) % 13,), generator=generator).tolist()),
                         candidates=CANDIDATES, prefix_len=prefix_len) for k in range(count)]


def _plain_scores(model, request: ScoreRequest) -> list[float]:
    """One unbatched forward of the whole prompt: the reference."""
    with torch.no_grad():
        logits = model(torch.tensor([request.ids])).logits[0, -1].float()
    return [max(float(logits[c]) for c in alternatives) for alternatives in request.candidates]


def test_split_and_buffer_modes_match_a_plain_forward_on_a_gqa_model():
    requests = _requests(prefix_len=37, count=10)
    split, buffer = _gqa_backend("split"), _gqa_backend("buffer")
    for mode_backend in (split, buffer):
        for request, result in zip(requests, mode_backend.score(requests), strict=True):
            assert result.prefix_reused
            assert result.scores == pytest.approx(_plain_scores(mode_backend.model, request), abs=1e-4)
    assert split.info["prefix_attention"] == "split"
    assert split.info["prefix_attention_kernels"] == ["cpu_flash"]
    assert "prefix_attention_kernels" not in buffer.info
    assert (split.info["suffix_batches"], buffer.info["suffix_batches"]) == ("packed", "right-padded")
    assert split.model.config._attn_implementation == "sdpa"  # switched only for the duration of a forward


def test_unknown_prefix_attention_mode_is_refused():
    with pytest.raises(ValueError, match="unknown prefix_attention"):
        _gqa_backend("copy")


def test_packed_batches_are_sized_by_real_tokens_and_padded_ones_by_the_longest_row():
    backend = _gqa_backend("split")
    backend.max_batch_tokens = 100
    lengths = [30, 10, 10, 10, 10]  # each row also pays prefix_len // 8 = 10
    assert backend._batch_size(lengths, prefix_len=80, packed=True) == 4  # 40 + 20 + 20 + 20
    assert backend._batch_size(lengths, prefix_len=80, packed=False) == 2  # 100 // (30 + 10)
    assert backend._batch_size([500], prefix_len=80, packed=True) == 1  # a row over budget still runs alone


def test_model_code_that_bypasses_the_attention_interface_falls_back_to_the_buffer_mode(monkeypatch):
    import contextlib

    import evaluators.backends.hf as hf

    # As if the model's own attention code ignored transformers' AttentionInterface (some remote code does).
    monkeypatch.setattr(hf, "attention_override", lambda config: contextlib.nullcontext())
    backend = _gqa_backend("split")
    requests = _requests(prefix_len=37, count=6)
    plain = backend.score([dataclasses.replace(r, prefix_len=0) for r in requests])
    for result, reference in zip(backend.score(requests), plain, strict=True):
        assert result.scores == pytest.approx(reference.scores, abs=1e-4)
    assert backend.prefix_attention == "buffer"
    assert backend.info["prefix_attention"] == "buffer"
    assert "bypassed" in backend.info["prefix_attention_note"]


def test_softcapped_attention_is_not_split_but_scored_in_the_buffer_mode():
    from transformers import Gemma2Config, Gemma2ForCausalLM

    from evaluators.backends.base import BackendOptions
    from evaluators.backends.hf import HFBackend

    torch.manual_seed(3)
    config = Gemma2Config(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                          num_key_value_heads=2, head_dim=16, vocab_size=32000, max_position_embeddings=512,
                          attn_logit_softcapping=20.0, sliding_window=4096, attn_implementation="eager")
    backend = HFBackend(BackendOptions(model_path="in-memory", device="cpu", max_batch_size=4),
                        model=Gemma2ForCausalLM(config).float())
    requests = _requests(prefix_len=37, count=6)
    plain = backend.score([dataclasses.replace(r, prefix_len=0) for r in requests])
    for result, reference in zip(backend.score(requests), plain, strict=True):
        assert result.scores == pytest.approx(reference.scores, abs=1e-4)
    assert backend.info["prefix_attention"] == "buffer"
    assert "softcapping" in backend.info["prefix_attention_note"]


def test_a_sliding_window_shorter_than_the_prompt_is_refused_by_the_split_attention():
    from evaluators.backends.prefix_attention import SplitAttentionUnsupported, check_supported

    layer = torch.nn.Module()
    layer.layer_idx = 0
    check_supported(layer, {"sliding_window": 4096}, span=3000)
    with pytest.raises(SplitAttentionUnsupported, match="sliding window 2048"):
        check_supported(layer, {"sliding_window": 2048}, span=3000)


def test_requests_without_a_prefix_are_packed_too_and_match_a_plain_forward():
    backend = _gqa_backend("split")
    requests = [dataclasses.replace(r, prefix_len=0) for r in _requests(prefix_len=5, count=6)]
    shapes: list[tuple[int, ...]] = []
    hook = backend.decoder.embed_tokens.register_forward_hook(lambda m, args, out: shapes.append(tuple(args[0].shape)))
    try:
        results = backend.score(requests)
    finally:
        hook.remove()
    for request, result in zip(requests, results, strict=True):
        assert not result.prefix_reused
        assert result.scores == pytest.approx(_plain_scores(backend.model, request), abs=1e-4)
    assert [shape[0] for shape in shapes] == [1, 1]  # two packed batches (at most 4 questions each), no padding
    assert sum(shape[1] for shape in shapes) == sum(len(r.ids) for r in requests)
