"""jobs.complete (the summary's flag, so a partial result never displaces a complete one)

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
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("complete", sa.Boolean(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE jobs SET complete = COALESCE((summary::jsonb ->> 'complete')::boolean, false) "
                   "WHERE summary IS NOT NULL AND summary::text <> 'null'")
    else:
        op.execute("UPDATE jobs SET complete = COALESCE(json_extract(summary, '$.complete'), 0) "
                   "WHERE summary IS NOT NULL AND summary <> 'null'")


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("complete")
