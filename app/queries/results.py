"""Per-job results: the stored BenchmarkSummary JSON, its per-subject rows, and the headline numbers of the newest
result per (model, benchmark) that the leaderboard, model, run and compare pages show.

A partial result (a smoke run with `limit`, a subset of subjects) never displaces a complete one: the shown result
is the newest complete one, and a newer partial one comes alongside it as `newer_partial`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace

from sqlalchemy import CTE, Select, cast, delete, func, select
from sqlalchemy.dialects import postgresql
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


def latest_jobs(session: Session, *, template: str | None = DEFAULT_TEMPLATE, benchmark: str | None = None,
                model_ids: Collection[int] | None = None) -> CTE:
    """A CTE `latest(id, model_id, benchmark, template, summary)`: per (model, benchmark), the newest complete
    succeeded job and the newest succeeded job (one row when they are the same job), among jobs with `template`
    (None: any template, the newest wins). Callers extract only the summary fields they need in SQL (decoding
    whole summaries in Python is what made the leaderboard slow); on Postgres each summary is parsed once, into
    jsonb, in the materialised CTE, because a `json` column is re-parsed by every operator."""
    newest = _newest(template, benchmark, model_ids)
    newest_complete = newest.where(Job.complete.is_(True))
    summary = Job.summary
    if session.get_bind().dialect.name == "postgresql":
        summary = cast(Job.summary, postgresql.JSONB)
    return (select(Job.id, Job.model_id, Job.benchmark, Job.template, summary.label("summary"))
            .where(Job.id.in_(newest.union(newest_complete))).cte("latest")
            .prefix_with("MATERIALIZED", dialect="postgresql"))


def latest_results(session: Session, model_ids: Collection[int] | None = None,
                   template: str | None = DEFAULT_TEMPLATE, benchmark: str | None = None) -> list[Result]:
    """For each (model, benchmark), the newest complete succeeded job's headline numbers with `template` (None: any
    template), with a newer partial one attached; the newest partial one when there is no complete one. One
    statement: the numbers are extracted from the summary JSON by the database (see `latest_jobs`), the subject
    count comes from the per-subject rows."""
    latest = latest_jobs(session, template=template, benchmark=benchmark, model_ids=model_ids)
    summary = latest.c.summary
    subject_counts = (select(SubjectResult.job_id, func.count().label("subjects"))
                      .where(SubjectResult.job_id.in_(select(latest.c.id)))
                      .group_by(SubjectResult.job_id).subquery())
    query = (select(latest.c.id, latest.c.model_id, latest.c.benchmark, latest.c.template,
                    summary["metric"].as_string(), summary[("micro", "acc")].as_float(),
                    summary[("micro", "ci_low")].as_float(), summary[("micro", "ci_high")].as_float(),
                    summary[("micro", "correct")].as_integer(), summary[("micro", "n")].as_integer(),
                    summary["expected_n"].as_integer(), summary["complete"].as_boolean(),
                    summary["macro_acc"].as_float(), subject_counts.c.subjects)
             .outerjoin(subject_counts, subject_counts.c.job_id == latest.c.id).order_by(latest.c.id))
    shown: dict[tuple[int, str], Result] = {}
    for row in session.execute(query):  # ascending job id: a later row is newer
        result = _result(*row)
        key = (result.model_id, result.benchmark)
        earlier = shown.get(key)
        if earlier is not None and earlier.complete:  # a newer row is a partial one (see `latest_jobs`)
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

