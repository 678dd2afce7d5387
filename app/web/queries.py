"""Set-based reads for the web pages: a fixed number of statements per page, whatever the number of models.

Results are plain dataclasses (no ORM objects leave this module), so contexts are easy to test and to serialise.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from app.db.models import Job, Model, PredictionRow, SubjectResult
from app.queries.leaderboard import latest_jobs
from evaluators.templates import DEFAULT_TEMPLATE


@dataclass(frozen=True)
class ModelInfo:
    id: int
    name: str
    path: str
    source: str
    revision: str | None
    content_hash: str | None
    tokenizer: str | None
    parameter_count: int | None
    dtype: str | None
    tags: list[str]
    description: str | None
    training_run: str | None
    step: int | None
    tokens_seen: int | None
    created_at: datetime | None
    status: str = "ready"  # converting (GGUF being dequantised by a worker), ready or failed
    error: str | None = None


@dataclass(frozen=True)
class Result:
    """The headline numbers of one succeeded job, read from its stored `BenchmarkSummary`."""

    job_id: int
    model_id: int
    benchmark: str
    template: str
    metric: str
    acc: float
    ci_low: float
    ci_high: float
    correct: int
    n: int
    expected_n: int | None
    complete: bool
    macro_acc: float
    subject_count: int
    partial: bool  # fewer questions than the benchmark's expected count


@dataclass(frozen=True)
class SubjectScore:
    job_id: int
    subject: str
    display: str
    correct: int
    n: int
    acc: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class JobInfo:
    id: int
    model_id: int
    model_name: str
    benchmark: str
    template: str
    status: str
    progress_done: int
    progress_total: int | None
    error: str | None
    attempts: int
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PairedRow:
    benchmark: str
    question_id: str
    subject: str
    gold: str
    pred_a: str
    pred_b: str
    correct_a: bool
    correct_b: bool


def model_info(model: Model) -> ModelInfo:
    return ModelInfo(id=model.id, name=model.name, path=model.path, source=model.source, revision=model.revision,
                     content_hash=model.content_hash, tokenizer=model.tokenizer,
                     parameter_count=model.parameter_count, dtype=model.dtype, tags=list(model.tags or []),
                     description=model.description, training_run=model.training_run, step=model.step,
                     tokens_seen=model.tokens_seen, created_at=model.created_at,
                     status=model.status or "ready", error=model.error)


def list_models(session: Session, *, run: str | None = None, ids: Collection[int] | None = None) -> list[ModelInfo]:
    query = select(Model)
    if run is not None:
        query = query.where(Model.training_run == run)
    if ids is not None:
        query = query.where(Model.id.in_(list(ids)))
    return [model_info(m) for m in session.scalars(query.order_by(Model.step, Model.id))]


def latest_results(session: Session, model_ids: Collection[int] | None = None,
                   template: str | None = DEFAULT_TEMPLATE) -> list[Result]:
    """For each (model, benchmark), the newest succeeded job's headline numbers with `template` (None: any
    template, the newest wins); one statement.

    The numbers are extracted from the summary JSON by the database (see `latest_jobs`), and the subject count
    comes from the per-subject rows.
    """
    latest = latest_jobs(session, template=template, model_ids=model_ids)
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
    return [_result(*row) for row in session.execute(query)]


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


def subject_scores(session: Session, job_ids: Collection[int]) -> list[SubjectScore]:
    """Per-subject rows of several jobs in one statement."""
    if not job_ids:
        return []
    query = (select(SubjectResult.job_id, SubjectResult.subject, SubjectResult.display, SubjectResult.correct,
                    SubjectResult.n, SubjectResult.acc, SubjectResult.ci_low, SubjectResult.ci_high)
             .where(SubjectResult.job_id.in_(list(job_ids))).order_by(SubjectResult.job_id, SubjectResult.subject))
    return [SubjectScore(*row) for row in session.execute(query)]


def job_infos(session: Session, *, statuses: Sequence[str] | None = None, model_id: int | None = None,
              job_ids: Collection[int] | None = None, limit: int | None = None) -> list[JobInfo]:
    """Jobs with their model names (one joined statement), newest first."""
    query = select(Job, Model.name).join(Model, Job.model_id == Model.id)
    if statuses is not None:
        query = query.where(Job.status.in_(list(statuses)))
    if model_id is not None:
        query = query.where(Job.model_id == model_id)
    if job_ids is not None:
        query = query.where(Job.id.in_(list(job_ids)))
    query = query.order_by(Job.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [_job_info(job, name) for job, name in session.execute(query)]


def _job_info(job: Job, model_name: str) -> JobInfo:
    return JobInfo(id=job.id, model_id=job.model_id, model_name=model_name, benchmark=job.benchmark,
                   template=job.template, status=job.status, progress_done=job.progress_done,
                   progress_total=job.progress_total, error=job.error, attempts=job.attempts,
                   created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at,
                   config=dict(job.config or {}))


def job_records(session: Session, job_ids: Collection[int]) -> dict[int, dict[str, Any] | None]:
    if not job_ids:
        return {}
    return {job_id: record for job_id, record in session.execute(select(Job.id, Job.record).where(Job.id.in_(list(job_ids))))}


def prediction_subjects(session: Session, job_id: int) -> list[str]:
    query = (select(PredictionRow.subject).where(PredictionRow.job_id == job_id).distinct()
             .order_by(PredictionRow.subject))
    return list(session.scalars(query))


def page_predictions(session: Session, job_id: int, *, combined: bool, subject: str | None, correct: bool | None,
                     offset: int, limit: int) -> tuple[list[PredictionRow], int]:
    """A page of a job's predictions; `correct` filters on the job's headline metric (combined or first token)."""
    query = select(PredictionRow).where(PredictionRow.job_id == job_id)
    if subject is not None:
        query = query.where(PredictionRow.subject == subject)
    if correct is not None:
        column = PredictionRow.correct_combined if combined else PredictionRow.correct
        query = query.where(column.is_(True) if correct else column.is_not(True))
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(session.scalars(query.order_by(PredictionRow.id).offset(offset).limit(limit)))
    return rows, count


def paired_predictions(session: Session, pairs: dict[str, tuple[int, int]],
                       combined: Collection[str]) -> list[PairedRow]:
    """Predictions of job A and job B of each benchmark joined on question id (one statement for all pairs)."""
    if not pairs:
        return []
    a, b = aliased(PredictionRow), aliased(PredictionRow)
    job_a, job_b = aliased(Job), aliased(Job)
    query = (select(job_a.benchmark, a.question_id, a.subject, a.gold, a.pred, b.pred, a.correct, b.correct,
                    a.correct_combined, b.correct_combined)
             .join(job_a, a.job_id == job_a.id)
             .join(b, a.question_id == b.question_id)
             .join(job_b, and_(b.job_id == job_b.id, job_b.benchmark == job_a.benchmark))
             .where(a.job_id.in_([p[0] for p in pairs.values()]), b.job_id.in_([p[1] for p in pairs.values()]))
             .order_by(job_a.benchmark, a.id))
    rows = []
    for bench, qid, subject, gold, pred_a, pred_b, ok_a, ok_b, comb_a, comb_b in session.execute(query):
        use_combined = bench in combined
        rows.append(PairedRow(benchmark=bench, question_id=qid, subject=subject, gold=gold, pred_a=pred_a,
                              pred_b=pred_b, correct_a=bool(comb_a if use_combined else ok_a),
                              correct_b=bool(comb_b if use_combined else ok_b)))
    return rows


def run_names(session: Session) -> list[str]:
    query = select(Model.training_run).where(Model.training_run.is_not(None)).distinct().order_by(Model.training_run)
    return [name for name in session.scalars(query) if name]
