"""Queries on registered models."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.db.models import Model
from app.errors import InvalidRequestError, NotFoundError
from app.queries.rows import get_row
from app.schemas.fields import name_key, normalize_name
from app.schemas.models import ModelPublic


def get_model(session: Session, model_id: int) -> Model:
    return get_row(session, Model, model_id, "model")


ASCII_DIGITS = re.compile(r"[0-9]+")


def find_model(session: Session, ref: int | str) -> Model:
    """A model by id (an int, or a string of ASCII digits), else by name (compared as `name_key`).

    Names are never all digits (`app.schemas.fields`), so a reference has one reading; a string of other digits
    ("²", "٣") is neither an id nor a possible name and is refused."""
    if isinstance(ref, int):
        return get_model(session, ref)
    if ASCII_DIGITS.fullmatch(ref):
        return get_model(session, int(ref)) if len(ref) <= 10 else _not_found(ref)
    if normalize_name(ref).isnumeric():
        raise InvalidRequestError(f"model: {ref!r} is not a model id (ids are ASCII digits) and names are never "
                                  "all digits")
    model = get_model_by_name(session, ref)
    if model is None:
        raise NotFoundError(f"model {ref!r} not found")
    return model


def _not_found(ref: str) -> Model:
    raise NotFoundError(f"model {ref} not found")


def get_model_by_name(session: Session, name: str) -> Model | None:
    """The model whose name equals `name` after NFKC normalisation, trimming and case folding."""
    return session.scalar(select(Model).where(Model.name_key == name_key(name)))


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
