"""How `rollups verify` checks a counter table: recompute it into a temporary table of the same
shape and list the rows where the two differ."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection

# The key columns every counter table starts with; the dimensions after them are text.
_PERIOD_KEY = "cube SMALLINT NOT NULL, grain SMALLINT NOT NULL, period DATE NOT NULL"


def differences(
    conn: Connection,
    stored: str,
    key: Sequence[str],
    counters: Sequence[str],
    recompute: Callable[[Connection, str], None],
) -> tuple[set[tuple[Any, ...]], list[dict[str, Any]]]:
    """(the keys whose rows differ, every differing row tagged `side`: stored | expected).

    `key` is (cube, grain, period, dimension…); `recompute(conn, table)` fills `table` from the
    dossiers. Rows whose counters are all zero count as absent: updates may empty a stored row.
    """
    expected = f"_expected_{stored}"
    dims = "".join(f", {d} VARCHAR(64) NOT NULL" for d in key[3:])
    columns = ", ".join(f"{c} INTEGER NOT NULL" for c in counters)
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {expected} ({_PERIOD_KEY}{dims}, {columns}, "
        f"PRIMARY KEY ({', '.join(key)}))"
    )
    recompute(conn, expected)
    nonzero = " OR ".join(f"{c} <> 0" for c in counters)
    cols = ", ".join((*key, *counters))
    diff_sql = (
        f"SELECT 'stored' AS side, {cols} FROM (SELECT {cols} FROM {stored} WHERE {nonzero} "
        f"EXCEPT SELECT {cols} FROM {expected} WHERE {nonzero}) AS a "
        f"UNION ALL SELECT 'expected' AS side, {cols} FROM (SELECT {cols} FROM {expected} WHERE {nonzero} "
        f"EXCEPT SELECT {cols} FROM {stored} WHERE {nonzero}) AS b"
    )
    rows = [dict(r._mapping) for r in conn.exec_driver_sql(diff_sql)]
    conn.exec_driver_sql(f"DROP TABLE {expected}")
    # A row that differs shows once as stored and once as expected: each key counts once.
    return {tuple(r[k] for k in key) for r in rows}, rows
