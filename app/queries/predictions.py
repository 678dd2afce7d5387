"""Per-question predictions: chunked inserts that ignore duplicates, paging, and reading them back as records."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.db.models import PredictionRow
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
                     offset: int = 0, limit: int = 100) -> tuple[Sequence[PredictionRow], int]:
    query = select(PredictionRow).where(PredictionRow.job_id == job_id)
    if subject is not None:
        query = query.where(PredictionRow.subject == subject)
    if correct is not None:
        query = query.where(PredictionRow.correct == correct)
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(PredictionRow.id).offset(offset).limit(limit)).all()
    return rows, count


def load_predictions(session: Session, job_id: int) -> list[Prediction]:
    """Every stored prediction of a job (all attempts), as records for `evaluators.aggregate.summarize`."""
    rows = session.scalars(select(PredictionRow).where(PredictionRow.job_id == job_id).order_by(PredictionRow.id))
    return [Prediction(question_id=r.question_id, subject=r.subject, gold=r.gold, pred=r.pred, scores=dict(r.scores),
                       correct=r.correct, prompt_sha256=r.prompt_sha256, output=r.output, letter=r.letter,
                       correct_combined=r.correct_combined, prompt=r.prompt) for r in rows]
