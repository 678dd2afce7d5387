"""Contamination indexes, checks and hits in the database, and clean-subset scores of models.

A check stored here belongs to one index (by its content id); a model carries the id of the index of the corpus
it was trained on (`models.contamination_index`, set by checkpoint registration or `cbench contamination check
--run`). A model's clean-subset score on a benchmark pairs its newest succeeded job's predictions with the newest
check of that benchmark against its index (`contamination.clean_scores.clean_split`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db.models import ContaminationCheck, ContaminationHit, ContaminationIndex, Model, PredictionRow
from app.errors import NotFoundError
from app.queries.results import latest_results
from contamination.check import BenchmarkCheck
from contamination.clean_scores import CleanSplit, clean_split
from evaluators.templates import DEFAULT_TEMPLATE


@dataclass(frozen=True)
class CleanScore:
    """One model on one benchmark: the usual score next to the overlapping / clean split."""

    model_id: int
    benchmark: str
    job_id: int
    template: str
    index_id: str
    check_id: int
    flagged: int  # questions of the benchmark the check flagged (any field)
    split: CleanSplit

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def upsert_index(session: Session, manifest: dict, path: str) -> ContaminationIndex:
    row = session.scalar(select(ContaminationIndex).where(ContaminationIndex.index_id == manifest["id"]))
    if row is None:
        row = ContaminationIndex(index_id=manifest["id"])
        session.add(row)
    row.path = path
    row.normalisation = manifest["normalisation"]
    row.n_latin, row.n_cjk = manifest["n_latin"], manifest["n_cjk"]
    row.files = [{k: f[k] for k in ("path", "kind", "sha256", "bytes", "documents", "ngrams")}
                 for f in manifest["files"]]
    row.documents, row.bytes, row.ngrams = manifest["documents"], manifest["bytes"], manifest["ngrams"]
    session.flush()
    return row


def store_check(session: Session, index: ContaminationIndex, result: BenchmarkCheck,
                record: dict[str, Any]) -> ContaminationCheck:
    check = ContaminationCheck(index_pk=index.id, benchmark=result.benchmark, split=result.split,
                               questions=result.questions, totals=dict(result.totals),
                               subjects=[asdict(s) for s in result.subjects], record=record)
    session.add(check)
    session.flush()
    session.add_all([ContaminationHit(check_id=check.id, question_id=h.question_id, subject=h.subject, field=h.field,
                                      ngram=h.ngram, file=h.file, location=h.location) for h in result.hits])
    session.flush()
    return check


def link_run(session: Session, run: str, index_id: str) -> int:
    """Give every checkpoint of `run` the index id; returns how many models were linked."""
    result = session.execute(update(Model).where(Model.training_run == run).values(contamination_index=index_id))
    return int(result.rowcount or 0)


def list_indexes(session: Session) -> Sequence[ContaminationIndex]:
    return session.scalars(select(ContaminationIndex).order_by(ContaminationIndex.id)).all()


def get_index(session: Session, index_id: str) -> ContaminationIndex:
    row = session.scalar(select(ContaminationIndex).where(ContaminationIndex.index_id == index_id))
    if row is None:
        raise NotFoundError(f"contamination index {index_id!r} not found")
    return row


def checks_of(session: Session, index_pk: int) -> Sequence[ContaminationCheck]:
    return session.scalars(select(ContaminationCheck).where(ContaminationCheck.index_pk == index_pk)
                           .order_by(ContaminationCheck.id)).all()


def get_check(session: Session, check_id: int) -> ContaminationCheck:
    check = session.get(ContaminationCheck, check_id) if 1 <= check_id <= 2**31 - 1 else None
    if check is None:
        raise NotFoundError(f"contamination check {check_id} not found")
    return check


def hits_of(session: Session, check_id: int, *, subject: str | None = None, field: str | None = None,
            offset: int = 0, limit: int = 100) -> tuple[Sequence[ContaminationHit], int]:
    query = select(ContaminationHit).where(ContaminationHit.check_id == check_id)
    if subject is not None:
        query = query.where(ContaminationHit.subject == subject)
    if field is not None:
        query = query.where(ContaminationHit.field == field)
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return session.scalars(query.order_by(ContaminationHit.id).offset(offset).limit(limit)).all(), count


def latest_checks(session: Session, index_ids: Collection[str]) -> dict[tuple[str, str], ContaminationCheck]:
    """The newest check per (index id, benchmark)."""
    if not index_ids:
        return {}
    newest = (select(func.max(ContaminationCheck.id)).join(ContaminationIndex)
              .where(ContaminationIndex.index_id.in_(list(index_ids)))
              .group_by(ContaminationCheck.index_pk, ContaminationCheck.benchmark))
    rows = session.execute(select(ContaminationCheck, ContaminationIndex.index_id).join(ContaminationIndex)
                           .where(ContaminationCheck.id.in_(newest)))
    return {(index_id, check.benchmark): check for check, index_id in rows}


def flagged_questions(session: Session, check_ids: Collection[int]) -> dict[int, set[str]]:
    if not check_ids:
        return {}
    out: dict[int, set[str]] = {c: set() for c in check_ids}
    for check_id, question_id in session.execute(
            select(ContaminationHit.check_id, ContaminationHit.question_id).distinct()
            .where(ContaminationHit.check_id.in_(list(check_ids)))):
        out[check_id].add(question_id)
    return out


def clean_scores(session: Session, model_ids: Collection[int],
                 template: str | None = DEFAULT_TEMPLATE) -> dict[int, list[CleanScore]]:
    """Per model (that has an index with checks): one CleanScore per benchmark with both a job and a check."""
    if not model_ids:
        return {}
    indexes = dict(session.execute(select(Model.id, Model.contamination_index)
                                   .where(Model.id.in_(list(model_ids)), Model.contamination_index.is_not(None))).all())
    if not indexes:
        return {}
    checks = latest_checks(session, set(indexes.values()))
    if not checks:
        return {}
    # the results the leaderboard shows: the newest complete one per benchmark (a newer partial one never displaces it)
    jobs = [(r.job_id, r.model_id, r.benchmark, r.template, r.metric)
            for r in latest_results(session, list(indexes), template) if (indexes[r.model_id], r.benchmark) in checks]
    flagged = flagged_questions(session, [checks[(indexes[m], b)].id for _j, m, b, _t, _x in jobs])
    outcomes: dict[int, dict[str, bool]] = {j: {} for j, *_ in jobs}
    metrics = {j: metric for j, _m, _b, _t, metric in jobs}
    if jobs:
        for job_id, question_id, correct, combined in session.execute(
                select(PredictionRow.job_id, PredictionRow.question_id, PredictionRow.correct,
                       PredictionRow.correct_combined).where(PredictionRow.job_id.in_(list(outcomes)))):
            use_combined = metrics[job_id] not in (None, "", "first_token") and combined is not None
            outcomes[job_id][question_id] = bool(combined if use_combined else correct)
    out: dict[int, list[CleanScore]] = {}
    for job_id, model_id, bench, job_template, _metric in jobs:
        check = checks[(indexes[model_id], bench)]
        questions = flagged[check.id]
        out.setdefault(model_id, []).append(CleanScore(
            model_id=model_id, benchmark=bench, job_id=job_id, template=job_template, index_id=indexes[model_id],
            check_id=check.id, flagged=len(questions), split=clean_split(outcomes[job_id], questions)))
    for scores in out.values():
        scores.sort(key=lambda s: s.benchmark)
    return out
