"""The hostile-input suite: what a careless or malicious client sends, one module per category (encoding, size,
identity, concurrency, files, exports). Every test runs on SQLite and Postgres (the `db_url` fixture) and checks
that the answer is a 4xx naming the field (or the right output) and that nothing stored changed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def register(client: TestClient, auth: dict[str, str], model_dir: Path):
    """`register(name="x", **fields)`: POST /api/v1/models for the model directory; returns the response."""

    def post(**fields: object):
        return client.post("/api/v1/models", json={"path": str(model_dir), **fields}, headers=auth)

    return post


def model_count(client: TestClient) -> int:
    return client.get("/api/v1/models").json()["count"]


def job_count(client: TestClient) -> int:
    return client.get("/api/v1/jobs").json()["count"]


def refused(response, status: int, *words: str) -> str:
    """Assert `response` has `status` and a detail naming every word; returns the detail."""
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    for word in words:
        assert word in detail, detail
    return detail


@dataclass
class Server:
    url: str
    token: str
    process: subprocess.Popen


@pytest.fixture
def serve(settings, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """`serve(CBENCH_DB_POOL_SIZE="1")`: a real `cbench serve --no-worker` on the test database (log in tmp_path),
    with a write token; killed afterwards."""
    from app.db.session import make_engine, make_session_factory
    from app.queries.tokens import create_token

    started: list[subprocess.Popen] = []

    def start(**env: str) -> Server:
        engine = make_engine(settings.database_url)
        with make_session_factory(engine)() as session:
            _row, token = create_token(session, f"load-{len(started)}")
            session.commit()
        engine.dispose()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        environment = {**os.environ, "DATABASE_URL": settings.database_url, "CBENCH_DATA_DIR": str(settings.data_dir),
                       "CBENCH_MODEL_ROOTS": settings.model_roots, "CBENCH_LOG_FORMAT": "text",
                       "CBENCH_LEADERBOARD_CACHE_SECONDS": "0", "PYTHONPATH": str(REPO_ROOT), **env}
        log = open(tmp_path / f"serve-{len(started)}.log", "w")
        process = subprocess.Popen([sys.executable, "-m", "cbench.main", "serve", "--no-worker", "--port", str(port)],
                                   cwd=tmp_path, env=environment, stdout=log, stderr=subprocess.STDOUT)
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError((tmp_path / f"serve-{len(started) - 1}.log").read_text())
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    return Server(url=url, token=token, process=process)
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("cbench serve did not answer within 60 s")

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
