"""the worklists' reads: partial indexes of the dossiers the period kinds can list

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 03:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, columns, SQLite predicate, PostgreSQL predicate): as app.models.tables renders them.
_LATE = "resolved_at > coalesce(due_at, idx_deadline_at)"
INDEXES = (
    (
        "ix_dossiers_wl_unpaid",
        ["received_date", "agency_code", "commune_code", "fee_required", "paid_online"],
        "fee_required IS 1 AND paid_online IS 0",
        "fee_required IS true AND paid_online IS false",
    ),
    (
        "ix_dossiers_wl_no_result",
        ["close_date", "agency_code", "commune_code", "procedure_code", "status", "digitised_result"],
        "digitised_result IS 0 AND close_date IS NOT NULL",
        "digitised_result IS false AND close_date IS NOT NULL",
    ),
    (
        "ix_dossiers_wl_late",
        ["close_date", "agency_code", "commune_code", "status"],
        f"apology_issued IS 0 AND {_LATE}",
        f"apology_issued IS false AND {_LATE}",
    ),
)


def upgrade() -> None:
    for name, columns, sqlite_where, pg_where in INDEXES:
        op.create_index(
            name,
            "dossiers",
            columns,
            sqlite_where=sa.text(sqlite_where),
            postgresql_where=sa.text(pg_where),
        )


def downgrade() -> None:
    for name, *_ in reversed(INDEXES):
        op.drop_index(name, table_name="dossiers")
