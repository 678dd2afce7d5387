"""contamination: indexes, checks, hits, and the index id a model (checkpoint) was trained on

Revision ID: 20261202_16
Revises: 20261202_14
Create Date: 2026-12-01 23:51:42.018294
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261202_16"
down_revision: str | None = "20261202_14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('contamination_indexes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('index_id', sa.String(length=32), nullable=False),
    sa.Column('path', sa.String(length=1024), nullable=False),
    sa.Column('normalisation', sa.String(length=64), nullable=False),
    sa.Column('n_latin', sa.Integer(), nullable=False),
    sa.Column('n_cjk', sa.Integer(), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('documents', sa.BigInteger(), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('ngrams', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contamination_indexes')),
    sa.UniqueConstraint('index_id', name=op.f('uq_contamination_indexes_index_id'))
    )
    op.create_table('contamination_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('index_pk', sa.Integer(), nullable=False),
    sa.Column('benchmark', sa.String(length=64), nullable=False),
    sa.Column('split', sa.String(length=32), nullable=False),
    sa.Column('questions', sa.Integer(), nullable=False),
    sa.Column('totals', sa.JSON(), nullable=False),
    sa.Column('subjects', sa.JSON(), nullable=False),
    sa.Column('record', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['index_pk'], ['contamination_indexes.id'], name=op.f('fk_contamination_checks_index_pk_contamination_indexes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contamination_checks'))
    )
    with op.batch_alter_table('contamination_checks', schema=None) as batch_op:
        batch_op.create_index('ix_contamination_checks_index_benchmark', ['index_pk', 'benchmark'], unique=False)

    op.create_table('contamination_hits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('check_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('field', sa.String(length=32), nullable=False),
    sa.Column('ngram', sa.Text(), nullable=False),
    sa.Column('file', sa.String(length=1024), nullable=False),
    sa.Column('location', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['check_id'], ['contamination_checks.id'], name=op.f('fk_contamination_hits_check_id_contamination_checks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contamination_hits'))
    )
    with op.batch_alter_table('contamination_hits', schema=None) as batch_op:
        batch_op.create_index('ix_contamination_hits_check_question', ['check_id', 'question_id'], unique=False)

    with op.batch_alter_table('models', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contamination_index', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_models_contamination_index'), ['contamination_index'], unique=False)



def downgrade() -> None:
    # In place, not batch mode: rebuilding `models` on SQLite would cascade-delete its jobs.
    op.drop_index(op.f('ix_models_contamination_index'), table_name='models')
    op.drop_column('models', 'contamination_index')

    with op.batch_alter_table('contamination_hits', schema=None) as batch_op:
        batch_op.drop_index('ix_contamination_hits_check_question')

    op.drop_table('contamination_hits')
    with op.batch_alter_table('contamination_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_contamination_checks_index_benchmark')

    op.drop_table('contamination_checks')
    op.drop_table('contamination_indexes')
