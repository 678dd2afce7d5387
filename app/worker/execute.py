"""Run one leased job: load (or reuse) the backend, run the benchmark, store predictions chunk by chunk.

Questions an earlier attempt already stored are skipped, and the final summary is computed from ALL stored
predictions of the job, so a job finished across several attempts (or workers) gets one consistent result.
`should_stop` is true after SIGTERM (the lease is released) or when the heartbeat lost the lease (the job was
cancelled or taken over; nothing more is written). Every database step is retried through a lost connection
(`app.worker.retry`); a model that fails to load, or a data file that does not parse, fails the job with the reason.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.config import Settings
from app.queries.estimates import compute_estimate, store_estimate
from app.queries.predictions import insert_predictions, load_predictions, stored_question_ids
from app.worker.heartbeat import Heartbeat
from app.worker.lease import LeasedJob, SessionFactory, fail_job, finish_job, job_status, release_lease
from app.worker.models import BackendCache, JobError, local_model_dir
from app.worker.retry import with_db_retry
from evaluators.backends.batching import is_out_of_memory

if TYPE_CHECKING:
    from evaluators.backends.base import Backend, BackendOptions

log = logging.getLogger(__name__)


@dataclass
class Progress:
    done: int = 0
    total: int | None = None

    def pair(self) -> tuple[int, int | None]:
        return self.done, self.total


def execute_job(job: LeasedJob, *, session_factory: SessionFactory, settings: Settings, owner: str,
                backends: BackendCache, stop: threading.Event, device: str | None = None) -> str:
    """Run `job` to an end state; returns what happened: succeeded, failed, queued, released, cancelled (by a
    user while it ran) or lost (the lease went to another worker)."""
    progress = Progress()
    heartbeat = Heartbeat(session_factory, job.id, owner, settings.worker_lease_seconds, settings.heartbeat_seconds,
                          progress.pair)
    heartbeat.start()
    _announce_total(job, progress, heartbeat)
    try:
        return _run(job, session_factory, settings, owner, backends, stop, heartbeat, progress, device)
    except (JobError, ValueError, FileNotFoundError) as exc:
        log.warning("job %s failed: %s", job.id, exc, extra={"job_id": job.id, "worker": owner})
        backends.close()
        return _fail(session_factory, job.id, owner, str(exc), retry=False, settings=settings)
    except Exception as exc:
        log.exception("job %s: unexpected error", job.id, extra={"job_id": job.id, "worker": owner})
        backends.close()
        return _fail(session_factory, job.id, owner, f"{type(exc).__name__}: {exc}", retry=True, settings=settings)
    finally:
        heartbeat.stop()


def _announce_total(job: LeasedJob, progress: Progress, heartbeat: Heartbeat) -> None:
    """Write the planned question count at once, before the model loads (the run corrects it once planned)."""
    from evaluators.catalog import planned_count

    try:
        progress.total = planned_count(job.benchmark, job.config.get("subjects"), job.config.get("limit"))
    except (ValueError, KeyError):  # an unknown subject fails the job later, with the reason
        return
    heartbeat.nudge()


def _fail(session_factory: SessionFactory, job_id: int, owner: str, reason: str, *, retry: bool,
          settings: Settings) -> str:
    status = with_db_retry(lambda: fail_job(session_factory, job_id, owner, reason, retry=retry,
                                            max_attempts=settings.worker_max_attempts,
                                            backoff_seconds=settings.worker_retry_backoff_seconds,
                                            backoff_max_seconds=settings.worker_retry_backoff_max_seconds),
                           "fail_job", job_id=job_id)
    return status or "lost"


def _load_backend(job: LeasedJob, backends: BackendCache, name: str, options: BackendOptions) -> Backend:
    """The job's backend; a model that cannot be loaded fails the job with the loader's reason (no retry)."""
    try:
        return backends.get(name, options)
    except (JobError, ValueError) as exc:
        raise JobError(f"model {job.model_name!r} failed to load: {exc}") from exc
    except Exception as exc:
        if is_out_of_memory(exc):  # may fit later or on another worker: leave it to the retry rule (back-off)
            raise
        raise JobError(f"model {job.model_name!r} failed to load: {type(exc).__name__}: {exc}") from exc


def _run(job: LeasedJob, session_factory: SessionFactory, settings: Settings, owner: str, backends: BackendCache,
         stop: threading.Event, heartbeat: Heartbeat, progress: Progress, device: str | None) -> str:
    from evaluators.backends.options import backend_options
    from evaluators.catalog import DEFAULT_MAX_LENGTH
    from evaluators.runner import RunOptions, SampleInfo, run_benchmark, summarize_predictions
    from evaluators.sampling import SampleRule

    config = job.config
    options = backend_options(settings, model_path=local_model_dir(job), template=job.template,
                              device=config.get("device") or device or settings.worker_device,
                              dtype=config.get("dtype") or "auto", revision=job.model_revision)
    backend = _load_backend(job, backends, config.get("backend") or "hf", options)
    run_options = RunOptions(benchmark=job.benchmark, template=job.template, data_dir=Path(settings.data_dir),
                             subjects=config.get("subjects"), limit=config.get("limit"),
                             max_length=config.get("max_length") or DEFAULT_MAX_LENGTH,
                             chunk_size=settings.worker_chunk_size,
                             sample=SampleRule(), sample_only=bool(config.get("sample_only")))
    def read_skip_ids() -> frozenset[str]:
        with session_factory() as session:
            return stored_question_ids(session, job.id)

    skip_ids = with_db_retry(read_skip_ids, "reading stored questions", job_id=job.id)

    def store(chunk: list) -> None:
        def insert() -> None:
            with session_factory() as session:
                insert_predictions(session, job.id, chunk)
                session.commit()

        with_db_retry(insert, "storing predictions", job_id=job.id)

    def on_progress(done: int, total: int) -> None:
        progress.done, progress.total = done, total
        heartbeat.nudge()  # the page shows the count at once (and each stored batch), not at the next beat

    def should_stop() -> bool:  # between batches: SIGTERM, a lost lease, or a cancel seen in the database
        if not (stop.is_set() or heartbeat.lost.is_set()) and with_db_retry(
                lambda: job_status(session_factory, job.id), "reading job status", job_id=job.id) != "running":
            heartbeat.lost.set()
        return stop.is_set() or heartbeat.lost.is_set()

    def publish_estimate(sample: SampleInfo) -> None:  # the sample is stored: estimate the full score from it
        def write() -> None:
            with session_factory() as session:
                store_estimate(session, job.id, owner, compute_estimate(session, job.id, job.benchmark, sample))
                session.commit()

        with_db_retry(write, "storing the estimate", job_id=job.id)

    outcome = run_benchmark(backend, run_options, skip_ids=skip_ids, on_predictions=store, should_stop=should_stop,
                            on_progress=on_progress, on_sample_scored=publish_estimate)
    if heartbeat.lost.is_set():  # a user's cancel is not a lost lease: say which it was
        status = with_db_retry(lambda: job_status(session_factory, job.id), "reading job status", job_id=job.id)
        return "cancelled" if status == "cancelled" else "lost"
    if outcome.cancelled:
        released = with_db_retry(lambda: release_lease(session_factory, job.id, owner), "release", job_id=job.id)
        return "released" if released else "lost"

    def read_predictions() -> list:
        with session_factory() as session:
            return load_predictions(session, job.id)

    predictions = with_db_retry(read_predictions, "reading predictions", job_id=job.id)
    summary = summarize_predictions(job.benchmark, predictions)
    record = {**outcome.record, "worker": owner, "attempt": job.attempts}
    finished = with_db_retry(lambda: finish_job(session_factory, job.id, owner, summary, record, progress.pair()),
                             "finish_job", job_id=job.id)
    if finished:
        _publish_scalars(job, summary.to_dict(), owner)
    return "succeeded" if finished else "lost"


def _publish_scalars(job: LeasedJob, summary: dict, owner: str) -> None:
    """A training run's checkpoint: its scores as TensorBoard / W&B scalars (best effort, never fails the job)."""
    from app.worker.tracking import publish_eval_scalars

    try:
        written = publish_eval_scalars(benchmark=job.benchmark, template=job.template, summary=summary,
                                       model_path=job.model_path, model_source=job.model_source,
                                       training_run=job.model_training_run, step=job.model_step)
    except Exception:
        log.exception("job %s: writing evaluation scalars failed", job.id, extra={"job_id": job.id, "worker": owner})
        return
    if written:
        log.info("job %s: scores written as scalars at step %s to %s", job.id, job.model_step, ", ".join(written),
                 extra={"job_id": job.id, "worker": owner})
