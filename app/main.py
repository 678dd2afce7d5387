"""Application factory: `create_app(settings)` builds the engine, the routes and the error handlers.

Nothing is built at import time, so tests pass their own `Settings` (and a fresh database) per test. Domain
errors become `{"detail": message}` with their status; request validation errors become one readable message.
Middleware: at most as many requests in flight as the pool has connections (one writer at a time on SQLite), the
rest wait in order and get 503 with Retry-After past `request_queue_timeout`; bodies over `max_body_bytes` get 413;
the leaderboard JSON, page and CSV are served from a short TTL cache (`app.middleware.response_cache`).
`/healthz`, `/readyz` and `/metrics` live at the root (`app.api.ops`).
Server-rendered pages (`app.web.include`) are mounted alongside the API and reuse the same query modules.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.api import ops
from app.api.docs import include_docs
from app.api.main import api_router
from app.api.validation import validation_message
from app.core.config import Settings, get_settings
from app.db.migrate import head_revisions
from app.db.session import is_sqlite, make_engine, make_session_factory
from app.errors import AuthError, DomainError
from app.middleware.body_limit import BodyLimitMiddleware
from app.middleware.concurrency import ConcurrencyLimitMiddleware
from app.middleware.response_cache import ResponseCache
from app.queries.ops import leaderboard_version
from app.services.fingerprint import WeightHasher
from app.web import include as include_web

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1
CACHED_PATHS = ("/api/v1/leaderboard", "/", "/leaderboard.json", "/leaderboard.csv")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="colossal-bench", version="0.1.0", docs_url=None, redoc_url=None, lifespan=_lifespan,
                  description="Evaluate base LLMs checkpoint by checkpoint (ColossalEval first-token scoring).")
    engine = make_engine(settings.database_url, pool=settings.pool)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory = make_session_factory(engine)
    app.state.migration_heads = head_revisions()
    app.state.hasher = WeightHasher(session_factory)  # models' content hashes, off the request path
    app.dependency_overrides[get_settings] = lambda: settings
    app.include_router(api_router)
    app.include_router(ops.router)
    include_docs(app)  # /docs and /redoc with bundled assets (no CDN)
    include_web(app)

    def version() -> object:
        with session_factory() as session:
            return leaderboard_version(session)

    app.add_middleware(ResponseCache, paths=CACHED_PATHS, ttl=settings.leaderboard_cache_seconds, version=version)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(ConcurrencyLimitMiddleware, limit=settings.db_pool_size + settings.db_max_overflow,
                       write_limit=1 if is_sqlite(settings.database_url) else None,
                       timeout=settings.request_queue_timeout, retry_after=RETRY_AFTER_SECONDS)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(PoolTimeoutError, _overloaded)
    app.add_exception_handler(OperationalError, _overloaded)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.hasher.start()
    app.state.hasher.fill_missing()  # hashes a stopped server left unwritten
    yield
    app.state.hasher.shutdown()


async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthError) else None
    return JSONResponse({"detail": exc.message}, status_code=exc.status_code, headers=headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    message = validation_message(exc.errors(), _body_model(request), request.headers.get("content-type"))
    if _wants_page(request):
        from app.web.render import error_page

        return error_page(request, 422, message)
    return JSONResponse({"detail": message}, status_code=422)


def _body_model(request: Request) -> type[BaseModel] | None:
    field = getattr(request.scope.get("route"), "body_field", None)
    annotation = getattr(getattr(field, "field_info", None), "annotation", None)
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _wants_page(request: Request) -> bool:
    """A browser asking for a server-rendered page (not the API, a JSON twin or the CSV export)."""
    route = request.scope.get("route")
    path = request.url.path
    return (route is not None and not getattr(route, "include_in_schema", True) and not path.startswith("/api/")
            and not path.endswith((".json", ".csv")) and "text/html" in request.headers.get("accept", ""))


async def _data_error(_request: Request, exc: DataError) -> JSONResponse:
    """A value the database cannot hold or compare (a NUL character, a number out of range): the client's input."""
    reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "invalid value"
    return JSONResponse({"detail": f"invalid value: {reason}"}, status_code=422)


async def _integrity_error(_request: Request, exc: IntegrityError) -> JSONResponse:
    """A write that lost a race on a unique value (two registrations of one name at once)."""
    reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "conflict"
    return JSONResponse({"detail": f"conflicts with what is stored: {reason}"}, status_code=409)


async def _overloaded(_request: Request, exc: Exception) -> JSONResponse:
    """No database connection within the pool timeout, or the database is locked or unreachable: try again."""
    log.warning("answering 503: %s: %s", type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
    return JSONResponse({"detail": "the server is busy (no database connection available); retry after "
                                   f"{RETRY_AFTER_SECONDS} s"}, status_code=503,
                        headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

