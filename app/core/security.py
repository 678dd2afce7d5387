"""API tokens: `cbt_<key>_<secret>`; only a SHA-256 of the whole token is stored, looked up by its public key part
and compared in constant time (`hmac.compare_digest`)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_PREFIX = "cbt"


def new_token() -> tuple[str, str]:
    """Return (key, token): the key is public and indexed, the token is shown to the user once."""
    key = secrets.token_hex(6)
    return key, f"{TOKEN_PREFIX}_{key}_{secrets.token_urlsafe(32)}"


def token_key(token: str) -> str | None:
    """The public key part of a well-formed token, else None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_token(token), stored_hash)
