"""Faults with real processes on Postgres: the database restarted mid-job, the API restarted while a worker runs,
a model that no longer loads, a corrupt data file. In every case the job ends succeeded or failed with a clear
reason, its predictions are neither missing nor duplicated, and the same worker goes on to finish another job.
(A worker SIGKILLed mid-job: `test_worker_processes.test_sigkilled_workers_job_is_finished_by_another`.)
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from app.core.config import Settings
from app.db.models import Job, PredictionRow
from app.schemas.jobs import JobCreate, JobOptions
from app.schemas.models import ModelCreate
from app.services.submission import register_model, submit_jobs

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

FINAL = ("succeeded", "failed", "cancelled")


@pytest.fixture
def pg_settings(worker_settings: Settings) -> Settings:
    if not worker_settings.database_url.startswith("postgresql"):
        pytest.skip("fault tests run on Postgres")
    return worker_settings


@pytest.fixture
def spawn(pg_settings: Settings, spawn_cbench: Callable[..., subprocess.Popen]) -> Callable[..., subprocess.Popen]:
    return spawn_cbench


def worker(spawn, **env: str) -> subprocess.Popen:
    return spawn("worker", "--poll-interval", "0.2", **env)


def register(session_factory, settings: Settings, name: str, path: Path) -> int:
    with session_factory() as session:
        model = register_model(session, settings, ModelCreate(name=name, path=str(path)))
        session.commit()
        return model.id


def submit(session_factory, model_id: int, **options) -> int:
    with session_factory() as session:
        [job] = submit_jobs(session, JobCreate(model=model_id, benchmarks=["mmlu"],
                                               options=JobOptions(device="cpu", **options)))
        session.commit()
        return job.id


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except (OperationalError, httpx.HTTPError):  # the database or the API is down for a moment
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def job(session_factory, job_id: int) -> Job:
    with session_factory() as session:
        return session.get(Job, job_id)


def question_ids(session_factory, job_id: int) -> list[str]:
    with session_factory() as session:
        return list(session.scalars(select(PredictionRow.question_id).where(PredictionRow.job_id == job_id)))


def prediction_count(session_factory, job_id: int) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).where(PredictionRow.job_id == job_id)) or 0


def assert_complete(session_factory, job_id: int, expected: int) -> None:
    done = job(session_factory, job_id)
    assert done.status == "succeeded", done.error
    ids = question_ids(session_factory, job_id)
    assert len(ids) == len(set(ids)) == expected == done.summary["n"]


def restart_postgres() -> None:
    version = os.listdir("/etc/postgresql")[0]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True,
                   capture_output=True, timeout=120)


def test_worker_survives_a_database_restart_mid_job(session_factory, pg_settings: Settings,
                                                    tiny_model_dir: Path, spawn) -> None:
    if not Path("/etc/postgresql").is_dir() or shutil.which("pg_ctlcluster") is None:
        pytest.skip("needs a local Postgres cluster managed by pg_ctlcluster")
    model_id = register(session_factory, pg_settings, "tiny", tiny_model_dir)
    first = submit(session_factory, model_id, limit=3)  # 57 subjects x 3: many one-question commits
    process = worker(spawn)
    wait_for(lambda: prediction_count(session_factory, first) > 0, "the first batch")
    restart_postgres()
    wait_for(lambda: job(session_factory, first).status in FINAL, "the job to end after the restart")
    assert_complete(session_factory, first, 57 * 3)
    second = submit(session_factory, model_id, subjects=["anatomy"], limit=2)
    wait_for(lambda: job(session_factory, second).status in FINAL, "the next job")
    assert_complete(session_factory, second, 2)
    assert process.poll() is None, "the worker is still running"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_api_restart_while_a_worker_runs(session_factory, pg_settings: Settings, tiny_model_dir: Path,
                                         spawn, auth: dict[str, str]) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def start_api() -> subprocess.Popen:
        api = spawn("serve", "--no-worker", "--port", str(port))
        wait_for(lambda: httpx.get(base + "/readyz", timeout=2).status_code == 200, "the API", timeout=60)
        return api

    api = start_api()
    model = httpx.post(base + "/api/v1/models", json={"name": "tiny", "path": str(tiny_model_dir)}, headers=auth)
    assert model.status_code == 201, model.text
    submitted = httpx.post(base + "/api/v1/jobs", headers=auth, json={
        "model": "tiny", "benchmarks": ["mmlu"], "options": {"device": "cpu", "limit": 3}})
    [first] = [j["id"] for j in submitted.json()["data"]]
    process = worker(spawn)
    wait_for(lambda: prediction_count(session_factory, first) > 0, "the first batch")
    api.send_signal(signal.SIGTERM)
    assert api.wait(timeout=60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a clean shutdown
    api = start_api()
    wait_for(lambda: httpx.get(f"{base}/api/v1/jobs/{first}").json()["status"] in FINAL, "the job, via the new API")
    assert_complete(session_factory, first, 57 * 3)
    second = httpx.post(base + "/api/v1/jobs", headers=auth, json={
        "model": "tiny", "benchmarks": ["mmlu"], "options": {"device": "cpu", "subjects": ["anatomy"], "limit": 2}})
    [second_id] = [j["id"] for j in second.json()["data"]]
    wait_for(lambda: httpx.get(f"{base}/api/v1/jobs/{second_id}").json()["status"] in FINAL, "the second job")
    assert_complete(session_factory, second_id, 2)
    assert process.poll() is None


def test_model_that_fails_to_load_fails_its_job_only(session_factory, pg_settings: Settings,
                                                     tiny_model_dir: Path, model_root: Path, spawn) -> None:
    broken_dir = model_root / "broken"
    shutil.copytree(tiny_model_dir, broken_dir)
    broken = register(session_factory, pg_settings, "broken", broken_dir)
    for weights in broken_dir.glob("*.safetensors"):  # the disk went bad after registration
        weights.write_bytes(b"\x00garbage, not safetensors")
    good = register(session_factory, pg_settings, "tiny", tiny_model_dir)
    failing = submit(session_factory, broken, subjects=["anatomy"], limit=2)
    fine = submit(session_factory, good, subjects=["anatomy"], limit=2)
    process = worker(spawn)
    wait_for(lambda: job(session_factory, fine).status in FINAL, "both jobs")
    failed = job(session_factory, failing)
    assert failed.status == "failed" and failed.attempts == 1
    assert "'broken' failed to load" in failed.error
    assert prediction_count(session_factory, failing) == 0
    assert_complete(session_factory, fine, 2)
    assert process.poll() is None


def test_corrupt_data_file_fails_its_job_with_the_file_named(session_factory, pg_settings: Settings,
                                                             tiny_model_dir: Path, tmp_path: Path,
                                                             spawn) -> None:
    data = tmp_path / "data"
    shutil.copytree(Path(pg_settings.data_dir) / "mmlu", data / "mmlu")
    corrupt = data / "mmlu" / "data" / "test" / "anatomy_test.csv"
    corrupt.write_bytes(b'"unterminated,\xff\xfe not utf-8\n' + corrupt.read_bytes()[:200])
    model_id = register(session_factory, pg_settings, "tiny", tiny_model_dir)
    failing = submit(session_factory, model_id, subjects=["anatomy"], limit=2)
    fine = submit(session_factory, model_id, subjects=["astronomy"], limit=2)
    process = worker(spawn, CBENCH_DATA_DIR=str(data))
    wait_for(lambda: job(session_factory, fine).status in FINAL, "both jobs")
    failed = job(session_factory, failing)
    assert failed.status == "failed" and failed.attempts == 1
    assert "anatomy_test.csv" in failed.error, failed.error
    assert prediction_count(session_factory, failing) == 0
    assert_complete(session_factory, fine, 2)
    assert process.poll() is None
