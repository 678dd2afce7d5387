"""Per-question predictions: chunked inserts that ignore duplicates, paging, pairing two jobs on the same
questions, and reading them back as records."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import Select, and_, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from app.db.models import Job, PredictionRow, Prompt
from app.schemas.jobs import PredictionPublic
from evaluators.records import Prediction


def insert_predictions(session: Session, job_id: int, predictions: Iterable[Prediction]) -> None:
    """Insert a chunk, ignoring rows whose (job, question) is already stored (a retry re-scoring a question); each
    prompt text goes to `prompts` once, under its `prompt_sha256` (the sha256 of the text, as
    `evaluators.prompting` computes it); a text already stored by any job is not written again."""
    predictions = list(predictions)
    if not predictions:
        return
    prompts = {p.prompt_sha256: p.prompt for p in predictions if p.prompt is not None}
    rows = [{
        "job_id": job_id, "question_id": p.question_id, "subject": p.subject, "gold": p.gold, "pred": p.pred,
        "scores": dict(p.scores), "correct": bool(p.correct), "correct_combined": p.correct_combined,
        "output": p.output, "letter": p.letter, "prompt_sha256": p.prompt_sha256,
    } for p in predictions]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    if prompts:
        session.execute(insert(Prompt).values([{"sha256": k, "text": v} for k, v in sorted(prompts.items())])
                        .on_conflict_do_nothing(index_elements=["sha256"]))
    session.execute(insert(PredictionRow).values(rows).on_conflict_do_nothing(index_elements=["job_id", "question_id"]))


def stored_question_ids(session: Session, job_id: int) -> frozenset[str]:
    return frozenset(session.scalars(select(PredictionRow.question_id).where(PredictionRow.job_id == job_id)))


def count_predictions(session: Session, job_id: int) -> int:
    return session.scalar(select(func.count()).where(PredictionRow.job_id == job_id)) or 0


def list_predictions(session: Session, job_id: int, *, subject: str | None = None, correct: bool | None = None,
                     combined: bool = False, offset: int = 0,
                     limit: int = 100) -> tuple[list[PredictionPublic], int]:
    """A page of a job's predictions and the count of all that match. `correct` filters on the first-token
    metric, or on the combined one when `combined` (a question without a combined verdict counts as wrong)."""
    query = _with_prompts().where(PredictionRow.job_id == job_id)
    if subject is not None:
        query = query.where(PredictionRow.subject == subject)
    if correct is not None:
        column = PredictionRow.correct_combined if combined else PredictionRow.correct
        query = query.where(column.is_(True) if correct else column.is_not(True))
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(PredictionRow.id).offset(offset).limit(limit))
    return [PredictionPublic.model_validate({**_fields(row), "prompt": prompt}) for row, prompt in rows], count


def _with_prompts() -> Select:
    """Predictions with their prompt texts (None where a run kept no text)."""
    return select(PredictionRow, Prompt.text).outerjoin(Prompt, Prompt.sha256 == PredictionRow.prompt_sha256)


def _fields(row: PredictionRow) -> dict[str, object]:
    return {name: getattr(row, name) for name in PREDICTION_FIELDS}


PREDICTION_FIELDS = ("question_id", "subject", "gold", "pred", "scores", "correct", "correct_combined", "output",
                     "letter", "prompt_sha256")


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
    rows = session.execute(_with_prompts().where(PredictionRow.job_id == job_id).order_by(PredictionRow.id))
    return [Prediction(**{**_fields(row), "scores": dict(row.scores)}, prompt=prompt) for row, prompt in rows]


def subject_prompt_samples(session: Session, job_id: int, subjects: Iterable[str],
                           per_subject: int = 2) -> dict[str, list[str]]:
    """The first `per_subject` stored prompt texts of each subject of a job (one statement), for finding the
    few-shot block the subject's prompts share."""
    wanted = sorted(set(subjects))
    if not wanted:
        return {}
    rank = func.row_number().over(partition_by=PredictionRow.subject, order_by=PredictionRow.id).label("rank")
    ranked = (select(PredictionRow.subject, Prompt.text.label("prompt"), rank)
              .join(Prompt, Prompt.sha256 == PredictionRow.prompt_sha256)
              .where(PredictionRow.job_id == job_id, PredictionRow.subject.in_(wanted)).subquery())
    samples: dict[str, list[str]] = {}
    for subject, prompt in session.execute(select(ranked.c.subject, ranked.c.prompt)
                                           .where(ranked.c.rank <= per_subject).order_by(ranked.c.rank)):
        samples.setdefault(subject, []).append(prompt)
    return samples


def prediction_by_question(session: Session, job_id: int, question_id: str) -> list[PredictionPublic]:
    """The stored prediction of one question of a job, with its prompt text ([] when it has none)."""
    query = _with_prompts().where(PredictionRow.job_id == job_id, PredictionRow.question_id == question_id)
    return [PredictionPublic.model_validate({**_fields(row), "prompt": prompt}) for row, prompt in session.execute(query)]
