"""Application factory: `create_app(settings)` builds the engine, the routes and the error handlers.

Nothing is built at import time, so tests pass their own `Settings` (and a fresh database) per test. Domain
errors become `{"detail": message}` with their status; request validation errors become one readable message.
Middleware: bodies over `max_body_bytes` get 413; the leaderboard JSON, page and CSV are served from a short TTL
cache (`app.middleware.response_cache`). `/healthz`, `/readyz` and `/metrics` live at the root (`app.api.ops`).
Server-rendered pages (`app.web.include`) are mounted alongside the API and reuse the same query modules.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError

from app.api import ops
from app.api.main import api_router
from app.core.config import Settings, get_settings
from app.db.migrate import head_revisions
from app.db.session import make_engine, make_session_factory
from app.errors import AuthError, DomainError
from app.middleware.body_limit import BodyLimitMiddleware
from app.middleware.response_cache import ResponseCache
from app.queries.ops import leaderboard_version
from app.web import include as include_web

CACHED_PATHS = ("/api/v1/leaderboard", "/", "/leaderboard.json", "/leaderboard.csv")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="colossal-bench", version="0.1.0", docs_url="/docs",
                  description="Evaluate base LLMs checkpoint by checkpoint (ColossalEval first-token scoring).")
    engine = make_engine(settings.database_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory = make_session_factory(engine)
    app.state.migration_heads = head_revisions()
    app.dependency_overrides[get_settings] = lambda: settings
    app.include_router(api_router)
    app.include_router(ops.router)
    include_web(app)

    def version() -> object:
        with session_factory() as session:
            return leaderboard_version(session)

    app.add_middleware(ResponseCache, paths=CACHED_PATHS, ttl=settings.leaderboard_cache_seconds, version=version)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DataError, _data_error)
    return app


async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthError) else None
    return JSONResponse({"detail": exc.message}, status_code=exc.status_code, headers=headers)


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    return JSONResponse({"detail": "; ".join(parts) or "invalid request"}, status_code=422)


async def _data_error(_request: Request, exc: DataError) -> JSONResponse:
    """A value the database cannot hold or compare (a NUL character, a number out of range): the client's input."""
    reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "invalid value"
    return JSONResponse({"detail": f"invalid value: {reason}"}, status_code=422)
