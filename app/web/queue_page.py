"""`/queue`: queued and running jobs, and recently failed ones with their reasons."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.api.deps import SessionDep
from app.queries.jobs import jobs_with_models
from app.web.render import Context, respond

router = APIRouter(include_in_schema=False)

FAILED_SHOWN = 200


def queue_context(session: Session) -> Context:
    active = jobs_with_models(session, statuses=("queued", "running"))
    failed = jobs_with_models(session, statuses=("failed",), limit=FAILED_SHOWN)
    return {"title": "Queue", "running": [j for j in active if j.status == "running"],
            "queued": sorted((j for j in active if j.status == "queued"), key=lambda j: j.id),
            "failed": failed, "failed_limit": FAILED_SHOWN}


@router.get("/queue.json")
def queue_json(request: Request, session: SessionDep) -> Response:
    return respond(request, "queue.html", lambda: queue_context(session), as_json=True)


@router.get("/queue")
def queue_page(request: Request, session: SessionDep) -> Response:
    return respond(request, "queue.html", lambda: queue_context(session), as_json=False)
