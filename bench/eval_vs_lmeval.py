"""Our `harness` template against lm-evaluation-harness 0.4.13 itself: speed, agreement, FLOP rate (CPU).

Both tools score the same locally built random LLaMA (float32, CPU) on the same 5-shot MMLU subjects read from the
local CSVs (lm-eval through generated task configs, see `bench/lmeval_task.py`; nothing is downloaded, the Hub and
datasets are forced offline). Printed: end-to-end wall time of each tool (model load, data, tokenization and
scoring), the speed ratio, questions/s, question-by-question agreement of the predicted letter (lm-eval's argmax of
its per-choice loglikelihoods vs our `pred`), identical prompt strings, the largest loglikelihood difference, and
our scoring FLOP rate as a fraction of a float32 matmul peak measured in the same process (formula in
`bench/flops.py`). BOS: lm-eval 0.4.13 leaves `add_bos_token` to the tokenizer (None -> the tokenizer's default),
and our `harness` template encodes with the Hugging Face tokenizer's default special tokens; the LLaMA-2 tokenizer
config says `add_bos_token: true`, so both prepend BOS (checked at run time and printed).

    python -m bench.eval_vs_lmeval                      # a handful of subjects
    python -m bench.eval_vs_lmeval --full               # all 57 subjects (long on CPU)
    python -m bench.eval_vs_lmeval --subjects anatomy,virology --output bench.json
    python -m bench.eval_vs_lmeval --model smollm2      # real weights: SmolLM2-135M (GGUF Q4_1, dequantised)
    python -m bench.eval_vs_lmeval --model gemma3-270m  # Gemma 3 270M (GGUF Q4_K_M; sliding-window layers)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.options import add_data_dir_argument

DEFAULT_SUBJECTS = ("abstract_algebra", "global_facts", "machine_learning")
TARGETS = {"speedup": 10.0, "agreement": 1.0, "peak_fraction": 0.6}


def _offline(cache_dir: Path) -> None:
    """No network at run time; a private datasets cache so every run prepares the CSVs the same way."""
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["HF_DATASETS_CACHE"] = str(cache_dir)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", default=",".join(DEFAULT_SUBJECTS), help="comma-separated MMLU subjects")
    parser.add_argument("--full", action="store_true", help="all 57 MMLU subjects (overrides --subjects)")
    add_data_dir_argument(parser)
    parser.add_argument("--model", help="existing model directory, or a name in evaluators.gguf_import.PACKAGED_GGUF "
                        "(`smollm2`, ...) converted once into CBENCH_CACHE_DIR (default: a random LLaMA in --work-dir)")
    parser.add_argument("--work-dir", help="where the model and lm-eval task files go (default: a temp dir)")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--intermediate", type=int, default=688)
    parser.add_argument("--limit", type=int, help="first N questions of each subject (both tools)")
    parser.add_argument("--lmeval-batch-size", type=int, default=8, help="lm-eval HFLM batch size")
    parser.add_argument("--batch-tokens", type=int, default=16384, help="our backend's token budget per batch")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--output", help="also write the figures and per-question disagreements to this JSON file")
    return parser.parse_args(argv)


def subjects_for(args: argparse.Namespace) -> list[str]:
    from evaluators.catalog import load_spec

    known = [s.key for s in load_spec("mmlu").subjects]
    if args.full:
        return known
    chosen = [s.strip() for s in args.subjects.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in known]
    if unknown or not chosen:
        raise ValueError(f"unknown MMLU subjects: {', '.join(unknown) or '(none given)'}; valid: {', '.join(known)}")
    return chosen


def run_lmeval(model_dir: Path, task_dir: Path, tasks: list[str], batch_size: int,
               limit: int | None) -> tuple[dict[str, Any], Any, float]:
    """lm-eval's own end-to-end run: HFLM load, task building, requests, scoring. (results, lm, seconds)"""
    start = time.perf_counter()
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    lm = HFLM(pretrained=str(model_dir), dtype="float32", device="cpu", batch_size=batch_size)
    results = simple_evaluate(model=lm, tasks=tasks, task_manager=TaskManager(include_path=str(task_dir)),
                              log_samples=True, limit=limit)
    return results, lm, time.perf_counter() - start


