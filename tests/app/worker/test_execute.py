"""A worker runs real jobs on a tiny random LLaMA: predictions stored, summary from all stored rows, retries
skip stored questions, cancel and SIGTERM honoured between batches, clear failures."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.core.config import Settings
from app.db.models import Job, SubjectResult
from app.queries.jobs import cancel_job
from app.queries.predictions import insert_predictions, load_predictions
from app.schemas.jobs import JobCreate, JobOptions
from app.schemas.models import ModelCreate
from app.services.submission import register_model, submit_jobs
from app.worker import execute
from app.worker.execute import execute_job
from app.worker.lease import claim_job
from app.worker.loop import Worker
from app.worker.models import BackendCache
from evaluators.records import Prediction

pytestmark = pytest.mark.slow  # imports torch and builds a tiny model (tens of seconds)

SUBJECTS = ["abstract_algebra", "anatomy"]


@pytest.fixture
def worker_settings(settings: Settings, tiny_model_dir: Path) -> Settings:
    return settings.model_copy(update={"model_roots": f"{settings.model_roots}:{tiny_model_dir.parent}",
                                       "worker_chunk_size": 1})


def queue(session_factory, settings: Settings, model_path: str, **options) -> int:
    with session_factory() as session:
        model = register_model(session, settings, ModelCreate(name=f"m-{model_path[-12:]}", path=model_path))
        [job] = submit_jobs(session, JobCreate(model=model.id, benchmarks=["mmlu"], options=JobOptions(
            subjects=SUBJECTS, limit=2, device="cpu", **options)))
        session.commit()
        return job.id


def rows(session_factory, job_id: int) -> tuple[Job, list[Prediction], list[SubjectResult]]:
    with session_factory() as session:
        job = session.get(Job, job_id)
        predictions = sorted(load_predictions(session, job_id), key=lambda p: p.question_id)
        subjects = session.query(SubjectResult).filter_by(job_id=job_id).all()
        return job, predictions, subjects


def test_worker_runs_a_job(session_factory, worker_settings: Settings, tiny_model_dir: Path) -> None:
    job_id = queue(session_factory, worker_settings, str(tiny_model_dir))
    assert Worker(session_factory, worker_settings).run(once=True) == 1
    job, predictions, subjects = rows(session_factory, job_id)
    assert job.status == "succeeded", job.error
    assert [p.question_id for p in predictions] == ["abstract_algebra/0", "abstract_algebra/1", "anatomy/0",
                                                    "anatomy/1"]
    assert all(p.pred in "ABCD" and len(p.prompt_sha256) == 64 and p.prompt for p in predictions)
    assert job.summary["n"] == 4 and job.summary["micro"]["n"] == 4
    assert job.summary["micro"]["correct"] == sum(p.correct for p in predictions)
    assert sorted(s.subject for s in subjects) == SUBJECTS
    assert job.record["worker"] and job.record["attempt"] == 1
    assert (job.progress_done, job.progress_total, job.attempts, job.lease_owner) == (4, 4, 1, None)


def test_retry_skips_stored_questions_and_summarizes_all(session_factory, worker_settings: Settings,
                                                         tiny_model_dir: Path) -> None:
    job_id = queue(session_factory, worker_settings, str(tiny_model_dir))
    earlier = Prediction(question_id="anatomy/1", subject="anatomy", gold="A", pred="A", scores={"A": 9.0},
                         correct=True, prompt_sha256="e" * 64, prompt="from an earlier attempt")
    with session_factory() as session:
        insert_predictions(session, job_id, [earlier])
        session.commit()
    Worker(session_factory, worker_settings).run(once=True)
    job, predictions, _ = rows(session_factory, job_id)
    assert job.status == "succeeded"
    assert len(predictions) == 4
    assert [p.prompt for p in predictions if p.question_id == "anatomy/1"] == ["from an earlier attempt"]
    assert job.summary["n"] == 4
    with session_factory() as session:
        assert earlier in load_predictions(session, job_id)


def test_cancel_is_honoured_between_batches(session_factory, worker_settings: Settings, tiny_model_dir: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = queue(session_factory, worker_settings, str(tiny_model_dir))

    def insert_then_cancel(session, job_id_, chunk) -> None:
        insert_predictions(session, job_id_, chunk)
        cancel_job(session, job_id_)  # the user cancels while the first batch is being stored

    monkeypatch.setattr(execute, "insert_predictions", insert_then_cancel)
    assert Worker(session_factory, worker_settings).run_once() == "cancelled"  # reported as a cancel, not "lost"
    job, predictions, _ = rows(session_factory, job_id)
    assert job.status == "cancelled" and job.summary is None
    assert len(predictions) == 1


def test_stop_releases_the_lease(session_factory, worker_settings: Settings, tiny_model_dir: Path) -> None:
    job_id = queue(session_factory, worker_settings, str(tiny_model_dir))
    leased = claim_job(session_factory, "w1", 30, 3)
    stop = threading.Event()
    stop.set()  # SIGTERM arrived: the run loop stops before its next batch
    outcome = execute_job(leased, session_factory=session_factory, settings=worker_settings, owner="w1",
                          backends=BackendCache(), stop=stop)
    job, predictions, _ = rows(session_factory, job_id)
    assert outcome == "released"
    assert (job.status, job.attempts, job.lease_owner) == ("queued", 0, None)
    assert predictions == []


def test_missing_backend_fails_with_reason(session_factory, worker_settings: Settings, tiny_model_dir: Path) -> None:
    job_id = queue(session_factory, worker_settings, str(tiny_model_dir), backend="vllm")
    Worker(session_factory, worker_settings).run(once=True)
    job, _, _ = rows(session_factory, job_id)
    assert job.status == "failed" and "vllm" in job.error and job.attempts == 1
