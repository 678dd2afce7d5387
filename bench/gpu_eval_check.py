"""GPU throughput check: a 7B-shape LLaMA (random bfloat16 weights) on full 5-shot MMLU, `colossaleval` template.

One command on an H100, no downloads, the machine's own torch/transformers:

    python -m bench.gpu_eval_check                 # full MMLU per prefix-attention mode + reuse subset + profile
    python -m bench.gpu_eval_check --quick         # full MMLU with the first mode only
    python -m bench.gpu_eval_check --tiny          # small shape, two subjects (CPU works): checks the script
    python -m bench.gpu_eval_check --shape small --subjects a,b --modes split,buffer   # CPU comparison

Steps, each timed: measure a dense matmul peak (bfloat16 8192^3 on GPU); build the model from a config directly on
the device (`torch.device` context + `from_config`), write only its config and the LLaMA-2 tokenizer files (the run
loop reads the tokenizer from the model directory), wrap the in-memory model with the transformers backend
(`HFBackend(options, model=...)`, FlashAttention-2 when `flash_attn` imports, SDPA otherwise); score the full set
once per prefix-attention mode (`--modes`, default `split,buffer`: the shared prefix read once per batch with a
log-sum-exp merge, vs the per-row prefix buffer; same process, same model, so the ratio is direct); score a subset
with and without prefix reuse; profile one subject (`--profile-subject`, the top kernels by device time). Scoring
FLOPs follow `bench/flops.py` (2 x decoder weights per processed token + attention + one LM-head row per question). A
JSON line starting `PARTIAL` is printed after every stage (so a killed run still reports), and one final JSON line
with all figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.options import add_data_dir_argument
from evaluators.templates import DEFAULT_TEMPLATE

SHAPE_7B = {"hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32, "num_attention_heads": 32,
            "num_key_value_heads": 32}
SHAPE_TINY = {"hidden_size": 128, "intermediate_size": 344, "num_hidden_layers": 2, "num_attention_heads": 4,
              "num_key_value_heads": 4}
SHAPE_SMALL = {"hidden_size": 256, "intermediate_size": 688, "num_hidden_layers": 4, "num_attention_heads": 4,
               "num_key_value_heads": 4}  # the CPU model of docs/benchmarks.md
SHAPES = {"7b": SHAPE_7B, "small": SHAPE_SMALL, "tiny": SHAPE_TINY}
TINY_SUBJECTS = ("abstract_algebra", "global_facts")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="small model and two subjects (works on CPU)")
    parser.add_argument("--quick", action="store_true",
                        help="only the full run with the first mode (no mode comparison, subset or profile)")
    parser.add_argument("--shape", choices=sorted(SHAPES), help="model shape (default: 7b; --tiny: tiny)")
    parser.add_argument("--modes", default="split,buffer",
                        help="prefix-attention modes for the full runs, comma-separated (default split,buffer)")
    parser.add_argument("--profile-subject", default="high_school_european_history",
                        help="subject profiled with torch.profiler after the runs ('' skips; default: the longest "
                             "prompts)")
    parser.add_argument("--subjects", help="comma-separated MMLU subjects (default: all 57; --tiny: two)")
    parser.add_argument("--compare-limit", type=int, default=10,
                        help="questions per subject in the with/without-reuse comparison (default 10)")
    parser.add_argument("--template", default=DEFAULT_TEMPLATE)
    parser.add_argument("--batch-tokens", type=int, default=16384, help="backend token budget per batch")
    parser.add_argument("--batch-size", type=int, default=64, help="most questions per batch (backend default 64)")
    add_data_dir_argument(parser)
    parser.add_argument("--work-dir", help="where the checkpoint is written (default: a temp dir, removed at the end)")
    parser.add_argument("--keep", action="store_true", help="keep the written checkpoint")
    return parser.parse_args(argv)


def emit(figures: dict[str, Any], final: bool = False) -> None:
    print(("" if final else "PARTIAL ") + json.dumps(figures), flush=True)


def build_model(shape: dict[str, int], device: Any, dtype: Any, tokenizer_dir: Path, output: Path) -> tuple[Any, float]:
    """Random LLaMA built directly on `device` (attention as the backend would pick it); only its config and the
    LLaMA-2 tokenizer files are written to `output` (the run loop reads the tokenizer from there).
    (model, build seconds)"""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, LlamaConfig

    from evaluators.backends.hf import pick_attention
    from evaluators.tiny_model import copy_llama_tokenizer

    config = LlamaConfig(vocab_size=32000, max_position_embeddings=4096, bos_token_id=1, eos_token_id=2,
                         pad_token_id=0, tie_word_embeddings=False, **shape)
    dtype_kw = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
    start = time.perf_counter()
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, attn_implementation=pick_attention(device, dtype),
                                                 **{dtype_kw: dtype})
    _sync(device)
    build = time.perf_counter() - start
    output.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(output)
    copy_llama_tokenizer(tokenizer_dir, output)
    (output / "TINY_RANDOM_MODEL").write_text(f"random init, seed 0, shape {json.dumps(shape)}\n")
    return model, build


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def score(backend: Any, dims: Any, data_dir: Path, template: str, subjects: list[str] | None, limit: int | None,
          reuse: bool, peak: float) -> tuple[dict[str, Any], list[Any]]:
    """One metered run; figures and predictions."""
    from bench.flops import MeteredBackend
    from evaluators.runner import RunOptions, run_benchmark, summarize_predictions

    metered = MeteredBackend(backend, dims)
    start = time.perf_counter()
    outcome = run_benchmark(metered, RunOptions(benchmark="mmlu", template=template, data_dir=data_dir,
                                                subjects=subjects, limit=limit, reuse_prefix=reuse))
    seconds = time.perf_counter() - start
    n = len(outcome.predictions)
    rate = metered.flops / metered.seconds if metered.seconds else 0.0
    summary = summarize_predictions("mmlu", outcome.predictions)
    figures = {
        "prefix_reuse": reuse,
        "prefix_attention": backend.prefix_attention if reuse else None,
        "questions": n,
        "seconds": round(seconds, 2),
        "questions_per_s": round(n / seconds, 2),
        "scoring_seconds": round(metered.seconds, 2),
        "tokens": metered.tokens,
        "full_prompt_tokens": sum(metered.lengths),
        "scoring_tflops": round(rate / 1e12, 4),
        "peak_fraction": round(rate / peak, 3),
        "counts": outcome.record.get("counts"),
        "micro_acc": summary.micro.acc,
    }
    return figures, outcome.predictions


def agreement(a: list[Any], b: list[Any]) -> dict[str, Any]:
    """Same predicted letter, and the largest score difference, question by question."""
    other = {p.question_id: p for p in b}
    same = sum(other[p.question_id].pred == p.pred for p in a if p.question_id in other)
    diff = max((abs(x - y) for p in a if p.question_id in other
                for x, y in zip(p.scores.values(), other[p.question_id].scores.values(), strict=True)), default=0.0)
    return {"same_predictions": same, "of": len(a), "max_abs_score_diff": diff}


def profile_subject(backend: Any, data_dir: Path, template: str, subject: str, device: Any) -> list[dict[str, Any]]:
    """The top operators by device time (CPU time on CPU) while scoring one subject with the current mode."""
    from torch.profiler import ProfilerActivity, profile

    from evaluators.runner import RunOptions, run_benchmark

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        run_benchmark(backend, RunOptions(benchmark="mmlu", template=template, data_dir=data_dir, subjects=[subject]))
        _sync(device)
    key = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
    print(prof.key_averages().table(sort_by=key, row_limit=20), flush=True)
    rows = []
    for event in sorted(prof.key_averages(), key=lambda e: -getattr(e, "device_time_total", 0.0)
                        if device.type == "cuda" else -e.cpu_time_total)[:20]:
        rows.append({"name": event.key, "calls": event.count,
                     "device_ms": round(getattr(event, "device_time_total", 0.0) / 1e3, 2),
                     "cpu_ms": round(event.cpu_time_total / 1e3, 2)})
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import torch
    import transformers

    from bench.flops import ModelDims
    from bench.matmul_peak import matmul_peak
    from evaluators.backends.base import BackendOptions
    from evaluators.backends.hf import PREFIX_ATTENTION_MODES, HFBackend
    from evaluators.catalog import validate_request

    data_dir = Path(args.data_dir)
    tokenizer_dir = data_dir / "tokenizers" / "llama2"
    if not (tokenizer_dir / "tokenizer.model").is_file() or not (data_dir / "mmlu").is_dir():
        raise ValueError(f"no MMLU data or llama2 tokenizer under {data_dir}; pass --data-dir or set CBENCH_DATA_DIR")
    subjects = [s.strip() for s in args.subjects.split(",")] if args.subjects else None
    if args.tiny and subjects is None:
        subjects = list(TINY_SUBJECTS)
    validate_request(["mmlu"], args.template, subjects)
    cuda = torch.cuda.is_available()
    if not cuda and not args.tiny:
        raise ValueError("CUDA is not available; the full check needs a GPU (use --tiny for a CPU smoke run)")
    device = torch.device("cuda" if cuda else "cpu")
    dtype = torch.bfloat16 if cuda else torch.float32
    shape = SHAPES[args.shape or ("tiny" if args.tiny else "7b")]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in PREFIX_ATTENTION_MODES for m in modes):
        raise ValueError(f"--modes takes a comma-separated list of {', '.join(PREFIX_ATTENTION_MODES)}")
    if args.quick:
        modes = modes[:1]

    figures: dict[str, Any] = {
        "device": torch.cuda.get_device_name(device) if cuda else "cpu", "dtype": str(dtype).removeprefix("torch."),
        "torch": torch.__version__, "transformers": transformers.__version__, "shape": shape,
        "template": args.template, "batch_tokens": args.batch_tokens, "batch_size": args.batch_size,
    }
    size = 8192 if cuda else 1024
    peak = matmul_peak(device, dtype, ((size, size, size),))["peak"]
    figures["matmul_peak_tflops"] = round(peak / 1e12, 4)
    emit(figures)

    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="cbench-gpu-check-"))
    model_dir = work / "model"
    try:
        model, build = build_model(shape, device, dtype, tokenizer_dir, model_dir)
        figures.update(parameters=sum(p.numel() for p in model.parameters()), build_seconds=round(build, 2))
        emit(figures)
        start = time.perf_counter()
        backend = HFBackend(BackendOptions(model_path=str(model_dir), device=str(device), dtype=figures["dtype"],
                                           max_batch_tokens=args.batch_tokens, max_batch_size=args.batch_size),
                          model=model)
        _sync(device)
        figures["load_seconds"] = round(time.perf_counter() - start, 2)
        figures["attn_implementation"] = backend.info["attn_implementation"]
        figures["flash_attention_2"] = backend.info["attn_implementation"] == "flash_attention_2"
        dims = ModelDims.from_config(backend.model.config)  # type: ignore[attr-defined]
        emit(figures)

        runs: dict[str, list[Any]] = {}
        for mode in modes:
            backend.prefix_attention = mode
            if cuda:
                torch.cuda.reset_peak_memory_stats(device)
            figures[f"full_{mode}"], runs[mode] = score(backend, dims, data_dir, args.template, subjects, None,
                                                        True, peak)
            if cuda:
                figures[f"full_{mode}"]["max_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 1)
            figures[f"full_{mode}"]["oom_backoffs"] = backend.info.get("oom_backoffs", 0)
            figures["prefix_attention_kernels"] = backend.info.get("prefix_attention_kernels")
            emit(figures)
        figures["full"] = figures[f"full_{modes[0]}"]
        if len(modes) > 1:
            base = figures[f"full_{modes[1]}"]["scoring_seconds"]
            figures["mode_speedup"] = round(base / figures["full"]["scoring_seconds"], 2)
            figures["mode_agreement"] = agreement(runs[modes[0]], runs[modes[1]])
        backend.prefix_attention = modes[0]
        if not args.quick:
            with_reuse, preds_reuse = score(backend, dims, data_dir, args.template, subjects, args.compare_limit,
                                            True, peak)
            without, preds_plain = score(backend, dims, data_dir, args.template, subjects, args.compare_limit,
                                         False, peak)
            figures["subset"] = {
                "limit_per_subject": args.compare_limit, "with_reuse": with_reuse, "without_reuse": without,
                "reuse_speedup": round(without["seconds"] / with_reuse["seconds"], 2),
                "same_predictions": agreement(preds_reuse, preds_plain)["same_predictions"],
            }
            emit(figures)
            if args.profile_subject:
                validate_request(["mmlu"], args.template, [args.profile_subject])
                figures["profile"] = {"subject": args.profile_subject, "mode": modes[0],
                                      "top": profile_subject(backend, data_dir, args.template, args.profile_subject,
                                                             device)}
        if cuda:
            figures["max_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 1)
        backend.close()
    finally:
        if not args.keep and not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
    full = figures["full"]
    print(f"{full['questions']} questions in {full['seconds']:.1f} s ({full['questions_per_s']:.1f} questions/s), "
          f"scoring {full['scoring_tflops']:.1f} TFLOP/s = {100 * full['peak_fraction']:.0f}% of the "
          f"{figures['matmul_peak_tflops']:.1f} TFLOP/s matmul peak; attention: {figures['attn_implementation']}, "
          f"prefix attention {modes[0]} {figures.get('prefix_attention_kernels')}", flush=True)
    if "mode_speedup" in figures:
        print(f"{modes[0]} vs {modes[1]}: {figures['mode_speedup']:.2f}x scoring time, "
              f"{figures['mode_agreement']['same_predictions']}/{figures['mode_agreement']['of']} same predictions",
              flush=True)
    emit(figures, final=True)
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
