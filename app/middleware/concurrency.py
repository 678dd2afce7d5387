"""Bound the requests in flight so that no request ever waits on the connection pool mid-way.

A request holds at most one pooled connection (one session per request), but FastAPI runs its dependencies and
route in separate thread-pool calls, so a request can hold a connection while it waits for a thread; with more
requests than connections in flight, the pool runs dry and requests time out half done. Here a request first
waits (asynchronously, in arrival order) for one of `limit` slots (the pool's size plus overflow); on SQLite a
write also waits for the one write slot, because SQLite runs one writer at a time and waiting here is fairer and
faster than SQLite's busy polling. A request that waits longer than `timeout` is answered 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack

from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ConcurrencyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limit: int, write_limit: int | None, timeout: float,
                 retry_after: int) -> None:
        self.app, self.timeout, self.retry_after = app, timeout, retry_after
        self.limit, self.write_limit = limit, write_limit
        self.loop: asyncio.AbstractEventLoop | None = None

    def _bind(self) -> None:
        """Semaphores belong to one event loop: make them for the running one (a test client starts a new loop)."""
        loop = asyncio.get_running_loop()
        if loop is not self.loop:
            self.loop = loop
            self.slots = asyncio.Semaphore(self.limit)
            self.write_slots = asyncio.Semaphore(self.write_limit) if self.write_limit else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        self._bind()
        wanted = [self.slots]
        if self.write_slots is not None and scope["method"] not in SAFE_METHODS:
            wanted.insert(0, self.write_slots)  # queue for the write slot without holding a general one
        async with AsyncExitStack() as held:
            try:
                async with asyncio.timeout(self.timeout):
                    for semaphore in wanted:
                        await semaphore.acquire()
                        held.callback(semaphore.release)
            except TimeoutError:
                await self._busy(send)
                return
            await self.app(scope, receive, send)

    async def _busy(self, send: Send) -> None:
        body = json.dumps({"detail": f"the server is busy; retry after {self.retry_after} s"}).encode()
        await send({"type": "http.response.start", "status": 503,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"retry-after", str(self.retry_after).encode())]})
        await send({"type": "http.response.body", "body": body})
