"""A real worker on a tiny LLaMA publishes the early estimate while the job runs (API: "estimate, n of N"), equal
to the stratified estimator's formula over the stored sample; `sample_only` stops after the sample."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from app.core.config import Settings
from app.schemas.jobs import JobCreate, JobOptions
from app.schemas.models import ModelCreate
from app.services.submission import register_model, submit_jobs
from app.worker import execute
from app.worker.loop import Worker
from evaluators.sampling import stratified_sample

pytestmark = pytest.mark.slow

SUBJECTS = ["abstract_algebra", "anatomy"]
LIMIT = 20  # per subject: the sample is 5 of each (10% of 20 is 2, at least 5)


@pytest.fixture
def worker_settings(settings: Settings, tiny_model_dir: Path) -> Settings:
    return settings.model_copy(update={"model_roots": f"{settings.model_roots}:{tiny_model_dir.parent}",
                                       "worker_chunk_size": 4})


def _queue(session_factory, settings: Settings, model_path: str, **options) -> int:
    with session_factory() as session:
        model = register_model(session, settings, ModelCreate(name="tiny", path=model_path))
        [job] = submit_jobs(session, JobCreate(model=model.id, benchmarks=["mmlu"], options=JobOptions(
            subjects=SUBJECTS, limit=LIMIT, device="cpu", **options)))
        session.commit()
        return job.id


def _expected(predictions: list[dict]) -> tuple[float, float, float]:
    """The stratified estimator by hand: two subjects of N_s = 20, n_s = 5 each, W_s = 1/2."""
    sampled = stratified_sample("mmlu", {s: [f"{s}/{i}" for i in range(LIMIT)] for s in SUBJECTS})
    mean = variance = 0.0
    for subject in SUBJECTS:
        rows = [p for p in predictions if p["subject"] == subject and p["question_id"] in sampled]
        assert len(rows) == 5
        p = sum(r["correct"] for r in rows) / 5
        mean += 0.5 * p
        variance += 0.25 * (1 - 5 / 20) * p * (1 - p) / 4
    se = math.sqrt(variance)
    return 100 * mean, 100 * max(0.0, mean - 1.959963984540054 * se), 100 * min(1.0, mean + 1.959963984540054 * se)


def test_estimate_is_published_while_the_job_runs(client, session_factory, worker_settings: Settings,
                                                  tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = _queue(session_factory, worker_settings, str(tiny_model_dir))
    seen_while_running: list[dict] = []
    job_status = execute.job_status

    def watching_status(factory, checked_id):
        job = client.get(f"/api/v1/jobs/{checked_id}").json()
        if job["estimate"] is not None and not seen_while_running:
            stored = client.get(f"/api/v1/jobs/{checked_id}/predictions", params={"limit": 1}).json()["count"]
            seen_while_running.append({**job, "stored": stored})
        return job_status(factory, checked_id)

    monkeypatch.setattr(execute, "job_status", watching_status)
    assert Worker(session_factory, worker_settings).run(once=True) == 1
    [running] = seen_while_running
    assert running["status"] == "running" and 10 <= running["stored"] < 40  # the sample is in, the rest is not
    estimate = running["estimate"]
    assert (estimate["n"], estimate["population"], estimate["subjects"]) == (10, 40, 2)

    final = client.get(f"/api/v1/jobs/{job_id}").json()
    assert final["status"] == "succeeded"
    predictions = client.get(f"/api/v1/jobs/{job_id}/predictions", params={"limit": 100}).json()["data"]
    assert len(predictions) == 40
    acc, low, high = _expected(predictions)
    assert estimate["acc"] == pytest.approx(acc)
    assert estimate["ci_low"] == pytest.approx(low)
    assert estimate["ci_high"] == pytest.approx(high)
    results = client.get(f"/api/v1/jobs/{job_id}/results").json()
    assert results["summary"]["n"] == 40 and results["record"]["sample"]["n"] == 10
    sampled = stratified_sample("mmlu", {s: [f"{s}/{i}" for i in range(LIMIT)] for s in SUBJECTS})
    stored_order = [p["question_id"] for p in predictions]  # insertion order: the sample was scored first
    assert set(stored_order[:10]) == sampled


def test_sample_only_stops_after_the_sample(client, session_factory, worker_settings: Settings,
                                            tiny_model_dir: Path) -> None:
    job_id = _queue(session_factory, worker_settings, str(tiny_model_dir), sample_only=True)
    assert Worker(session_factory, worker_settings).run(once=True) == 1
    job = client.get(f"/api/v1/jobs/{job_id}").json()
    assert job["status"] == "succeeded" and job["config"]["sample_only"] is True
    assert job["estimate"]["n"] == 10 and job["estimate"]["population"] == 40
    assert client.get(f"/api/v1/jobs/{job_id}/results").json()["summary"]["n"] == 10
