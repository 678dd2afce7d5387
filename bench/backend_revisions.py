"""The transformers backend of this checkout against the same file at an earlier git revision: both score the same
MMLU plan on the same in-memory model, interleaved subject by subject (alternating which goes first) so that a shared,
noisy machine affects both alike. Prints the best-of-N seconds of each, their ratio and whether every score is equal.

    python -m bench.backend_revisions --against e3bc040                   # 4 subjects, best of 3, CPU model
    python -m bench.backend_revisions --against e3bc040 --subjects all --repeats 1
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.gpu_eval_check import SHAPES, _sync, build_model
from bench.options import add_data_dir_argument
from bench.prefix_attention import DEFAULT_SUBJECTS

BACKEND_FILE = "evaluators/backends/hf.py"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="git revision whose evaluators/backends/hf.py is the peer")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="small")
    parser.add_argument("--subjects", default=DEFAULT_SUBJECTS, help="comma-separated MMLU subjects, or 'all'")
    parser.add_argument("--limit", type=int, help="questions per subject (default: all)")
    parser.add_argument("--repeats", type=int, default=3)
    add_data_dir_argument(parser)
    return parser.parse_args(argv)


def load_revision(revision: str, work: Path) -> Any:
    """The backend module as it was at `revision` (its imports resolve against this checkout)."""
    source = subprocess.run(["git", "show", f"{revision}:{BACKEND_FILE}"], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parent.parent).stdout
    path = work / "hf_at_revision.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("hf_at_revision", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    from evaluators.backends import hf
    from evaluators.backends.base import BackendOptions
    from evaluators.plan import build_plan
    from evaluators.templates import DEFAULT_TEMPLATE, get_template
    from evaluators.tokenization import load_tokenizer

    work = Path(tempfile.mkdtemp(prefix="cbench-backend-revisions-"))
    cuda = torch.cuda.is_available()
    device, dtype = torch.device("cuda" if cuda else "cpu"), torch.bfloat16 if cuda else torch.float32
    data_dir = Path(args.data_dir)
    model, _ = build_model(SHAPES[args.shape], device, dtype, data_dir / "tokenizers" / "llama2", work / "model")
    options = BackendOptions(model_path=str(work / "model"), device=str(device), dtype=str(dtype).removeprefix("torch."))
    backends = {"this checkout": hf.HFBackend(options, model=model),
                args.against: load_revision(args.against, work).HFBackend(options, model=model)}
    tokenizer = load_tokenizer(str(work / "model"), get_template(DEFAULT_TEMPLATE).tokenizer_policy)  # type: ignore[arg-type]
    subjects = None if args.subjects == "all" else [s.strip() for s in args.subjects.split(",")]
    plan = build_plan("mmlu", DEFAULT_TEMPLATE, tokenizer, data_dir, subjects=subjects, limit=args.limit)
    by_subject: dict[str, list[Any]] = defaultdict(list)
    for item in plan.items:
        by_subject[item.prompt.subject].append(item.request)

    names = list(backends)
    best: dict[str, dict[str, float]] = {name: {} for name in names}
    scores: dict[str, list[tuple[float, ...]]] = {name: [] for name in names}
    for repeat in range(args.repeats):
        for index, (subject, requests) in enumerate(by_subject.items()):
            for name in names if (repeat + index) % 2 == 0 else names[::-1]:
                _sync(device)
                start = time.perf_counter()
                result = backends[name].score(requests)
                _sync(device)
                best[name][subject] = min(best[name].get(subject, float("inf")), time.perf_counter() - start)
                if repeat == 0:
                    scores[name].extend(r.scores for r in result)
    seconds = {name: sum(best[name].values()) for name in names}
    figures = {"questions": len(plan.items), "subjects": len(by_subject), "repeats": args.repeats,
               "seconds": {name: round(value, 2) for name, value in seconds.items()},
               "this_checkout_time_ratio": round(seconds[names[0]] / seconds[names[1]], 3),
               "identical_scores": scores[names[0]] == scores[names[1]]}
    for name in names:
        print(f"{name:>14s} {seconds[name]:8.2f} s  {len(plan.items) / seconds[name]:7.1f} questions/s", flush=True)
    print(f"this checkout / {args.against}: {figures['this_checkout_time_ratio']:.3f}x the time; "
          f"identical scores: {figures['identical_scores']}", flush=True)
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
