"""How suffix batches attend to a subject's few-shot prefix: packed split attention vs the per-row prefix buffer vs no
prefix reuse, interleaved subject by subject so that a shared, noisy machine affects every mode alike.

    python -m bench.prefix_attention                                  # CPU model of docs/benchmarks.md, 4 subjects
    python -m bench.prefix_attention --shape 7b --subjects all        # on a GPU
    python -m bench.prefix_attention --benchmark gaokao --subjects all --modes split,buffer   # zero-shot: packing only

The plan (prompts, token ids) is built once with the `colossaleval` template. For each repeat and each subject, every
mode scores the subject's questions through the transformers backend (`prefix_attention` = `split` or `buffer`;
`none` scores the full prompts), in rotating order. Per mode it prints the sum over subjects of the fastest repeat,
the tokens it ran (padding included), and agreement with the first mode (same predicted letter, largest score
difference). One JSON line at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.gpu_eval_check import SHAPES, _sync, build_model
from bench.options import add_data_dir_argument

MODES = ("split", "buffer", "none")
DEFAULT_SUBJECTS = "abstract_algebra,anatomy,astronomy,high_school_european_history"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="small")
    parser.add_argument("--benchmark", default="mmlu", help="benchmark (default mmlu)")
    parser.add_argument("--subjects", default=DEFAULT_SUBJECTS,
                        help="comma-separated subjects, or 'all' (the default list is MMLU's)")
    parser.add_argument("--limit", type=int, help="questions per subject (default: all)")
    parser.add_argument("--modes", default="split,buffer,none")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-tokens", type=int, default=16384)
    parser.add_argument("--batch-size", type=int, default=64, help="most questions per batch")
    add_data_dir_argument(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch

    from evaluators.backends.base import BackendOptions
    from evaluators.backends.hf import HFBackend
    from evaluators.catalog import validate_request
    from evaluators.plan import build_plan
    from evaluators.templates import DEFAULT_TEMPLATE, get_template
    from evaluators.tokenization import load_tokenizer

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in MODES for m in modes):
        raise SystemExit(f"--modes takes a comma-separated list of {', '.join(MODES)}")
    subjects = None if args.subjects == "all" else [s.strip() for s in args.subjects.split(",")]
    validate_request([args.benchmark], DEFAULT_TEMPLATE, subjects)
    data_dir = Path(args.data_dir)
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    dtype = torch.bfloat16 if cuda else torch.float32
    work = Path(tempfile.mkdtemp(prefix="cbench-prefix-bench-"))
    model, _ = build_model(SHAPES[args.shape], device, dtype, data_dir / "tokenizers" / "llama2", work / "model")
    backend = HFBackend(BackendOptions(model_path=str(work / "model"), device=str(device),
                                       dtype=str(dtype).removeprefix("torch."), max_batch_tokens=args.batch_tokens,
                                       max_batch_size=args.batch_size), model=model)
    tokenizer = load_tokenizer(str(work / "model"), get_template(DEFAULT_TEMPLATE).tokenizer_policy)  # type: ignore[arg-type]
    plan = build_plan(args.benchmark, DEFAULT_TEMPLATE, tokenizer, data_dir, subjects=subjects, limit=args.limit)
    by_subject: dict[str, list[Any]] = defaultdict(list)
    for item in plan.items:
        by_subject[item.prompt.subject].append(item.request)

    best: dict[str, dict[str, float]] = {m: {} for m in modes}
    scores: dict[str, list[tuple[float, ...]]] = {m: [] for m in modes}
    for repeat in range(args.repeats):
        for index, (subject, requests) in enumerate(by_subject.items()):
            rotation = (repeat + index) % len(modes)
            for mode in modes[rotation:] + modes[:rotation]:
                batch = [dataclasses.replace(r, prefix_len=0) for r in requests] if mode == "none" else requests
                backend.prefix_attention = mode if mode != "none" else "split"
                _sync(device)
                start = time.perf_counter()
                result = backend.score(batch)
                _sync(device)
                seconds = time.perf_counter() - start
                best[mode][subject] = min(best[mode].get(subject, float("inf")), seconds)
                if repeat == 0:
                    scores[mode].extend(r.scores for r in result)
    questions = len(plan.items)
    figures: dict[str, Any] = {"device": torch.cuda.get_device_name(device) if cuda else "cpu",
                               "benchmark": args.benchmark, "shape": args.shape, "questions": questions,
                               "subjects": len(by_subject),
                               "repeats": args.repeats, "torch": torch.__version__,
                               "prefix_attention_kernels": backend.info.get("prefix_attention_kernels"), "modes": {}}
    first = modes[0]
    for mode in modes:
        total = sum(best[mode].values())
        same = sum(max(range(len(a)), key=a.__getitem__) == max(range(len(b)), key=b.__getitem__)
                   for a, b in zip(scores[mode], scores[first], strict=True))
        diff = max(abs(x - y) for a, b in zip(scores[mode], scores[first], strict=True) for x, y in zip(a, b, strict=True))
        figures["modes"][mode] = {"seconds": round(total, 3), "questions_per_s": round(questions / total, 1),
                                  "same_predictions_as_" + first: same, "max_abs_score_diff": diff}
        print(f"{mode:7s} {total:8.2f} s  {questions / total:8.1f} questions/s  "
              f"{same}/{questions} same predictions as {first}  max |score diff| {diff:.2e}", flush=True)
    for mode in modes[1:]:
        print(f"{first} vs {mode}: {sum(best[mode].values()) / sum(best[first].values()):.2f}x", flush=True)
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
