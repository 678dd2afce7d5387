"""Per-job results: the stored BenchmarkSummary JSON and its per-subject rows."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.db.models import SubjectResult
from evaluators.records import BenchmarkSummary


def store_subject_results(session: Session, job_id: int, summary: BenchmarkSummary) -> None:
    """Replace the job's per-subject rows with those of `summary`."""
    session.execute(delete(SubjectResult).where(SubjectResult.job_id == job_id))
    session.add_all(SubjectResult(job_id=job_id, subject=s.subject, display=s.display, correct=s.accuracy.correct,
                                  n=s.accuracy.n, acc=s.accuracy.acc, stderr=s.accuracy.stderr,
                                  ci_low=s.accuracy.ci_low, ci_high=s.accuracy.ci_high) for s in summary.subjects)


def subject_results(session: Session, job_id: int) -> Sequence[SubjectResult]:
    return session.scalars(select(SubjectResult).where(SubjectResult.job_id == job_id)
                           .order_by(SubjectResult.subject)).all()
