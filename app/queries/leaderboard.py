"""The leaderboard as plain data: for each model and benchmark, the newest succeeded job's headline accuracy.

Both the JSON route and the (future) HTML page call `leaderboard_rows`; it returns dataclasses, not ORM objects,
so callers never touch the session again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Job, Model
from evaluators.templates import DEFAULT_TEMPLATE


@dataclass(frozen=True)
class LeaderboardRow:
    model_id: int
    model_name: str
    benchmark: str
    template: str
    metric: str
    acc: float  # micro accuracy, percent
    ci_low: float
    ci_high: float
    n: int
    complete: bool
    job_id: int
    training_run: str | None = None
    step: int | None = None
    tokens_seen: int | None = None
    tags: list[str] = field(default_factory=list)


def leaderboard_rows(session: Session, *, benchmark: str | None = None, tag: str | None = None,
                     run: str | None = None, template: str = DEFAULT_TEMPLATE) -> list[LeaderboardRow]:
    """Rows sorted by benchmark, then accuracy (best first). Only jobs with `template` count: numbers of different
    templates (ColossalEval, harness) are never mixed in one column."""
    query = (select(Job, Model).join(Model, Job.model_id == Model.id)
             .where(Job.status == "succeeded", Job.summary.is_not(None), Job.template == template).order_by(Job.id))
    if benchmark is not None:
        query = query.where(Job.benchmark == benchmark)
    if run is not None:
        query = query.where(Model.training_run == run)
    newest: dict[tuple[int, str], tuple[Job, Model]] = {}
    for job, model in session.execute(query):
        if tag is not None and tag not in (model.tags or []):
            continue
        newest[(model.id, job.benchmark)] = (job, model)  # ordered by id: the last one wins
    rows = [_row(job, model) for job, model in newest.values()]
    return sorted(rows, key=lambda r: (r.benchmark, -r.acc, r.model_name))


def _row(job: Job, model: Model) -> LeaderboardRow:
    summary = job.summary or {}
    micro = summary.get("micro", {})
    return LeaderboardRow(
        model_id=model.id, model_name=model.name, benchmark=job.benchmark, template=job.template,
        metric=summary.get("metric", ""), acc=float(micro.get("acc", 0.0)), ci_low=float(micro.get("ci_low", 0.0)),
        ci_high=float(micro.get("ci_high", 0.0)), n=int(micro.get("n", 0)), complete=bool(summary.get("complete")),
        job_id=job.id, training_run=model.training_run, step=model.step, tokens_seen=model.tokens_seen,
        tags=list(model.tags or []))
