"""Reads for a training run's report: its checkpoints, each checkpoint's newest result per benchmark, and the
leaderboard's complete scores (the signal set); the running jobs' estimates are `app.queries.estimates`'."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Job, Model
from app.queries.results import latest_results
from app.schemas.runs import RunResultPublic


@dataclass(frozen=True)
class Checkpoint:
    model_id: int
    name: str
    step: int | None
    tokens_seen: int | None


def run_checkpoints(session: Session, run: str) -> list[Checkpoint]:
    query = (select(Model.id, Model.name, Model.step, Model.tokens_seen).where(Model.training_run == run)
             .order_by(Model.step.is_(None), Model.step, Model.id))
    return [Checkpoint(*row) for row in session.execute(query)]


def checkpoint_results(session: Session, model_ids: Collection[int],
                       template: str) -> dict[int, dict[str, RunResultPublic]]:
    """Model id → benchmark → the newest succeeded job with `template`."""
    if not model_ids:
        return {}
    query = (select(Job.id, Job.model_id, Job.benchmark, Job.summary, Job.config, Job.estimate)
             .where(Job.model_id.in_(list(model_ids)), Job.status == "succeeded", Job.template == template,
                    Job.summary.is_not(None)).order_by(Job.id))
    newest: dict[int, dict[str, RunResultPublic]] = {}
    for job_id, model_id, benchmark, summary, config, estimate in session.execute(query):
        micro = summary["micro"]
        newest.setdefault(model_id, {})[benchmark] = RunResultPublic(
            job_id=job_id, benchmark=benchmark, acc=float(micro["acc"]), ci_low=float(micro["ci_low"]),
            ci_high=float(micro["ci_high"]), n=int(micro["n"]), expected_n=summary.get("expected_n"),
            complete=bool(summary.get("complete")), sample_only=bool((config or {}).get("sample_only")),
            estimate=estimate)
    return newest


def complete_scores(session: Session, template: str, model_ids: Collection[int] | None = None) -> dict[str, list[float]]:
    """The signal set: per benchmark, the complete leaderboard scores (of `model_ids` only, when given)."""
    scores: dict[str, list[float]] = {}
    for result in latest_results(session, None if model_ids is None else list(model_ids), template):
        if result.complete:  # latest_results shows the newest complete result (a newer partial one rides beside it)
            scores.setdefault(result.benchmark, []).append(result.acc)
    return scores
