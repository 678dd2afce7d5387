"""Remote commands, against a running server through `cbench.client`: `submit` (optionally `--wait`, following
the jobs with a progress bar), `status`, `results` (table, JSON or CSV), `leaderboard` and `cancel`.

Server and token come from `--server` / `--token`, else `$CBENCH_SERVER` / `$CBENCH_TOKEN`, else the config file
(`--config`, `$CBENCH_CONFIG` or ~/.config/cbench/config.toml with `server = "..."` and `token = "..."`). Results go
to stdout; progress bars and notes go to stderr, so `cbench results 7 --format json | jq` stays clean.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any, TextIO

from cbench.client import (
    ApiError,
    Client,
    JobRecord,
    JobResults,
    LeaderboardEntry,
    ServerUnreachable,
    resolve_connection,
)

FORMATS = ("table", "json", "csv")
POLL_SECONDS = 1.0


class RemoteError(ValueError):
    """A failed remote call, as one line (the CLI prints it and exits with 2)."""


def _connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", help="server URL (default: $CBENCH_SERVER or the config file)")
    parser.add_argument("--token", help="API token for writes (default: $CBENCH_TOKEN or the config file)")
    parser.add_argument("--config", help="config file (default: $CBENCH_CONFIG or ~/.config/cbench/config.toml)")


def _job_id(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a job id is a positive integer, got {text!r}")
    return int(text)


def register(subparsers: argparse._SubParsersAction) -> None:
    submit = subparsers.add_parser("submit", help="queue jobs on a server (registers a model path or Hub id first)")
    submit.add_argument("--model", required=True, help="model id, registered name, server-side path or Hub id")
    submit.add_argument("--name", help="name to register a new model path under (default: its last component)")
    submit.add_argument("--benchmarks", required=True, help="comma-separated, e.g. mmlu,cmmlu")
    submit.add_argument("--template", default="colossaleval")
    submit.add_argument("--limit", type=int, help="questions per subject (smoke runs; the result is partial)")
    submit.add_argument("--subjects", help="comma-separated subject keys")
    submit.add_argument("--revision", help="Hub revision when registering a Hub id")
    submit.add_argument("--wait", action="store_true", help="follow the jobs to the end and print their scores")
    submit.add_argument("--format", choices=FORMATS, default="table", help="output with --wait")
    _connection_options(submit)
    submit.set_defaults(func=run_submit)

    status = subparsers.add_parser("status", help="a job's status and progress")
    status.add_argument("job", type=_job_id)
    status.add_argument("--format", choices=("table", "json"), default="table")
    _connection_options(status)
    status.set_defaults(func=run_status)

    results = subparsers.add_parser("results", help="a job's scores (summary and per subject)")
    results.add_argument("job", type=_job_id)
    results.add_argument("--format", choices=FORMATS, default="table")
    _connection_options(results)
    results.set_defaults(func=run_results)

    board = subparsers.add_parser("leaderboard", help="the server's leaderboard")
    board.add_argument("--benchmark")
    board.add_argument("--template")
    board.add_argument("--tag")
    board.add_argument("--run")
    board.add_argument("--format", choices=FORMATS, default="table")
    _connection_options(board)
    board.set_defaults(func=run_leaderboard)

    cancel = subparsers.add_parser("cancel", help="cancel a queued or running job")
    cancel.add_argument("job", type=_job_id)
    _connection_options(cancel)
    cancel.set_defaults(func=run_cancel)


def _client(args: argparse.Namespace, *, write: bool = False) -> Client:
    connection = resolve_connection(args.server, args.token, args.config)
    if write and not connection.token:
        raise RemoteError("this command writes: give a token (--token, $CBENCH_TOKEN or 'token = ...' in the config "
                          "file; create one on the server with `cbench token create --name NAME`)")
    return Client(connection.server, connection.token)


def _call(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except ApiError as exc:
        raise RemoteError(str(exc)) from None
    except ServerUnreachable as exc:
        raise RemoteError(str(exc)) from None


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _model_ref(client: Client, args: argparse.Namespace) -> int | str:
    """An id or registered name as is; a path or Hub id (has a `/`) is registered first (or found by name)."""
    ref = args.model.strip()
    if ref.isdigit() or "/" not in ref:
        return int(ref) if ref.isdigit() else ref
    is_path = ref.startswith(("/", ".", "~"))
    name = args.name or (ref.rstrip("/").rsplit("/", 1)[-1] if is_path else ref)
    try:
        model = client.register_model(name, ref, revision=args.revision)
    except ApiError as exc:
        if exc.status != 409:
            raise
        print(f"model {name!r} is already registered; using it", file=sys.stderr)
        return name
    print(f"registered model #{model.id} {model.name!r} ({model.source})", file=sys.stderr)
    return model.id


def run_submit(args: argparse.Namespace) -> int:
    benchmarks = _split(args.benchmarks)
    if not benchmarks:
        raise RemoteError("--benchmarks: give at least one benchmark, e.g. mmlu,cmmlu")
    options = {"limit": args.limit, "subjects": _split(args.subjects) or None}
    with _client(args, write=True) as client:
        model = _call(lambda: _model_ref(client, args))
        jobs = _call(lambda: client.submit(model, benchmarks, template=args.template, options=options))
        for job in jobs:
            print(f"queued job #{job.id}: {job.benchmark} ({job.template})", file=sys.stderr)
        if not args.wait:
            _print_jobs(jobs, "json" if args.format == "json" else "table", sys.stdout)
            return 0
        finished = _call(lambda: wait_for(client, [j.id for j in jobs]))
        results = [_call(lambda job=job: client.results(job.id)) for job in finished]
    _print_results(results, args.format, sys.stdout)
    failed = [j for j in finished if j.status != "succeeded"]
    for job in failed:
        print(f"job #{job.id} {job.status}: {job.error or ''}".rstrip(": "), file=sys.stderr)
    return 1 if failed else 0


def wait_for(client: Client, job_ids: Sequence[int], *, poll_seconds: float = POLL_SECONDS) -> list[JobRecord]:
    """Poll the jobs until every one is final, with one progress bar (questions scored of all jobs) on stderr
    (progress log records instead when stderr is not a terminal or logs are JSON)."""
    from evaluators.progress import ProgressBar

    with ProgressBar("scoring") as bar:
        while True:
            jobs = [client.job(job_id) for job_id in job_ids]
            total = sum(j.progress_total or 0 for j in jobs)
            if total:
                bar.update(sum(j.progress_done for j in jobs), total)
            if all(j.final for j in jobs):
                return jobs
            time.sleep(poll_seconds)


def run_status(args: argparse.Namespace) -> int:
    with _client(args) as client:
        job = _call(lambda: client.job(args.job))
    _print_jobs([job], args.format, sys.stdout)
    return 0


def run_results(args: argparse.Namespace) -> int:
    with _client(args) as client:
        results = _call(lambda: client.results(args.job))
    _print_results([results], args.format, sys.stdout)
    return 0


def run_leaderboard(args: argparse.Namespace) -> int:
    with _client(args) as client:
        entries = _call(lambda: client.leaderboard(benchmark=args.benchmark, template=args.template, tag=args.tag,
                                                   run=args.run))
    _print_leaderboard(entries, args.format, sys.stdout)
    return 0


def run_cancel(args: argparse.Namespace) -> int:
    with _client(args, write=True) as client:
        job = _call(lambda: client.cancel(args.job))
    print(f"job #{job.id} {job.status}")
    return 0


# --- output ---
def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO) -> None:
    cells = [[str(c) for c in header]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for index, row in enumerate(cells):
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")
        if index == 0:
            out.write("  ".join("-" * w for w in widths) + "\n")


def _print_jobs(jobs: Sequence[JobRecord], fmt: str, out: TextIO) -> None:
    if fmt == "json":
        out.write(json.dumps([asdict(j) for j in jobs], indent=2) + "\n")
        return
    rows = [(j.id, j.benchmark, j.template, j.status, f"{j.progress_done}/{j.progress_total or '?'}", j.error or "")
            for j in jobs]
    _table(("job", "benchmark", "template", "status", "progress", "error"), rows, out)


RESULT_COLUMNS = ("job_id", "benchmark", "status", "metric", "acc", "ci_low", "ci_high", "correct", "n", "expected_n",
                  "complete", "macro_acc")


def _result_row(result: JobResults) -> dict[str, Any]:
    summary = result.summary or {}
    micro = summary.get("micro") or {}
    return {"job_id": result.job_id, "benchmark": summary.get("benchmark"), "status": result.status,
            "metric": summary.get("metric"), "acc": micro.get("acc"), "ci_low": micro.get("ci_low"),
            "ci_high": micro.get("ci_high"), "correct": micro.get("correct"), "n": micro.get("n"),
            "expected_n": summary.get("expected_n"), "complete": summary.get("complete"),
            "macro_acc": summary.get("macro_acc")}


def _print_results(results: Sequence[JobResults], fmt: str, out: TextIO) -> None:
    if fmt == "json":
        out.write(json.dumps([asdict(r) for r in results], indent=2, ensure_ascii=False) + "\n")
        return
    rows = [_result_row(r) for r in results]
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=RESULT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    table_rows = []
    for row in rows:
        score = (f"{row['acc']:.2f} [{row['ci_low']:.2f}, {row['ci_high']:.2f}]" if row["acc"] is not None else "—")
        size = f"{row['n']}/{row['expected_n']}" if row["n"] is not None else ""
        label = "" if row["complete"] in (True, None) else "partial"
        table_rows.append((row["job_id"], row["benchmark"] or "", row["status"], score, size, label))
    _table(("job", "benchmark", "status", "accuracy % [95% CI]", "n", ""), table_rows, out)


def _print_leaderboard(entries: Sequence[LeaderboardEntry], fmt: str, out: TextIO) -> None:
    if fmt == "json":
        out.write(json.dumps([asdict(e) for e in entries], indent=2, ensure_ascii=False) + "\n")
        return
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        fields = [f.name for f in LeaderboardEntry.__dataclass_fields__.values()]
        writer.writerow(fields)
        writer.writerows([[getattr(e, f) for f in fields] for e in entries])
        return
    rows = [(e.benchmark, e.model_name, f"{e.acc:.2f}", f"[{e.ci_low:.2f}, {e.ci_high:.2f}]", e.n,
             "" if e.complete else "partial", e.job_id) for e in entries]
    _table(("benchmark", "model", "acc %", "95% CI", "n", "", "job"), rows, out)
