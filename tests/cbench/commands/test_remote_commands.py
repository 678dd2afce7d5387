"""The remote commands against a real `cbench serve` process (API + in-process CPU worker) on a SQLite file, with
a real tiny random LLaMA: `submit --wait` gets the scores the server stores; status, results (table/JSON/CSV),
leaderboard and cancel; server and token from options, environment and the config file; bad input exits 2 with a
message and no traceback. `cbench.client` is also the trainer registration's client."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.db.migrate import upgrade
from app.db.session import make_engine, make_session_factory
from app.queries.tokens import create_token

REPO_ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cbench(*args: str, cwd: Path, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("CBENCH_SERVER", "CBENCH_TOKEN", "CBENCH_CONFIG")}
    environment = {**clean, "PYTHONPATH": str(REPO_ROOT), "CBENCH_CONFIG": str(cwd / "no-config.toml"), **env}
    return subprocess.run([sys.executable, "-m", "cbench.main", *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[tuple[str, str, Path, Path]]:
    """(url, token, model directory, work directory) of a `cbench serve` process on a fresh SQLite file."""
    from evaluators.tiny_model import build_tiny_llama

    work = tmp_path_factory.mktemp("remote")
    model = build_tiny_llama(work / "models" / "tiny-remote", data_dir / "tokenizers" / "llama2", seed=0)
    db_url = f"sqlite:///{work / 'cbench.db'}"
    upgrade(db_url)
    engine = make_engine(db_url)
    with make_session_factory(engine)() as session:
        _row, token = create_token(session, "remote-cli")
        session.commit()
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "CBENCH_DATA_DIR": str(data_dir),
           "CBENCH_MODEL_ROOTS": str(work / "models"), "CBENCH_WORKER_DEVICE": "cpu",
           "CBENCH_WORKER_POLL_INTERVAL": "0.2", "CBENCH_WORKER_CHUNK_SIZE": "1", "OMP_NUM_THREADS": "1",
           "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT)}
    log = open(work / "server.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "cbench.main", "serve", "--port", str(port)], cwd=work,
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("cbench serve did not start:\n" + (work / "server.log").read_text())
        time.sleep(0.2)
    try:
        yield url, token, model, work
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_submit_wait_gets_the_scores_the_server_stores(live_server) -> None:
    url, token, model, work = live_server
    result = cbench("submit", "--server", url, "--model", str(model), "--benchmarks", "mmlu",
                    "--subjects", "abstract_algebra,anatomy", "--limit", "3", "--wait", "--format", "json",
                    cwd=work, CBENCH_TOKEN=token)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "registered model" in result.stderr and "scoring" in result.stderr  # notes and the bar on stderr only
    [scored] = json.loads(result.stdout)  # stdout is the JSON alone
    assert scored["status"] == "succeeded"
    job_id = scored["job_id"]
    predictions = httpx.get(f"{url}/api/v1/jobs/{job_id}/predictions", params={"limit": 100}).json()["data"]
    assert len(predictions) == 6
    correct = sum(p["correct"] for p in predictions)
    assert scored["summary"]["micro"]["n"] == 6 and scored["summary"]["micro"]["correct"] == correct
    assert scored["summary"]["micro"]["acc"] == pytest.approx(100.0 * correct / 6)
    assert {s["subject"] for s in scored["subjects"]} == {"abstract_algebra", "anatomy"}
    assert scored["record"]["template"] == "colossaleval"

    status = cbench("status", str(job_id), "--server", url, cwd=work)
    assert status.returncode == 0 and "succeeded" in status.stdout and "6/6" in status.stdout
    table = cbench("results", str(job_id), cwd=work, CBENCH_SERVER=url)  # the server from the environment
    assert table.returncode == 0 and f"{100.0 * correct / 6:.2f}" in table.stdout and "partial" in table.stdout
    rows = list(csv.DictReader(io.StringIO(cbench("results", str(job_id), "--format", "csv", "--server", url,
                                                  cwd=work).stdout)))
    assert rows[0]["job_id"] == str(job_id) and float(rows[0]["acc"]) == pytest.approx(100.0 * correct / 6)
    config = work / "config.toml"
    config.write_text(f'server = "{url}"\ntoken = "{token}"\n')
    board = cbench("leaderboard", "--format", "json", "--config", str(config), cwd=work)
    assert board.returncode == 0, board.stderr
    assert any(e["job_id"] == job_id for e in json.loads(board.stdout))
    again = cbench("cancel", str(job_id), cwd=work, CBENCH_CONFIG=str(config))  # token from the config file
    assert again.returncode == 2 and "409" in again.stderr and "already succeeded" in again.stderr


def test_submit_without_wait_then_cancel(live_server) -> None:
    url, token, _model, work = live_server
    submitted = cbench("submit", "--server", url, "--token", token, "--model", "tiny-remote",
                       "--benchmarks", "cmmlu", "--format", "json", cwd=work)
    assert submitted.returncode == 0, submitted.stderr
    [job] = json.loads(submitted.stdout)
    cancelled = cbench("cancel", str(job["id"]), "--server", url, "--token", token, cwd=work)
    assert cancelled.returncode == 0, cancelled.stderr
    assert httpx.get(f"{url}/api/v1/jobs/{job['id']}").json()["status"] == "cancelled"


@pytest.mark.parametrize("args, message", [
    (("status", "999999"), "404"),
    (("status", "abc"), "positive integer"),
    (("submit", "--model", "tiny-remote", "--benchmarks", "nope"), "unknown benchmark"),
    (("submit", "--model", "tiny-remote", "--benchmarks", "mmlu", "--token", "cbt_bad_token"), "401"),
])
def test_bad_input_exits_2_with_a_message(live_server, args, message: str) -> None:
    url, token, _model, work = live_server
    env = {"CBENCH_SERVER": url, "CBENCH_TOKEN": token}
    result = cbench(*args, cwd=work, **env)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr and "Traceback" not in result.stderr


def test_unreachable_server_and_missing_settings(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{_free_port()}"
    result = cbench("status", "1", "--server", down, cwd=tmp_path)
    assert result.returncode == 2 and "unreachable" in result.stderr and "Traceback" not in result.stderr
    result = cbench("leaderboard", cwd=tmp_path)
    assert result.returncode == 2 and "no server given" in result.stderr
    result = cbench("cancel", "1", "--server", down, cwd=tmp_path)
    assert result.returncode == 2 and "token" in result.stderr


def test_trainer_registration_uses_this_client() -> None:
    import cbench.client
    import trainer.registration

    assert trainer.registration.Client is cbench.client.Client
