"""The `cbench-train` command: expand-vocab, init-model, prepare, run, register.

Thin: parses arguments and calls the modules. Bad input (ValueError, FileNotFoundError) is one line on stderr
with exit code 2. `run` is meant to be launched with torchrun (`torchrun --nproc_per_node N -m trainer run ...`)
or `colossalai run`; a single process without torchrun also works.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from trainer import args as train_args


def cmd_expand_vocab(ns: argparse.Namespace) -> int:
    from trainer.vocab import expand_tokenizer, mine_pieces, read_pieces

    if (ns.pieces is None) == (ns.corpus is None):
        raise ValueError("give exactly one of --pieces (JSON lines) and --corpus (text to mine pieces from)")
    pieces = read_pieces(ns.pieces) if ns.pieces else mine_pieces(ns.corpus, ns.mine)
    report = expand_tokenizer(ns.source, pieces, ns.output, user_defined=ns.user_defined)
    print(f"vocabulary {report.old_size} -> {report.new_size} ({len(report.added)} added, "
          f"{len(report.skipped)} already present)")
    print(f"{len(report.not_single)} added pieces do not encode to a single id"
          + (" (re-run with --user-defined to force them)" if report.not_single else ""))
    for piece in report.not_single:
        print(f"  not single: {json.dumps(piece, ensure_ascii=False)}")
    return 0


def cmd_init_model(ns: argparse.Namespace) -> int:
    from trainer.init_model import resize_model

    report = resize_model(ns.source, ns.tokenizer, ns.output, pad_to_multiple_of=ns.pad_to_multiple_of,
                          dtype=ns.dtype)
    print(f"vocabulary {report.old_vocab} -> {report.tokenizer_vocab} (model rows {report.model_vocab}); "
          f"saved to {report.output}")
    return 0


def cmd_prepare(ns: argparse.Namespace) -> int:
    from trainer.prepare import prepare

    manifest = prepare(ns.input, ns.tokenizer, ns.output, max_length=ns.max_length, bins=ns.bins, seed=ns.seed,
                       contamination_index=not ns.no_contamination_index, index_memory_mb=ns.index_memory_mb)
    for sub in manifest["sub_datasets"]:
        print(f"{sub['path']}: {sub['documents']} documents, {sub['tokens']} tokens "
              f"({sub['truncated_tokens']} cut by max_length)")
    for bucket in manifest["buckets"]:
        print(f"{bucket['file']}: {bucket['sequences']} sequences, {bucket['tokens']} tokens "
              f"({bucket['trained_tokens']} trained)")
    print(f"total: {manifest['documents']} documents -> {manifest['sequences']} sequences of <= "
          f"{manifest['max_length']} tokens, {manifest['tokens']} tokens, packing efficiency "
          f"{manifest['packing_efficiency']:.3f}")
    if "contamination_index" in manifest:
        print(f"contamination index {manifest['contamination_index']['id']} "
              f"({manifest['contamination_index']['ngrams']} n-grams) in {ns.output}/contamination-index")
    return 0


def cmd_run(ns: argparse.Namespace) -> int:
    from trainer.loop import run

    result = run(train_args.from_namespace(ns))
    if os.environ.get("RANK", "0") == "0":
        print(json.dumps(result))
    return 0


def cmd_register(ns: argparse.Namespace) -> int:
    from trainer.registration import EvalRequest, enqueue, flush, registration_body

    token = ns.token or os.environ.get("CBENCH_TOKEN")
    if not token:
        raise ValueError("a token is needed (--token or $CBENCH_TOKEN)")
    save_dir = Path(ns.save_dir)
    if not save_dir.is_dir():
        raise FileNotFoundError(f"save directory {save_dir} does not exist")
    for checkpoint in ns.checkpoint or []:
        request = EvalRequest(benchmarks=tuple(train_args.split_list(ns.benchmarks)), limit=ns.eval_limit,
                              subjects=tuple(train_args.split_list(ns.eval_subjects)) or None,
                              tags=tuple(train_args.split_list(ns.tags)), description=ns.description)
        enqueue(save_dir, registration_body(checkpoint, ns.run_name or save_dir.resolve().name, request))
    result = flush(save_dir, ns.server, token)
    print(f"{result.sent} sent, {result.pending} pending, {result.failed} rejected"
          + (f" ({result.last_error})" if result.last_error else ""))
    return 0 if result.pending == 0 and result.failed == 0 else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cbench-train", description="Colossal-LLaMA style continual pre-training.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("expand-vocab", help="extend a SentencePiece tokenizer with new pieces")
    p.add_argument("--source", required=True, help="tokenizer directory (tokenizer.model)")
    p.add_argument("--pieces", help='JSON lines {"piece": ...}')
    p.add_argument("--corpus", help="text file to mine pieces from with SentencePiece's trainer")
    p.add_argument("--mine", type=int, default=1000, help="pieces to mine from --corpus")
    p.add_argument("--user-defined", action="store_true", help="add USER_DEFINED pieces (always single ids)")
    p.add_argument("--output", required=True, help="new tokenizer directory (must not exist or be empty)")
    p.set_defaults(func=cmd_expand_vocab)

    p = sub.add_parser("init-model", help="resize a model to an expanded tokenizer (per-piece mean rows)")
    p.add_argument("--source", required=True, help="Hugging Face model directory")
    p.add_argument("--tokenizer", required=True, help="expanded tokenizer directory")
    p.add_argument("--output", required=True)
    p.add_argument("--pad-to-multiple-of", type=int, default=None)
    p.add_argument("--dtype", default="auto", choices=("auto", "float32", "bfloat16", "float16"))
    p.set_defaults(func=cmd_init_model)

    p = sub.add_parser("prepare", help="tokenize, bin and pack JSON lines (source/target/category)")
    p.add_argument("--input", action="append", required=True,
                   help="a .jsonl file or a directory of them: one sub-dataset (repeat the flag)")
    p.add_argument("--tokenizer", required=True, help="tokenizer directory (tokenizer.model, or tokenizer.json: "
                                                       "then add --no-contamination-index)")
    p.add_argument("--output", required=True)
    p.add_argument("--max-length", type=int, default=4096)
    p.add_argument("--bins", type=int, default=10, help="percentage bins per sub-dataset (= buckets)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--no-contamination-index", action="store_true",
                   help="skip building the contamination index of the prepared data (contamination-index/)")
    p.add_argument("--index-memory-mb", type=float, default=512.0, help="memory cap of the index build")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("run", help="train (launch with torchrun or colossalai run)")
    train_args.add_arguments(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("register", help="register checkpoints with the server and flush the outbox")
    p.add_argument("--save-dir", required=True, help="the training save directory (holds the outbox)")
    p.add_argument("--checkpoint", action="append", help="checkpoint directory to register (repeatable)")
    p.add_argument("--server", required=True)
    p.add_argument("--token", default=None, help="API token (default: $CBENCH_TOKEN)")
    p.add_argument("--run-name", default=None)
    p.add_argument("--benchmarks", default="")
    p.add_argument("--eval-limit", type=int, default=None)
    p.add_argument("--eval-subjects", default="")
    p.add_argument("--tags", default="")
    p.add_argument("--description", default=None, help="what the run is (stored with each checkpoint's model)")
    p.set_defaults(func=cmd_register)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[cbench-train] %(message)s", stream=sys.stdout)
    if not getattr(ns, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(ns.func(ns) or 0)
    except (ValueError, FileNotFoundError) as exc:
        print(f"cbench-train {ns.command}: error: {exc}", file=sys.stderr)
        return 2
