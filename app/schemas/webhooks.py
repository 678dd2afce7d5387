"""Schemas for webhook subscriptions and their delivery log."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.schemas.types import UtcDateTime

EventName = Literal["job.finished", "job.failed", "checkpoint.regressed"]


# properties to receive when subscribing
class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2048, description="http(s) URL the events are POSTed to (Slack, Feishu, your own)")
    events: list[EventName] = Field(min_length=1)
    secret: str = Field(min_length=16, max_length=255,
                        description="signs each body: X-Cbench-Signature: sha256=<hex HMAC-SHA256(secret, body)>")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value


class WebhookPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    events: list[str]
    active: bool
    created_at: UtcDateTime


class WebhooksPublic(BaseModel):
    data: list[WebhookPublic]
    count: int


class AttemptPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempted_at: UtcDateTime
    status_code: int | None = Field(description="the receiver's HTTP status; null when it did not answer")
    error: str | None


class DeliveryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event: str
    event_id: str = Field(description="idempotency key (also in the body's `id` and the X-Cbench-Event-Id header)")
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: UtcDateTime
    last_status_code: int | None
    last_error: str | None
    created_at: UtcDateTime
    delivered_at: UtcDateTime | None
    log: list[AttemptPublic] = Field(default_factory=list, description="every attempt, oldest first")


class DeliveriesPublic(BaseModel):
    data: list[DeliveryPublic]
    count: int
