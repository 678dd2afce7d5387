"""Retry with back-off, with a real `cbench worker` process on SQLite and Postgres: a model that runs out of memory
while loading is requeued with a not-before time, the worker does other work meanwhile (and prefers it even when
the back-off is zero), and the job is claimed again only once its time has come, until its attempts are spent."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import safetensors.torch
from fastapi.testclient import TestClient
from sqlalchemy import update

from app.core.config import Settings
from app.db.base import utcnow
from app.db.models import FINAL_STATUSES, Job
from app.schemas.jobs import JobCreate, JobOptions
from app.schemas.models import ModelCreate
from app.services.submission import register_model, submit_jobs

pytestmark = pytest.mark.slow



def out_of_memory_model(tiny_model_dir: Path, directory: Path) -> Path:
    """The tiny LLaMA declaring a 10^11-token vocabulary whose embeddings are not in the checkpoint: loading it
    allocates 25.6 TB for them, which fails at once (the allocator refuses; nothing is touched)."""
    directory.mkdir(parents=True)
    config = json.loads((tiny_model_dir / "config.json").read_text())
    (directory / "config.json").write_text(json.dumps({**config, "vocab_size": 10**11}))
    for name in tiny_model_dir.iterdir():
        if name.name not in ("config.json", "model.safetensors"):
            (directory / name.name).write_bytes(name.read_bytes())
    weights = safetensors.torch.load_file(tiny_model_dir / "model.safetensors")
    kept = {k: v for k, v in weights.items() if "embed_tokens" not in k and "lm_head" not in k}
    safetensors.torch.save_file(kept, directory / "model.safetensors", metadata={"format": "pt"})
    return directory


def queue_two(session_factory, settings: Settings, tiny_model_dir: Path, model_root: Path) -> tuple[int, int]:
    """An out-of-memory job first, then a small job that succeeds."""
    huge_dir = out_of_memory_model(tiny_model_dir, model_root / "huge")
    ids = []
    with session_factory() as session:
        for name, path in (("huge", huge_dir), ("tiny", tiny_model_dir)):
            model = register_model(session, settings, ModelCreate(name=name, path=str(path)))
            body = JobCreate(model=model.id, benchmarks=["mmlu"],
                             options=JobOptions(device="cpu", subjects=["abstract_algebra"], limit=1))
            ids += [job.id for job in submit_jobs(session, body)]
        session.commit()
    return ids[0], ids[1]


def job(session_factory, job_id: int) -> Job:
    with session_factory() as session:
        return session.get(Job, job_id)


def claims(log: Path) -> list[int]:
    """Job ids in the order the worker claimed them, from its JSON log."""
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [e["job_id"] for e in entries if " claimed " in e["msg"]]


def start_worker(spawn_cbench: Callable[..., subprocess.Popen], backoff: float) -> subprocess.Popen:
    return spawn_cbench("worker", "--poll-interval", "0.2", CBENCH_WORKER_MAX_ATTEMPTS="2",
                        CBENCH_WORKER_RETRY_BACKOFF_SECONDS=str(backoff),
                        CBENCH_WORKER_RETRY_BACKOFF_MAX_SECONDS="3600")


def test_failed_job_waits_out_its_back_off_while_the_worker_does_other_work(
        session_factory, worker_settings: Settings, tiny_model_dir: Path, model_root: Path,
        spawn_cbench, wait_for, client: TestClient, tmp_path: Path) -> None:
    huge, tiny = queue_two(session_factory, worker_settings, tiny_model_dir, model_root)
    worker = start_worker(spawn_cbench, backoff=600)
    wait_for(lambda: job(session_factory, tiny).status in FINAL_STATUSES, "the small job")
    assert job(session_factory, tiny).status == "succeeded"
    time.sleep(1.0)  # five idle polls: the failed job is not due for ten minutes
    waiting = job(session_factory, huge)
    assert (waiting.status, waiting.attempts, waiting.lease_owner) == ("queued", 1, None)
    assert "can't allocate memory" in waiting.error, waiting.error
    assert timedelta(seconds=590) < waiting.not_before - utcnow() <= timedelta(seconds=600)
    record = client.get(f"/api/v1/jobs/{huge}").json()
    assert datetime.fromisoformat(record["not_before"]) == waiting.not_before.replace(tzinfo=timezone.utc)

    with session_factory() as session:  # the back-off has passed
        session.execute(update(Job).where(Job.id == huge).values(not_before=utcnow() - timedelta(seconds=1)))
        session.commit()
    wait_for(lambda: job(session_factory, huge).status in FINAL_STATUSES, "the second attempt")
    failed = job(session_factory, huge)
    assert (failed.status, failed.attempts) == ("failed", 2)
    assert "can't allocate memory" in failed.error
    assert claims(tmp_path / "process-0.log") == [huge, tiny, huge]
    assert worker.poll() is None


def test_worker_prefers_other_work_to_a_job_it_just_failed(
        session_factory, worker_settings: Settings, tiny_model_dir: Path, model_root: Path,
        spawn_cbench, wait_for, tmp_path: Path) -> None:
    huge, tiny = queue_two(session_factory, worker_settings, tiny_model_dir, model_root)
    worker = start_worker(spawn_cbench, backoff=0)  # the failed job is due again at once
    wait_for(lambda: all(job(session_factory, j).status in FINAL_STATUSES for j in (huge, tiny)), "both jobs")
    assert job(session_factory, tiny).status == "succeeded"
    assert (job(session_factory, huge).status, job(session_factory, huge).attempts) == ("failed", 2)
    assert claims(tmp_path / "process-0.log") == [huge, tiny, huge]  # not huge, huge, tiny
    assert worker.poll() is None
