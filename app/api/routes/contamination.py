"""/contamination: indexes, their checks and hits; /models/{id}/clean-scores: accuracy on overlapping vs clean
questions per benchmark."""

from __future__ import annotations

from fastapi import APIRouter, Query

from app.api.deps import SessionDep
from app.queries import contamination as queries
from app.queries.models import get_model
from app.schemas.contamination import (
    CheckPublic,
    CleanScorePublic,
    CleanScoresPublic,
    HitPublic,
    HitsPublic,
    IndexDetailPublic,
    IndexesPublic,
    IndexPublic,
)
from app.schemas.types import MAX_ID
from evaluators.catalog import TEMPLATE_IDS
from evaluators.templates import DEFAULT_TEMPLATE

router = APIRouter(tags=["contamination"])


@router.get("/contamination/indexes", response_model=IndexesPublic)
def read_indexes(session: SessionDep) -> IndexesPublic:
    rows = queries.list_indexes(session)
    return IndexesPublic(data=[IndexPublic.model_validate(r) for r in rows], count=len(rows))


@router.get("/contamination/indexes/{index_id}", response_model=IndexDetailPublic)
def read_index(index_id: str, session: SessionDep) -> IndexDetailPublic:
    row = queries.get_index(session, index_id)
    return IndexDetailPublic(index=IndexPublic.model_validate(row),
                             checks=[CheckPublic.model_validate(c) for c in queries.checks_of(session, row.id)])


@router.get("/contamination/checks/{check_id}/hits", response_model=HitsPublic)
def read_hits(check_id: int, session: SessionDep, subject: str | None = None,
              field: str | None = Query(None, pattern="^(question|options|question_answer)$"),
              offset: int = Query(0, ge=0, le=MAX_ID), limit: int = Query(100, ge=1, le=1000)) -> HitsPublic:
    queries.get_check(session, check_id)
    rows, count = queries.hits_of(session, check_id, subject=subject, field=field, offset=offset, limit=limit)
    return HitsPublic(data=[HitPublic.model_validate(r) for r in rows], count=count)


@router.get("/models/{model_id}/clean-scores", response_model=CleanScoresPublic)
def read_clean_scores(model_id: int, session: SessionDep,
                      template: str = Query(DEFAULT_TEMPLATE, pattern="^(" + "|".join(TEMPLATE_IDS) + ")$"),
                      ) -> CleanScoresPublic:
    model = get_model(session, model_id)
    scores = queries.clean_scores(session, [model_id], template).get(model_id, [])
    return CleanScoresPublic(model_id=model_id, contamination_index=model.contamination_index,
                             data=[CleanScorePublic.model_validate(s.to_dict()) for s in scores])
