"""The one error body every API error has: `{"detail": "<one readable message>"}`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorPublic(BaseModel):
    detail: str


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting `ErrorPublic` for the given statuses."""
    reasons = {401: "missing, invalid or revoked API token", 403: "needs an admin token (`cbench token create --admin`)",
               404: "no such model or job",
               409: "conflicts with what is stored", 413: "request body too large (CBENCH_MAX_BODY_BYTES)",
               422: "invalid request; `detail` names the field and, for choices, the valid values"}
    return {status: {"model": ErrorPublic, "description": reasons[status]} for status in statuses}
