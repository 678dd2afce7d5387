"""/jobs: submit, list, read, cancel; results and predictions of a job. Results also come in lm-evaluation-harness's
layout (`?format=lm-eval`); predictions also stream as CSV, JSON lines or Parquet (`?format=`, `app.exports`)."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from app.api.deps import SessionDep, TokenDep
from app.errors import ConflictError, InvalidRequestError
from app.exports import predictions as prediction_exports
from app.exports.lm_eval import ScoredJob, lm_eval_results
from app.queries import jobs as job_queries
from app.queries import predictions as prediction_queries
from app.queries import results as result_queries
from app.queries.models import get_model
from app.schemas.errors import error_responses
from app.schemas.fields import LIMITS
from app.schemas.jobs import (
    JobCreate,
    JobPublic,
    JobResultsPublic,
    JobsPublic,
    PredictionsPublic,
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


@router.get("/{job_id}/results", response_model=JobResultsPublic | dict[str, Any])
def read_results(job_id: int, session: SessionDep,
                 format: Literal["json", "lm-eval"] = "json") -> JobResultsPublic | dict[str, Any]:
    """The summary, per-subject results and record; `format=lm-eval`: lm-evaluation-harness's results layout."""
    job = job_queries.get_job(session, job_id)
    if format == "lm-eval":
        if job.status != "succeeded" or not job.summary:
            raise ConflictError(f"job {job_id} is {job.status}: only a succeeded job has results to export")
        model = get_model(session, job.model_id)
        return lm_eval_results(model.name, model.path, [ScoredJob(
            job_id=job.id, benchmark=job.benchmark, template=job.template, summary=job.summary, record=job.record,
            finished_at=job.finished_at)])
    return JobResultsPublic(job_id=job.id, status=job.status, summary=job.summary,
                            subjects=result_queries.subject_results(session, [job_id]), record=job.record)


@router.get("/{job_id}/predictions", response_model=PredictionsPublic,
            responses={200: {"content": {t: {} for t in prediction_exports.MEDIA_TYPES.values()}}})
def read_predictions(job_id: int, request: Request, session: SessionDep, subject: str | None = None,
                     correct: bool | None = None, offset: int = Query(0, ge=0, le=MAX_ID),
                     limit: int = Query(100, ge=1, le=1000),
                     format: Literal["json", "csv", "jsonl", "parquet"] = "json") -> PredictionsPublic | StreamingResponse:
    """A page of predictions (`json`), or all of them (filtered by subject and correctness) streamed as `csv`,
    `jsonl` or `parquet`, with the job's reproducibility record (see `app.exports.predictions`)."""
    job = job_queries.get_job(session, job_id)
    if format != "json":
        if format == "parquet" and not prediction_exports.parquet_available():
            raise InvalidRequestError("format=parquet needs pyarrow on the server (pip install 'colossal-bench[exports]')")
        record = {"job_id": job.id, "model_id": job.model_id, "benchmark": job.benchmark, "template": job.template,
                  "status": job.status, "record": job.record}
        body = prediction_exports.stream_predictions(request.app.state.session_factory, job.id, format, record,
                                                     subject=subject, correct=correct)
        filename = f"job-{job.id}-predictions.{format}"
        return StreamingResponse(body, media_type=prediction_exports.MEDIA_TYPES[format],
                                 headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    rows, count = prediction_queries.list_predictions(session, job_id, subject=subject, correct=correct,
                                                      offset=offset, limit=limit)
    return PredictionsPublic(data=rows, count=count)
