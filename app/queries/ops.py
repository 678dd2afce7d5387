"""Operational read-outs from the database: readiness, the numbers behind /metrics, and the leaderboard version.

Workers run in other processes (and on other machines), so everything here is derived from the shared database,
which is the one place that sees all of them; it also stays right when the API runs several processes.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.db.migrate import current_revisions, head_revisions
from app.db.models import JOB_STATUSES, Job, Model, PredictionRow


def readiness_problem(engine: Engine, heads: frozenset[str] | None = None) -> str | None:
    """None when the database answers and is at the newest migration, else the reason it is not ready."""
    heads = heads if heads is not None else head_revisions()
    try:
        with engine.connect() as connection:
            current = current_revisions(connection)
    except Exception as exc:  # any failure to reach or read the database means "not ready"
        return f"database unreachable: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    if current != heads:
        shown = ", ".join(sorted(current)) or "none"
        return f"database at migration {shown}, code expects {', '.join(sorted(heads))}; run `cbench migrate`"
    return None


@dataclass(frozen=True)
class QueueStats:
    jobs_by_status: dict[str, int]
    questions_scored: int  # every stored prediction: grows as workers commit batches


def queue_stats(session: Session) -> QueueStats:
    counts = dict(session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
    scored = session.scalar(select(func.count()).select_from(PredictionRow)) or 0
    return QueueStats(jobs_by_status={s: int(counts.get(s, 0)) for s in JOB_STATUSES}, questions_scored=int(scored))


def leaderboard_version(session: Session) -> Hashable:
    """Changes whenever a job succeeds, a model is registered or a running job publishes its early estimate (what
    the leaderboard shows)."""
    succeeded = select(func.count(), func.max(Job.finished_at)).where(Job.status == "succeeded")
    count, finished = session.execute(succeeded).one()
    estimates = select(func.count()).where(Job.status == "running", Job.estimate.is_not(None))  # early estimates
    return count, str(finished), session.scalar(select(func.max(Model.id))), session.scalar(estimates)
