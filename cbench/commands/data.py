"""`cbench data verify` and `cbench data fetch`: check or populate the benchmark data directory.

The data directory is `--data-dir`, else the settings' `CBENCH_DATA_DIR` (environment or `.env`; see
`app.core.config`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

DATA_DIR_HELP = "benchmark data directory (default: CBENCH_DATA_DIR from the environment or .env)"


def default_data_dir() -> Path:
    """The data directory of the one settings object (read afresh: the environment or `.env` file)."""
    from app.core.config import Settings

    return Settings().data_dir


def _benchmarks(args: argparse.Namespace) -> list[str]:
    from evaluators import catalog

    names = args.benchmarks or list(catalog.BENCHMARKS)
    for name in names:
        catalog.load_spec(name)  # unknown -> ValueError naming the valid benchmarks
    return names


def verify_command(args: argparse.Namespace) -> int:
    from evaluators.manifest import verify

    data_dir = args.data_dir or default_data_dir()
    names = _benchmarks(args)
    report = verify(data_dir, names)
    for line in report.problems:
        print(line)
    if not report.ok:
        print(f"{len(report.problems)} of {report.files} files bad or missing in {data_dir}")
        return 1
    print(f"ok: {report.files} files, {report.questions} questions ({', '.join(names)}) in {data_dir}")
    return 0


def fetch_command(args: argparse.Namespace) -> int:
    from evaluators.fetch import fetch

    data_dir = args.data_dir or default_data_dir()
    report = fetch(data_dir, _benchmarks(args), base_url=args.base_url)
    for result in report.results:
        state = "already present" if result.skipped else f"{result.written} files written"
        print(f"{result.benchmark}: {state}")
    for line in report.problems:
        print(line)
    if report.problems:
        print(f"fetch incomplete: {len(report.problems)} problem(s) in {data_dir}")
        return 1
    print(f"ok: data verified in {data_dir}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="check or download the benchmark data files")
    commands = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--data-dir", type=Path, help=DATA_DIR_HELP)
        parser.add_argument("--benchmarks", nargs="+", metavar="NAME", help="benchmarks (default: all)")

    verify = commands.add_parser("verify", help="check every file's sha256 and question count")
    common(verify)
    verify.set_defaults(func=verify_command)

    fetch = commands.add_parser("fetch", help="download the official archives and extract the needed files")
    common(fetch)
    fetch.add_argument("--base-url", help="mirror serving the archives under the official URL paths")
    fetch.set_defaults(func=fetch_command)
