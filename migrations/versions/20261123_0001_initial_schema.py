"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 07:43:30.157995
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('agencies',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('commune_code', sa.String(length=16), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_agencies'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.Text(), nullable=False),
    sa.Column('agencies', sa.Text(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('secret_hash', name=op.f('uq_api_tokens_secret_hash'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('token_id', sa.String(length=32), nullable=True),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('counts', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_table('data_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_state'))
    )
    op.create_table('dossiers',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('procedure_code', sa.String(length=32), nullable=False),
    sa.Column('procedure_name', sa.Text(), nullable=True),
    sa.Column('sector', sa.String(length=64), nullable=True),
    sa.Column('agency_code', sa.String(length=64), nullable=False),
    sa.Column('commune_code', sa.String(length=16), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('online_level', sa.String(length=16), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('fee_required', sa.Boolean(), nullable=False),
    sa.Column('paid_online', sa.Boolean(), nullable=False),
    sa.Column('digitised_intake', sa.Boolean(), nullable=False),
    sa.Column('digitised_result', sa.Boolean(), nullable=False),
    sa.Column('reused_digital_data', sa.Boolean(), nullable=False),
    sa.Column('apology_issued', sa.Boolean(), nullable=False),
    sa.Column('rating', sa.String(length=32), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_date', sa.Date(), nullable=False),
    sa.Column('close_date', sa.Date(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('finish_class', sa.SmallInteger(), nullable=True),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_dossiers'))
    )
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.create_index('ix_dossiers_agency_code', ['agency_code'], unique=False)
        batch_op.create_index('ix_dossiers_close_date', ['close_date'], unique=False)
        batch_op.create_index('ix_dossiers_due_date', ['due_date'], unique=False)
        batch_op.create_index('ix_dossiers_received_date', ['received_date'], unique=False)

    op.create_table('rollups',
    sa.Column('cube', sa.SmallInteger(), nullable=False),
    sa.Column('grain', sa.SmallInteger(), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('agency', sa.String(length=64), nullable=False),
    sa.Column('commune', sa.String(length=16), nullable=False),
    sa.Column('sector', sa.String(length=64), nullable=False),
    sa.Column('procedure', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('received', sa.Integer(), server_default='0', nullable=False),
    sa.Column('received_online', sa.Integer(), server_default='0', nullable=False),
    sa.Column('received_full_online', sa.Integer(), server_default='0', nullable=False),
    sa.Column('fee_required', sa.Integer(), server_default='0', nullable=False),
    sa.Column('paid_online', sa.Integer(), server_default='0', nullable=False),
    sa.Column('digitised_intake', sa.Integer(), server_default='0', nullable=False),
    sa.Column('reused_digital_data', sa.Integer(), server_default='0', nullable=False),
    sa.Column('finished', sa.Integer(), server_default='0', nullable=False),
    sa.Column('finished_early', sa.Integer(), server_default='0', nullable=False),
    sa.Column('finished_on_time', sa.Integer(), server_default='0', nullable=False),
    sa.Column('finished_late', sa.Integer(), server_default='0', nullable=False),
    sa.Column('finished_late_apologised', sa.Integer(), server_default='0', nullable=False),
    sa.Column('digitised_result', sa.Integer(), server_default='0', nullable=False),
    sa.Column('rated', sa.Integer(), server_default='0', nullable=False),
    sa.Column('satisfied', sa.Integer(), server_default='0', nullable=False),
    sa.Column('withdrawn', sa.Integer(), server_default='0', nullable=False),
    sa.Column('closed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('due', sa.Integer(), server_default='0', nullable=False),
    sa.Column('due_apology', sa.Integer(), server_default='0', nullable=False),
    sa.Column('due_closed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('due_closed_apology', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('cube', 'grain', 'period', 'agency', 'commune', 'sector', 'procedure', 'channel', name=op.f('pk_rollups')),
    sqlite_with_rowid=False
    )
    op.create_table('sector_mappings',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_sector_mappings'))
    )
    op.create_table('targets',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('comparator', sa.String(length=2), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('year', 'name', name=op.f('pk_targets'))
    )


    op.bulk_insert(
        sa.table("data_state", sa.column("id", sa.Integer), sa.column("version", sa.Integer),
                 sa.column("changed_at", sa.DateTime(timezone=True))),
        [{"id": 1, "version": 0, "changed_at": datetime(2025, 1, 1, tzinfo=UTC)}],
    )


def downgrade() -> None:
    op.drop_table('targets')
    op.drop_table('sector_mappings')
    op.drop_table('rollups')
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.drop_index('ix_dossiers_received_date')
        batch_op.drop_index('ix_dossiers_due_date')
        batch_op.drop_index('ix_dossiers_close_date')
        batch_op.drop_index('ix_dossiers_agency_code')

    op.drop_table('dossiers')
    op.drop_table('data_state')
    op.drop_table('audit_log')
    op.drop_table('api_tokens')
    op.drop_table('agencies')
