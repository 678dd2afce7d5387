"""Queries on registered models."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.db.models import Model
from app.errors import NotFoundError
from app.schemas.models import ModelPublic
from app.schemas.types import MAX_ID


def get_model(session: Session, model_id: int) -> Model:
    if not 1 <= model_id <= MAX_ID:  # out of the column's range: no such row (and no database error)
        raise NotFoundError(f"model {model_id} not found")
    model = session.get(Model, model_id)
    if model is None:
        raise NotFoundError(f"model {model_id} not found")
    return model


def find_model(session: Session, ref: int | str) -> Model:
    """A model by id, or by name when `ref` is a string that is not all digits."""
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        return get_model(session, int(ref))
    model = get_model_by_name(session, ref)
    if model is None:
        raise NotFoundError(f"model {ref!r} not found")
    return model


def get_model_by_name(session: Session, name: str) -> Model | None:
    return session.scalar(select(Model).where(Model.name == name))


def _models(run: str | None, ids: Collection[int] | None) -> Select:
    query = select(Model)
    if run is not None:
        query = query.where(Model.training_run == run)
    if ids is not None:
        query = query.where(Model.id.in_(list(ids)))
    return query


def list_models(session: Session, *, run: str | None = None, ids: Collection[int] | None = None, offset: int = 0,
                limit: int | None = None) -> list[ModelPublic]:
    """Models by id, optionally of one training run or with the given ids, a page at a time (all: no `limit`)."""
    query = _models(run, ids).order_by(Model.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [ModelPublic.model_validate(model) for model in session.scalars(query)]


def count_models(session: Session, *, run: str | None = None) -> int:
    return session.scalar(select(func.count()).select_from(_models(run, None).subquery())) or 0


def create_model(session: Session, **fields: Any) -> Model:
    model = Model(**fields)
    session.add(model)
    session.flush()
    return model
