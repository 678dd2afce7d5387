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