def run_ours(model_dir: Path, data_dir: Path, subjects: list[str], batch_tokens: int,
             limit: int | None) -> tuple[Any, Any, float]:
    """Our end-to-end run: backend load, plan (load, assemble, tokenize), scoring. (outcome, metered, seconds)"""
    start = time.perf_counter()
    from bench.flops import MeteredBackend, ModelDims
    from evaluators.backends import load_backend
    from evaluators.backends.base import BackendOptions
    from evaluators.runner import RunOptions, run_benchmark

    backend = load_backend("hf", BackendOptions(model_path=str(model_dir), device="cpu", dtype="float32",
                                                max_batch_tokens=batch_tokens))
    metered = MeteredBackend(backend, ModelDims.from_config(backend.model.config))  # type: ignore[attr-defined]
    outcome = run_benchmark(metered, RunOptions(benchmark="mmlu", template="harness", data_dir=data_dir,
                                                subjects=subjects, limit=limit, max_length=4096))
    return outcome, metered, time.perf_counter() - start


def _loglikelihoods(sample: dict[str, Any]) -> list[float]:
    return [float(r[0]) if isinstance(r, list | tuple) else float(r) for r in sample["filtered_resps"]]


def _context(sample: dict[str, Any]) -> str | None:
    args = sample.get("arguments")
    if isinstance(args, dict):  # {"gen_args_0": {"arg_0": ctx, "arg_1": cont}, ...}
        first = next(iter(args.values()), {})
        return first.get("arg_0") if isinstance(first, dict) else None
    if isinstance(args, list | tuple) and args and isinstance(args[0], list | tuple):
        return args[0][0]
    return None


def compare(lmeval_results: dict[str, Any], predictions: list[Any], prefix: str) -> dict[str, Any]:
    """Question-by-question agreement between lm-eval's samples and our predictions."""
    ours = {p.question_id: p for p in predictions}
    letters = ("A", "B", "C", "D")
    agree, same_prompt, seen, max_diff = 0, 0, 0, 0.0
    disagreements: list[dict[str, Any]] = []
    for task, samples in lmeval_results["samples"].items():
        subject = task.removeprefix(prefix)
        for sample in samples:
            qid = f"{subject}/{sample['doc_id']}"
            if qid not in ours:
                disagreements.append({"id": qid, "problem": "missing from our predictions"})
                continue
            seen += 1
            lls = _loglikelihoods(sample)
            lm_pred = letters[max(range(len(lls)), key=lambda i: (lls[i], -i))]  # np.argmax: first maximum
            mine = ours[qid]
            max_diff = max(max_diff, *(abs(lls[i] - mine.scores[c]) for i, c in enumerate(letters)))
            context = _context(sample)
            same_prompt += int(context == mine.prompt)
            if lm_pred == mine.pred:
                agree += 1
            else:
                disagreements.append({"id": qid, "lm_eval": lm_pred, "ours": mine.pred, "lm_eval_ll": lls,
                                      "ours_ll": [mine.scores[c] for c in letters]})
    return {"lmeval_questions": seen, "our_questions": len(ours), "agree": agree, "same_prompt": same_prompt,
            "max_abs_loglik_diff": max_diff, "disagreements": disagreements}


