"""Command-line options shared by the benchmark scripts."""

from __future__ import annotations

import argparse
import os


def add_data_dir_argument(parser: argparse.ArgumentParser) -> None:
    """`--data-dir`: the benchmark files; default $CBENCH_DATA_DIR, required when that is unset (the scripts also
    run on device machines without the service's settings packages, so they read the variable itself)."""
    configured = os.environ.get("CBENCH_DATA_DIR")
    parser.add_argument("--data-dir", default=configured, required=not configured,
                        help="benchmark data directory (default: $CBENCH_DATA_DIR)")
