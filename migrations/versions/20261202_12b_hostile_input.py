"""hostile input: case-folded unique model names, token expiry, idempotency keys for POST /jobs

Revision ID: 20261202_12b
Revises: 20261202_16
Create Date: 2026-12-02 00:00:00
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261202_12b"
down_revision: str | None = "20261202_16"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _name_key(name: str) -> str:  # app.schemas.fields.name_key, frozen here as of this migration
    return unicodedata.normalize("NFKC", name).strip().casefold()


def upgrade() -> None:
    with op.batch_alter_table('models') as batch:
        batch.add_column(sa.Column('name_key', sa.String(length=255), nullable=True))
    connection = op.get_bind()
    models = sa.table('models', sa.column('id', sa.Integer), sa.column('name', sa.String),
                      sa.column('name_key', sa.String))
    seen: set[str] = set()
    for model_id, name in connection.execute(sa.select(models.c.id, models.c.name).order_by(models.c.id)).all():
        key = _name_key(name)
        if key in seen:  # names stored before the rule that differ only in case: the later one stays apart
            key = f"{key}#{model_id}"
        seen.add(key)
        connection.execute(models.update().where(models.c.id == model_id).values(name_key=key))
    with op.batch_alter_table('models') as batch:
        batch.create_unique_constraint(op.f('uq_models_name_key'), ['name_key'])
    op.add_column('api_tokens', sa.Column('expires_at', sa.DateTime(), nullable=True))
    op.create_table('idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_sha256', sa.String(length=64), nullable=False),
    sa.Column('job_ids', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], name=op.f('fk_idempotency_keys_token_id_api_tokens'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('token_id', 'key', name=op.f('uq_idempotency_keys_token_id_key'))
    )


def downgrade() -> None:
    op.drop_table('idempotency_keys')
    op.drop_column('api_tokens', 'expires_at')
    with op.batch_alter_table('models') as batch:
        batch.drop_constraint(op.f('uq_models_name_key'), type_='unique')
        batch.drop_column('name_key')
