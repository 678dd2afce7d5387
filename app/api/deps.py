"""Shared dependencies as `Annotated` aliases: a route states what it needs in its signature."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.core.config import Settings, get_settings
from app.db.models import ApiToken
from app.errors import AuthError
from app.queries.tokens import verify_token


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
