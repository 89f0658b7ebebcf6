"""each year's target carries its source

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 20:30:00

- targets.source: where a year's threshold comes from (a decision's number and date, or the text an
  administrator gave when setting it); null for rows stored before this revision.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('targets') as batch_op:
        batch_op.add_column(sa.Column('source', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('targets') as batch_op:
        batch_op.drop_column('source')
