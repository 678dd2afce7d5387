"""model status: converting (a GGUF file being dequantised by a worker), ready or failed, with the failure reason

Revision ID: 20261202_13
Revises: 20261202_11
Create Date: 2026-12-02 00:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261202_13"
down_revision: str | None = "20261202_11"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=16), server_default="ready", nullable=False))
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("source_file", sa.String(length=1024), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.drop_column("source_file")
        batch_op.drop_column("error")
        batch_op.drop_column("status")
