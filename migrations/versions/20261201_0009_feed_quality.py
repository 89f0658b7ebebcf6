"""the quality of the feed: rejected records' reasons and accepted records' warnings, per token, agency and day

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 03:00:00

- feed_quality_counts: per local day, token, agency (a registered one, or `unknown`), kind (rejected,
  warning, base), field, rule and type, a count; kept TTHC_FEED_QUALITY_DAYS days;
- feed_quality_examples: the latest dossier codes per agency and key, a few per key.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('feed_quality_counts',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('token_id', sa.String(length=32), nullable=False),
    sa.Column('agency_code', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('field', sa.String(length=100), nullable=False),
    sa.Column('rule', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'token_id', 'agency_code', 'kind', 'field', 'rule', 'type',
                            name=op.f('pk_feed_quality_counts'))
    )
    op.create_table('feed_quality_examples',
    sa.Column('agency_code', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('field', sa.String(length=100), nullable=False),
    sa.Column('rule', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('token_id', sa.String(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('agency_code', 'kind', 'field', 'rule', 'type', 'code',
                            name=op.f('pk_feed_quality_examples'))
    )


def downgrade() -> None:
    op.drop_table('feed_quality_examples')
    op.drop_table('feed_quality_counts')
