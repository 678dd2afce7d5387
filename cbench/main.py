"""Entry point of the `cbench` command.

Each sub-command group lives in `cbench/commands/<group>.py` and registers its parsers; the handler a parser sets
as `func` receives the parsed namespace and returns an exit code. A `CommandError` (or `ValueError` raised for bad
input) is printed as one line on stderr with exit code 2 -- users never see a traceback for bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cbench.commands import contamination, data, evaluation, models, remote, server

COMMAND_MODULES = (
    evaluation,  # eval, prompts, export-ceval
    data,  # data verify, data fetch
    server,  # serve, worker, migrate, token
    contamination,  # contamination index, contamination check
    remote,  # submit, status, results, leaderboard, cancel (against a server)
    models,  # models import
)


class CommandError(Exception):
    """A user-facing error: printed as a single line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cbench", description="colossal-bench: evaluate base LLMs checkpoint by checkpoint.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except (CommandError, ValueError, FileNotFoundError) as exc:
        print(f"cbench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cbench {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
