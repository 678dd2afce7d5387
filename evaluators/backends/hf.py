"""transformers backend: one forward pass per question, last position only, few-shot prefix computed once.

Requests that share a subject's few-shot prefix (`ScoreRequest.prefix_len`) are grouped; the prefix runs once
(batch 1) and its keys/values serve every suffix batch of the group. Suffixes are length-sorted and batched under a
token budget (`batching.py`) that halves on out-of-memory and starts afresh with every `score()` call (back-offs
are recorded in `info`); greedy generation is batched the same way. By default (`prefix_attention="split"`) a batch's
suffixes are packed into one sequence with no padding and attend to the batch-1 prefix KV through a split attention
merged by log-sum-exp (`prefix_attention.py`; requests without a shared prefix are packed too); `"buffer"` instead
right-pads the batch and copies the prefix KV into a per-row buffer (`kv_cache.py`), kept as the comparison baseline
and as the fallback for models the split attention cannot serve. Only the last real position's hidden state goes
through the LM head: the cost of the head is one row per question, never the full sequence. Results come back in the
original request order. FlashAttention-2 is used when `flash_attn` imports on CUDA, SDPA otherwise (for the prefix
forward and the buffer mode); the choice and the split-attention kernels are in `info`.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import platform
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import transformers

from evaluators.backends.base import BackendOptions, ProgressCallback, ScoreRequest
from evaluators.backends.batching import TokenBudget, is_out_of_memory, next_batch_size
from evaluators.backends.kv_cache import KVLayers, SharedPrefixCache, cache_tensors, empty_cache, output_cache
from evaluators.backends.options import PREFIX_ATTENTION_MODES
from evaluators.backends.prefix_attention import (
    PREFIX_KWARG,
    PackedRows,
    PrefixBatch,
    SharedPrefix,
    SlidingWindowExceeded,
    SplitAttentionUnsupported,
    attention_override,
)
from evaluators.model_files import check_model_dir
from evaluators.records import CandidateScores

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
"""How suffix batches attend to a shared prefix: `split` (suffixes packed without padding, prefix KV read once per
batch, log-sum-exp merge; see `prefix_attention.py`) or `buffer` (right-padded suffix batches, prefix KV copied into
a per-row buffer once per subject; see `kv_cache.py`)."""


def pick_device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda requested but CUDA is not available; use --device cpu")
    return device


def pick_dtype(requested: str, device: torch.device) -> torch.dtype:
    if requested == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if requested not in DTYPES:
        raise ValueError(f"unknown dtype {requested!r}; valid: auto, {', '.join(DTYPES)}")
    return DTYPES[requested]


def pick_attention(device: torch.device, dtype: torch.dtype) -> str:
    """flash_attention_2 when flash_attn imports on CUDA with a half dtype, else sdpa."""
    if device.type == "cuda" and dtype in (torch.float16, torch.bfloat16) and importlib.util.find_spec("flash_attn"):
        try:
            import flash_attn  # noqa: F401
        except ImportError:
            return "sdpa"
        return "flash_attention_2"
    return "sdpa"


def _check_model_dir(path: str) -> None:
    """A local model directory must hold a config.json; anything else must look like a Hub id (`org/name`)."""
    if Path(path).exists() or path.startswith((".", "/", "~")) or path.count("/") != 1:
        check_model_dir(path)


class HFBackend:
    """Scores `ScoreRequest`s with a Hugging Face causal LM."""

    name = "hf"

    def __init__(self, options: BackendOptions, model: Any = None) -> None:
        """Load `options.model_path`, or wrap `model` (an already loaded causal LM) when given."""
        self.options = options
        self.model_path, self.revision = options.model_path, options.revision
        if model is None:
            _check_model_dir(options.model_path)
            self.device = pick_device(options.device)
            self.dtype = pick_dtype(options.dtype, self.device)
            self.attn_implementation = options.attn_implementation or pick_attention(self.device, self.dtype)
            dtype_kw = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
            model = transformers.AutoModelForCausalLM.from_pretrained(
                options.model_path, revision=options.revision, trust_remote_code=options.allow_remote_code,
                attn_implementation=self.attn_implementation, **{dtype_kw: self.dtype},
            ).to(self.device)
        else:
            self.device, self.dtype = model.device, model.dtype
            self.attn_implementation = model.config._attn_implementation
        self.model = model.eval()
        self.decoder = getattr(self.model, self.model.base_model_prefix)
        self.lm_head = self.model.get_output_embeddings()
        self.max_batch_tokens = options.max_batch_tokens
        self._prefix_kernels: set[str] = set()
        text_config = self.model.config.get_text_config() if hasattr(self.model.config, "get_text_config") \
            else self.model.config
        self._layer_count = int(getattr(text_config, "num_hidden_layers", 0) or 0)  # 0: unknown, not checked
        forward_params = inspect.signature(self.decoder.forward).parameters
        self._cache_kwarg = "cache" if "cache" in forward_params else "past_key_values"  # renamed in transformers 5.x
        self._tokenizer: Any = None
        self.info: dict[str, Any] = {
            "backend": self.name,
            "model_path": options.model_path,
            "revision": options.revision,
            "device": str(self.device),
            "device_name": torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else platform.processor() or "cpu",
            "dtype": str(self.dtype).removeprefix("torch."),
            "attn_implementation": self.attn_implementation,
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "max_batch_tokens": options.max_batch_tokens,
            "max_batch_size": options.max_batch_size,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        }
        self.prefix_attention = options.prefix_attention

    @property
    def prefix_attention(self) -> str:
        """`split` or `buffer` (see `PREFIX_ATTENTION_MODES`); setting it also updates `info`."""
        return self._prefix_attention

    @prefix_attention.setter
    def prefix_attention(self, mode: str) -> None:
        if mode not in PREFIX_ATTENTION_MODES:
            raise ValueError(f"unknown prefix_attention {mode!r}; valid: {', '.join(PREFIX_ATTENTION_MODES)}")
        self._prefix_attention = mode
        self.info["prefix_attention"] = mode
        self.info["suffix_batches"] = "packed" if mode == "split" else "right-padded"

    # ------------------------------------------------------------------ public API
    def score(self, requests: Sequence[ScoreRequest], on_progress: ProgressCallback | None = None) -> list[CandidateScores]:
        budget = TokenBudget(self.max_batch_tokens)  # reset per call: an earlier back-off does not shrink this one
        logits_rows = self._last_logits_for(requests, budget, on_progress)
        outputs = self._generate_for([i for i, r in enumerate(requests) if r.generate], requests, budget)
        self._record_backoffs(budget)
        return [CandidateScores(scores=self._candidate_scores(request, logits_rows[i]), output=outputs.get(i),
                                prefix_reused=request.prefix_len > 0) for i, request in enumerate(requests)]

    def close(self) -> None:
        del self.model, self.decoder, self.lm_head
        self._free_cached_memory()

    # ------------------------------------------------------------------ batching (shared by all modes)
    def _run_batches(self, order: list[int], lengths: list[int], prefix_len: int, *, packed: bool,
                     budget: TokenBudget, forward: Callable[[list[int]], Any | None],
                     on_done: Callable[[list[int], Any], None], release: Callable[[], None] | None = None) -> list[int]:
        """Run `forward` over the length-sorted questions `order` in batches sized by `next_batch_size` under
        `budget`, handing each result to `on_done`. A batch that runs out of memory frees what `release` frees,
        halves the budget and is tried again smaller (a single question that does not fit re-raises). Returns the
        questions not run when `forward` returned None (the mode cannot serve this model; the caller switches)."""
        start = 0
        while start < len(order):
            size = self._batch_size(lengths[start:], prefix_len, packed, budget.tokens)
            batch = order[start:start + size]
            out_of_memory = False
            try:
                result = forward(batch)
            except Exception as exc:
                if not is_out_of_memory(exc) or size == 1:
                    raise
                out_of_memory = True  # handled once the exception, and the tensors its frames hold, are gone
            if out_of_memory:
                if release is not None:
                    release()
                budget.halve()
                self._free_cached_memory()
                continue
            if result is None:
                return order[start:]
            on_done(batch, result)
            start += size
        return []

    def _batch_size(self, lengths: list[int], prefix_len: int, packed: bool, max_tokens: int | None = None) -> int:
        return next_batch_size(lengths, prefix_len, packed=packed, max_tokens=max_tokens or self.max_batch_tokens,
                               max_rows=self.options.max_batch_size)

    def _record_backoffs(self, budget: TokenBudget) -> None:
        if budget.backoffs:
            self.info["oom_backoffs"] = self.info.get("oom_backoffs", 0) + budget.backoffs
            self.info["max_batch_tokens_after_backoff"] = min(
                budget.tokens, self.info.get("max_batch_tokens_after_backoff", budget.tokens))

    def _free_cached_memory(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    # ------------------------------------------------------------------ last-position logits
    def _last_logits_for(self, requests: Sequence[ScoreRequest], budget: TokenBudget,
                         on_progress: ProgressCallback | None) -> dict[int, torch.Tensor]:
        groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for i, request in enumerate(requests):
            if not request.ids:
                raise ValueError("empty prompt")
            usable = 0 < request.prefix_len < len(request.ids)
            groups[tuple(request.ids[: request.prefix_len]) if usable else ()].append(i)
        rows: dict[int, torch.Tensor] = {}
        for prefix, members in groups.items():
            suffixes = {i: requests[i].ids[len(prefix):] for i in members}
            rows.update(self._score_group(prefix, suffixes, budget, on_progress))
        return rows

    @torch.inference_mode()
    def _score_group(self, prefix: tuple[int, ...], suffixes: dict[int, Sequence[int]], budget: TokenBudget,
                     on_progress: ProgressCallback | None) -> dict[int, torch.Tensor]:
        """Last-position logits of one prefix group: packed (split mode), or right-padded (buffer mode, and what is
        left when the split attention turns out not to serve this model)."""
        prefix_kv = self._prefix_kv(prefix) if prefix else None
        order = sorted(suffixes, key=lambda i: len(suffixes[i]), reverse=True)
        rows: dict[int, torch.Tensor] = {}

        def take(batch: list[int], last: torch.Tensor) -> None:
            for row, i in enumerate(batch):
                rows[i] = last[row]
            if on_progress:
                on_progress(len(batch))

        if self.prefix_attention == "split":
            order = self._run_packed(prefix_kv, len(prefix), suffixes, order, budget, take)
        if order:
            self._run_padded(prefix_kv, len(prefix), suffixes, order, budget, take)
        return rows

    def _run_packed(self, prefix_kv: KVLayers | None, prefix_len: int, suffixes: dict[int, Sequence[int]],
                    order: list[int], budget: TokenBudget, take: Callable[[list[int], torch.Tensor], None]) -> list[int]:
        """Split mode: each batch's suffixes packed into one sequence reading the batch-1 prefix KV; returns the
        questions left when the model needs the buffer mode."""
        shared = SharedPrefix(prefix_kv)
        left = self._run_batches(order, [len(suffixes[i]) for i in order], prefix_len, packed=True, budget=budget,
                                 forward=lambda batch: self._forward_packed([suffixes[i] for i in batch], shared),
                                 on_done=take)
        if not left and shared.kernels - self._prefix_kernels:
            self._prefix_kernels |= shared.kernels
            self.info["prefix_attention_kernels"] = sorted(self._prefix_kernels)
        return left

    def _run_padded(self, prefix_kv: KVLayers | None, prefix_len: int, suffixes: dict[int, Sequence[int]],
                    order: list[int], budget: TokenBudget, take: Callable[[list[int], torch.Tensor], None]) -> None:
        """Buffer mode: right-padded batches; the prefix KV is copied into a per-row buffer that is reallocated only
        when a batch has more rows or is wider than the current one."""
        cache: SharedPrefixCache | None = None

        def forward(batch: list[int]) -> torch.Tensor:
            nonlocal cache
            longest = len(suffixes[batch[0]])
            if prefix_kv is not None and (cache is None or len(batch) > cache.rows or longest > cache.width):
                cache = None  # free the old buffers before allocating new ones
                cache = SharedPrefixCache(prefix_kv, rows=len(batch), width=longest)
            return self._forward_batch([suffixes[i] for i in batch], prefix_len, cache=cache)

        def release() -> None:
            nonlocal cache
            cache = None

        self._run_batches(order, [len(suffixes[i]) for i in order], prefix_len, packed=False, budget=budget,
                          forward=forward, on_done=take, release=release)

    def _prefix_kv(self, prefix: tuple[int, ...]) -> KVLayers:
        ids = torch.tensor([prefix], device=self.device)
        out = self.decoder(input_ids=ids, use_cache=True, **{self._cache_kwarg: empty_cache()})
        return cache_tensors(output_cache(out))

    def _forward_packed(self, suffixes: list[Sequence[int]], shared: SharedPrefix) -> torch.Tensor | None:
        """Last-position float32 logits [batch, vocab] for suffixes packed into one sequence after a shared prefix.

        None when the split attention cannot serve this model: an attention variant it does not implement
        (`SplitAttentionUnsupported`), or no layer went through it (model code that ignores transformers' attention
        interface, e.g. some remote code, so the forward saw neither the prefix nor the question boundaries); the
        backend then switches to the buffer mode for good. A batch wider than a sliding window (`SlidingWindowExceeded`)
        sends only its prefix group to the buffer mode. A partial layer count is an error.
        """
        lengths = [len(s) for s in suffixes]
        prefix_len = shared.length
        ids = torch.tensor([[token for suffix in suffixes for token in suffix]], device=self.device)
        positions = torch.cat([torch.arange(prefix_len, prefix_len + n) for n in lengths]).unsqueeze(0)
        batch = PrefixBatch(prefix=shared, packed=PackedRows.from_lengths(lengths, self.device))
        # A 4-D mask counts as prepared in transformers 4.51 and 5.x, so no T x T mask is built; none is read.
        placeholder = torch.zeros((1, 1, 1, 1), dtype=self.dtype, device=self.device)
        calls_before = shared.calls
        try:
            with attention_override(self.model.config):
                hidden = self.decoder(input_ids=ids, attention_mask=placeholder,
                                      position_ids=positions.to(self.device), use_cache=False,
                                      **{PREFIX_KWARG: batch}).last_hidden_state
        except SlidingWindowExceeded as exc:
            self.info["prefix_attention_note"] = f"buffer mode for prefix groups wider than the sliding window ({exc})"
            return None
        except SplitAttentionUnsupported as exc:
            return self._use_buffer_mode(f"split attention unsupported by this model: {exc}")
        calls = shared.calls - calls_before
        if calls == 0:
            return self._use_buffer_mode("split attention bypassed by the model's code")
        expected = len(shared.layers) if shared.layers else self._layer_count
        if expected and calls != expected:
            raise RuntimeError(f"split prefix attention ran in {calls} of {expected} attention layers; "
                               "this model's code is not supported by prefix_attention='split' (use 'buffer')")
        last_index = torch.tensor(lengths).cumsum(0).sub(1).to(self.device)
        return self.lm_head(hidden[0, last_index]).float().cpu()

    def _use_buffer_mode(self, reason: str) -> None:
        """Switch to the buffer mode for good (the split one cannot serve this model), recording why."""
        self.prefix_attention = "buffer"
        self.info["prefix_attention_note"] = f"{reason}; buffer mode used"

    def _forward_batch(self, suffixes: list[Sequence[int]], prefix_len: int, *,
                       cache: SharedPrefixCache | None = None) -> torch.Tensor:
        """Last-position float32 logits [batch, vocab] for right-padded suffixes, after a shared prefix held in
        `cache` (per-row buffer) or with no prefix (prefix_len 0)."""
        batch, width = len(suffixes), max(len(s) for s in suffixes)
        pad = self.model.config.pad_token_id if isinstance(self.model.config.pad_token_id, int) else 0
        ids = torch.full((batch, width), pad, dtype=torch.long)
        mask = torch.zeros((batch, prefix_len + width), dtype=torch.long)
        mask[:, :prefix_len] = 1
        for row, suffix in enumerate(suffixes):
            ids[row, : len(suffix)] = torch.tensor(suffix)
            mask[row, prefix_len: prefix_len + len(suffix)] = 1
        positions = torch.arange(prefix_len, prefix_len + width).unsqueeze(0).expand(batch, -1)
        kwargs: dict[str, Any] = {}
        if cache is not None:
            kwargs[self._cache_kwarg] = cache
            kwargs["cache_position"] = torch.arange(prefix_len, prefix_len + width, device=self.device)
        hidden = self.decoder(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                              position_ids=positions.to(self.device), use_cache=cache is not None,
                              **kwargs).last_hidden_state
        last_index = torch.tensor([len(s) - 1 for s in suffixes], device=self.device)
        last_hidden = hidden[torch.arange(batch, device=self.device), last_index]
        return self.lm_head(last_hidden).float().cpu()

    # ------------------------------------------------------------------ candidate scores
    def _candidate_scores(self, request: ScoreRequest, logits: torch.Tensor) -> tuple[float, ...]:
        if request.method == "max_logit":
            return tuple(max(float(logits[c]) for c in alternatives) for alternatives in request.candidates)
        logprobs = torch.log_softmax(logits, dim=-1)
        scores = []
        for continuation in request.candidates:
            if len(continuation) == 1:
                scores.append(float(logprobs[continuation[0]]))
            else:
                scores.append(self._continuation_logprob(request.ids, continuation))
        return tuple(scores)

    @torch.inference_mode()
    def _continuation_logprob(self, context: Sequence[int], continuation: Sequence[int]) -> float:
        """Sum of log P(continuation | context) for a multi-token continuation (one extra full pass)."""
        ids = torch.tensor([list(context) + list(continuation[:-1])], device=self.device)
        logits = self.model(input_ids=ids).logits[0, len(context) - 1:].float()
        logprobs = torch.log_softmax(logits, dim=-1)
        total = sum(float(logprobs[k, token]) for k, token in enumerate(continuation))
        return total if math.isfinite(total) else float("-inf")

    # ------------------------------------------------------------------ greedy generation
    @torch.inference_mode()
    def _generate_for(self, indices: list[int], requests: Sequence[ScoreRequest],
                      budget: TokenBudget) -> dict[int, str]:
        """Greedy outputs, in left-padded batches sized like the scoring ones (prompt plus new tokens per row)."""
        if not indices:
            return {}
        order = sorted(indices, key=lambda i: len(requests[i].ids) + requests[i].max_new_tokens, reverse=True)
        outputs: dict[int, str] = {}

        def take(batch: list[int], texts: list[str]) -> None:
            outputs.update(zip(batch, texts, strict=True))

        self._run_batches(order, [len(requests[i].ids) + requests[i].max_new_tokens for i in order], 0,
                          packed=False, budget=budget, on_done=take,
                          forward=lambda batch: self._generate_batch([requests[i] for i in batch]))
        return outputs

    def _generate_batch(self, batch: list[ScoreRequest]) -> list[str]:
        tokenizer = self._decoder_tokenizer()
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (self.model.config.eos_token_id or 0)
        if isinstance(pad, list):
            pad = pad[0]
        width = max(len(request.ids) for request in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, request in enumerate(batch):  # left padding for generation
            ids[row, width - len(request.ids):] = torch.tensor(request.ids)
            mask[row, width - len(request.ids):] = 1
        generated = self.model.generate(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                                        do_sample=False, max_new_tokens=max(r.max_new_tokens for r in batch),
                                        pad_token_id=pad, temperature=None, top_p=None, top_k=None)
        texts = []
        for row, request in enumerate(batch):
            new_tokens = generated[row, width: width + request.max_new_tokens].tolist()
            if self.model.config.eos_token_id in new_tokens:
                new_tokens = new_tokens[: new_tokens.index(self.model.config.eos_token_id)]
            texts.append(tokenizer.decode(new_tokens, skip_special_tokens=True).strip())
        return texts

    def _decoder_tokenizer(self) -> Any:
        if self._tokenizer is None:
            self._tokenizer = transformers.AutoTokenizer.from_pretrained(
                self.options.model_path, revision=self.options.revision, trust_remote_code=self.options.allow_remote_code)
        return self._tokenizer
