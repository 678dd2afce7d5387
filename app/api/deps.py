"""Shared dependencies as `Annotated` aliases: a route states what it needs in its signature."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.core.config import Settings, get_settings
from app.db.models import ApiToken
from app.errors import AuthError, ForbiddenError
from app.queries.tokens import verify_token
from app.services.fingerprint import WeightHasher


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the route returns without an error."""
    with request.app.state.session_factory() as session:
        yield session
        session.commit()


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

bearer = HTTPBearer(auto_error=False, description="an API token from `cbench token create --name NAME`")


def require_token(session: SessionDep,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> ApiToken:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthError("this endpoint needs 'Authorization: Bearer <token>' (create one with `cbench token create`)")
    token = verify_token(session, credentials.credentials)
    if token is None:
        raise AuthError("invalid, revoked or expired API token")
    return token


TokenDep = Annotated[ApiToken, Depends(require_token)]


def get_hasher(request: Request) -> WeightHasher:
    return request.app.state.hasher


HasherDep = Annotated[WeightHasher, Depends(get_hasher)]


def require_admin(token: TokenDep) -> ApiToken:
    if not token.admin:
        raise ForbiddenError("this endpoint needs an admin token (create one with `cbench token create --admin`)")
    return token


AdminTokenDep = Annotated[ApiToken, Depends(require_admin)]
