"""Per-question predictions: chunked inserts that ignore duplicates, paging, pairing two jobs on the same
questions, and reading them back as records."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from app.db.models import Job, PredictionRow
from app.schemas.jobs import PredictionPublic
from evaluators.records import Prediction


def insert_predictions(session: Session, job_id: int, predictions: Iterable[Prediction]) -> None:
    """Insert a chunk, ignoring rows whose (job, question) is already stored (a retry re-scoring a question)."""
    rows = [{
        "job_id": job_id, "question_id": p.question_id, "subject": p.subject, "gold": p.gold, "pred": p.pred,
        "scores": dict(p.scores), "correct": bool(p.correct), "correct_combined": p.correct_combined,
        "output": p.output, "letter": p.letter, "prompt_sha256": p.prompt_sha256, "prompt": p.prompt,
    } for p in predictions]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(PredictionRow).values(rows).on_conflict_do_nothing(index_elements=["job_id", "question_id"])
    session.execute(statement)


def stored_question_ids(session: Session, job_id: int) -> frozenset[str]:
    return frozenset(session.scalars(select(PredictionRow.question_id).where(PredictionRow.job_id == job_id)))


def count_predictions(session: Session, job_id: int) -> int:
    return session.scalar(select(func.count()).where(PredictionRow.job_id == job_id)) or 0


def list_predictions(session: Session, job_id: int, *, subject: str | None = None, correct: bool | None = None,
                     combined: bool = False, offset: int = 0,
                     limit: int = 100) -> tuple[list[PredictionPublic], int]:
    """A page of a job's predictions and the count of all that match. `correct` filters on the first-token
    metric, or on the combined one when `combined` (a question without a combined verdict counts as wrong)."""
    query = select(PredictionRow).where(PredictionRow.job_id == job_id)
    if subject is not None:
        query = query.where(PredictionRow.subject == subject)
    if correct is not None:
        column = PredictionRow.correct_combined if combined else PredictionRow.correct
        query = query.where(column.is_(True) if correct else column.is_not(True))
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(PredictionRow.id).offset(offset).limit(limit))
    return [PredictionPublic.model_validate(row) for row in rows], count


def prediction_subjects(session: Session, job_id: int) -> list[str]:
    """The subjects a job has predictions for, sorted."""
    query = (select(PredictionRow.subject).where(PredictionRow.job_id == job_id).distinct()
             .order_by(PredictionRow.subject))
    return list(session.scalars(query))


@dataclass(frozen=True)
class PairedRow:
    """One question answered by the models of two jobs (compare page)."""

    benchmark: str
    question_id: str
    subject: str
    gold: str
    pred_a: str
    pred_b: str
    correct_a: bool
    correct_b: bool


def paired_predictions(session: Session, pairs: dict[str, tuple[int, int]],
                       combined: Collection[str]) -> list[PairedRow]:
    """Predictions of job A and job B of each benchmark joined on question id (one statement for all pairs);
    `combined` names the benchmarks whose verdict is the combined metric."""
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


def load_predictions(session: Session, job_id: int) -> list[Prediction]:
    """Every stored prediction of a job (all attempts), as records for `evaluators.aggregate.summarize`."""
    rows = session.scalars(select(PredictionRow).where(PredictionRow.job_id == job_id).order_by(PredictionRow.id))
    return [Prediction(question_id=r.question_id, subject=r.subject, gold=r.gold, pred=r.pred, scores=dict(r.scores),
                       correct=r.correct, prompt_sha256=r.prompt_sha256, output=r.output, letter=r.letter,
                       correct_combined=r.correct_combined, prompt=r.prompt) for r in rows]