def report(f: dict[str, Any]) -> str:
    """Human-readable summary with the targets."""
    def mark(ok: bool) -> str:
        return "met" if ok else "MISSED"

    return "\n".join([
        f"questions: {f['questions']} in {f['subjects']} subjects (lm-eval batch size {f['lmeval_batch_size']}, "
        f"torch threads {f['torch_threads']})",
        f"BOS prepended: lm-eval {f['bos_lmeval']}, ours {f['bos_ours']} (both: the tokenizer's default); "
        f"prefix reuse: {f['prefix_reuse']}",
        f"lm-eval end to end: {f['lmeval_seconds']:.1f} s ({f['lmeval_questions_per_s']:.2f} questions/s)",
        f"ours end to end:    {f['ours_seconds']:.1f} s ({f['ours_questions_per_s']:.2f} questions/s)",
        f"speedup: {f['speedup']:.1f}x (target >= {TARGETS['speedup']:.0f}x: {mark(f['speedup'] >= TARGETS['speedup'])})",
        f"identical predictions: {f['agree']}/{f['questions']} (target 100%: {mark(f['agreement'] >= 1.0)}); "
        f"identical prompt strings: {f['same_prompt']}; max |loglik difference|: {f['max_abs_loglik_diff']:.2e}; "
        f"our predicted letters: {f['pred_counts']}",
        f"scoring: {f['ours_scoring_tokens']} tokens in {f['ours_scoring_seconds']:.1f} s = "
        f"{f['ours_scoring_gflops']:.1f} GFLOP/s = {100 * f['ours_peak_fraction']:.0f}% of the {f['matmul_peak_gflops']:.1f} "
        f"GFLOP/s float32 matmul peak (target >= {100 * TARGETS['peak_fraction']:.0f}%: "
        f"{mark(f['ours_peak_fraction'] >= TARGETS['peak_fraction'])})",
        f"process CPU time (load-insensitive): lm-eval {f['lmeval_cpu_seconds']:.1f} s, ours {f['ours_cpu_seconds']:.1f} s "
        f"= {f['cpu_speedup']:.1f}x; scoring {f['ours_scoring_cpu_seconds']:.1f} CPU s = "
        f"{100 * f['ours_peak_fraction_per_cpu_s']:.0f}% of the matmul peak per CPU second "
        f"({f['matmul_peak_gflops_per_cpu_s']:.1f}); load average {f['load_average']}",
        f"lm-eval processed {f['lmeval_tokens']} tokens (full prompts, full logits): "
        f"{f['lmeval_gflops_end_to_end']:.1f} GFLOP/s over its end-to-end time",
    ])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="cbench-vs-lmeval-"))
    _offline(work / "hf_datasets_cache")
    import torch
    import transformers

    from bench.flops import ModelDims, full_sequence_cost
    from bench.lmeval_task import TASK_PREFIX, write_tasks
    from bench.matmul_peak import matmul_peak
    from evaluators.tiny_model import build_tiny_llama

    data_dir = Path(args.data_dir)
    if not (data_dir / "mmlu" / "data" / "test").is_dir():
        raise ValueError(f"no MMLU data under {data_dir}; pass --data-dir or set CBENCH_DATA_DIR")
    subjects = subjects_for(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    model_dir = Path(args.model) if args.model else work / "model"
    from evaluators.gguf_import import PACKAGED_GGUF, cached_import, packaged_gguf

    if args.model in PACKAGED_GGUF:
        from app.core.config import Settings

        cache_dir = Settings().cache_dir
        model_dir = cached_import(packaged_gguf(args.model, cache_dir), cache_dir)
    if not args.model:
        build_tiny_llama(model_dir, data_dir / "tokenizers" / "llama2", hidden_size=args.hidden,
                         num_hidden_layers=args.layers, num_attention_heads=args.heads, num_key_value_heads=args.heads,
                         intermediate_size=args.intermediate, max_position_embeddings=4096)
    tasks = write_tasks(subjects, data_dir, work / "lmeval_tasks")
    config = transformers.AutoConfig.from_pretrained(model_dir)
    dims = ModelDims.from_config(config)
    print(f"model {model_dir} (d={dims.hidden}, layers={dims.layers}, decoder weights {dims.layer_params:,}), "
          f"{len(subjects)} subjects, torch threads {torch.get_num_threads()}", flush=True)

    shapes = ((1024, 1024, 1024), (2048, dims.hidden, config.intermediate_size))
    peak = matmul_peak(torch.device("cpu"), torch.float32, shapes)
    cpu_peak = matmul_peak(torch.device("cpu"), torch.float32, shapes, clock=time.process_time)["peak"]
    print(f"float32 matmul peak {peak['peak'] / 1e9:.1f} GFLOP/s ({', '.join(f'{k}: {v / 1e9:.1f}' for k, v in peak.items() if k != 'peak')}; "
          f"{cpu_peak / 1e9:.1f} per CPU second)", flush=True)

    load_before = os.getloadavg()[0]
    cpu_start = time.process_time()
    lm_results, lm, lm_seconds = run_lmeval(model_dir, work / "lmeval_tasks", tasks, args.lmeval_batch_size, args.limit)
    lm_cpu = time.process_time() - cpu_start
    print(f"lm-eval done in {lm_seconds:.1f} s ({lm_cpu:.1f} CPU s)", flush=True)
    cpu_start = time.process_time()
    outcome, metered, our_seconds = run_ours(model_dir, data_dir, subjects, args.batch_tokens, args.limit)
    our_cpu = time.process_time() - cpu_start
    print(f"ours done in {our_seconds:.1f} s ({our_cpu:.1f} CPU s)", flush=True)

    from collections import Counter

    from evaluators.tokenization import load_tokenizer

    bos = transformers.AutoTokenizer.from_pretrained(str(model_dir)).bos_token_id
    lm_bos = lm.tok_encode("Answer:")[:1] == [bos]
    our_bos = load_tokenizer(model_dir, "hf").encode("Answer:")[:1] == [bos]
    agreement = compare(lm_results, outcome.predictions, TASK_PREFIX)
    n = len(outcome.predictions)
    lm_tokens, lm_flops = full_sequence_cost(dims, metered.lengths)
    figures = {
        "subjects": len(subjects),
        "questions": n,
        "lmeval_seconds": round(lm_seconds, 2),
        "ours_seconds": round(our_seconds, 2),
        "speedup": round(lm_seconds / our_seconds, 2),
        "lmeval_questions_per_s": round(n / lm_seconds, 2),
        "ours_questions_per_s": round(n / our_seconds, 2),
        "agree": agreement["agree"],
        "agreement": round(agreement["agree"] / max(n, 1), 4),
        "same_prompt": agreement["same_prompt"],
        "max_abs_loglik_diff": agreement["max_abs_loglik_diff"],
        "bos_lmeval": lm_bos,
        "bos_ours": our_bos,
        "prefix_reuse": outcome.record["prefix_reuse_rate"],
        "pred_counts": dict(sorted(Counter(p.pred for p in outcome.predictions).items())),
        "matmul_peak_gflops": round(peak["peak"] / 1e9, 2),
        "ours_scoring_seconds": round(metered.seconds, 2),
        "ours_scoring_tokens": metered.tokens,
        "ours_scoring_gflops": round(metered.flops / metered.seconds / 1e9, 2),
        "ours_peak_fraction": round(metered.flops / metered.seconds / peak["peak"], 3),
        "lmeval_cpu_seconds": round(lm_cpu, 2),
        "ours_cpu_seconds": round(our_cpu, 2),
        "cpu_speedup": round(lm_cpu / our_cpu, 2),
        "ours_scoring_cpu_seconds": round(metered.cpu_seconds, 2),
        "matmul_peak_gflops_per_cpu_s": round(cpu_peak / 1e9, 2),
        "ours_peak_fraction_per_cpu_s": round(metered.flops / metered.cpu_seconds / cpu_peak, 3),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "lmeval_tokens": lm_tokens,
        "lmeval_gflops_end_to_end": round(lm_flops / lm_seconds / 1e9, 2),
        "lmeval_accuracy": {t.removeprefix(TASK_PREFIX): r.get("acc,none") for t, r in lm_results["results"].items()},
        "lmeval_batch_size": args.lmeval_batch_size,
        "torch_threads": torch.get_num_threads(),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
    }
    print(report(figures))
    print(json.dumps(figures))
    if args.output:
        Path(args.output).write_text(json.dumps({**figures, "disagreements": agreement["disagreements"]}, indent=1))
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
