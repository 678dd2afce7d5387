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


def subject_prompt_samples(session: Session, job_id: int, subjects: Iterable[str],
                           per_subject: int = 2) -> dict[str, list[str]]:
    """The first `per_subject` stored prompt texts of each subject of a job (one statement), for finding the
    few-shot block the subject's prompts share."""
    wanted = sorted(set(subjects))
    if not wanted:
        return {}
    rank = func.row_number().over(partition_by=PredictionRow.subject, order_by=PredictionRow.id).label("rank")
    ranked = (select(PredictionRow.subject, PredictionRow.prompt, rank)
              .where(PredictionRow.job_id == job_id, PredictionRow.subject.in_(wanted),
                     PredictionRow.prompt.is_not(None)).subquery())
    samples: dict[str, list[str]] = {}
    for subject, prompt in session.execute(select(ranked.c.subject, ranked.c.prompt)
                                           .where(ranked.c.rank <= per_subject).order_by(ranked.c.rank)):
        samples.setdefault(subject, []).append(prompt)
    return samples


def prediction_by_question(session: Session, job_id: int, question_id: str) -> list[PredictionRow]:
    """The stored prediction of one question of a job ([] when it has none)."""
    query = select(PredictionRow).where(PredictionRow.job_id == job_id, PredictionRow.question_id == question_id)
    return list(session.scalars(query))
