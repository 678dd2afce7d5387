"""Operations endpoints at the root: `/healthz` (the process answers), `/readyz` (database reachable and at the
newest migration, else 503 with the reason) and `/metrics` (Prometheus text exposition format).

The metrics are read from the database at scrape time (`app.queries.ops`): workers are separate processes, so
the database is the one place that sees every worker's progress. `cbench_questions_scored_total` counts stored
predictions; Prometheus' `rate()` over it gives questions scored per second across all workers.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from app.api.deps import SessionDep
from app.queries.ops import QueueStats, queue_stats, readiness_problem

router = APIRouter(tags=["operations"])

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "not ready; `detail` says why"}})
def readyz(request: Request) -> JSONResponse:
    problem = readiness_problem(request.app.state.engine, request.app.state.migration_heads)
    if problem is not None:
        return JSONResponse({"status": "unavailable", "detail": problem}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(session: SessionDep) -> PlainTextResponse:
    return PlainTextResponse(render_metrics(queue_stats(session)), media_type=PROMETHEUS_CONTENT_TYPE)


def render_metrics(stats: QueueStats) -> str:
    """The exposition text: HELP and TYPE lines, then samples (pure)."""
    by_status = stats.jobs_by_status
    lines = [
        "# HELP cbench_queue_depth Jobs waiting for a worker.",
        "# TYPE cbench_queue_depth gauge",
        f"cbench_queue_depth {by_status.get('queued', 0)}",
        "# HELP cbench_running_jobs Jobs leased by a worker right now.",
        "# TYPE cbench_running_jobs gauge",
        f"cbench_running_jobs {by_status.get('running', 0)}",
        "# HELP cbench_questions_scored_total Questions scored and stored by all workers (rate() = per second).",
        "# TYPE cbench_questions_scored_total counter",
        f"cbench_questions_scored_total {stats.questions_scored}",
        "# HELP cbench_job_failures_total Jobs that ended failed (after their retries).",
        "# TYPE cbench_job_failures_total counter",
        f"cbench_job_failures_total {by_status.get('failed', 0)}",
        "# HELP cbench_jobs Jobs by status.",
        "# TYPE cbench_jobs gauge",
        *(f'cbench_jobs{{status="{status}"}} {count}' for status, count in by_status.items()),
    ]
    return "\n".join(lines) + "\n"
