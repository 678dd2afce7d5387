"""`cbench migrate`, `cbench token create|list|revoke`, and a Hub model failing clearly offline, as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.db.models import Job
from app.main import create_app
from app.queries.jobs import create_job
from app.queries.models import create_model

REPO_ROOT = Path(__file__).resolve().parents[3]


def cbench(*args: str, db_url: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(REPO_ROOT), **env}
    return subprocess.run([sys.executable, "-m", "cbench.main", *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=120)


def test_token_create_enables_writes(db_url: str, tmp_path: Path) -> None:
    assert cbench("migrate", db_url=db_url, cwd=tmp_path).returncode == 0
    result = cbench("token", "create", "--name", "ci", db_url=db_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("cbt_")
    app = create_app(Settings(_env_file=None, database_url=db_url, model_roots=str(tmp_path)))
    try:
        with TestClient(app) as client:
            body = {"name": "x", "path": str(tmp_path / "missing")}
            assert client.post("/api/v1/models", json=body).status_code == 401
            authorized = client.post("/api/v1/models", json=body, headers={"Authorization": f"Bearer {token}"})
            assert authorized.status_code == 422  # past the auth check: the path itself is refused
    finally:
        app.state.engine.dispose()


def test_token_create_needs_a_name(db_url: str, tmp_path: Path) -> None:
    result = cbench("token", "create", "--name", " ", db_url=db_url, cwd=tmp_path)
    assert result.returncode == 2 and "error" in result.stderr and "Traceback" not in result.stderr


def test_token_list_revoke_and_expiry(db_url: str, tmp_path: Path) -> None:
    assert cbench("migrate", db_url=db_url, cwd=tmp_path).returncode == 0
    token = cbench("token", "create", "--name", "ci", db_url=db_url, cwd=tmp_path).stdout.strip()
    expiring = cbench("token", "create", "--name", "short", "--expires-in-days", "7", db_url=db_url, cwd=tmp_path)
    assert expiring.returncode == 0, expiring.stderr
    listing = cbench("token", "list", db_url=db_url, cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    lines = [line.split("\t") for line in listing.stdout.strip().splitlines()]
    assert lines[0] == ["key", "name", "state", "created", "last_used", "expires"]
    rows = {fields[1]: fields for fields in lines[1:]}
    key = token.split("_")[1]
    assert rows["ci"][0] == key and rows["ci"][2] == "active" and rows["ci"][5] == "-"
    assert rows["short"][5] != "-" and rows["short"][2] == "active"
    assert token not in listing.stdout and expiring.stdout.strip() not in listing.stdout  # hashed at rest
    revoked = cbench("token", "revoke", key, db_url=db_url, cwd=tmp_path)
    assert revoked.returncode == 0 and key in revoked.stdout
    assert "\trevoked\t" in cbench("token", "list", db_url=db_url, cwd=tmp_path).stdout
    app = create_app(Settings(_env_file=None, database_url=db_url, model_roots=str(tmp_path)))
    try:
        with TestClient(app) as client:
            response = client.post("/api/v1/models", json={"name": "x", "path": str(tmp_path)},
                                   headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401 and "revoked" in response.json()["detail"]
    finally:
        app.state.engine.dispose()
    unknown = cbench("token", "revoke", "nope", db_url=db_url, cwd=tmp_path)
    assert unknown.returncode == 1 and "nope" in unknown.stderr and "Traceback" not in unknown.stderr
    bad = cbench("token", "create", "--name", "x", "--expires-in-days", "-1", db_url=db_url, cwd=tmp_path)
    assert bad.returncode == 2 and "expires" in bad.stderr


def test_hub_model_offline_fails_with_clear_reason(db_url: str, tmp_path: Path) -> None:
    app = create_app(Settings(_env_file=None, database_url=db_url))
    with app.state.session_factory() as session:
        model = create_model(session, name="hub", path="nonexistent-org/nonexistent-model", source="hub",
                             revision="main", tags=[])
        job_id = create_job(session, model_id=model.id, benchmark="mmlu", template="colossaleval", config={}).id
        session.commit()
    result = cbench("worker", "--once", db_url=db_url, cwd=tmp_path, HF_HUB_OFFLINE="1",
                    HF_HOME=str(tmp_path / "hf"))
    assert result.returncode == 0, result.stderr
    with app.state.session_factory() as session:
        job = session.get(Job, job_id)
        assert job.status == "failed"
        assert "nonexistent-org/nonexistent-model@main" in job.error and "Hugging Face Hub" in job.error
    app.state.engine.dispose()


@pytest.mark.slow
def test_serve_sigterm_releases_the_running_job(tmp_path: Path, data_dir: Path) -> None:
    """`cbench serve` stops its in-process worker on SIGTERM: the running job goes back to the queue unharmed."""
    import signal
    import socket
    import time

    import httpx

    from evaluators.tiny_model import build_tiny_llama

    models = tmp_path / "models"
    build_tiny_llama(models / "m", data_dir / "tokenizers" / "llama2", seed=3)
    db_url = f"sqlite:///{tmp_path / 'cbench.db'}"
    env = {"CBENCH_DATA_DIR": str(data_dir), "CBENCH_MODEL_ROOTS": str(models), "CBENCH_WORKER_CHUNK_SIZE": "4",
           "CBENCH_WORKER_POLL_INTERVAL": "0.2", "CBENCH_LEADERBOARD_CACHE_SECONDS": "0"}
    assert cbench("migrate", db_url=db_url, cwd=tmp_path).returncode == 0
    token = cbench("token", "create", "--name", "t", db_url=db_url, cwd=tmp_path).stdout.strip()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "cbench.main", "serve", "--port", str(port)], cwd=tmp_path,
                              env={**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(REPO_ROOT), **env},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base, headers = f"http://127.0.0.1:{port}/api/v1", {"Authorization": f"Bearer {token}"}
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        httpx.post(f"{base}/models", json={"name": "m", "path": str(models / "m")}, headers=headers).raise_for_status()
        job = {"model": "m", "benchmarks": ["mmlu"], "options": {"limit": 60}}  # 3,420 questions: tens of seconds
        httpx.post(f"{base}/jobs", json=job, headers=headers).raise_for_status()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and httpx.get(f"{base}/jobs/1/predictions").json()["count"] == 0:
            time.sleep(0.1)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
    app = create_app(Settings(_env_file=None, database_url=db_url))
    with app.state.session_factory() as session:
        job = session.get(Job, 1)
        assert (job.status, job.attempts, job.lease_owner) == ("queued", 0, None), server.stderr.read()[-2000:]
    app.state.engine.dispose()
