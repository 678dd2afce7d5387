"""API tokens are stored hashed and verified by their public key part."""

from __future__ import annotations

from app.db.models import ApiToken
from app.queries.tokens import create_token, verify_token


def test_token_round_trip(session_factory) -> None:  # noqa: ANN001
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
