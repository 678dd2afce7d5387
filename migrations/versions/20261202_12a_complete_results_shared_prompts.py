"""jobs.complete (the summary's flag, so a partial result never displaces a complete one); prompts stored once

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


def upgrade() -> None:
    op.add_column("jobs", sa.Column("complete", sa.Boolean(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE jobs SET complete = COALESCE((summary::jsonb ->> 'complete')::boolean, false) "
                   "WHERE summary IS NOT NULL AND summary::text <> 'null'")
    else:
        op.execute("UPDATE jobs SET complete = COALESCE(json_extract(summary, '$.complete'), 0) "
                   "WHERE summary IS NOT NULL AND summary <> 'null'")
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
    op.drop_column("jobs", "complete")
