"""the procedure catalogue

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 13:20:00

- procedures: per procedure code (mã TTHC), its name, sector, level (province | commune), legal
  maximum duration (value and unit, or none), whether it needs a paper result or a fee, and its
  full-online and online-payment flags.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('procedures',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('sector', sa.String(length=64), nullable=True),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('max_duration_value', sa.Integer(), nullable=True),
    sa.Column('max_duration_unit', sa.String(length=16), nullable=True),
    sa.Column('paper_result', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('fee', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('full_online_eligible', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('full_online_offered', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('online_payment_integrated', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_procedures'))
    )


def downgrade() -> None:
    op.drop_table('procedures')
