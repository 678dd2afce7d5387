"""The leaderboard as plain data: for each model and benchmark, the newest succeeded job's headline accuracy.

Both the JSON route and the (future) HTML page call `leaderboard_rows`; it returns dataclasses, not ORM objects,
so callers never touch the session again.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import CTE, cast, func, select
from sqlalchemy.dialects import postgresql
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


def latest_jobs(session: Session, *, template: str | None = DEFAULT_TEMPLATE, benchmark: str | None = None,
                model_ids: Collection[int] | None = None) -> CTE:
    """A CTE `latest(id, model_id, benchmark, template, summary)`: the newest succeeded job per (model, benchmark),
    among jobs with `template` (None: any template, the newest wins). Callers extract only the summary fields they
    need in SQL (decoding whole summaries in Python is what made the leaderboard slow); on Postgres each summary is
    parsed once, into jsonb, in the materialised CTE, because a `json` column is re-parsed by every operator."""
    newest = (select(func.max(Job.id)).where(Job.status == "succeeded", Job.summary.is_not(None))
              .group_by(Job.model_id, Job.benchmark))
    if template is not None:  # templates are never mixed in one column (ColossalEval vs harness numbers)
        newest = newest.where(Job.template == template)
    if benchmark is not None:
        newest = newest.where(Job.benchmark == benchmark)
    if model_ids is not None:
        newest = newest.where(Job.model_id.in_(list(model_ids)))
    summary = Job.summary
    if session.get_bind().dialect.name == "postgresql":
        summary = cast(Job.summary, postgresql.JSONB)
    return (select(Job.id, Job.model_id, Job.benchmark, Job.template, summary.label("summary"))
            .where(Job.id.in_(newest)).cte("latest").prefix_with("MATERIALIZED", dialect="postgresql"))


def leaderboard_rows(session: Session, *, benchmark: str | None = None, tag: str | None = None,
                     run: str | None = None, template: str = DEFAULT_TEMPLATE) -> list[LeaderboardRow]:
    """Rows sorted by benchmark, then accuracy (best first), one statement over `latest_jobs`. Only jobs with
    `template` count: numbers of different templates (ColossalEval, harness) are never mixed in one column."""
    latest = latest_jobs(session, template=template, benchmark=benchmark)
    summary = latest.c.summary
    query = (select(latest.c.id, latest.c.benchmark, latest.c.template, summary["metric"].as_string(),
                    summary[("micro", "acc")].as_float(), summary[("micro", "ci_low")].as_float(),
                    summary[("micro", "ci_high")].as_float(), summary[("micro", "n")].as_integer(),
                    summary["complete"].as_boolean(), Model.id, Model.name, Model.training_run, Model.step,
                    Model.tokens_seen, Model.tags)
             .join(Model, Model.id == latest.c.model_id))
    if run is not None:
        query = query.where(Model.training_run == run)
    rows = []
    for (job_id, bench, job_template, metric, acc, ci_low, ci_high, n, complete, model_id, name, training_run, step,
         tokens_seen, tags) in session.execute(query):
        if tag is not None and tag not in (tags or []):
            continue
        rows.append(LeaderboardRow(
            model_id=model_id, model_name=name, benchmark=bench, template=job_template, metric=metric or "",
            acc=float(acc or 0.0), ci_low=float(ci_low or 0.0), ci_high=float(ci_high or 0.0), n=int(n or 0),
            complete=bool(complete), job_id=job_id, training_run=training_run, step=step, tokens_seen=tokens_seen,
            tags=list(tags or [])))
    return sorted(rows, key=lambda r: (r.benchmark, -r.acc, r.model_name))
