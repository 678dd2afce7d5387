"""Real `cbench worker` processes on one database: three drain 30 jobs exactly once; a SIGKILLed worker's job is
finished by another with no missing and no duplicate predictions; SIGTERM releases the lease after a batch."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core.config import Settings
from app.db.models import Job, PredictionRow
from app.schemas.jobs import JobCreate, JobOptions
from app.schemas.models import ModelCreate
from app.services.submission import register_model, submit_jobs

pytestmark = pytest.mark.slow

ALL_MMLU_LIMIT = 5  # 57 subjects x 5 questions: long enough to interrupt mid-job


@pytest.fixture
def spawn(spawn_cbench: Callable[..., subprocess.Popen]) -> Callable[..., subprocess.Popen]:
    def start(lease: float = 30, chunk: int = 1) -> subprocess.Popen:
        return spawn_cbench("worker", "--poll-interval", "0.2", CBENCH_WORKER_LEASE_SECONDS=str(lease),
                            CBENCH_WORKER_CHUNK_SIZE=str(chunk))

    return start


def queue(session_factory, settings: Settings, path: Path, count: int, **options) -> list[int]:
    with session_factory() as session:
        model = register_model(session, settings, ModelCreate(name="tiny", path=str(path)))
        body = JobCreate(model=model.id, benchmarks=["mmlu"], options=JobOptions(device="cpu", **options))
        ids = [job.id for _ in range(count) for job in submit_jobs(session, body)]
        session.commit()
        return ids


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def jobs(session_factory) -> list[Job]:
    with session_factory() as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


def prediction_count(session_factory, job_id: int) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).where(PredictionRow.job_id == job_id)) or 0


def test_three_workers_drain_thirty_jobs_exactly_once(session_factory, worker_settings: Settings,
                                                      tiny_model_dir: Path, spawn) -> None:
    ids = queue(session_factory, worker_settings, tiny_model_dir, 30, subjects=["abstract_algebra"], limit=1)
    workers = [spawn() for _ in range(3)]
    wait_for(lambda: all(j.status in ("succeeded", "failed") for j in jobs(session_factory)), "30 jobs to finish")
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    assert [worker.wait(timeout=120) for worker in workers] == [0, 0, 0]
    done = jobs(session_factory)
    assert [j.id for j in done] == ids
    assert all(j.status == "succeeded" and j.attempts == 1 for j in done), [(j.id, j.status, j.error) for j in done]
    assert all(prediction_count(session_factory, j.id) == 1 and j.summary["n"] == 1 for j in done)


def test_sigkilled_workers_job_is_finished_by_another(session_factory, worker_settings: Settings,
                                                      tiny_model_dir: Path, spawn) -> None:
    [job_id] = queue(session_factory, worker_settings, tiny_model_dir, 1, limit=ALL_MMLU_LIMIT)
    first = spawn(lease=3)
    wait_for(lambda: prediction_count(session_factory, job_id) > 0, "the first batch to be stored")
    first.kill()
    first.wait()
    stored_by_first = prediction_count(session_factory, job_id)
    second = spawn(lease=3)
    wait_for(lambda: jobs(session_factory)[0].status in ("succeeded", "failed"), "the job to be finished")
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=120) == 0
    [job] = jobs(session_factory)
    assert job.status == "succeeded", job.error
    assert job.attempts == 2
    with session_factory() as session:
        question_ids = list(session.scalars(select(PredictionRow.question_id).where(PredictionRow.job_id == job_id)))
    expected = 57 * ALL_MMLU_LIMIT
    assert 0 < stored_by_first < expected
    assert len(question_ids) == len(set(question_ids)) == expected == job.progress_total == job.summary["n"]


def test_sigterm_finishes_the_batch_and_releases_the_lease(session_factory, worker_settings: Settings,
                                                          tiny_model_dir: Path, spawn) -> None:
    [job_id] = queue(session_factory, worker_settings, tiny_model_dir, 1, limit=ALL_MMLU_LIMIT)
    worker = spawn()
    wait_for(lambda: prediction_count(session_factory, job_id) > 0, "the first batch to be stored")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=120) == 0
    [job] = jobs(session_factory)
    assert (job.status, job.attempts, job.lease_owner) == ("queued", 0, None)
    assert 0 < prediction_count(session_factory, job_id) < 57 * ALL_MMLU_LIMIT
