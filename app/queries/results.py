"""Per-job results: the stored BenchmarkSummary JSON, its per-subject rows, and the headline numbers of the newest
result per (model, benchmark) that the leaderboard, model, run and compare pages show.

A partial result (a smoke run with `limit`, a subset of subjects) never displaces a complete one: the shown result
is the newest complete one, and a newer partial one comes alongside it as `newer_partial`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from app.db.models import Job, SubjectResult
from app.schemas.jobs import SubjectResultPublic
from evaluators.records import BenchmarkSummary
from evaluators.templates import DEFAULT_TEMPLATE


@dataclass(frozen=True)
class Result:
    """The headline numbers of one succeeded job, read from its stored `BenchmarkSummary`."""

    job_id: int
    model_id: int
    benchmark: str
    template: str
    metric: str
    acc: float  # micro accuracy, percent
    ci_low: float
    ci_high: float
    correct: int
    n: int
    expected_n: int | None
    complete: bool
    macro_acc: float
    subject_count: int
    partial: bool  # fewer questions than the benchmark's expected count
    newer_partial: Result | None = None  # a partial result newer than this complete one, shown beside it


def store_subject_results(session: Session, job_id: int, summary: BenchmarkSummary) -> None:
    """Replace the job's per-subject rows with those of `summary`."""
    session.execute(delete(SubjectResult).where(SubjectResult.job_id == job_id))
    session.add_all(SubjectResult(job_id=job_id, subject=s.subject, display=s.display, correct=s.accuracy.correct,
                                  n=s.accuracy.n, acc=s.accuracy.acc, stderr=s.accuracy.stderr,
                                  ci_low=s.accuracy.ci_low, ci_high=s.accuracy.ci_high) for s in summary.subjects)


def subject_results(session: Session, job_ids: Collection[int]) -> list[SubjectResultPublic]:
    """Per-subject rows of several jobs in one statement, by job then subject."""
    if not job_ids:
        return []
    query = (select(SubjectResult).where(SubjectResult.job_id.in_(list(job_ids)))
             .order_by(SubjectResult.job_id, SubjectResult.subject))
    return [SubjectResultPublic.model_validate(row) for row in session.scalars(query)]


def _newest(template: str | None, benchmark: str | None, model_ids: Collection[int] | None) -> Select:
    """Ids of the newest succeeded job per (model, benchmark) among the chosen ones."""
    query = (select(func.max(Job.id)).where(Job.status == "succeeded", Job.summary.is_not(None))
             .group_by(Job.model_id, Job.benchmark))
    if template is not None:  # templates are never mixed in one column (ColossalEval vs harness numbers)
        query = query.where(Job.template == template)
    if benchmark is not None:
        query = query.where(Job.benchmark == benchmark)
    if model_ids is not None:
        query = query.where(Job.model_id.in_(list(model_ids)))
    return query


def latest_results(session: Session, model_ids: Collection[int] | None = None,
                   template: str | None = DEFAULT_TEMPLATE, benchmark: str | None = None) -> list[Result]:
    """For each (model, benchmark), the newest complete succeeded job's headline numbers with `template` (None: any
    template), with a newer partial one attached; the newest partial one when there is no complete one. One
    statement over the summary columns of `jobs` (`app.db.models.summary_columns`): no JSON is parsed."""
    newest = _newest(template, benchmark, model_ids)
    chosen = newest.union(newest.where(Job.complete.is_(True)))  # newest, and newest complete (often the same)
    query = (select(Job.id, Job.model_id, Job.benchmark, Job.template, Job.metric, Job.acc, Job.ci_low, Job.ci_high,
                    Job.correct, Job.n, Job.expected_n, Job.complete, Job.macro_acc, Job.subject_count)
             .where(Job.id.in_(chosen)).order_by(Job.id))
    shown: dict[tuple[int, str], Result] = {}
    for row in session.execute(query):  # ascending job id: a later row is newer
        result = _result(*row)
        key = (result.model_id, result.benchmark)
        earlier = shown.get(key)
        if earlier is not None and earlier.complete:  # then this newer row is a partial one
            result = replace(earlier, newer_partial=result)
        shown[key] = result
    return sorted(shown.values(), key=lambda r: r.job_id)


def _result(job_id: int, model_id: int, benchmark: str, template: str, metric: str | None, acc: float | None,
            ci_low: float | None, ci_high: float | None, correct: int | None, n: int | None,
            expected_n: int | None, complete: bool | None, macro_acc: float | None,
            subjects: int | None) -> Result:
    n = int(n or 0)
    return Result(job_id=job_id, model_id=model_id, benchmark=benchmark, template=template, metric=metric or "",
                  acc=float(acc or 0.0), ci_low=float(ci_low or 0.0), ci_high=float(ci_high or 0.0),
                  correct=int(correct or 0), n=n, expected_n=expected_n, complete=bool(complete),
                  macro_acc=float(macro_acc or 0.0), subject_count=int(subjects or 0),
                  partial=expected_n is not None and n < expected_n)

