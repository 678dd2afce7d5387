"""Domain exceptions raised by queries and services; one handler in `app.main` maps them to HTTP statuses."""

from __future__ import annotations


class DomainError(Exception):
    """Base class; `status_code` is the HTTP status the API answers with."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(DomainError):
    status_code = 404


class ConflictError(DomainError):
    status_code = 409


class InvalidRequestError(DomainError):
    status_code = 422


class AuthError(DomainError):
    status_code = 401


class ForbiddenError(DomainError):
    status_code = 403
