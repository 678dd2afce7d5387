"""Webhook delivery to a real local HTTP receiver: signed JSON with a `text` field, outage and error answers
retried with back-off, a slow receiver timed out without blocking anyone, a delivery log per subscription."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.core.config import Settings
from app.db.base import utcnow
from app.db.models import Model, WebhookDelivery
from app.queries.webhooks import create_webhook
from app.webhooks.dispatcher import Dispatcher, retry_delay
from app.webhooks.payloads import verify_signature

from ..runs.conftest import finish_constructed_job

SECRET = "a-long-shared-secret"


@pytest.fixture
def dispatcher(session_factory, settings: Settings) -> Dispatcher:
    return Dispatcher(session_factory, settings.model_copy(update={
        "webhook_timeout_seconds": 0.5, "webhook_backoff_seconds": 30.0, "webhook_max_attempts": 3}))


def _subscribe(session_factory, url: str, events: list[str]) -> int:
    with session_factory() as session:
        hook = create_webhook(session, url=url, events=events, secret=SECRET)
        session.commit()
        return hook.id


def _finish_a_job(session_factory) -> int:
    with session_factory() as session:
        model = Model(name="hooked", path="/models/hooked", source="local", tags=[])
        session.add(model)
        session.commit()
        model_id = model.id
    return finish_constructed_job(session_factory, model_id, "mmlu", range(7), 10)


def _make_due(session_factory) -> None:
    """Skip the back-off wait (the schedule itself is checked in the outage test)."""
    with session_factory() as session:
        session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        session.commit()


def test_outage_is_retried_and_each_event_arrives_once_signed(client, session_factory, receiver, dispatcher,
                                                              auth_admin) -> None:
    hook_id = _subscribe(session_factory, receiver.url, ["job.finished", "job.failed"])
    job_id = _finish_a_job(session_factory)

    assert dispatcher.run_once() == 1  # the receiver is down: connection refused
    with session_factory() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
        assert "ConnectError" in delivery.last_error
        wait = (delivery.next_attempt_at - utcnow()).total_seconds()
        assert 25 < wait <= 30  # first retry after the configured back-off
    assert dispatcher.run_once() == 0  # not due yet

    receiver.status = 503
    receiver.start()
    _make_due(session_factory)
    assert dispatcher.run_once() == 1
    with session_factory() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 2, 503)
        assert 55 < (delivery.next_attempt_at - utcnow()).total_seconds() <= 60  # doubled

    receiver.status = 200
    _make_due(session_factory)
    assert dispatcher.run_once() == 1
    assert dispatcher.run_once() == 0  # delivered: never sent again
    [got] = receiver.received
    assert verify_signature(SECRET, got.body, got.headers["X-Cbench-Signature"])
    assert not verify_signature("wrong-secret-wrong", got.body, got.headers["X-Cbench-Signature"])
    body = got.json
    assert body["event"] == "job.finished" and got.headers["X-Cbench-Event"] == "job.finished"
    assert body["id"] == got.headers["X-Cbench-Event-Id"] == f"job.finished:{job_id}"
    assert body["text"].startswith(f"colossal-bench: job {job_id} finished: mmlu on hooked: 70.00%")
    assert body["data"]["job_id"] == job_id

    log = client.get(f"/api/v1/webhooks/{hook_id}/deliveries", headers=auth_admin).json()
    assert log["count"] == 1
    [entry] = log["data"]
    assert (entry["status"], entry["attempts"], entry["event_id"]) == ("delivered", 3, f"job.finished:{job_id}")
    assert [a["status_code"] for a in entry["log"]] == [None, 503, 200]
    assert entry["delivered_at"] is not None


def test_slow_receiver_times_out_and_is_retried(session_factory, receiver, dispatcher) -> None:
    receiver.delay = 2.0
    receiver.start()
    _subscribe(session_factory, receiver.url, ["job.finished"])
    _finish_a_job(session_factory)  # finishing only writes the outbox row: nothing was sent yet
    assert receiver.received == []
    assert dispatcher.run_once() == 1
    with session_factory() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert delivery.status == "pending" and "Timeout" in delivery.last_error
    receiver.delay = 0.0
    _make_due(session_factory)
    assert dispatcher.run_once() == 1
    ids = [r.json["id"] for r in receiver.wait_for(2, timeout=5)]
    # the slow first POST reached the receiver after the dispatcher gave up: at-least-once, the id tells them apart
    assert len(set(ids)) == 1


def test_gives_up_after_the_last_attempt(session_factory, receiver, dispatcher) -> None:
    _subscribe(session_factory, receiver.url, ["job.finished"])
    _finish_a_job(session_factory)
    for _ in range(3):
        _make_due(session_factory)
        assert dispatcher.run_once() == 1
    _make_due(session_factory)
    assert dispatcher.run_once() == 0
    with session_factory() as session:
        assert session.scalars(select(WebhookDelivery)).one().status == "failed"


def test_only_subscribed_events_are_queued(session_factory, receiver) -> None:
    _subscribe(session_factory, receiver.url, ["job.failed"])
    _finish_a_job(session_factory)
    with session_factory() as session:
        assert session.scalars(select(WebhookDelivery)).all() == []


def test_retry_delay_doubles_up_to_the_cap() -> None:
    assert [retry_delay(a, 5.0) for a in (1, 2, 3, 4)] == [5.0, 10.0, 20.0, 40.0]
    assert retry_delay(30, 5.0) == 3600.0


def test_body_is_json_with_a_text_field(session_factory, receiver, dispatcher) -> None:
    receiver.start()
    _subscribe(session_factory, receiver.url, ["job.finished"])
    _finish_a_job(session_factory)
    dispatcher.run_once()
    [got] = receiver.received
    assert got.headers["Content-Type"] == "application/json"
    assert isinstance(json.loads(got.body)["text"], str)


def test_a_failed_job_is_announced_with_its_reason(session_factory, receiver, dispatcher) -> None:
    from app.db.models import Job
    from app.worker.lease import fail_job

    receiver.start()
    _subscribe(session_factory, receiver.url, ["job.failed"])
    with session_factory() as session:
        model = Model(name="broken", path="/models/broken", source="local", tags=[])
        session.add(model)
        session.flush()
        job = Job(model_id=model.id, benchmark="cmmlu", template="colossaleval", config={}, status="running",
                  lease_owner="w", attempts=1)
        session.add(job)
        session.commit()
        job_id = job.id
    assert fail_job(session_factory, job_id, "w", "model 'broken' failed to load: no config.json", retry=False,
                    max_attempts=3) == "failed"
    assert dispatcher.run_once() == 1
    [got] = receiver.received
    assert got.json["event"] == "job.failed" and got.json["data"]["error"].startswith("model 'broken'")
    assert got.json["text"] == (f"colossal-bench: job {job_id} failed: cmmlu on broken: model 'broken' failed to "
                                "load: no config.json")
