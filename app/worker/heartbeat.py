"""A thread that renews a job's lease (and writes progress) every few seconds while the job runs.

When a renewal finds the lease gone (the job was cancelled, or the lease expired and another worker took it),
it sets `lost`, which the run loop's `should_stop` reads between batches. `nudge()` renews at once instead of
waiting for the period: the worker calls it when progress changes (the question count is known, a batch is
stored), so a job page shows progress within a second or two of the job starting, not after the first period.
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
        self._wake = threading.Event()

    def nudge(self) -> None:
        """Renew (and write progress) now rather than at the end of the period."""
        self._wake.set()

    def run(self) -> None:
        while True:
            self._wake.wait(self.period)
            self._wake.clear()
            if self._done.is_set():
                return
            try:
                if not renew_lease(self.session_factory, self.job_id, self.owner, self.lease_seconds, self.progress()):
                    log.warning("job %s: lease lost (cancelled or taken over); stopping after this batch", self.job_id)
                    self.lost.set()
                    return
            except Exception:  # a database hiccup: keep trying until the lease runs out
                log.exception("job %s: lease renewal failed", self.job_id)

    def stop(self) -> None:
        self._done.set()
        self._wake.set()
        self.join(timeout=self.period + 5)
