"""What the transformers backend's batching does on full MMLU, without a model: batches, padding, prefix-KV memory.

    python -m bench.batch_layout                      # colossaleval template, 7B shape, default budget

Builds the real plan (prompts, token ids) and replays the backend's batch sizing (`evaluators.backends.batching`, chunks of
the run loop) for both prefix-attention modes, then prints per mode: forward passes, suffix positions run (padding
included) against real suffix tokens, and prefix key/value bytes -- for `buffer` the largest per-row buffer and the
bytes written into buffers plus read by attention; for `split` the single batch-1 prefix read once per batch.
Bytes are for a 7B LLaMA shape in bfloat16 (32 layers, 32 KV heads of 128).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.options import add_data_dir_argument
from evaluators.templates import DEFAULT_TEMPLATE

KV_BYTES_PER_TOKEN_7B = 32 * 2 * 4096 * 2  # layers x (key, value) x kv width x bfloat16


def replay(lengths_by_chunk: list[tuple[int, list[int]]], packed: bool, budget: int,
           max_rows: int) -> dict[str, Any]:
    """Replay the backend's batching over chunks of (prefix_len, suffix lengths)."""
    from evaluators.backends.batching import next_batch_size

    forwards = positions = real = 0
    buffer_peak = buffer_written = kv_read = 0
    for prefix_len, suffix_lengths in lengths_by_chunk:
        lengths = sorted(suffix_lengths, reverse=True)
        rows = width = start = 0
        while start < len(lengths):
            size = next_batch_size(lengths[start:], prefix_len, packed=packed, max_tokens=budget, max_rows=max_rows)
            batch = lengths[start:start + size]
            forwards += 1
            real += sum(batch)
            if packed:
                positions += sum(batch)
                kv_read += prefix_len * KV_BYTES_PER_TOKEN_7B
            else:
                positions += len(batch) * batch[0]
                if len(batch) > rows or batch[0] > width:
                    rows, width = len(batch), batch[0]
                    buffer_bytes = rows * (prefix_len + width) * KV_BYTES_PER_TOKEN_7B
                    buffer_peak = max(buffer_peak, buffer_bytes)
                    buffer_written += buffer_bytes
                kv_read += len(batch) * (prefix_len + batch[0]) * KV_BYTES_PER_TOKEN_7B
            start += size
    figures = {"forwards": forwards, "suffix_positions": positions, "real_suffix_tokens": real,
               "padding_fraction": round(positions / real - 1, 4), "prefix_kv_read_gb": round(kv_read / 1e9, 1)}
    if not packed:
        figures.update(buffer_peak_gib=round(buffer_peak / 2**30, 1), buffer_written_gb=round(buffer_written / 1e9, 1))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default=DEFAULT_TEMPLATE)
    parser.add_argument("--batch-tokens", type=int, default=16384)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--chunk-size", type=int, default=512, help="the run loop's chunk size")
    add_data_dir_argument(parser)
    args = parser.parse_args(argv)

    from evaluators.plan import build_plan
    from evaluators.templates import get_template
    from evaluators.tiny_model import copy_llama_tokenizer
    from evaluators.tokenization import load_tokenizer

    data_dir = Path(args.data_dir)
    with tempfile.TemporaryDirectory() as work:
        copy_llama_tokenizer(data_dir / "tokenizers" / "llama2", work)
        tokenizer = load_tokenizer(work, get_template(args.template).tokenizer_policy)  # type: ignore[arg-type]
        plan = build_plan("mmlu", args.template, tokenizer, data_dir)
    by_subject: dict[str, list[Any]] = defaultdict(list)
    for item in plan.items:
        by_subject[item.prompt.subject].append(item.request)
    chunks = []
    for requests in by_subject.values():
        for start in range(0, len(requests), args.chunk_size):
            chunk = requests[start:start + args.chunk_size]
            prefix_len = chunk[0].prefix_len
            chunks.append((prefix_len, [len(r.ids) - prefix_len for r in chunk]))
    figures = {"questions": len(plan.items), "template": args.template, "batch_tokens": args.batch_tokens,
               "batch_size": args.batch_size, "longest_prefix": max(p for p, _ in chunks),
               "split": replay(chunks, True, args.batch_tokens, args.batch_size),
               "buffer": replay(chunks, False, args.batch_tokens, args.batch_size)}
    for mode in ("split", "buffer"):
        f = figures[mode]
        print(f"{mode:6s} {f['forwards']:4d} forwards, {f['suffix_positions']:,} suffix positions for "
              f"{f['real_suffix_tokens']:,} real tokens ({100 * f['padding_fraction']:.1f}% padding), prefix KV read "
              f"{f['prefix_kv_read_gb']} GB" + (f", largest buffer {f['buffer_peak_gib']} GiB, buffers written "
                                                 f"{f['buffer_written_gb']} GB" if mode == "buffer" else ""))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
