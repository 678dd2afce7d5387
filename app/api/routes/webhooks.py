"""/webhooks: subscribe to events (admin token), list and delete subscriptions, read a subscription's delivery log."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from app.api.deps import AdminTokenDep, SessionDep
from app.queries import webhooks as webhook_queries
from app.schemas.errors import error_responses
from app.schemas.types import MAX_ID
from app.schemas.webhooks import (
    AttemptPublic,
    DeliveriesPublic,
    DeliveryPublic,
    WebhookCreate,
    WebhookPublic,
    WebhooksPublic,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=error_responses(401, 403))


@router.post("", response_model=WebhookPublic, status_code=201)
def create_webhook(body: WebhookCreate, session: SessionDep, _admin: AdminTokenDep) -> WebhookPublic:
    """Subscribe a URL to events (admin token). Each event is POSTed as JSON with a `text` field (shown as is by
    Slack or Feishu incoming webhooks), signed: `X-Cbench-Signature: sha256=<hex HMAC-SHA256(secret, body)>`.
    Delivery is at-least-once, retried with exponential back-off; the body's `id` is the idempotency key."""
    hook = webhook_queries.create_webhook(session, url=body.url, events=body.events, secret=body.secret)
    return WebhookPublic.model_validate(hook)


@router.get("", response_model=WebhooksPublic)
def read_webhooks(session: SessionDep, _admin: AdminTokenDep) -> WebhooksPublic:
    """Every subscription (secrets are never returned)."""
    rows = webhook_queries.list_webhooks(session)
    return WebhooksPublic(data=[WebhookPublic.model_validate(r) for r in rows], count=len(rows))


@router.delete("/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: int, session: SessionDep, _admin: AdminTokenDep) -> Response:
    """Remove a subscription and its delivery log."""
    webhook_queries.delete_webhook(session, webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=DeliveriesPublic)
def read_deliveries(webhook_id: int, session: SessionDep, _admin: AdminTokenDep,
                    offset: int = Query(0, ge=0, le=MAX_ID), limit: int = Query(100, ge=1, le=1000)) -> DeliveriesPublic:
    """The subscription's delivery log, newest first: status, attempts, the receiver's last answer, every attempt."""
    rows, count, attempts = webhook_queries.list_deliveries(session, webhook_id, offset=offset, limit=limit)
    data = [DeliveryPublic.model_validate(row).model_copy(
        update={"log": [AttemptPublic.model_validate(a) for a in attempts[row.id]]}) for row in rows]
    return DeliveriesPublic(data=data, count=count)
