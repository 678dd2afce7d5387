"""How much a sliding window changes scores past its length: the reason the split attention refuses such batches.

Scores the first N questions of one MMLU subject twice on a model with sliding-window layers (default: Gemma 3 270M
from its packaged GGUF, window 512): in the buffer mode (transformers' own sliding-window masks), and through the
split prefix attention with its window check switched off for this process only, so it attends to the whole prefix
and suffix. Prints, per question, the prompt length and the largest log-likelihood difference between the two.

    python -m bench.sliding_window_effect                          # gemma3-270m, public_relations, 2 questions
    python -m bench.sliding_window_effect --subject astronomy --limit 3
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.options import add_data_dir_argument


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gemma3-270m",
                        help="a model directory or a name in evaluators.gguf_import.PACKAGED_GGUF")
    parser.add_argument("--subject", default="public_relations")
    parser.add_argument("--limit", type=int, default=2)
    add_data_dir_argument(parser)
    args = parser.parse_args(argv)

    from evaluators.backends import load_backend, prefix_attention
    from evaluators.backends.base import BackendOptions
    from evaluators.gguf_import import PACKAGED_GGUF, cached_import, packaged_gguf
    from evaluators.runner import RunOptions, run_benchmark
    from evaluators.tokenization import load_tokenizer

    model = Path(args.model)
    if args.model in PACKAGED_GGUF:
        from app.core.config import Settings

        cache_dir = Settings().cache_dir
        model = cached_import(packaged_gguf(args.model, cache_dir), cache_dir)
    tokenizer = load_tokenizer(model, "hf")
    backend = load_backend("hf", BackendOptions(model_path=str(model), device="cpu", dtype="float32"))
    options = RunOptions(benchmark="mmlu", template="harness", data_dir=Path(args.data_dir), subjects=[args.subject],
                         limit=args.limit)
    backend.prefix_attention = "buffer"
    windowed = run_benchmark(backend, options, tokenizer=tokenizer)
    checked = prefix_attention.check_supported
    prefix_attention.check_supported = lambda module, kwargs, span: checked(
        module, {k: v for k, v in kwargs.items() if k != "sliding_window"}, span)
    backend.prefix_attention = "split"
    unwindowed = run_benchmark(backend, options, tokenizer=tokenizer)
    assert unwindowed.record["backend"]["prefix_attention"] == "split"
    for w, u in zip(windowed.predictions, unwindowed.predictions, strict=True):
        tokens = len(tokenizer.encode(w.prompt or ""))
        print(json.dumps({"id": w.question_id, "prompt_tokens": tokens, "pred_windowed": w.pred,
                          "pred_unwindowed": u.pred,
                          "max_abs_loglik_diff": max(abs(w.scores[c] - u.scores[c]) for c in w.scores)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
