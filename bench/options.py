"""Command-line options shared by the benchmark scripts."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def add_data_dir_argument(parser: argparse.ArgumentParser) -> None:
    """`--data-dir`: the benchmark files; default $CBENCH_DATA_DIR, else ../shared/data beside the checkout."""
    parser.add_argument("--data-dir", default=os.environ.get("CBENCH_DATA_DIR") or str(DEFAULT_DATA_DIR),
                        help="benchmark data directory (default: $CBENCH_DATA_DIR or ../shared/data)")
