"""Webhook subscriptions, the outbox and its delivery log.

`enqueue_event` writes one outbox row per matching subscription inside the caller's transaction, the one that
finishes or fails the job, so an event exists exactly when its cause was committed, and survives any restart.
Rows are unique per (subscription, event id): enqueueing the same event twice stores it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.models import Webhook, WebhookAttempt, WebhookDelivery
from app.queries.rows import get_row
from app.webhooks.payloads import event_body


def create_webhook(session: Session, *, url: str, events: Sequence[str], secret: str) -> Webhook:
    hook = Webhook(url=url, events=sorted(set(events)), secret=secret, active=True)
    session.add(hook)
    session.flush()
    return hook


def list_webhooks(session: Session) -> Sequence[Webhook]:
    return session.scalars(select(Webhook).order_by(Webhook.id)).all()


def get_webhook(session: Session, webhook_id: int) -> Webhook:
    return get_row(session, Webhook, webhook_id, "webhook")


def delete_webhook(session: Session, webhook_id: int) -> None:
    session.delete(get_webhook(session, webhook_id))


def enqueue_event(session: Session, event: str, event_id: str, text: str, data: dict[str, Any]) -> int:
    """Outbox rows for every active subscription to `event`; returns how many subscriptions matched."""
    hooks = [h for h in session.scalars(select(Webhook).where(Webhook.active.is_(True))) if event in h.events]
    if not hooks:
        return 0
    now = utcnow()
    body = event_body(event, event_id, text, data, now)
    rows = [{"webhook_id": h.id, "event": event, "event_id": event_id, "body": body, "status": "pending",
             "attempts": 0, "next_attempt_at": now, "created_at": now} for h in hooks]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(WebhookDelivery).values(rows).on_conflict_do_nothing(
        index_elements=["webhook_id", "event_id"]))
    return len(hooks)


def list_deliveries(session: Session, webhook_id: int, *, offset: int = 0,
                    limit: int = 100) -> tuple[Sequence[WebhookDelivery], int, dict[int, list[WebhookAttempt]]]:
    """A page of one subscription's deliveries (newest first), their count, and each one's attempts."""
    get_webhook(session, webhook_id)
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(WebhookDelivery.id.desc()).offset(offset).limit(limit)).all()
    attempts: dict[int, list[WebhookAttempt]] = {row.id: [] for row in rows}
    if rows:
        for attempt in session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(list(attempts)))
                                       .order_by(WebhookAttempt.id)):
            attempts[attempt.delivery_id].append(attempt)
    return rows, count, attempts
