"""Engines and session factories. SQLite gets WAL, a busy timeout and foreign keys so the API and worker threads
or processes can share one file; Postgres uses a plain pooled engine."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import Pool

from app.core.config import PoolSettings


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, poolclass: type[Pool] | None = None, pool: PoolSettings | None = None) -> Engine:
    """Create an engine; for a SQLite file, create its parent directory first. `pool` sizes the connection pool
    (the library's defaults without it); a request that waits longer than its timeout raises `TimeoutError`."""
    extra: dict = {"poolclass": poolclass} if poolclass else {}
    database = make_url(url).database
    in_memory = is_sqlite(url) and (not database or database == ":memory:")
    if pool is not None and poolclass is None and not in_memory:
        extra.update(pool_size=pool.size, max_overflow=pool.overflow, pool_timeout=pool.timeout)
    if not is_sqlite(url):
        return create_engine(url, pool_pre_ping=True, **extra)
    if not in_memory:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60}, **extra)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
