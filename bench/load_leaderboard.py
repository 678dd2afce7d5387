"""Load test of the leaderboard: seed Postgres, start uvicorn, hit it with wrk from a second process on loopback.

    .venv/bin/python bench/load_leaderboard.py                       # 200 models x 5 benchmarks, 2 uvicorn workers
    .venv/bin/python bench/load_leaderboard.py --models 20 --duration 3 --clients 50   # quick look

Seeds a fresh database (`cbench_load_<pid>` on the server of `--postgres`, dropped at the end unless `--keep`):
`--models` models in training runs of 20 checkpoints, one succeeded job per model and benchmark, `--per-job`
predictions per job spread over the benchmark's scored subjects (short prompts, ~60 characters, and score dicts as
the worker stores them), per-subject rows and a summary computed by `evaluators.aggregate.summarize` from those
predictions. Rows go in with `COPY` (psycopg). Then `uvicorn app.main:create_app --factory --workers N` serves it
on 127.0.0.1 and `wrk --latency` (apt-get install wrk) measures each path at each client count for `--duration`
seconds after a 2 s warm-up. Prints one line per run (p50, p99, requests/s, non-2xx) and a JSON summary.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.db.migrate import upgrade  # noqa: E402
from app.db.models import SUMMARY_COLUMNS, summary_columns  # noqa: E402
from evaluators.aggregate import summarize  # noqa: E402
from evaluators.catalog import BENCHMARKS, load_spec  # noqa: E402
from evaluators.records import Prediction  # noqa: E402
from evaluators.templates import DEFAULT_TEMPLATE  # noqa: E402

LETTERS = "ABCD"


def predictions_for(benchmark: str, per_job: int, skill: float, rng: random.Random) -> list[Prediction]:
    subjects = [s.key for s in load_spec(benchmark).subjects]
    out = []
    for i in range(per_job):
        subject = subjects[i % len(subjects)]
        gold = LETTERS[rng.randrange(4)]
        pred = gold if rng.random() < skill else LETTERS[rng.randrange(4)]
        prompt = f"Q{i} ({subject}): which option is right? A. a B. b C. c D. d\nAnswer:"
        scores = {letter: round(rng.uniform(-5, 0), 4) for letter in LETTERS}
        out.append(Prediction(question_id=f"{subject}/{i}", subject=subject, gold=gold, pred=pred, scores=scores,
                              correct=pred == gold, prompt_sha256=hashlib.sha256(prompt.encode()).hexdigest(),
                              prompt=prompt))
    return out


def seed(url: str, models: int, per_job: int) -> dict[str, int]:
    """Insert models, jobs, predictions and subject rows with COPY; returns the row counts."""
    import psycopg

    rng = random.Random(0)
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    counts = {"models": 0, "jobs": 0, "predictions": 0, "subject_results": 0}
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        with cur.copy("COPY models (id, name, path, source, tags, training_run, step, tokens_seen, created_at) "
                      "FROM STDIN") as copy:
            for m in range(1, models + 1):
                run, step = f"run-{(m - 1) // 20}", ((m - 1) % 20 + 1) * 1000
                copy.write_row((m, f"{run}@step-{step}", f"/models/{m}", "local", json.dumps(["load"]), run, step,
                                step * 4_000_000, "2026-01-01 00:00:00"))
        counts["models"] = models
        job_rows, prediction_rows, subject_rows = [], [], []
        prompts: dict[str, str] = {}  # each prompt once (app.db.models.Prompt)
        now = "2026-01-02 00:00:00"
        for m in range(1, models + 1):
            skill = 0.25 + 0.5 * m / models
            for benchmark in BENCHMARKS:
                job_id = len(job_rows) + 1
                predictions = predictions_for(benchmark, per_job, skill, rng)
                summary = summarize(benchmark, predictions,
                                    subject_names={s.key: s.display for s in load_spec(benchmark).subjects})
                job_rows.append((job_id, m, benchmark, DEFAULT_TEMPLATE, "{}", "succeeded", per_job, per_job, 1, now,
                                 now, now, now, json.dumps({"seeded": True}), json.dumps(summary.to_dict()),
                                 *summary_columns(summary.to_dict()).values()))
                prediction_rows += [(job_id, p.question_id, p.subject, p.gold, p.pred, json.dumps(p.scores),
                                     p.correct, p.prompt_sha256) for p in predictions]
                prompts.update((p.prompt_sha256, p.prompt) for p in predictions)
                subject_rows += [(job_id, s.subject, s.display, s.accuracy.correct, s.accuracy.n, s.accuracy.acc,
                                  s.accuracy.stderr, s.accuracy.ci_low, s.accuracy.ci_high) for s in summary.subjects]
        with cur.copy("COPY jobs (id, model_id, benchmark, template, config, status, progress_done, progress_total, "
                      f"attempts, created_at, started_at, finished_at, updated_at, record, summary, {', '.join(SUMMARY_COLUMNS)}) "
                      "FROM STDIN") as copy:
            for row in job_rows:
                copy.write_row(row)
        with cur.copy("COPY prompts (sha256, text) FROM STDIN") as copy:
            for row in prompts.items():
                copy.write_row(row)
        with cur.copy("COPY predictions (job_id, question_id, subject, gold, pred, scores, correct, prompt_sha256) "
                      "FROM STDIN") as copy:
            for row in prediction_rows:
                copy.write_row(row)
        counts["jobs"], counts["predictions"] = len(job_rows), len(prediction_rows)
        with cur.copy("COPY subject_results (job_id, subject, display, correct, n, acc, stderr, ci_low, ci_high) "
                      "FROM STDIN") as copy:
            for row in subject_rows:
                copy.write_row(row)
        counts["subject_results"] = len(subject_rows)
        for table in ("models", "jobs"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
        cur.execute("ANALYZE")
    return counts


def wait_ready(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server at {base} not ready after {timeout}s")


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, clients: int, duration: int, threads: int) -> dict[str, float]:
    subprocess.run(["wrk", f"-t{threads}", f"-c{clients}", "-d2s", url], check=True, capture_output=True)  # warm-up
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{clients}", f"-d{duration}s", "--latency", "--timeout", "10s",
                          url], check=True, capture_output=True, text=True).stdout
    percentiles = dict(re.findall(r"^\s+(50|99)(?:\.000)?%\s+(\S+)$", out, re.M))
    if "50" not in percentiles:  # no request completed (all timed out): report wrk's own words
        raise SystemExit(f"wrk measured no latencies for {url} at {clients} clients:\n{out}")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)$", out, re.M)
    return {"p50_ms": to_ms(percentiles["50"]), "p99_ms": to_ms(percentiles["99"]),
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "non_2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(1) if errors else ""}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--per-job", type=int, default=300, help="predictions per job")
    parser.add_argument("--clients", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--paths", nargs="+", default=["/api/v1/leaderboard", "/"])
    parser.add_argument("--duration", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--cache-seconds", type=float, default=None, help="CBENCH_LEADERBOARD_CACHE_SECONDS")
    parser.add_argument("--keep", action="store_true", help="keep the seeded database")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found; apt-get install -y wrk")

    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    name = f"cbench_load_{os.getpid()}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
    server = None
    try:
        upgrade(url)
        started = time.monotonic()
        counts = seed(url, args.models, args.per_job)
        print(f"seeded {counts} in {time.monotonic() - started:.1f}s", flush=True)
        env = {**os.environ, "DATABASE_URL": url, "CBENCH_DATA_DIR": str(REPO_ROOT.parent / "shared" / "data"),
               "CBENCH_LOG_FORMAT": "text", "PYTHONPATH": str(REPO_ROOT)}
        if args.cache_seconds is not None:
            env["CBENCH_LEADERBOARD_CACHE_SECONDS"] = str(args.cache_seconds)
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
                                   "--host", "127.0.0.1", "--port", str(args.port), "--workers", str(args.workers),
                                   "--no-access-log", "--log-level", "warning"], cwd=REPO_ROOT, env=env,
                                  start_new_session=True)
        base = f"http://127.0.0.1:{args.port}"
        wait_ready(base)
        results = []
        for path in args.paths:
            with urllib.request.urlopen(base + path, timeout=30) as response:
                size = len(response.read())
            for clients in args.clients:
                result = {"path": path, "clients": clients, "bytes": size,
                          **run_wrk(base + path, clients, args.duration, args.wrk_threads)}
                results.append(result)
                print(f"{path:22} {clients:4} clients: p50 {result['p50_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms"
                      f"  {result['rps']:8.0f} req/s  {size} bytes  non-2xx {result['non_2xx']}", flush=True)
        print(json.dumps({"seeded": counts, "workers": args.workers, "duration_s": args.duration,
                          "results": results}, indent=1))
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        if not args.keep:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
