"""Field types shared by the response schemas."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from pydantic import AfterValidator


def _as_utc(value: datetime) -> datetime:
    """Timestamps are stored naive in UTC (`app.db.base.utcnow`); responses state the zone (RFC 3339)."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]

MAX_ID = 2**31 - 1
"""Largest primary key a table can hold (a 32-bit integer column on Postgres)."""
MAX_BIGINT = 2**63 - 1
"""Largest value of a BIGINT column (steps, token counts)."""
