"""Queries on jobs as the API sees them: create, read, list, cancel. Leasing lives in `app.worker.lease`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.models import JOB_STATUSES, Job
from app.errors import ConflictError, InvalidRequestError, NotFoundError
from app.schemas.types import MAX_ID


def create_job(session: Session, *, model_id: int, benchmark: str, template: str, config: dict[str, Any]) -> Job:
    job = Job(model_id=model_id, benchmark=benchmark, template=template, config=config, status="queued")
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: int) -> Job:
    if not 1 <= job_id <= MAX_ID:  # out of the column's range: no such row (and no database error)
        raise NotFoundError(f"job {job_id} not found")
    job = session.get(Job, job_id)
    if job is None:
        raise NotFoundError(f"job {job_id} not found")
    return job


def list_jobs(session: Session, *, status: str | None = None, model_id: int | None = None, offset: int = 0,
              limit: int = 100) -> tuple[Sequence[Job], int]:
    query = select(Job)
    if status is not None:
        if status not in JOB_STATUSES:
            raise InvalidRequestError(f"unknown status {status!r}; valid: {', '.join(JOB_STATUSES)}")
        query = query.where(Job.status == status)
    if model_id is not None:
        query = query.where(Job.model_id == model_id)
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Job.id.desc()).offset(offset).limit(limit)).all()
    return rows, count


def jobs_by_ids(session: Session, job_ids: list[int]) -> list[Job]:
    """The jobs with these ids, in that order (deleted ones left out)."""
    found = {j.id: j for j in session.scalars(select(Job).where(Job.id.in_(job_ids)))} if job_ids else {}
    return [found[i] for i in job_ids if i in found]


def jobs_for_model(session: Session, model_id: int) -> Sequence[Job]:
    return session.scalars(select(Job).where(Job.model_id == model_id).order_by(Job.id)).all()


def cancel_job(session: Session, job_id: int) -> Job:
    """Cancel a queued or running job. A running job's worker notices at its next heartbeat or batch."""
    get_job(session, job_id)
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.status.in_(("queued", "running")))
        .values(status="cancelled", finished_at=utcnow(), lease_owner=None, lease_expires_at=None)
    )
    job = get_job(session, job_id)
    session.refresh(job)
    if result.rowcount == 0:
        raise ConflictError(f"job {job_id} is already {job.status}; only queued or running jobs can be cancelled")
    return job
