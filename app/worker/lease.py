"""The job lease: claim, renew, release and finish, each one short transaction.

Claiming picks the oldest job that is queued (and whose back-off time, `not_before`, has come) or whose lease
expired; jobs the claiming worker failed itself come last, so it prefers other work. On Postgres the candidate row is locked
with `SELECT ... FOR UPDATE SKIP LOCKED`, so concurrent workers never wait on each other; on SQLite (one writer
at a time) the claim is a conditional UPDATE that only succeeds while the row is still claimable. Every later
write is conditional on `lease_owner` and status `running`, so a worker that lost its lease (expired, or the job
was cancelled) cannot overwrite what another worker or the user did. A failed attempt that may be retried puts
the job back in the queue with `not_before` = now + an exponential back-off (`retry_delay_seconds`); a job whose
attempts are used up is failed with the last reason instead of being claimed again.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import utcnow
from app.db.models import Job, Model, summary_columns
from app.middleware.response_cache import invalidate as invalidate_cached_pages
from app.queries.results import store_subject_results
from app.webhooks.events import on_job_failed, on_job_finished
from evaluators.records import BenchmarkSummary

SessionFactory = sessionmaker[Session]


@dataclass(frozen=True)
class LeasedJob:
    """A snapshot of a claimed job and its model, safe to hand to other threads."""

    id: int
    benchmark: str
    template: str
    config: dict[str, Any]
    attempts: int
    model_id: int
    model_path: str
    model_source: str
    model_revision: str | None
    model_name: str
    model_training_run: str | None = None  # set for a training run's checkpoint (evaluation scalars, tracking.py)
    model_step: int | None = None


def retry_delay_seconds(failed_attempts: int, base: float, cap: float) -> float:
    """Back-off before the next attempt after `failed_attempts` failures: base, 2 base, 4 base, ... at most cap."""
    return min(base * 2.0 ** max(failed_attempts - 1, 0), cap)


def _claimable(now: datetime):
    """Queued and due (its back-off time has come), or running with an expired lease; and its model is ready (not
    still converting from GGUF)."""
    due = or_(Job.not_before.is_(None), Job.not_before <= now)
    ready = Job.model_id.in_(select(Model.id).where(Model.status == "ready"))
    return and_(or_(and_(Job.status == "queued", due), and_(Job.status == "running", Job.lease_expires_at < now)),
                ready)


def claim_job(session_factory: SessionFactory, owner: str, lease_seconds: float, max_attempts: int, *,
              avoid: Collection[int] = ()) -> LeasedJob | None:
    """Lease the oldest claimable job to `owner` (jobs in `avoid`, those it failed, last), or None when there is none."""
    with session_factory() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        order = (case((Job.id.in_(list(avoid)), 1), else_=0), Job.id) if avoid else (Job.id,)
        while True:
            now = utcnow()
            query = (select(Job.id, Job.attempts, Job.status, Job.lease_owner, Job.error)
                     .where(_claimable(now)).order_by(*order).limit(1))
            if postgres:
                query = query.with_for_update(skip_locked=True)
            candidate = session.execute(query).first()
            if candidate is None:
                session.rollback()
                return None
            job_id, attempts, status, old_owner, error = candidate
            lost = f"attempt {attempts} lost its lease (worker {old_owner} stopped renewing)" if status == "running" else None
            if attempts >= max_attempts:
                reason = lost or error or "no reason recorded"
                session.execute(update(Job).where(Job.id == job_id, _claimable(now)).values(
                    status="failed", finished_at=now, lease_owner=None, lease_expires_at=None,
                    error=f"gave up after {attempts} attempts; last: {reason}"))
                on_job_failed(session, job_id)
                session.commit()
                continue
            values: dict[str, Any] = {"status": "running", "lease_owner": owner, "attempts": Job.attempts + 1,
                                      "lease_expires_at": now + timedelta(seconds=lease_seconds), "not_before": None}
            if lost:
                values["error"] = lost
            result = session.execute(update(Job).where(Job.id == job_id, _claimable(now)).values(**values))
            if result.rowcount != 1:  # another worker won the race (SQLite); look again
                session.rollback()
                continue
            session.execute(update(Job).where(Job.id == job_id, Job.started_at.is_(None)).values(started_at=now))
            session.commit()
            job, model = session.execute(select(Job, Model).join(Model).where(Job.id == job_id)).one()
            return LeasedJob(id=job.id, benchmark=job.benchmark, template=job.template, config=dict(job.config),
                             attempts=job.attempts, model_id=model.id, model_path=model.path,
                             model_source=model.source, model_revision=model.revision, model_name=model.name,
                             model_training_run=model.training_run, model_step=model.step)


def _owned(job_id: int, owner: str):
    return and_(Job.id == job_id, Job.lease_owner == owner, Job.status == "running")


def renew_lease(session_factory: SessionFactory, job_id: int, owner: str, lease_seconds: float,
                progress: tuple[int, int | None] | None = None) -> bool:
    """Extend the lease (and record progress); False when the lease is no longer ours or the job was cancelled."""
    values: dict[str, Any] = {"lease_expires_at": utcnow() + timedelta(seconds=lease_seconds)}
    if progress is not None:
        values["progress_done"], values["progress_total"] = progress
    with session_factory() as session:
        result = session.execute(update(Job).where(_owned(job_id, owner)).values(**values))
        session.commit()
        return result.rowcount == 1


def job_status(session_factory: SessionFactory, job_id: int) -> str | None:
    with session_factory() as session:
        return session.scalar(select(Job.status).where(Job.id == job_id))


def release_lease(session_factory: SessionFactory, job_id: int, owner: str) -> bool:
    """Put the job back in the queue without counting this attempt (graceful shutdown)."""
    with session_factory() as session:
        result = session.execute(update(Job).where(_owned(job_id, owner)).values(
            status="queued", lease_owner=None, lease_expires_at=None, attempts=Job.attempts - 1))
        session.commit()
        return result.rowcount == 1


def fail_job(session_factory: SessionFactory, job_id: int, owner: str, reason: str, *, retry: bool,
             max_attempts: int, backoff_seconds: float = 0.0, backoff_max_seconds: float = 0.0) -> str | None:
    """Fail the job, or requeue it when `retry` and attempts remain, claimable again once its back-off
    (`retry_delay_seconds`) has passed; returns the new status (None: the lease is not ours)."""
    with session_factory() as session:
        job = session.get(Job, job_id)
        if job is None:
            return None
        now = utcnow()
        status = "queued" if retry and job.attempts < max_attempts else "failed"
        values: dict[str, Any] = {"status": status, "error": reason, "lease_owner": None, "lease_expires_at": None}
        if status == "failed":
            values["finished_at"] = now
        else:
            delay = retry_delay_seconds(job.attempts, backoff_seconds, backoff_max_seconds)
            values["not_before"] = now + timedelta(seconds=delay)
        result = session.execute(update(Job).where(_owned(job_id, owner)).values(**values))
        if result.rowcount == 1 and status == "failed":
            on_job_failed(session, job_id)
        session.commit()
        return status if result.rowcount == 1 else None


def finish_job(session_factory: SessionFactory, job_id: int, owner: str, summary: BenchmarkSummary,
               record: dict[str, Any], progress: tuple[int, int | None]) -> bool:
    """Store the summary, per-subject rows and record and mark the job succeeded, if the lease is still ours."""
    with session_factory() as session:
        stored = summary.to_dict()
        result = session.execute(update(Job).where(_owned(job_id, owner)).values(
            status="succeeded", summary=stored, **summary_columns(stored), record=record, finished_at=utcnow(), error=None,
            lease_owner=None, lease_expires_at=None, progress_done=progress[0], progress_total=progress[1]))
        if result.rowcount != 1:
            session.rollback()
            return False
        store_subject_results(session, job_id, summary)
        on_job_finished(session, job_id)  # verdicts and webhook events, in the same transaction
        session.commit()
    invalidate_cached_pages()
    return True
