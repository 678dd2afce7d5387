"""jobs summary columns (complete, headline numbers); prompts stored once

`jobs` gets the summary's `complete` flag (so a partial result never displaces a complete one) and its headline
numbers as columns, filled from the stored summaries, so the leaderboard reads columns instead of parsing JSON.

Each prompt text moves from `predictions.prompt` to `prompts` (one row per sha256, the address predictions
already carry in `prompt_sha256`); the downgrade copies them back. Columns are added and dropped in place
(SQLite >= 3.35 drops columns natively): a batch table copy of `jobs` would cascade-delete its predictions.

Revision ID: 20261202_12a
Revises: 6966314cfd43
Create Date: 2026-12-02 00:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261202_12a"
down_revision: str | None = "6966314cfd43"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


SUMMARY_COLUMNS = (  # (column, type, Postgres expression over jsonb `s`, SQLite json path)
    ("complete", sa.Boolean(), "COALESCE((s ->> 'complete')::boolean, false)",
     "COALESCE(json_extract(summary, '$.complete'), 0)"),
    ("metric", sa.String(length=32), "s ->> 'metric'", "json_extract(summary, '$.metric')"),
    ("acc", sa.Float(), "(s -> 'micro' ->> 'acc')::float", "json_extract(summary, '$.micro.acc')"),
    ("ci_low", sa.Float(), "(s -> 'micro' ->> 'ci_low')::float", "json_extract(summary, '$.micro.ci_low')"),
    ("ci_high", sa.Float(), "(s -> 'micro' ->> 'ci_high')::float", "json_extract(summary, '$.micro.ci_high')"),
    ("correct", sa.Integer(), "(s -> 'micro' ->> 'correct')::integer", "json_extract(summary, '$.micro.correct')"),
    ("n", sa.Integer(), "(s -> 'micro' ->> 'n')::integer", "json_extract(summary, '$.micro.n')"),
    ("expected_n", sa.Integer(), "(s ->> 'expected_n')::integer", "json_extract(summary, '$.expected_n')"),
    ("macro_acc", sa.Float(), "(s ->> 'macro_acc')::float", "json_extract(summary, '$.macro_acc')"),
    ("subject_count", sa.Integer(), "COALESCE(jsonb_array_length(s -> 'subjects'), 0)",
     "COALESCE(json_array_length(summary, '$.subjects'), 0)"),
)


def upgrade() -> None:
    for name, type_, _pg, _lite in SUMMARY_COLUMNS:
        op.add_column("jobs", sa.Column(name, type_, nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        sets = ", ".join(f"{name} = {pg}" for name, _t, pg, _lite in SUMMARY_COLUMNS)
        op.execute(f"UPDATE jobs SET {sets} FROM (SELECT id AS job_id, summary::jsonb AS s FROM jobs "
                   "WHERE summary IS NOT NULL) AS src WHERE jobs.id = src.job_id AND jsonb_typeof(src.s) = 'object'")
    else:
        sets = ", ".join(f"{name} = {lite}" for name, _t, _pg, lite in SUMMARY_COLUMNS)
        op.execute(f"UPDATE jobs SET {sets} WHERE summary IS NOT NULL AND json_type(summary) = 'object'")
    op.create_table("prompts",
                    sa.Column("sha256", sa.String(length=64), nullable=False),
                    sa.Column("text", sa.Text(), nullable=False),
                    sa.PrimaryKeyConstraint("sha256", name=op.f("pk_prompts")))
    op.execute("INSERT INTO prompts (sha256, text) SELECT prompt_sha256, MIN(prompt) FROM predictions "
               "WHERE prompt IS NOT NULL GROUP BY prompt_sha256")
    op.drop_column("predictions", "prompt")


def downgrade() -> None:
    op.add_column("predictions", sa.Column("prompt", sa.Text(), nullable=True))
    op.execute("UPDATE predictions SET prompt = (SELECT text FROM prompts WHERE prompts.sha256 = "
               "predictions.prompt_sha256)")
    op.drop_table("prompts")
    for name, _t, _pg, _lite in reversed(SUMMARY_COLUMNS):
        op.drop_column("jobs", name)
