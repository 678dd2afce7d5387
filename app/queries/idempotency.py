"""Stored `Idempotency-Key`s of `POST /jobs`, one per token and key."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import IdempotencyKey


def get_key(session: Session, token_id: int, key: str) -> IdempotencyKey | None:
    return session.scalar(select(IdempotencyKey).where(IdempotencyKey.token_id == token_id,
                                                        IdempotencyKey.key == key))


def claim_key(session: Session, token_id: int, key: str, request_sha256: str) -> IdempotencyKey:
    """Insert the key before the jobs: a concurrent request with the same key fails here (IntegrityError)."""
    row = IdempotencyKey(token_id=token_id, key=key, request_sha256=request_sha256, job_ids=[])
    session.add(row)
    session.flush()
    return row
