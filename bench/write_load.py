"""Write load: concurrent `POST /api/v1/models` against one API process on SQLite and on Postgres, with wrk.

    apt-get install -y wrk
    .venv/bin/python bench/write_load.py                      # 50 and 200 writers, 10 s per run, 2 rounds
    .venv/bin/python bench/write_load.py --writers 50 --duration 3 --rounds 1   # quick look

For each database (a fresh SQLite file in a temporary directory, and a fresh `cbench_writes_<pid>` database on the
server of `--postgres`, dropped at the end) it migrates, starts `uvicorn app.main:create_app --factory` (one
process, no access log, the default pool and request-slot settings) on 127.0.0.1 and runs
`wrk -t2 -c<writers> --latency -s bench/write_load.lua`: every request registers a new model under a unique name.
Runs alternate between the two databases (SQLite, Postgres, SQLite, ...) so a load spike on a shared machine hits
both. After each run it counts the models stored under that run's name prefix and checks them against the 201s
wrk saw (no lost write). Prints one line per run and a JSON summary with the SQLite/Postgres ratios.

`--peer-root DIR` also serves each database from another checkout (e.g. `git worktree add /tmp/before <commit>`),
interleaved with this one run by run, for a before/after ratio measured under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.db.migrate import upgrade  # noqa: E402
from app.db.session import make_engine, make_session_factory  # noqa: E402
from app.queries.tokens import create_token  # noqa: E402

LUA = Path(__file__).resolve().parent / "write_load.lua"


def write_model_dir(directory: Path) -> Path:
    """A torch-free Hugging Face directory: config.json, a tokenizer file and a 6-parameter safetensors file."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps({"model_type": "llama", "torch_dtype": "float32"}))
    (directory / "tokenizer.model").write_bytes(b"tokenizer")
    header = json.dumps({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}}).encode()
    (directory / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(24))
    return directory


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(url: str, model_root: Path, root: Path = REPO_ROOT) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "CBENCH_MODEL_ROOTS": str(model_root), "CBENCH_LOG_FORMAT": "text",
           "PYTHONPATH": str(root)}
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host",
                                "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"],
                               env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2):
                return process, base
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"server on {url} did not start")


def to_ms(value: str) -> float:
    number = float(re.match(r"[\d.]+", value).group())
    return number * {"us": 1e-3, "ms": 1.0, "s": 1e3}[re.search(r"(us|ms|s)$", value).group(1)]


def run_wrk(base: str, writers: int, duration: int, model_dir: Path, token: str, prefix: str) -> dict:
    out = subprocess.run(["wrk", "-t2", f"-c{writers}", f"-d{duration}s", "--latency", "--timeout", "30s",
                          "-s", str(LUA), base, "--", str(model_dir), token, prefix],
                         check=True, capture_output=True, text=True).stdout
    percentiles = {p: to_ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.MULTILINE)}
    counts = dict(re.findall(r"(created|busy|other)=(\d+)", out))
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50_ms": percentiles.get("50"),
            "p99_ms": percentiles.get("99"), "created": int(counts["created"]), "busy_503": int(counts["busy"]),
            "other": int(counts["other"]), "socket_errors": errors.group(1) if errors else ""}


def stored(url: str, prefix: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM models WHERE name LIKE :p"), {"p": prefix + "-%"})
        value = int(count.scalar())
    engine.dispose()
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--postgres", default=os.environ.get("CBENCH_TEST_POSTGRES_URL",
                                                              "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--peer-root", type=Path, default=None,
                        help="another checkout to serve the same databases from, interleaved (before/after)")
    args = parser.parse_args()
    roots = {"this": REPO_ROOT, **({"peer": args.peer_root.resolve()} if args.peer_root else {})}
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found; apt-get install -y wrk")
    work = Path(tempfile.mkdtemp(prefix="cbench-writes-"))
    model_dir = write_model_dir(work / "models" / "m")
    pg_name = f"cbench_writes_{os.getpid()}"
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{pg_name}"'))
    urls = {"sqlite": f"sqlite:///{work / 'cbench.db'}",
            "postgres": make_url(args.postgres).set(database=pg_name).render_as_string(hide_password=False)}
    servers, results = {}, []
    try:
        for name, url in urls.items():
            upgrade(url)
            engine = make_engine(url)
            with make_session_factory(engine)() as session:
                _row, token = create_token(session, "write-load")
                session.commit()
            engine.dispose()
            for label, root in roots.items():
                servers[label, name] = (*start_server(url, work / "models", root), token)
        for round_index in range(args.rounds):
            for writers in args.writers:
                for (label, name), (_process, base, token) in servers.items():
                    url = urls[name]
                    prefix = f"{label}-r{round_index}-w{writers}"
                    figures = run_wrk(base, writers, args.duration, model_dir, token, prefix)
                    figures.update(code=label, database=name, writers=writers, round=round_index,
                                   stored=stored(url, prefix))
                    results.append(figures)
                    print(f"{label:4} {name:8} writers={writers:4} round={round_index} {figures['rps']:8.1f} writes/s "
                          f"p50={figures['p50_ms']} ms p99={figures['p99_ms']} ms created={figures['created']} "
                          f"stored={figures['stored']} 503={figures['busy_503']} other={figures['other']} "
                          f"{figures['socket_errors']}", flush=True)
    finally:
        for process, _base, _token in servers.values():
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:  # a server still stuck on requests wrk gave up on
                process.kill()
                process.wait()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(work, ignore_errors=True)
    summary: dict[str, dict] = {}
    for writers in args.writers:
        row: dict[str, object] = {}
        for label, name in servers:
            runs = [r for r in results if (r["code"], r["database"], r["writers"]) == (label, name, writers)]
            timed = [r["p99_ms"] for r in runs if r["p99_ms"] is not None]
            row[f"{label}/{name}"] = {"rps": statistics.median(r["rps"] for r in runs),
                                      "p99_ms": statistics.median(timed) if timed else None,
                                      "created": sum(r["created"] for r in runs),
                                      "lost": sum(max(0, r["created"] - r["stored"]) for r in runs),
                                      "non_201": sum(r["busy_503"] + r["other"] for r in runs)}
        row["sqlite_over_postgres_rps"] = row["this/sqlite"]["rps"] / row["this/postgres"]["rps"]
        summary[str(writers)] = row
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
