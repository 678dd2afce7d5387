"""A real `cbench serve` is killed while its webhook receiver is down and started again after the receiver is back:
the event survives in the outbox and reaches the receiver once (at-least-once delivery, idempotency key in the
body and header)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core.config import Settings
from app.db.models import Job, WebhookDelivery
from app.queries.webhooks import create_webhook
from app.schemas.jobs import JobCreate, JobOptions
from app.schemas.models import ModelCreate
from app.services.submission import register_model, submit_jobs
from app.webhooks.payloads import verify_signature

from ..webhooks.conftest import Receiver, free_port

pytestmark = pytest.mark.slow
SECRET = "restart-test-secret"
FAST_RETRIES = {"CBENCH_WEBHOOK_BACKOFF_SECONDS": "0.2", "CBENCH_WEBHOOK_POLL_INTERVAL": "0.1",
                "CBENCH_WEBHOOK_TIMEOUT_SECONDS": "2", "CBENCH_WEBHOOK_MAX_ATTEMPTS": "60",
                "CBENCH_WORKER_POLL_INTERVAL": "0.2"}


def _delivery(session_factory) -> WebhookDelivery | None:
    with session_factory() as session:
        return session.scalars(select(WebhookDelivery)).first()


def _wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_server_restart_loses_no_event(spawn_cbench, worker_settings: Settings, session_factory,
                                         tiny_model_dir: Path) -> None:
    receiver = Receiver(port=free_port())  # down: nothing listens on its port yet
    with session_factory() as session:
        create_webhook(session, url=receiver.url, events=["job.finished"], secret=SECRET)
        model = register_model(session, worker_settings, ModelCreate(name="tiny", path=str(tiny_model_dir)))
        [job] = submit_jobs(session, JobCreate(model=model.id, benchmarks=["mmlu"], options=JobOptions(
            subjects=["abstract_algebra"], limit=2, device="cpu")))
        session.commit()
        job_id = job.id

    first = spawn_cbench("serve", "--port", str(free_port()), **FAST_RETRIES)
    _wait(lambda: (d := _delivery(session_factory)) is not None and d.attempts >= 1, 240,
          "the job to finish and a first failed delivery")
    first.kill()  # a crash, not a graceful stop
    first.wait()
    with session_factory() as session:
        assert session.get(Job, job_id).status == "succeeded"
    pending = _delivery(session_factory)
    assert pending.status == "pending" and pending.delivered_at is None and "ConnectError" in pending.last_error

    receiver.start()
    try:
        second = spawn_cbench("serve", "--port", str(free_port()), "--no-worker", **FAST_RETRIES)
        _wait(lambda: _delivery(session_factory).status == "delivered", 120, "delivery after the restart")
        second.terminate()
        second.wait(timeout=60)
        received = receiver.received
        assert len(received) == 1  # once: it was never acknowledged before the restart
        assert received[0].json["id"] == received[0].headers["X-Cbench-Event-Id"] == f"job.finished:{job_id}"
        assert verify_signature(SECRET, received[0].body, received[0].headers["X-Cbench-Signature"])
        assert _delivery(session_factory).attempts >= 2
    finally:
        receiver.stop()
