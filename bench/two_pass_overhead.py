"""What scoring the early-estimate sample first costs: one pass in plan order vs sample-then-rest.

    python -m bench.two_pass_overhead                      # count on full MMLU + timed subset (CPU, this machine)
    python -m bench.two_pass_overhead --timed-subjects all # on a GPU: a random 7B shape in bfloat16, full MMLU

1. Counted, full MMLU, no model: the real plan (LLaMA-2 tokenizer, `colossaleval`) is chunked exactly as the run
   loop chunks it (`evaluators.runner.scoring_order` + `chunk_questions`) at the worker's chunk size; each chunk
   runs its subject's few-shot prefix once, so the extra work of two passes is the extra prefix forwards. Printed:
   chunks, prefix forwards, prefix and suffix tokens of each order, and the extra tokens as a share of the whole.
2. Timed: a random model (`bench.gpu_eval_check` shapes: "small" in float32 on CPU, "7b" in bfloat16 on CUDA) scores
   the chosen subjects
   through `run_benchmark` in both orders, interleaved (order alternating per repeat) so a shared machine's load hits
   both alike; only the time inside the backend's `score` is counted (the plan is built once per run either way).
   Predictions of the two orders must be identical. One JSON line at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.gpu_eval_check import SHAPES, build_model
from bench.options import add_data_dir_argument

DEFAULT_TIMED = "abstract_algebra,anatomy,astronomy,high_school_european_history,college_physics,virology"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk-size", type=int, default=None, help="questions per chunk (default: the worker's)")
    parser.add_argument("--timed-subjects", default=DEFAULT_TIMED, help="comma-separated MMLU subjects, or 'all'")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip-count", action="store_true", help="only the timed part")
    parser.add_argument("--shape", choices=sorted(SHAPES), help="model shape (default: 7b on a GPU, small on CPU)")
    add_data_dir_argument(parser)
    return parser.parse_args(argv)


def count_work(plan: Any, options: Any) -> dict[str, int]:
    """Chunks, prefix forwards and tokens of one scoring order (one prefix forward per distinct prefix per chunk)."""
    from evaluators.runner import chunk_questions, scoring_order

    _sample, parts = scoring_order(plan, options)
    chunks = forwards = prefix_tokens = suffix_tokens = 0
    for part in parts:
        for chunk in chunk_questions(part, options.chunk_size):
            chunks += 1
            prefixes = {item.request.ids[: item.request.prefix_len] for item in chunk if item.request.prefix_len}
            forwards += len(prefixes)
            prefix_tokens += sum(len(p) for p in prefixes)
            suffix_tokens += sum(len(item.request.ids) - item.request.prefix_len for item in chunk)
    return {"chunks": chunks, "prefix_forwards": forwards, "prefix_tokens": prefix_tokens,
            "suffix_tokens": suffix_tokens}


class TimedBackend:
    """The backend with the seconds spent in `score` added up."""

    def __init__(self, backend: Any) -> None:
        self.backend, self.seconds = backend, 0.0
        self.info = backend.info

    def score(self, requests: Any, on_progress: Any = None) -> Any:
        start = time.perf_counter()
        try:
            return self.backend.score(requests)
        finally:
            self.seconds += time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch

    from app.core.config import Settings
    from evaluators.backends.base import BackendOptions
    from evaluators.backends.hf import HFBackend
    from evaluators.plan import build_plan
    from evaluators.runner import RunOptions, run_benchmark
    from evaluators.sampling import SampleRule
    from evaluators.templates import get_template
    from evaluators.tokenization import load_tokenizer

    data_dir = Path(args.data_dir)
    chunk_size = args.chunk_size or Settings(_env_file=None).worker_chunk_size
    work = Path(tempfile.mkdtemp(prefix="cbench-two-pass-"))
    cuda = torch.cuda.is_available()
    device, dtype = torch.device("cuda" if cuda else "cpu"), torch.bfloat16 if cuda else torch.float32
    model, _ = build_model(SHAPES[args.shape or ("7b" if cuda else "small")], device, dtype,
                           data_dir / "tokenizers" / "llama2", work / "model")
    tokenizer = load_tokenizer(str(work / "model"), get_template("colossaleval").tokenizer_policy)  # type: ignore[arg-type]
    report: dict[str, Any] = {"chunk_size": chunk_size}
    one = RunOptions(benchmark="mmlu", data_dir=data_dir, chunk_size=chunk_size)
    two = dataclasses.replace(one, sample=SampleRule())
    if not args.skip_count:
        plan = build_plan("mmlu", "colossaleval", tokenizer, data_dir)
        counts = {"one_pass": count_work(plan, one), "two_pass": count_work(plan, two)}
        total = counts["one_pass"]["prefix_tokens"] + counts["one_pass"]["suffix_tokens"]
        extra = counts["two_pass"]["prefix_tokens"] - counts["one_pass"]["prefix_tokens"]
        report["full_mmlu"] = {**counts, "questions": len(plan.items), "extra_prefix_tokens": extra,
                               "extra_share_of_tokens": extra / total}
        for name, c in counts.items():
            print(f"full MMLU {name}: {c['chunks']} chunks, {c['prefix_forwards']} prefix forwards, "
                  f"{c['prefix_tokens']:,} prefix + {c['suffix_tokens']:,} suffix tokens")
        print(f"extra prefix tokens of two passes: {extra:,} = {100 * extra / total:.2f}% of all tokens run")

    subjects = None if args.timed_subjects == "all" else [s.strip() for s in args.timed_subjects.split(",")]
    backend = HFBackend(BackendOptions(model_path=str(work / "model"), device=str(device),
                                       dtype=str(dtype).removeprefix("torch.")), model=model)
    seconds: dict[str, list[float]] = {"one_pass": [], "two_pass": []}
    predictions: dict[str, dict[str, str]] = {}
    for repeat in range(args.repeats):
        order = [("one_pass", one), ("two_pass", two)]
        for name, options in order if repeat % 2 == 0 else reversed(order):
            timed = TimedBackend(backend)
            outcome = run_benchmark(timed, dataclasses.replace(options, subjects=subjects), tokenizer=tokenizer)
            seconds[name].append(timed.seconds)
            predictions[name] = {p.question_id: p.pred for p in outcome.predictions}
            print(f"repeat {repeat + 1} {name}: {timed.seconds:.1f} s scoring, {len(outcome.predictions)} questions")
    best = {name: min(values) for name, values in seconds.items()}
    same = sum(predictions["one_pass"][q] == p for q, p in predictions["two_pass"].items())
    report["timed"] = {"subjects": args.timed_subjects, "questions": len(predictions["one_pass"]),
                       "seconds": seconds, "best": best, "ratio": best["two_pass"] / best["one_pass"],
                       "identical_predictions": same}
    print(f"timed: one pass {best['one_pass']:.1f} s, two passes {best['two_pass']:.1f} s (best of {args.repeats}), "
          f"ratio {best['two_pass'] / best['one_pass']:.3f}; identical predictions {same}/{len(predictions['one_pass'])}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
