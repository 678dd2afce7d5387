"""A row by its id, or `NotFoundError`: the one lookup behind `get_model`, `get_job` and `get_webhook`."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from app.errors import NotFoundError
from app.schemas.types import MAX_ID

Row = TypeVar("Row")


def get_row(session: Session, entity: type[Row], row_id: int, noun: str) -> Row:
    """The `entity` row with primary key `row_id`; an id out of the column's range is no such row (and no database
    error). Raises `NotFoundError("<noun> <id> not found")`."""
    row = session.get(entity, row_id) if 1 <= row_id <= MAX_ID else None
    if row is None:
        raise NotFoundError(f"{noun} {row_id} not found")
    return row
