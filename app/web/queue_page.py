"""`/queue`: queued and running jobs (elapsed time and an estimate of the time left for running ones), and the
history of finished, failed and cancelled jobs with their durations and reasons. A signed-in reader (an API token
entered once on the page and kept in the browser's local storage, never in a URL) cancels jobs from the page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.api.deps import SessionDep
from app.queries.jobs import jobs_with_models
from app.schemas.jobs import JobWithModelPublic
from app.web.render import Context, respond

router = APIRouter(include_in_schema=False)

FAILED_SHOWN = 200
HISTORY_SHOWN = 200
FINISHED_STATUSES = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class Timing:
    elapsed_s: float | None  # running: since it started; finished: its duration
    remaining_s: float | None  # running with progress: the estimate at the rate so far


def job_timing(job: JobWithModelPublic, now: datetime) -> Timing:
    """Elapsed time (duration once finished) and, for a running job with progress, the time left at its rate."""
    if job.started_at is None:
        return Timing(None, None)
    end = job.finished_at if job.status in FINISHED_STATUSES and job.finished_at else now
    elapsed = max(0.0, (end - job.started_at).total_seconds())
    remaining = None
    if job.status == "running" and job.progress_total and 0 < job.progress_done <= job.progress_total:
        remaining = elapsed / job.progress_done * (job.progress_total - job.progress_done)
    return Timing(elapsed_s=elapsed, remaining_s=remaining)


def queue_context(session: Session) -> Context:
    now = datetime.now(timezone.utc)  # the read models' timestamps are UTC-aware
    active = jobs_with_models(session, statuses=("queued", "running"))
    failed = jobs_with_models(session, statuses=("failed",), limit=FAILED_SHOWN)
    history = jobs_with_models(session, statuses=FINISHED_STATUSES, limit=HISTORY_SHOWN)
    timings = {str(j.id): job_timing(j, now) for j in [*active, *history]}
    return {"title": "Queue", "running": [j for j in active if j.status == "running"],
            "queued": sorted((j for j in active if j.status == "queued"), key=lambda j: j.id),
            "failed": failed, "failed_limit": FAILED_SHOWN, "history": history, "history_limit": HISTORY_SHOWN,
            "timings": timings, "now": now}


@router.get("/queue.json")
def queue_json(request: Request, session: SessionDep) -> Response:
    return respond(request, "queue.html", lambda: queue_context(session), as_json=True)


@router.get("/queue")
def queue_page(request: Request, session: SessionDep) -> Response:
    return respond(request, "queue.html", lambda: queue_context(session), as_json=False)
