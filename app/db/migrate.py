"""Run Alembic programmatically: `upgrade(url)` is what `cbench migrate` and `cbench serve` call. The schema is
only ever made by migrations (never `create_all`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at `database_url` to `revision` (creates a SQLite file's directory if needed)."""
    from app.db.session import is_sqlite, make_engine

    if is_sqlite(database_url):
        make_engine(database_url).dispose()  # creates the parent directory
    command.upgrade(alembic_config(database_url), revision)


def head_revisions() -> frozenset[str]:
    """The newest revision(s) in `migrations/` (read from the scripts, no database)."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def current_revisions(connection) -> frozenset[str]:
    """The revision(s) the database is at; empty when it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    return frozenset(MigrationContext.configure(connection).get_current_heads())
