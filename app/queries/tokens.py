"""API token storage and verification: create (optionally expiring), list, revoke, verify."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.security import hash_token, new_token, token_key, token_matches
from app.db.base import utcnow
from app.db.models import ApiToken
from app.errors import NotFoundError

LAST_USED_RESOLUTION = timedelta(minutes=1)
"""`last_used_at` is refreshed at most this often: concurrent writes with one token would otherwise all update (and,
on Postgres, queue on the lock of) the same token row."""


def create_token(session: Session, name: str, *, admin: bool = False,
                 expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Store a new token (hashed) and return it with the plain token, which is never stored. An `admin` token may
    also manage webhook subscriptions."""
    if not name.strip():
        raise ValueError("token name must not be empty")
    if expires_at is not None and expires_at <= utcnow():
        raise ValueError("token expiry must be in the future")
    key, token = new_token()
    row = ApiToken(name=name.strip(), key=key, token_hash=hash_token(token), admin=admin, expires_at=expires_at)
    session.add(row)
    session.flush()
    return row, token


def list_tokens(session: Session) -> Sequence[ApiToken]:
    return session.scalars(select(ApiToken).order_by(ApiToken.id)).all()


def revoke_token(session: Session, key: str) -> ApiToken:
    """Revoke the token with this public key (the part after `cbt_`, as `cbench token list` shows it)."""
    row = session.scalar(select(ApiToken).where(ApiToken.key == (token_key(key) or key)))
    if row is None:
        raise NotFoundError(f"no token with key {key!r} (see `cbench token list`)")
    row.revoked = True
    return row


def token_state(row: ApiToken, now: datetime | None = None) -> str:
    """active, revoked or expired."""
    if row.revoked:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= (now or utcnow()):
        return "expired"
    return "active"


def verify_token(session: Session, token: str) -> ApiToken | None:
    """The active token row matching `token` (constant-time hash comparison), else None."""
    key = token_key(token)
    if key is None:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.key == key))
    if row is None or token_state(row) != "active" or not token_matches(token, row.token_hash):
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
    return row
