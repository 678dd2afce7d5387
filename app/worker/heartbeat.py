"""A thread that renews a job's lease (and writes progress) every few seconds while the job runs.

When a renewal finds the lease gone (the job was cancelled, or the lease expired and another worker took it),
it sets `lost`, which the run loop's `should_stop` reads between batches.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from app.worker.lease import SessionFactory, renew_lease

log = logging.getLogger(__name__)


class Heartbeat(threading.Thread):
    def __init__(self, session_factory: SessionFactory, job_id: int, owner: str, lease_seconds: float,
                 period: float, progress: Callable[[], tuple[int, int | None] | None]) -> None:
        super().__init__(name=f"heartbeat-job-{job_id}", daemon=True)
        self.session_factory, self.job_id, self.owner = session_factory, job_id, owner
        self.lease_seconds, self.period, self.progress = lease_seconds, period, progress
        self.lost = threading.Event()
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.period):
            try:
                if not renew_lease(self.session_factory, self.job_id, self.owner, self.lease_seconds, self.progress()):
                    log.warning("job %s: lease lost (cancelled or taken over); stopping after this batch", self.job_id)
                    self.lost.set()
                    return
            except Exception:  # a database hiccup: keep trying until the lease runs out
                log.exception("job %s: lease renewal failed", self.job_id)

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=self.period + 5)
