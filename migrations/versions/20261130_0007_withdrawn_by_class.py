"""withdrawn dossiers classified early / on time / late, and counted so in the rollups

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 21:00:00

- dossiers.finish_class: now also set for withdrawn dossiers, by the rule of finished ones (§4.1);
  the stored withdrawn dossiers are classified here;
- rollups.withdrawn_early / withdrawn_on_time / withdrawn_late: withdrawn dossiers by class, keyed by
  the close date like `withdrawn`; filled here from the stored withdrawn dossiers.

The backfill reads the withdrawn dossiers only (two scans of dossiers filtered on status, no write
to any other dossier) and updates only the rollup rows they close on: every such row exists already,
since each of them added `withdrawn` and `closed` there. Nothing is rebuilt.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_COUNTERS = ('withdrawn_early', 'withdrawn_on_time', 'withdrawn_late')
# app.store.rollups at this revision: each cube's dimensions and grains (0 day, 1 month, 2 year).
DIMENSIONS = ('agency', 'commune', 'sector', 'procedure', 'channel')
CUBES = {
    0: (DIMENSIONS, (0, 1)),
    1: (('agency', 'sector'), (0, 1, 2)),
    2: (('commune', 'sector'), (0, 1, 2)),
    3: (('agency',), (0, 1, 2)),
    4: (('commune',), (0, 1, 2)),
}


def _finish_class(sqlite: bool) -> str:
    """§4.1 in SQL: late after due_at; early when resolved on a local day before the deadline's day;
    else on time (and always with no deadline).

    Early is "the end of the close date's local day (close_date + 1 at 00:00 +07:00, i.e. close_date
    at 17:00 UTC) comes before due_at": the deadline's day is the local date of due_at less 1 µs, so a
    due_at at local midnight makes the day before it the deadline's day. SQLite keeps instants as
    naive UTC text with microseconds ("2025-08-12 10:00:00.000000"), which compares as time does.
    """
    end_of_close_day = (
        "close_date || ' 17:00:00.000000'" if sqlite else "(close_date + TIME '17:00') AT TIME ZONE 'UTC'"
    )
    return (
        "CASE WHEN due_at IS NULL THEN 2 WHEN resolved_at > due_at THEN 3 "
        f"WHEN {end_of_close_day} < due_at THEN 1 ELSE 2 END"
    )


def _period(grain: int, sqlite: bool) -> str:
    if grain == 0:
        return 'd'
    if sqlite:
        return "substr(d, 1, 8) || '01'" if grain == 1 else "substr(d, 1, 5) || '01-01'"
    unit = 'month' if grain == 1 else 'year'
    return f"CAST(date_trunc('{unit}', d) AS DATE)"


def upgrade() -> None:
    with op.batch_alter_table('rollups') as batch:
        for name in NEW_COUNTERS:
            batch.add_column(sa.Column(name, sa.Integer(), server_default='0', nullable=False))
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.execute(
        f"UPDATE dossiers SET finish_class = {_finish_class(sqlite)} "
        "WHERE status = 'withdrawn' AND resolved_at IS NOT NULL"
    )
    # The withdrawn dossiers by close day and every dimension, then each cube and grain from them.
    op.execute(
        "CREATE TEMP TABLE _withdrawn_0007 AS SELECT close_date AS d, agency_code AS agency, "
        "COALESCE(commune_code, '') AS commune, COALESCE(sector, '') AS sector, "
        "procedure_code AS procedure, channel, "
        "SUM(CASE WHEN finish_class = 1 THEN 1 ELSE 0 END) AS withdrawn_early, "
        "SUM(CASE WHEN finish_class = 2 THEN 1 ELSE 0 END) AS withdrawn_on_time, "
        "SUM(CASE WHEN finish_class = 3 THEN 1 ELSE 0 END) AS withdrawn_late "
        "FROM dossiers WHERE status = 'withdrawn' AND close_date IS NOT NULL "
        "GROUP BY close_date, agency_code, COALESCE(commune_code, ''), COALESCE(sector, ''), "
        "procedure_code, channel"
    )
    sums = ', '.join(f'SUM({c}) AS {c}' for c in NEW_COUNTERS)
    sets = ', '.join(f'{c} = w.{c}' for c in NEW_COUNTERS)
    for cube, (kept, grains) in CUBES.items():
        dims = ', '.join(d if d in kept else f"'' AS {d}" for d in DIMENSIONS)
        group = ', '.join(d for d in DIMENSIONS if d in kept)
        for grain in grains:
            period = _period(grain, sqlite)
            match = ' AND '.join(f'rollups.{d} = w.{d}' for d in DIMENSIONS)
            op.execute(
                f"UPDATE rollups SET {sets} FROM (SELECT {period} AS p, {dims}, {sums} "
                f"FROM _withdrawn_0007 GROUP BY {period}, {group}) AS w "
                f"WHERE rollups.cube = {cube} AND rollups.grain = {grain} AND rollups.period = w.p "
                f"AND {match}"
            )
    op.execute("DROP TABLE _withdrawn_0007")
    # Figures changed (the new counts): cached answers keyed on the data version are dropped.
    op.execute("UPDATE data_state SET version = version + 1 WHERE EXISTS (SELECT 1 FROM dossiers)")


def downgrade() -> None:
    op.execute("UPDATE dossiers SET finish_class = NULL WHERE status = 'withdrawn'")
    with op.batch_alter_table('rollups') as batch:
        for name in reversed(NEW_COUNTERS):
            batch.drop_column(name)
