"""Queries on registered models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Model
from app.errors import NotFoundError
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


def list_models(session: Session, *, run: str | None = None, offset: int = 0,
                limit: int = 100) -> tuple[Sequence[Model], int]:
    query = select(Model)
    if run is not None:
        query = query.where(Model.training_run == run)
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Model.id).offset(offset).limit(limit)).all()
    return rows, count


def create_model(session: Session, **fields: Any) -> Model:
    model = Model(**fields)
    session.add(model)
    session.flush()
    return model
