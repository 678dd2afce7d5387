"""Migrations are the only way the schema is made, and they agree with the ORM models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from app.db import models  # noqa: F401
from app.db.base import Base
from app.db.migrate import alembic_config, upgrade
from app.db.session import make_engine


def test_upgrade_head_on_empty_database_matches_models(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            head = ScriptDirectory.from_config(alembic_config(empty_db_url)).get_current_head()
            assert context.get_current_revision() == head
        tables = set(inspect(engine).get_table_names())
        assert {"models", "jobs", "predictions", "subject_results", "api_tokens"} <= tables
    finally:
        engine.dispose()


def test_upgrade_is_idempotent(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    upgrade(empty_db_url)  # a restart of `cbench serve` migrates again: nothing to do, no error


def test_constraints_follow_the_naming_convention(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    try:
        inspector = inspect(engine)
        uniques = {c["name"] for c in inspector.get_unique_constraints("predictions")}
        assert "uq_predictions_job_id_question_id" in uniques
        foreign = {c["name"] for c in inspector.get_foreign_keys("jobs")}
        assert "fk_jobs_model_id_models" in foreign
    finally:
        engine.dispose()
