"""working-day calendar exceptions and the age of the last rollups verify

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 12:20:00

- calendar_days: the province's own days off and make-up working days, one row a day (weekends and
  national public holidays are computed, not stored);
- data_state.rollups_verified_at / rollups_verify_differences: written by `tthc-metrics rollups
  verify`, exported by /metrics as the age of the last verification.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('calendar_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('working', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_days'))
    )
    with op.batch_alter_table('data_state') as batch:
        batch.add_column(sa.Column('rollups_verified_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('rollups_verify_differences', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('data_state') as batch:
        batch.drop_column('rollups_verify_differences')
        batch.drop_column('rollups_verified_at')
    op.drop_table('calendar_days')
