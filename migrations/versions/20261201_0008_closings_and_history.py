"""closed periods and the dossiers' history they are restated against

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 21:00:00

- dossier_history: one row per change of a dossier (created, or the version an update replaced or a
  deletion removed, with only the fields that classify it for the periodic report), in commit order;
- report_closings: the periodic report closed (chốt) for a period, basis, unit and filters, with who
  closed it, the history it includes and the agency names and levels it used;
- report_closing_files: the closing's bytes in every format and CSV dialect.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('dossier_history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.SmallInteger(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('agency_code', sa.String(length=64), nullable=True),
    sa.Column('commune_code', sa.String(length=16), nullable=True),
    sa.Column('sector', sa.String(length=64), nullable=True),
    sa.Column('procedure_code', sa.String(length=32), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finish_class', sa.SmallInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_history'))
    )
    op.create_table('report_closings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('basis', sa.String(length=16), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('filters', sa.Text(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_by', sa.String(length=32), nullable=True),
    sa.Column('data_version', sa.Integer(), nullable=False),
    sa.Column('history_mark', sa.Integer(), nullable=False),
    sa.Column('reference', sa.Text(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_closings'))
    )
    op.create_index('ix_report_closings_period', 'report_closings', ['period', 'basis', 'unit', 'id'])
    op.create_table('report_closing_files',
    sa.Column('closing_id', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('dialect', sa.String(length=16), nullable=False),
    sa.Column('media_type', sa.Text(), nullable=False),
    sa.Column('filename', sa.Text(), nullable=True),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('closing_id', 'format', 'dialect', name=op.f('pk_report_closing_files'))
    )


def downgrade() -> None:
    op.drop_table('report_closing_files')
    op.drop_index('ix_report_closings_period', table_name='report_closings')
    op.drop_table('report_closings')
    op.drop_table('dossier_history')
