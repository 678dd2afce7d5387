"""A short-lived in-memory cache of rendered GET responses for the hot read paths (the leaderboard JSON, page, CSV).

Entries are keyed by path and query string. A fresh entry (younger than `ttl` seconds) is served as is. An older
one is revalidated: one request asks the database for its `version` (a cheap aggregate that changes when a job
finishes or a model is registered) while concurrent requests keep getting the stored copy; an unchanged version
makes the entry fresh again, a changed one drops it. `invalidate()` drops every entry at once (called when a job
finishes in this process). Workers in other processes are covered by the version check, so a finished job shows
up after at most `ttl` seconds. Only 200 responses are stored; an `x-cache: hit|miss` header says which it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_generation = 0


def invalidate() -> None:
    """Drop every cached response in this process (all caches)."""
    global _generation
    _generation += 1


@dataclass
class _Entry:
    start: Message
    body: bytes
    version: Hashable
    generation: int
    fresh_until: float


class ResponseCache:
    def __init__(self, app: ASGIApp, *, paths: tuple[str, ...], ttl: float,
                 version: Callable[[], Hashable], max_entries: int = 256) -> None:
        self.app, self.paths, self.ttl, self.version, self.max_entries = app, frozenset(paths), ttl, version, max_entries
        self.entries: dict[tuple[str, bytes], _Entry] = {}
        self.revalidating: set[tuple[str, bytes]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.ttl <= 0 or scope["type"] != "http" or scope["method"] != "GET" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        key = (scope["path"], scope.get("query_string", b""))
        entry = self.entries.get(key)
        if entry is not None and entry.generation != _generation:
            self.entries.pop(key, None)
            entry = None
        if entry is not None and (time.monotonic() < entry.fresh_until or key in self.revalidating):
            await self._replay(entry, send)
            return
        if entry is not None:
            self.revalidating.add(key)
            try:
                version = await run_in_threadpool(self.version)
            finally:
                self.revalidating.discard(key)
            if version == entry.version and entry.generation == _generation:
                entry.fresh_until = time.monotonic() + self.ttl
                await self._replay(entry, send)
                return
            self.entries.pop(key, None)
        await self._render(key, scope, receive, send)

    async def _render(self, key: tuple[str, bytes], scope: Scope, receive: Receive, send: Send) -> None:
        generation = _generation
        version = await run_in_threadpool(self.version)  # read before rendering: a later change is never hidden
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = {**message, "headers": [*message.get("headers", []), (b"x-cache", b"miss")]}
                await send(start)
                return
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        if start is None or start["status"] != 200:
            return
        if len(self.entries) >= self.max_entries:
            self.entries.clear()
        hit_headers = [(k, v) for k, v in start["headers"] if k != b"x-cache"] + [(b"x-cache", b"hit")]
        self.entries[key] = _Entry(start={**start, "headers": hit_headers}, body=b"".join(chunks), version=version,
                                   generation=generation, fresh_until=time.monotonic() + self.ttl)

    @staticmethod
    async def _replay(entry: _Entry, send: Send) -> None:
        await send(entry.start)
        await send({"type": "http.response.body", "body": entry.body})
