"""API token storage and verification."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.security import hash_token, new_token, token_key, token_matches
from app.db.base import utcnow
from app.db.models import ApiToken


def create_token(session: Session, name: str, *, admin: bool = False) -> tuple[ApiToken, str]:
    """Store a new token (hashed) and return it with the plain token, which is never stored. An `admin` token may
    also manage webhook subscriptions."""
    if not name.strip():
        raise ValueError("token name must not be empty")
    key, token = new_token()
    row = ApiToken(name=name.strip(), key=key, token_hash=hash_token(token), admin=admin)
    session.add(row)
    session.flush()
    return row, token


def verify_token(session: Session, token: str) -> ApiToken | None:
    """The active token row matching `token` (constant-time hash comparison), else None."""
    key = token_key(token)
    if key is None:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.key == key))
    if row is None or row.revoked or not token_matches(token, row.token_hash):
        return None
    row.last_used_at = utcnow()
    return row
