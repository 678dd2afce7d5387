"""`cbench eval`, `cbench prompts` and `cbench export-ceval`.

Input is validated before anything heavy is loaded (benchmark, template and subject names against the catalog,
model path, data directory), so bad input costs a second and exits 2 with a one-line message naming the choices.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cbench.commands.data import DATA_DIR_HELP, default_data_dir
from evaluators.catalog import BENCHMARKS, DEFAULT_MAX_LENGTH, TEMPLATE_IDS, load_spec, validate_request
from evaluators.model_files import check_model_dir
from evaluators.templates import DEFAULT_TEMPLATE


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _data_dir(args: argparse.Namespace) -> Path:
    path = Path(args.data_dir or default_data_dir())
    if not path.is_dir():
        raise ValueError(f"data directory {path} does not exist; set CBENCH_DATA_DIR or pass --data-dir "
                         "(`cbench data fetch` downloads the files)")
    return path


def _subjects_for(benchmark: str, subjects: list[str] | None) -> list[str] | None:
    if subjects is None:
        return None
    own = {s.key for s in load_spec(benchmark).subjects}
    mine = [s for s in subjects if s in own]
    if not mine:
        raise ValueError(f"none of the subjects {', '.join(subjects)} belongs to {benchmark}")
    return mine


def register(subparsers: argparse._SubParsersAction) -> None:
    ev = subparsers.add_parser("eval", help="score a model on benchmarks and print a results table")
    ev.add_argument("--model", required=True, help="local Hugging Face model directory")
    ev.add_argument("--benchmarks", default=",".join(BENCHMARKS), help=f"comma-separated: {', '.join(BENCHMARKS)}")
    ev.add_argument("--template", default=DEFAULT_TEMPLATE, help=f"one of: {', '.join(TEMPLATE_IDS)}")
    ev.add_argument("--subjects", help="comma-separated subject keys (default: all scored subjects)")
    ev.add_argument("--limit", type=int, help="first N questions of each subject")
    ev.add_argument("--split", help="split to score (default: the benchmark's eval split; C-Eval: val or test)")
    ev.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto")
    ev.add_argument("--dtype", default="auto", help="auto (float32 on CPU, bfloat16 on GPU), float32, bfloat16, float16")
    ev.add_argument("--backend", default="hf", help="hf (transformers) or vllm")
    ev.add_argument("--max-length", type=int, default=DEFAULT_MAX_LENGTH, help="model context length L used by the shot budget")
    ev.add_argument("--batch-tokens", type=int, default=16384, help="token budget per batch (halved on OOM)")
    ev.add_argument("--no-prefix-reuse", action="store_true", help="run every prompt in full (for comparisons)")
    ev.add_argument("--allow-remote-code", action="store_true", help="trust the model's custom code")
    ev.add_argument("--data-dir", help=DATA_DIR_HELP)
    ev.add_argument("--output", help="write summary, reproducibility record and every prediction to this JSON file")
    ev.set_defaults(func=run_eval)

    pr = subparsers.add_parser("prompts", help="print the exact prompts as JSON lines (no model needed)")
    pr.add_argument("--benchmark", required=True, help=f"one of: {', '.join(BENCHMARKS)}")
    pr.add_argument("--template", default=DEFAULT_TEMPLATE, help=f"one of: {', '.join(TEMPLATE_IDS)}")
    pr.add_argument("--tokenizer", required=True, help="directory with the model's tokenizer files")
    pr.add_argument("--subjects", help="comma-separated subject keys")
    pr.add_argument("--limit", type=int, help="first N questions of each subject")
    pr.add_argument("--split", help="split (default: the eval split)")
    pr.add_argument("--max-length", type=int, default=DEFAULT_MAX_LENGTH)
    pr.add_argument("--data-dir", help=DATA_DIR_HELP)
    pr.set_defaults(func=run_prompts)

    ex = subparsers.add_parser("export-ceval", help="write C-Eval's official submission JSON from eval results")
    ex.add_argument("--results", required=True, help="results JSON of `cbench eval --benchmarks ceval --split test`")
    ex.add_argument("--output", required=True, help="submission file to write")
    ex.add_argument("--data-dir", help=DATA_DIR_HELP + "; for the native question ids")
    ex.set_defaults(func=run_export_ceval)


def run_eval(args: argparse.Namespace) -> int:
    from app.core.config import get_settings
    from evaluators.backends import load_backend
    from evaluators.backends.options import backend_options
    from evaluators.progress import ProgressBar
    from evaluators.runner import RunOptions, run_benchmark, summarize_predictions
    benchmarks = _csv(args.benchmarks) or []
    subjects = _csv(args.subjects)
    validate_request(benchmarks, args.template, subjects)
    per_benchmark_subjects = {b: _subjects_for(b, subjects) for b in benchmarks}
    data_dir = _data_dir(args)
    check_model_dir(args.model)
    if args.limit is not None and args.limit < 1:
        raise ValueError("--limit must be a positive number of questions per subject")
    load_options = backend_options(get_settings(), model_path=args.model, template=args.template, device=args.device,
                                   dtype=args.dtype, allow_remote_code=args.allow_remote_code,
                                   max_batch_tokens=args.batch_tokens)
    backend = load_backend(args.backend, load_options)
    results: list[dict[str, Any]] = []
    predictions: dict[str, list[dict[str, Any]]] = {}
    for benchmark in benchmarks:
        options = RunOptions(benchmark=benchmark, template=args.template, data_dir=data_dir,
                             subjects=per_benchmark_subjects[benchmark], limit=args.limit, split=args.split,
                             max_length=args.max_length, reuse_prefix=not args.no_prefix_reuse)
        with ProgressBar(benchmark) as bar:
            outcome = run_benchmark(backend, options, on_progress=bar.update)
        labelled = all(p.gold for p in outcome.predictions)
        summary = summarize_predictions(benchmark, outcome.predictions).to_dict() if labelled else None
        results.append({"benchmark": benchmark, "summary": summary, "record": outcome.record,
                        "seconds": bar.elapsed})
        predictions[benchmark] = [p.to_dict() for p in outcome.predictions]
    print(format_table(results))
    if args.output:
        payload = {"model": args.model, "template": args.template, "results": results, "predictions": predictions}
        Path(args.output).write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def format_table(results: list[dict[str, Any]]) -> str:
    """A plain-text results table: micro accuracy (headline) with its 95% interval, macro mean, n."""
    lines = [f"{'benchmark':<10} {'metric':<12} {'n':>6} {'acc':>7} {'95% CI':>17} {'macro':>7}  status"]
    for r in results:
        s = r["summary"]
        if s is None:
            lines.append(f"{r['benchmark']:<10} {'-':<12} {r['record']['questions']:>6} {'-':>7} {'-':>17} {'-':>7}  "
                         "unlabelled split (export only)")
            continue
        m = s["micro"]
        status = "complete" if s["complete"] else f"partial ({s['n']} of {s['expected_n']})"
        ci = f"[{m['ci_low']:.2f}, {m['ci_high']:.2f}]"
        lines.append(f"{r['benchmark']:<10} {s['metric']:<12} {s['n']:>6} {m['acc']:>7.2f} {ci:>17} "
                     f"{s['macro_acc']:>7.2f}  {status}")
    return "\n".join(lines)


def run_prompts(args: argparse.Namespace) -> int:
    from evaluators.plan import build_plan
    from evaluators.templates import get_template
    from evaluators.tokenization import load_tokenizer

    subjects = _csv(args.subjects)
    validate_request([args.benchmark], args.template, subjects)
    data_dir = _data_dir(args)
    if not Path(args.tokenizer).is_dir():
        raise ValueError(f"tokenizer directory {args.tokenizer} does not exist")
    tokenizer = load_tokenizer(args.tokenizer, get_template(args.template).tokenizer_policy)  # type: ignore[arg-type]
    plan = build_plan(args.benchmark, args.template, tokenizer, data_dir, subjects=subjects, limit=args.limit,
                      split=args.split, max_length=args.max_length)
    out = sys.stdout
    for item in plan.items:
        row = {"id": item.question.id, "subject": item.question.subject, "prompt": item.prompt.text,
               "gold": item.prompt.gold, "candidate_token_ids": [list(c) for c in item.request.candidates],
               "prompt_sha256": item.prompt.sha256, "n_tokens": len(item.request.ids),
               "prefix_tokens": item.request.prefix_len, "prefix_rule": item.prefix_rule,
               "shots": item.prompt.shots_used, "truncated": item.truncated}
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    summary = {"benchmark": args.benchmark, "template": args.template, "tokenizer": tokenizer.implementation,
               "bos_added": plan.bos_added, "prefix_reuse": plan.prefix_reuse.to_dict()}
    print(json.dumps(summary, ensure_ascii=False), file=sys.stderr)  # stdout stays one prompt per line
    return 0


def run_export_ceval(args: argparse.Namespace) -> int:
    from evaluators.ceval_export import submission_from_results

    path = Path(args.results)
    if not path.is_file():
        raise ValueError(f"results file {path} does not exist")
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"results file {path} is not JSON: {exc}") from exc
    submission = submission_from_results(results, _data_dir(args))
    Path(args.output).write_text(json.dumps(submission, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {args.output}: {sum(len(v) for v in submission.values())} answers in {len(submission)} subjects",
          file=sys.stderr)
    return 0
