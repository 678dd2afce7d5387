"""The worker loop: claim a job, execute it, repeat; idle workers poll. `stop()` (SIGTERM) lets the current batch
finish, releases the lease and ends the loop. An error outside a job (the database is down while claiming) is
logged and retried with backoff; the worker only ends when told to."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from app.core.config import Settings
from app.worker.conversion import convert_next
from app.worker.execute import execute_job
from app.worker.lease import SessionFactory, claim_job
from app.worker.models import BackendCache
from app.worker.retry import backoff_delays

log = logging.getLogger(__name__)

MAX_REMEMBERED_FAILURES = 100


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(self, session_factory: SessionFactory, settings: Settings, *, device: str | None = None,
                 poll_interval: float | None = None, owner: str | None = None) -> None:
        self.session_factory, self.settings, self.device = session_factory, settings, device
        self.poll_interval = poll_interval if poll_interval is not None else settings.worker_poll_interval
        self.owner = owner or worker_id()
        self.stopping = threading.Event()
        self.backends = BackendCache()
        self.failed_jobs: dict[int, None] = {}  # jobs this worker failed (newest last): claimed only when nothing else is

    def stop(self) -> None:
        self.stopping.set()

    def run_once(self) -> str | None:
        """Convert a waiting GGUF model, else claim and execute one job; None when there was nothing to do."""
        converted = convert_next(self.session_factory, self.settings)
        if converted is not None:
            return converted
        job = claim_job(self.session_factory, self.owner, self.settings.worker_lease_seconds,
                        self.settings.worker_max_attempts, avoid=self.failed_jobs.keys())
        if job is None:
            return None
        context = {"job_id": job.id, "worker": self.owner, "attempt": job.attempts}
        log.info("job %s claimed (%s on %s, attempt %s)", job.id, job.benchmark, job.model_name, job.attempts,
                 extra=context)
        outcome = execute_job(job, session_factory=self.session_factory, settings=self.settings, owner=self.owner,
                              backends=self.backends, stop=self.stopping, device=self.device)
        log.info("job %s %s", job.id, outcome, extra=context)
        self.failed_jobs.pop(job.id, None)
        if outcome == "queued":  # failed and requeued: let another worker (or other work here) go first
            self.failed_jobs[job.id] = None
            while len(self.failed_jobs) > MAX_REMEMBERED_FAILURES:
                del self.failed_jobs[next(iter(self.failed_jobs))]
        return outcome

    def run(self, *, once: bool = False) -> int:
        """Work until stopped (or, with `once`, until one job ran or none was queued); returns jobs handled."""
        handled = 0
        delays = backoff_delays(first=self.poll_interval)
        try:
            while not self.stopping.is_set():
                try:
                    outcome = self.run_once()
                except Exception as exc:  # the database went away (or a bug): stay alive, back off, try again
                    delay = next(delays)
                    log.error("worker loop error (%s: %s); retrying in %.1fs", type(exc).__name__,
                              str(exc).splitlines()[0] if str(exc) else "", delay, extra={"worker": self.owner})
                    if once:
                        break
                    self.stopping.wait(delay)
                    continue
                delays = backoff_delays(first=self.poll_interval)
                if outcome is not None:
                    handled += 1
                if once:
                    break
                if outcome is None:
                    self.stopping.wait(self.poll_interval)
        finally:
            self.backends.close()
        return handled
