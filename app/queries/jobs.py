"""Queries on jobs as the API sees them: create, read, list, cancel. Leasing lives in `app.worker.lease`."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.models import JOB_STATUSES, Job, Model
from app.errors import ConflictError, InvalidRequestError
from app.queries.rows import get_row
from app.schemas.jobs import JobPublic, JobWithModelPublic


def create_job(session: Session, *, model_id: int, benchmark: str, template: str, config: dict[str, Any]) -> Job:
    job = Job(model_id=model_id, benchmark=benchmark, template=template, config=config, status="queued")
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: int) -> Job:
    return get_row(session, Job, job_id, "job")


def _filtered(query: Select, *, statuses: Collection[str] | None = None, model_id: int | None = None,
              job_ids: Collection[int] | None = None) -> Select:
    if statuses is not None:
        query = query.where(Job.status.in_(list(statuses)))
    if model_id is not None:
        query = query.where(Job.model_id == model_id)
    if job_ids is not None:
        query = query.where(Job.id.in_(list(job_ids)))
    return query


def list_jobs(session: Session, *, status: str | None = None, model_id: int | None = None, offset: int = 0,
              limit: int = 100) -> tuple[Sequence[Job], int]:
    """A page of jobs, newest first, and the count of all that match."""
    if status is not None and status not in JOB_STATUSES:
        raise InvalidRequestError(f"unknown status {status!r}; valid: {', '.join(JOB_STATUSES)}")
    query = _filtered(select(Job), statuses=None if status is None else [status], model_id=model_id)
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Job.id.desc()).offset(offset).limit(limit)).all()
    return rows, count


def jobs_with_models(session: Session, *, statuses: Collection[str] | None = None, model_id: int | None = None,
                     job_ids: Collection[int] | None = None, limit: int | None = None) -> list[JobWithModelPublic]:
    """Jobs with their model names (one joined statement), newest first."""
    query = _filtered(select(Job, Model.name).join(Model, Job.model_id == Model.id), statuses=statuses,
                      model_id=model_id, job_ids=job_ids).order_by(Job.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [JobWithModelPublic.model_validate({**{f: getattr(job, f) for f in JobPublic.model_fields},
                                               "model_name": name})
            for job, name in session.execute(query)]


def job_records(session: Session, job_ids: Collection[int]) -> dict[int, dict[str, Any] | None]:
    """The reproducibility records of several jobs, by job id."""
    if not job_ids:
        return {}
    query = select(Job.id, Job.record).where(Job.id.in_(list(job_ids)))
    return {job_id: record for job_id, record in session.execute(query)}


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


@dataclass(frozen=True)
class JobHeadline:
    """A succeeded job as the compare page picks it: which model and benchmark, its metric and question count."""

    job_id: int
    model_id: int
    benchmark: str
    template: str
    metric: str
    n: int
    finished_at: datetime | None


def succeeded_job_headlines(session: Session, model_ids: Sequence[int]) -> list[JobHeadline]:
    """Every succeeded job of the given models, newest first (one statement over the summary columns)."""
    query = (select(Job.id, Job.model_id, Job.benchmark, Job.template, Job.metric, Job.n, Job.finished_at)
             .where(Job.model_id.in_(list(model_ids)), Job.status == "succeeded", Job.summary.is_not(None))
             .order_by(Job.id.desc()))
    return [JobHeadline(job_id=i, model_id=m, benchmark=b, template=t, metric=metric or "", n=int(n or 0),
                        finished_at=f) for i, m, b, t, metric, n, f in session.execute(query)]


def newest_succeeded_jobs(session: Session, model_id: int, template: str | None) -> list[Job]:
    """The newest succeeded job per benchmark of one model (with `template`; None: any), by benchmark name."""
    newest = (select(func.max(Job.id)).where(Job.model_id == model_id, Job.status == "succeeded",
                                             Job.summary.is_not(None)).group_by(Job.benchmark))
    if template is not None:
        newest = newest.where(Job.template == template)
    return list(session.scalars(select(Job).where(Job.id.in_(newest)).order_by(Job.benchmark)))
