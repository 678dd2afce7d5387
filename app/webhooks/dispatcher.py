"""The webhook dispatcher: a thread that delivers the outbox, apart from every worker and request.

Each round claims due deliveries (pending, `next_attempt_at` reached, not claimed by a live dispatcher) by a
conditional UPDATE of `claimed_until` (`FOR UPDATE SKIP LOCKED` on Postgres), so several server processes never
send one row at the same time; it POSTs them in parallel with a timeout, then records the attempt in the delivery
log. A 2xx marks the delivery done; anything else (refused, timed out, non-2xx) schedules a retry after
`backoff · 2^(attempts − 1)` seconds (at most an hour) until `webhook_max_attempts`. A dispatcher that dies
mid-send leaves a claim that expires, and the row is sent again: delivery is at-least-once, and the event id in
the body and the `X-Cbench-Event-Id` header is the receiver's idempotency key.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings
from app.db.base import utcnow
from app.db.models import Webhook, WebhookAttempt, WebhookDelivery
from app.webhooks.payloads import EVENT_HEADER, EVENT_ID_HEADER, SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 3600.0
BATCH = 16
PARALLEL_SENDS = 4


@dataclass(frozen=True)
class DueDelivery:
    id: int
    url: str
    secret: str
    event: str
    event_id: str
    body: str


def retry_delay(attempts: int, first: float, cap: float = MAX_BACKOFF_SECONDS) -> float:
    """Seconds before the next try after `attempts` failed ones: first, 2·first, 4·first, ... capped (pure)."""
    return min(cap, first * 2.0 ** max(0, attempts - 1))


def _due(now):
    return and_(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
                or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now))


def claim_due(session_factory: sessionmaker[Session], claim_seconds: float, limit: int = BATCH) -> list[DueDelivery]:
    with session_factory() as session:
        now = utcnow()
        query = select(WebhookDelivery.id).where(_due(now)).order_by(WebhookDelivery.next_attempt_at,
                                                                     WebhookDelivery.id).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        claimed = []
        for delivery_id in session.scalars(query).all():
            result = session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id, _due(now))
                                     .values(claimed_until=now + timedelta(seconds=claim_seconds)))
            if result.rowcount == 1:
                claimed.append(delivery_id)
        session.commit()
        if not claimed:
            return []
        rows = session.execute(select(WebhookDelivery.id, Webhook.url, Webhook.secret, WebhookDelivery.event,
                                      WebhookDelivery.event_id, WebhookDelivery.body)
                               .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                               .where(WebhookDelivery.id.in_(claimed)).order_by(WebhookDelivery.id))
        return [DueDelivery(*row) for row in rows]


def send(delivery: DueDelivery, timeout: float) -> tuple[int | None, str | None]:
    """POST one delivery; (status code or None, error or None)."""
    body = delivery.body.encode()
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(delivery.secret, body),
               EVENT_HEADER: delivery.event, EVENT_ID_HEADER: delivery.event_id,
               "User-Agent": "colossal-bench-webhooks"}
    try:
        response = httpx.post(delivery.url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:1000]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"


def record_attempt(session_factory: sessionmaker[Session], delivery_id: int, status_code: int | None,
                   error: str | None, settings: Settings) -> str:
    """Log the attempt and move the delivery on; returns its new status."""
    with session_factory() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None:  # the subscription was deleted meanwhile
            return "deleted"
        now = utcnow()
        session.add(WebhookAttempt(delivery_id=delivery_id, attempted_at=now, status_code=status_code, error=error))
        delivery.attempts += 1
        delivery.claimed_until = None
        delivery.last_status_code, delivery.last_error = status_code, error
        if error is None:
            delivery.status, delivery.delivered_at = "delivered", now
        elif delivery.attempts >= settings.webhook_max_attempts:
            delivery.status = "failed"
        else:
            delivery.next_attempt_at = now + timedelta(
                seconds=retry_delay(delivery.attempts, settings.webhook_backoff_seconds))
        session.commit()
        return delivery.status


class Dispatcher:
    """`run()` until `stop()`; `run_once()` delivers one round and returns how many deliveries it tried."""

    def __init__(self, session_factory: sessionmaker[Session], settings: Settings) -> None:
        self.session_factory, self.settings = session_factory, settings
        self.stopping = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=PARALLEL_SENDS, thread_name_prefix="cbench-webhook")

    def stop(self) -> None:
        self.stopping.set()

    def run_once(self) -> int:
        claim_seconds = self.settings.webhook_timeout_seconds * 2 + 30
        due = claim_due(self.session_factory, claim_seconds)
        results = list(self.pool.map(lambda d: send(d, self.settings.webhook_timeout_seconds), due))
        for delivery, (status_code, error) in zip(due, results, strict=True):
            status = record_attempt(self.session_factory, delivery.id, status_code, error, self.settings)
            log.info("webhook delivery %s (%s %s) %s%s", delivery.id, delivery.event, delivery.event_id, status,
                     f": {error}" if error else "")
        return len(due)

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    tried = self.run_once()
                except Exception as exc:  # the database went away: stay alive and try again
                    log.error("webhook dispatcher error (%s: %s)", type(exc).__name__, exc)
                    tried = 0
                if not tried:
                    self.stopping.wait(self.settings.webhook_poll_interval)
        finally:
            self.pool.shutdown(wait=False)
