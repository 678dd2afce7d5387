"""The request-slot limiter: requests past the limit wait, and past the timeout get 503 with Retry-After; on
SQLite one write at a time while reads go on."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from app.middleware.concurrency import ConcurrencyLimitMiddleware


def limited_app(release: asyncio.Event, *, limit: int, write_limit: int | None, timeout: float):
    async def hold(request: Request) -> PlainTextResponse:
        if request.query_params.get("hold"):
            await release.wait()
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/x", hold, methods=["GET", "POST"])])
    return ConcurrencyLimitMiddleware(app, limit=limit, write_limit=write_limit, timeout=timeout, retry_after=1)


async def _busy_then_free() -> None:
    release = asyncio.Event()
    app = limited_app(release, limit=1, write_limit=None, timeout=0.05)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        holder = asyncio.create_task(client.get("/x?hold=1"))
        await asyncio.sleep(0.01)
        busy = await client.get("/x")
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1" and "retry" in busy.json()["detail"]
        waiting = asyncio.create_task(client.get("/x"))  # waits for the slot (no timeout yet) ...
        release.set()
        assert (await holder).status_code == 200
        assert (await waiting).status_code == 200  # ... and gets it once the holder is done


def test_requests_past_the_limit_get_503_with_retry_after() -> None:
    asyncio.run(_busy_then_free())


async def _one_writer() -> None:
    release = asyncio.Event()
    app = limited_app(release, limit=10, write_limit=1, timeout=0.05)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        writer = asyncio.create_task(client.post("/x?hold=1"))
        await asyncio.sleep(0.01)
        assert (await client.get("/x")).status_code == 200  # reads are not held up by the write
        assert (await client.post("/x")).status_code == 503  # a second write waits for the one write slot
        release.set()
        assert (await writer).status_code == 200


def test_one_write_at_a_time_reads_go_on() -> None:
    asyncio.run(_one_writer())


def test_a_new_event_loop_gets_fresh_slots() -> None:
    asyncio.run(_busy_then_free())
    asyncio.run(_busy_then_free())  # semaphores of the first loop are not reused in the second
