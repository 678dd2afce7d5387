"""/jobs: submit, list, read, cancel; results and predictions of a job."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from app.api.deps import SessionDep, TokenDep
from app.queries import jobs as job_queries
from app.queries import predictions as prediction_queries
from app.queries import results as result_queries
from app.schemas.errors import error_responses
from app.schemas.fields import LIMITS
from app.schemas.jobs import (
    JobCreate,
    JobPublic,
    JobResultsPublic,
    JobsPublic,
    PredictionPublic,
    PredictionsPublic,
    SubjectResultPublic,
)
from app.schemas.types import MAX_ID
from app.services.submission import submit_jobs_once

router = APIRouter(prefix="/jobs", tags=["jobs"])
log = logging.getLogger(__name__)


IdempotencyKeyHeader = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=LIMITS.idempotency_key_chars, pattern=r"^[\x21-\x7e]+$",
    description="makes a repeat safe: the first request with this key (per token) queues the jobs, a repeat of the "
                "same request answers 200 with those jobs; without it every request queues new jobs")]


@router.post("", response_model=JobsPublic, status_code=201,
             responses={**error_responses(401, 409),
                        200: {"model": JobsPublic, "description": "a repeat of an Idempotency-Key: the jobs it queued"}})
def create_jobs(body: JobCreate, response: Response, session: SessionDep, token: TokenDep,
                idempotency_key: IdempotencyKeyHeader = None) -> JobsPublic:
    jobs, replayed = submit_jobs_once(session, body, token, idempotency_key)
    session.commit()  # the ids are final: log them only once the jobs exist for the workers
    if replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
        return JobsPublic(data=[JobPublic.model_validate(j) for j in jobs], count=len(jobs))
    for job in jobs:
        log.info("job %s queued (%s on model %s) by token %r", job.id, job.benchmark, job.model_id, token.name,
                 extra={"job_id": job.id})
    return JobsPublic(data=[JobPublic.model_validate(j) for j in jobs], count=len(jobs))


@router.get("", response_model=JobsPublic)
def read_jobs(session: SessionDep, status: str | None = None, model: int | None = Query(None, ge=1, le=MAX_ID),
              offset: int = Query(0, ge=0, le=MAX_ID), limit: int = Query(100, ge=1, le=1000)) -> JobsPublic:
    rows, count = job_queries.list_jobs(session, status=status, model_id=model, offset=offset, limit=limit)
    return JobsPublic(data=[JobPublic.model_validate(j) for j in rows], count=count)


@router.get("/{job_id}", response_model=JobPublic)
def read_job(job_id: int, session: SessionDep) -> JobPublic:
    return JobPublic.model_validate(job_queries.get_job(session, job_id))


@router.post("/{job_id}/cancel", response_model=JobPublic, responses=error_responses(401, 409))
def cancel_job(job_id: int, session: SessionDep, token: TokenDep) -> JobPublic:
    job = job_queries.cancel_job(session, job_id)
    log.info("job %s cancelled by token %r", job_id, token.name, extra={"job_id": job_id})
    return JobPublic.model_validate(job)


@router.get("/{job_id}/results", response_model=JobResultsPublic)
def read_results(job_id: int, session: SessionDep) -> JobResultsPublic:
    job = job_queries.get_job(session, job_id)
    subjects = [SubjectResultPublic.model_validate(r) for r in result_queries.subject_results(session, job_id)]
    return JobResultsPublic(job_id=job.id, status=job.status, summary=job.summary, subjects=subjects,
                            record=job.record)


@router.get("/{job_id}/predictions", response_model=PredictionsPublic)
def read_predictions(job_id: int, session: SessionDep, subject: str | None = None, correct: bool | None = None,
                     offset: int = Query(0, ge=0, le=MAX_ID), limit: int = Query(100, ge=1, le=1000)) -> PredictionsPublic:
    job_queries.get_job(session, job_id)
    rows, count = prediction_queries.list_predictions(session, job_id, subject=subject, correct=correct,
                                                      offset=offset, limit=limit)
    return PredictionsPublic(data=[PredictionPublic.model_validate(r) for r in rows], count=count)
