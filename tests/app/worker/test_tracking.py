"""A training run's checkpoint scores land as TensorBoard scalars at its step, next to the trainer's loss curve,
read back with TensorBoard's own event reader; and a job's progress reaches the database at once, not at the
first heartbeat."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.core.config import Settings
from app.db.models import Job
from app.schemas.jobs import JobCreate, JobOptions
from app.schemas.models import ModelCreate
from app.services.submission import register_model, submit_jobs
from app.worker import heartbeat
from app.worker.loop import Worker
from app.worker.tracking import TENSORBOARD_DIR, publish_eval_scalars, scalar_tags
from evaluators.aggregate import summarize
from evaluators.records import Prediction

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def _scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series in a TensorBoard log directory, through TensorBoard's reader."""
    reader = event_accumulator.EventAccumulator(str(log_dir), size_guidance={event_accumulator.SCALARS: 0})
    reader.Reload()
    return {tag: [(e.step, e.value) for e in reader.Scalars(tag)] for tag in reader.Tags()["scalars"]}


def _summary(n_right: int, n: int, expected_n: int) -> dict:
    predictions = [Prediction(question_id=f"anatomy/{i}", subject="anatomy", gold="A", pred="A" if i < n_right else "B",
                              scores={"A": 0.0, "B": 0.0}, correct=i < n_right, prompt_sha256="0" * 64)
                   for i in range(n)]
    return summarize("mmlu", predictions, metric="first_token", expected_n=expected_n).to_dict()


def test_scores_become_scalars_at_the_checkpoint_step(tmp_path: Path) -> None:
    (tmp_path / TENSORBOARD_DIR).mkdir()
    checkpoint = tmp_path / "epoch-0_step-300"
    common = {"model_path": str(checkpoint), "model_source": "local", "training_run": "cpt"}
    complete = _summary(30, 40, 40)
    assert publish_eval_scalars(benchmark="mmlu", template="colossaleval", summary=complete, step=300, **common) \
        == [str(tmp_path / TENSORBOARD_DIR)]
    publish_eval_scalars(benchmark="mmlu", template="colossaleval", summary=_summary(20, 40, 40), step=600, **common)
    publish_eval_scalars(benchmark="mmlu", template="harness", summary=_summary(5, 10, 40), step=300, **common)
    read = _scalars(tmp_path / TENSORBOARD_DIR)
    assert read["eval/mmlu"] == [(300, pytest.approx(75.0)), (600, pytest.approx(50.0))]
    assert read["eval/mmlu/ci_low"][0] == (300, pytest.approx(complete["micro"]["ci_low"], abs=1e-4))
    assert read["eval/mmlu/ci_high"][0] == (300, pytest.approx(complete["micro"]["ci_high"], abs=1e-4))
    assert read["eval_partial/mmlu@harness"] == [(300, pytest.approx(50.0))]  # partial and harness kept apart
    assert scalar_tags("cmmlu", "colossaleval", True) == ("eval/cmmlu", "eval/cmmlu/ci_low", "eval/cmmlu/ci_high")


def test_nothing_is_written_outside_a_logged_run(tmp_path: Path) -> None:
    summary = _summary(1, 2, 2)
    checkpoint = str(tmp_path / "epoch-0_step-1")
    assert publish_eval_scalars(benchmark="mmlu", template="colossaleval", summary=summary, model_path=checkpoint,
                                model_source="local", training_run="r", step=1) == []  # no tensorboard/ dir
    (tmp_path / TENSORBOARD_DIR).mkdir()
    assert publish_eval_scalars(benchmark="mmlu", template="colossaleval", summary=summary, model_path=checkpoint,
                                model_source="local", training_run=None, step=None) == []  # not a run's checkpoint
    assert list((tmp_path / TENSORBOARD_DIR).iterdir()) == []


@pytest.mark.slow
def test_worker_writes_a_checkpoint_scores_beside_the_loss_curve(session_factory, worker_settings: Settings,
                                                                 tiny_model_dir: Path, tmp_path: Path) -> None:
    from torch.utils.tensorboard import SummaryWriter

    save_dir = tmp_path / "runs" / "cpt"
    checkpoint = save_dir / "epoch-0_step-7"
    shutil.copytree(tiny_model_dir, checkpoint)
    trainer_log = SummaryWriter(str(save_dir / TENSORBOARD_DIR))  # what trainer/loop.py writes
    for step in range(8):
        trainer_log.add_scalar("Loss", 3.0 - 0.1 * step, step)
    trainer_log.close()
    settings = worker_settings.model_copy(update={"model_roots": f"{worker_settings.model_roots}:{tmp_path / 'runs'}"})
    with session_factory() as session:
        model = register_model(session, settings, ModelCreate(name="cpt-7", path=str(checkpoint), training_run="cpt",
                                                              step=7, tokens_seen=700))
        [queued] = submit_jobs(session, JobCreate(model=model.id, benchmarks=["mmlu"], options=JobOptions(
            subjects=["anatomy"], limit=3, device="cpu")))
        session.commit()
    assert Worker(session_factory, settings).run(once=True) == 1
    with session_factory() as session:
        job = session.get(Job, queued.id)
        assert job.status == "succeeded", job.error
        summary = job.summary
    read = _scalars(save_dir / TENSORBOARD_DIR)
    assert len(read["Loss"]) == 8  # the loss curve is untouched
    assert read["eval_partial/mmlu"] == [(7, pytest.approx(summary["micro"]["acc"], abs=1e-4))]  # limit 3: partial
    assert read["eval_partial/mmlu/ci_high"][0][1] == pytest.approx(summary["micro"]["ci_high"], abs=1e-4)


@pytest.mark.slow
def test_progress_reaches_the_database_before_the_first_heartbeat(session_factory, worker_settings: Settings,
                                                                  tiny_model_dir: Path, monkeypatch) -> None:
    settings = worker_settings.model_copy(update={"worker_lease_seconds": 600.0, "worker_chunk_size": 1})
    assert settings.heartbeat_seconds == 200.0  # no periodic beat during this job
    written: list[tuple[int, int | None]] = []
    real_renew = heartbeat.renew_lease

    def recording_renew(session_factory, job_id, owner, lease_seconds, progress=None):
        ok = real_renew(session_factory, job_id, owner, lease_seconds, progress)
        if progress is not None:
            with session_factory() as session:
                job = session.get(Job, job_id)
                written.append((job.progress_done, job.progress_total))
        return ok

    monkeypatch.setattr(heartbeat, "renew_lease", recording_renew)
    with session_factory() as session:
        model = register_model(session, settings, ModelCreate(name="progress", path=str(tiny_model_dir)))
        submit_jobs(session, JobCreate(model=model.id, benchmarks=["mmlu"], options=JobOptions(
            subjects=["anatomy"], limit=3, device="cpu")))
        session.commit()
    assert Worker(session_factory, settings).run(once=True) == 1
    assert written, "progress was never written while the job ran"
    assert written[0] == (0, 3)  # the question count is in the database before the model is even loaded
    done = [d for d, _ in written]
    assert done == sorted(done) and all(total == 3 for _, total in written)
