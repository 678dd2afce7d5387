"""Retry a database step through a lost connection (a restarted or failed-over database) with backoff.

Only connection-level errors are retried (`OperationalError`, any DBAPI error that invalidated its connection, or
no free connection in the pool within its timeout: a busy API must not requeue a running job); the pooled engine uses `pool_pre_ping`, so the next try gets a fresh connection. Each step the worker
retries is idempotent: inserts ignore stored questions and lease writes are conditional on the lease owner.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_DEADLINE_S = 120.0


def is_connection_error(exc: BaseException) -> bool:
    return isinstance(exc, (OperationalError, PoolTimeoutError)) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)


def backoff_delays(first: float = 0.25, factor: float = 2.0, cap: float = 8.0):
    """0.25, 0.5, 1, 2, 4, 8, 8, ... seconds (pure)."""
    delay = first
    while True:
        yield delay
        delay = min(delay * factor, cap)


def with_db_retry(step: Callable[[], T], what: str, *, deadline_s: float = DEFAULT_DEADLINE_S,
                  job_id: int | None = None, sleep: Callable[[float], None] = time.sleep) -> T:
    """Run `step()`; on a connection error wait and try again until `deadline_s` has passed, then re-raise."""
    give_up = time.monotonic() + deadline_s
    for delay in backoff_delays():
        try:
            return step()
        except Exception as exc:
            if not is_connection_error(exc) or time.monotonic() + delay > give_up:
                raise
            log.warning("database unavailable during %s (%s); retrying in %.2fs", what,
                        str(exc).splitlines()[0] if str(exc) else type(exc).__name__, delay,
                        extra={"job_id": job_id})
            sleep(delay)
    raise AssertionError("unreachable")  # backoff_delays never ends
