"""read bounds and refused-request counters

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 09:20:00

- rollup_keys: every dimension key of the full cube seen, with its first day (a metrics query's row
  bound is read from it), filled from the stored dossiers;
- refused_requests: 401/403 write requests counted per token, day and status instead of one audit
  row each;
- data_state.keys_version, moved when rollup_keys changes (row bounds are memoised on it);
- an index on audit_log.at, for pruning by age.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('rollup_keys',
    sa.Column('agency', sa.String(length=64), nullable=False),
    sa.Column('commune', sa.String(length=16), nullable=False),
    sa.Column('sector', sa.String(length=64), nullable=False),
    sa.Column('procedure', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('agency', 'commune', 'sector', 'procedure', 'channel', name=op.f('pk_rollup_keys')),
    sqlite_with_rowid=False
    )
    op.execute(
        "INSERT INTO rollup_keys (agency, commune, sector, procedure, channel, first_day) "
        "SELECT agency_code, COALESCE(commune_code, ''), COALESCE(sector, ''), procedure_code, channel, "
        "MIN(received_date) FROM dossiers "
        "GROUP BY agency_code, COALESCE(commune_code, ''), COALESCE(sector, ''), procedure_code, channel"
    )
    with op.batch_alter_table('data_state') as batch:
        batch.add_column(sa.Column('keys_version', sa.Integer(), server_default='0', nullable=False))
    op.create_table('refused_requests',
    sa.Column('token_id', sa.String(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('token_id', 'day', 'status_code', name=op.f('pk_refused_requests'))
    )
    op.create_index('ix_audit_log_at', 'audit_log', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_log_at', table_name='audit_log')
    op.drop_table('refused_requests')
    with op.batch_alter_table('data_state') as batch:
        batch.drop_column('keys_version')
    op.drop_table('rollup_keys')
