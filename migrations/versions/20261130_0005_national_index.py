"""the national index (Decision 766): the record's new inputs, rule 2.1 derived per dossier, its rollups

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 15:40:00

- dossiers: the optional inputs `supplements` (canonical JSON), `complaint`, `population_data`,
  `from_personal_store`; the derived `idx_*` columns of rule 2.1 and the catalogue-dependent
  successes; indexes on procedure_code, idx_end_date and idx_late_date;
- index_rollups: the index's additive counters by agency, commune and agency x procedure;
- index_rule_sets (rule sets an admin added), index_declared (declared indicators), index_jobs
  (re-derivations and their progress);
- data_state.reference_rev / index_rev: the catalogue-and-calendar revision, and the one the stored
  derivations follow. Existing dossiers are re-derived by `tthc-metrics migrate` after this step.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op



revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The counters of app.core.index_counters at this revision.
INDEX_COUNTERS = (
    'in_n',
    'in_unjudged',
    'in_uncatalogued',
    'in_eligible',
    'in_full_online',
    'in_electronic',
    'in_digitised',
    'in_reused',
    'in_personal_store',
    'in_population',
    'in_complaint',
    'out_n',
    'out_unjudged',
    'out_uncatalogued',
    'out_eligible',
    'out_full_online',
    'out_electronic',
    'out_digitised',
    'out_reused',
    'out_personal_store',
    'out_population',
    'out_complaint',
    'rcv_fee',
    'rcv_paid',
    'fin_n',
    'fin_work_days',
    'out_on_time',
    'out_late',
    'out_late_complaint',
    'due_n',
    'due_complaint',
    'due_closed_n',
    'due_closed_complaint',
)
_DOSSIER_COLUMNS = (
    ('supplements', sa.Text(), None),
    ('complaint', sa.Boolean(), sa.false()),
    ('population_data', sa.Boolean(), sa.false()),
    ('from_personal_store', sa.Boolean(), sa.false()),
    ('idx_end_at', sa.DateTime(timezone=True), None),
    ('idx_end_date', sa.Date(), None),
    ('idx_class', sa.SmallInteger(), sa.text('0')),
    ('idx_deadline_at', sa.DateTime(timezone=True), None),
    ('idx_late_at', sa.DateTime(timezone=True), None),
    ('idx_late_date', sa.Date(), None),
    ('idx_work_days', sa.Integer(), None),
    ('idx_catalogued', sa.Boolean(), sa.false()),
    ('idx_eligible', sa.Boolean(), sa.false()),
    ('idx_full_online', sa.Boolean(), sa.false()),
    ('idx_electronic', sa.Boolean(), sa.false()),
    ('idx_digitised', sa.Boolean(), sa.false()),
    ('idx_rev', sa.Integer(), sa.text('-1')),
)


def upgrade() -> None:
    with op.batch_alter_table('dossiers') as batch:
        for name, type_, default in _DOSSIER_COLUMNS:
            batch.add_column(sa.Column(name, type_, server_default=default, nullable=default is None))
        batch.create_index('ix_dossiers_procedure_code', ['procedure_code'])
        batch.create_index('ix_dossiers_idx_end_date', ['idx_end_date'])
        batch.create_index('ix_dossiers_idx_late_date', ['idx_late_date'])
    op.create_table('index_rollups',
    sa.Column('cube', sa.SmallInteger(), nullable=False),
    sa.Column('grain', sa.SmallInteger(), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('agency', sa.String(length=64), nullable=False),
    sa.Column('commune', sa.String(length=16), nullable=False),
    sa.Column('procedure', sa.String(length=32), nullable=False),
    *(sa.Column(name, sa.Integer(), server_default='0', nullable=False) for name in INDEX_COUNTERS),
    sa.PrimaryKeyConstraint('cube', 'grain', 'period', 'agency', 'commune', 'procedure', name=op.f('pk_index_rollups')),
    sqlite_with_rowid=False
    )
    op.create_table('index_rule_sets',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_index_rule_sets'))
    )
    op.create_table('index_declared',
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('unit', sa.String(length=64), nullable=False),
    sa.Column('indicator', sa.String(length=8), nullable=False),
    sa.Column('numerator', sa.Float(), nullable=True),
    sa.Column('denominator', sa.Float(), nullable=True),
    sa.Column('ratio', sa.Float(), nullable=True),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('set_by', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('period', 'unit', 'indicator', name=op.f('pk_index_declared'))
    )
    op.create_table('index_jobs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.Column('target_rev', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_by', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_index_jobs'))
    )
    with op.batch_alter_table('data_state') as batch:
        batch.add_column(sa.Column('reference_rev', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch.add_column(sa.Column('index_rev', sa.Integer(), server_default=sa.text('0'), nullable=False))
    # Stored dossiers were never derived (idx_rev -1 counts nowhere): mark the index behind, so that
    # `migrate` derives them.
    op.execute("UPDATE data_state SET reference_rev = 1 WHERE EXISTS (SELECT 1 FROM dossiers)")


def downgrade() -> None:
    with op.batch_alter_table('data_state') as batch:
        batch.drop_column('index_rev')
        batch.drop_column('reference_rev')
    op.drop_table('index_jobs')
    op.drop_table('index_declared')
    op.drop_table('index_rule_sets')
    op.drop_table('index_rollups')
    with op.batch_alter_table('dossiers') as batch:
        batch.drop_index('ix_dossiers_idx_late_date')
        batch.drop_index('ix_dossiers_idx_end_date')
        batch.drop_index('ix_dossiers_procedure_code')
        for name, _, _ in reversed(_DOSSIER_COLUMNS):
            batch.drop_column(name)
