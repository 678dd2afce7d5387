"""API tokens are stored hashed and verified by their public key part."""

from __future__ import annotations

from app.db.models import ApiToken
from app.queries.tokens import create_token, verify_token


def test_token_round_trip(session_factory) -> None:
    with session_factory() as session:
        row, token = create_token(session, "ci")
        session.commit()
        stored = session.get(ApiToken, row.id)
        assert token not in (stored.token_hash, stored.key) and stored.key in token
        assert verify_token(session, token).id == row.id
        assert verify_token(session, token[:-1] + ("x" if token[-1] != "x" else "y")) is None
        assert verify_token(session, "garbage") is None
        stored.revoked = True
        assert verify_token(session, token) is None


def test_last_used_is_written_at_most_once_a_minute(session_factory) -> None:
    """Concurrent writes with one token must not all update (and on Postgres queue on) the token's row."""
    from datetime import timedelta

    from app.db.base import utcnow

    with session_factory() as session:
        row, token = create_token(session, "ci")
        session.commit()
        first = verify_token(session, token).last_used_at
        session.commit()
        assert first is not None
        verify_token(session, token)
        assert not session.dirty  # used again within the minute: nothing to write
        row.last_used_at = utcnow() - timedelta(minutes=2)
        session.commit()
        assert verify_token(session, token).last_used_at > first
