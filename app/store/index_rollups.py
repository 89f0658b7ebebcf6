"""The national index's rollups: how dossier versions' rule-2.1 facts turn into additive counters.

Like `app.store.rollups`: a write stages signed dossier versions (−1 for the stored version it
replaces, +1 for the new one), SQL expands each into its contributions — on its received date
(`in_`, `rcv_`, `fin_` counters), its national end date (`out_`) and, while in processing, the date
it becomes late (`due_`) — and adds them to every cube at every grain, in the caller's transaction.
The counters and what they mean are in app.core.index_counters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from app.core.index_counters import INDEX_COUNTERS, IndexClass
from app.core.periods import Piece
from app.store.dialect import Dialect, dialect_of
from app.store.repository import merge_pieces
from app.store.table_diff import differences

AGENCY_CUBE, COMMUNE_CUBE, PROCEDURE_CUBE = 0, 1, 2
DIMS = ("agency", "commune", "procedure")
CUBES: dict[int, tuple[str, ...]] = {
    AGENCY_CUBE: ("agency",),
    COMMUNE_CUBE: ("commune",),
    PROCEDURE_CUBE: ("agency", "procedure"),
}
DAY, MONTH, YEAR = 0, 1, 2
CUBE_GRAINS: dict[int, tuple[int, ...]] = {
    AGENCY_CUBE: (DAY, MONTH, YEAR),
    COMMUNE_CUBE: (DAY, MONTH, YEAR),
    PROCEDURE_CUBE: (MONTH,),
}
_KEY = ("cube", "grain", "period", *DIMS)

# The dossier columns the contributions are computed from, named as the dossiers table names them.
STAGED_COLUMNS = (
    "agency_code",
    "commune_code",
    "procedure_code",
    "status",
    "fee_required",
    "paid_online",
    "reused_digital_data",
    "complaint",
    "population_data",
    "from_personal_store",
    "received_date",
    "idx_end_date",
    "idx_class",
    "idx_late_date",
    "idx_work_days",
    "idx_catalogued",
    "idx_eligible",
    "idx_full_online",
    "idx_electronic",
    "idx_digitised",
    "idx_rev",
)
_BOOLEAN = {
    "fee_required",
    "paid_online",
    "reused_digital_data",
    "complaint",
    "population_data",
    "from_personal_store",
    "idx_catalogued",
    "idx_eligible",
    "idx_full_online",
    "idx_electronic",
    "idx_digitised",
}
_TEMP_TABLES = ("_idelta", "_icontrib", "_icube0", "_icube1")


def _attribute_conditions(dialect: Dialect) -> dict[str, str]:
    """The SQL condition of each universe attribute (app.core.index_counters.UNIVERSE_ATTRIBUTES)."""

    def b(column: str) -> str:
        return dialect.true(f"s.{column}")

    return {
        "n": "1 = 1",
        "unjudged": f"s.idx_class = {int(IndexClass.UNJUDGED)}",
        "uncatalogued": f"NOT ({b('idx_catalogued')})",
        "eligible": b("idx_eligible"),
        "full_online": b("idx_full_online"),
        "electronic": b("idx_electronic"),
        "digitised": b("idx_digitised"),
        "reused": b("reused_digital_data"),
        "personal_store": b("from_personal_store"),
        "population": b("population_data"),
        "complaint": b("complaint"),
    }


def _contrib_select(dialect: Dialect, source: str, sign: str) -> str:
    """SELECT of (d, agency, commune, procedure, counters...) contributions of every row of `source`."""
    attrs = _attribute_conditions(dialect)

    def when(cond: str, value: str = sign) -> str:
        return f"CASE WHEN {cond} THEN {value} ELSE 0 END"

    finished = "s.status IN ('resolved', 'returned') AND s.idx_work_days IS NOT NULL"
    late = f"s.idx_class = {int(IndexClass.LATE)}"
    values: dict[str, dict[str, str]] = {
        "in": {
            **{f"in_{a}": when(c) for a, c in attrs.items()},
            "rcv_fee": when(dialect.true("s.fee_required")),
            "rcv_paid": when(f"{dialect.true('s.fee_required')} AND {dialect.true('s.paid_online')}"),
            "fin_n": when(finished),
            "fin_work_days": when(finished, f"{sign} * s.idx_work_days"),
        },
        "out": {
            **{f"out_{a}": when(c) for a, c in attrs.items()},
            "out_on_time": when(f"s.idx_class = {int(IndexClass.ON_TIME)}"),
            "out_late": when(late),
            "out_late_complaint": when(f"{late} AND {attrs['complaint']}"),
        },
        "due": {"due_n": sign, "due_complaint": when(attrs["complaint"])},
        "due_closed": {"due_closed_n": sign, "due_closed_complaint": when(attrs["complaint"])},
    }
    # A dossier late while in processing: from its late date, until the day it ended when later.
    late_close = "s.idx_late_date IS NOT NULL AND s.idx_end_date > s.idx_late_date"
    # A version never derived (idx_rev -1: stored before the index existed) counts nowhere yet.
    derived = "s.idx_rev >= 0"
    parts = {
        "in": ("s.received_date", derived),
        "out": ("s.idx_end_date", f"{derived} AND s.idx_end_date IS NOT NULL"),
        "due": (
            "s.idx_late_date",
            f"{derived} AND s.idx_late_date IS NOT NULL AND (s.idx_end_date IS NULL OR {late_close})",
        ),
        "due_closed": ("s.idx_end_date", f"{derived} AND {late_close}"),
    }
    dims = "s.agency_code AS agency, COALESCE(s.commune_code, '') AS commune, s.procedure_code AS procedure"
    selects = []
    for part, (day, where) in parts.items():
        counters = ", ".join(f"{values[part].get(c, '0')} AS {c}" for c in INDEX_COUNTERS)
        selects.append(f"SELECT {day} AS d, {dims}, {counters} FROM {source} AS s WHERE {where}")
    return "\nUNION ALL\n".join(selects)


def _accumulate(dialect: Dialect, table: str, keys: Sequence[str], select: str) -> str:
    """INSERT the rows of `select` (d, keys..., counters...) into a staging table, summed by key.

    As in app.store.rollups: on SQLite the staging tables are keyed by (d, keys) and rows accumulate
    through ON CONFLICT, row by row, cheaper than GROUP BY's sort of every counter; PostgreSQL's ON
    CONFLICT may not touch a row twice in one statement, so it groups.
    """
    cols = f"d, {', '.join(keys)}, {', '.join(INDEX_COUNTERS)}"
    if not dialect.accumulates_by_conflict:
        sums = ", ".join(f"SUM({c})" for c in INDEX_COUNTERS)
        return (
            f"INSERT INTO {table} ({cols}) SELECT d, {', '.join(keys)}, {sums} "
            f"FROM ({select}) AS u GROUP BY d, {', '.join(keys)}"
        )
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in INDEX_COUNTERS)
    return (
        f"INSERT INTO {table} ({cols}) SELECT {cols} FROM ({select}) AS u WHERE 1 = 1 "
        f"ON CONFLICT (d, {', '.join(keys)}) DO UPDATE SET {updates}"
    )


def _fill_contrib_sql(dialect: Dialect, sources: Sequence[tuple[str, str]]) -> str:
    """Stage the contributions of each (table, sign expression), summed by day and the three keys."""
    union = "\nUNION ALL\n".join(_contrib_select(dialect, table, sign) for table, sign in sources)
    return _accumulate(dialect, "_icontrib", DIMS, union)


# The one-dimension cubes' day-level contributions are staged apart (summed from _icontrib): their
# day rows are then copied as they are, and their month and year rows summed from far fewer rows.
STAGED_CUBES = {AGENCY_CUBE: "_icube0", COMMUNE_CUBE: "_icube1"}


def _stage_cube_sql(dialect: Dialect, cube: int) -> str:
    dims = CUBES[cube]
    select = f"SELECT d, {', '.join(dims)}, {', '.join(INDEX_COUNTERS)} FROM _icontrib"
    return _accumulate(dialect, STAGED_CUBES[cube], dims, select)


def _upsert_sql(dialect: Dialect, target: str, cube: int, grain: int) -> str:
    """Add one cube's contributions at one grain to `target` (rows in key order on PostgreSQL)."""
    period = ("d", dialect.month_start("d"), dialect.year_start("d"))[grain]
    kept = CUBES[cube]
    dim_exprs = [d if d in kept else "''" for d in DIMS]
    group = [period, *kept]
    source = STAGED_CUBES.get(cube, "_icontrib")
    if grain == DAY and cube in STAGED_CUBES:
        # Already one row per day and key.
        values, grouping = ", ".join(INDEX_COUNTERS), ""
    else:
        values = ", ".join(f"SUM({c})" for c in INDEX_COUNTERS)
        grouping = f" GROUP BY {', '.join(group)}"
    order = f" ORDER BY {', '.join(group)}" if dialect.orders_upserts else ""
    updates = ", ".join(f"{c} = {target}.{c} + excluded.{c}" for c in INDEX_COUNTERS)
    return (
        f"INSERT INTO {target} ({', '.join(_KEY)}, {', '.join(INDEX_COUNTERS)}) "
        f"SELECT {cube}, {grain}, {period}, {', '.join(dim_exprs)}, {values} FROM {source} WHERE 1 = 1"
        f"{grouping}{order} ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET {updates}"
    )


def _fold_sql(dialect: Dialect, target: str) -> list[str]:
    out: list[str] = []
    for cube, grains in CUBE_GRAINS.items():
        if cube in STAGED_CUBES:
            out.append(_stage_cube_sql(dialect, cube))
        out += [_upsert_sql(dialect, target, cube, grain) for grain in grains]
    return out


def _temp_ddl(dialect: Dialect) -> list[str]:
    boolean = dialect.boolean_type
    types = {
        **{c: boolean for c in _BOOLEAN},
        "idx_class": "SMALLINT",
        "idx_work_days": "INTEGER",
        "idx_rev": "INTEGER",
        "received_date": "DATE",
        "idx_end_date": "DATE",
        "idx_late_date": "DATE",
    }
    cols = ", ".join(f"{c} {types.get(c, 'VARCHAR(1000)')}" for c in STAGED_COLUMNS)
    counters = ", ".join(f"{c} INTEGER NOT NULL" for c in INDEX_COUNTERS)
    dims = ", ".join(f"{d} VARCHAR(64) NOT NULL" for d in DIMS)
    suffix = dialect.temp_suffix

    def keyed(keys: Sequence[str]) -> str:
        # Keyed where rows accumulate by key (see _accumulate); else grouped first.
        return dialect.keyed_temp_end(keys) if dialect.accumulates_by_conflict else ")"

    return [
        f"CREATE TEMP TABLE IF NOT EXISTS _idelta (sign INTEGER NOT NULL, {cols}){suffix}",
        f"CREATE TEMP TABLE IF NOT EXISTS _icontrib (d DATE NOT NULL, {dims}, {counters}"
        f"{keyed(DIMS)}{suffix}",
        *(
            f"CREATE TEMP TABLE IF NOT EXISTS {table} (d DATE NOT NULL, "
            + "".join(f"{d} VARCHAR(64) NOT NULL, " for d in CUBES[cube])
            + f"{counters}{keyed(CUBES[cube])}{suffix}"
            for cube, table in STAGED_CUBES.items()
        ),
    ]


@dataclass(slots=True)
class IndexRollupWriter:
    """Stages signed dossier versions and folds their index contributions, in the caller's transaction."""

    conn: Connection
    sources: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for ddl in _temp_ddl(dialect_of(self.conn)):
            self.conn.exec_driver_sql(ddl)

    def apply(self, removed: Sequence[Mapping[str, Any]], added: Sequence[Mapping[str, Any]]) -> None:
        """Subtract the contribution of `removed` dossier rows and add that of `added` ones."""
        self.stage_rows(-1, removed)
        self.stage_rows(1, added)
        self.fold()

    def stage_rows(self, sign: int, rows: Sequence[Mapping[str, Any]]) -> None:
        """Stage dossier rows (mappings with the dossier columns, as read or as written) with a sign."""
        if not rows:
            return
        if ("_idelta", "s.sign") not in self.sources:
            self.sources.append(("_idelta", "s.sign"))
        dialect = dialect_of(self.conn)
        dates = tuple(i for i, c in enumerate(STAGED_COLUMNS) if c.endswith("_date"))
        values = [dialect.driver_values([r[c] for c in STAGED_COLUMNS], (), dates) for r in rows]
        dialect.insert_rows(self.conn, "_idelta", ("sign", *STAGED_COLUMNS), [(sign, *v) for v in values])

    def stage_table(self, table: str, sign: int) -> None:
        """Count every row of `table` (a staging table with the dossier columns) with `sign` at the fold."""
        self.sources.append((table, str(int(sign))))

    def fold(self) -> None:
        if not self.sources:
            return
        dialect = dialect_of(self.conn)
        self.conn.exec_driver_sql(_fill_contrib_sql(dialect, self.sources))
        for sql in _fold_sql(dialect, "index_rollups"):
            self.conn.exec_driver_sql(sql)
        for table in _TEMP_TABLES:
            self.conn.exec_driver_sql(f"DELETE FROM {table}")
        self.sources = []


def rebuild(conn: Connection, target: str = "index_rollups") -> None:
    """Recompute `target` (the index rollups, or a scratch copy) from the stored dossiers' derived columns."""
    dialect = dialect_of(conn)
    for ddl in _temp_ddl(dialect):
        conn.exec_driver_sql(ddl)
    conn.exec_driver_sql(f"DELETE FROM {target}")
    for table in _TEMP_TABLES:
        conn.exec_driver_sql(f"DELETE FROM {table}")
    conn.exec_driver_sql(_fill_contrib_sql(dialect, [("dossiers", "1")]))
    for sql in _fold_sql(dialect, target):
        conn.exec_driver_sql(sql)
    for table in _TEMP_TABLES:
        conn.exec_driver_sql(f"DELETE FROM {table}")


def verify(conn: Connection, limit: int = 20) -> tuple[int, list[dict[str, Any]]]:
    """Compare the index rollups with a recomputation; (number of differing rows, the first few)."""
    keys, rows = differences(conn, "index_rollups", _KEY, INDEX_COUNTERS, rebuild)
    return len(keys), rows[:limit]


def index_sums(
    conn: Connection,
    cube: int,
    pieces: Sequence[Piece],
    group: Sequence[str],
    counters: Sequence[str],
) -> dict[tuple[str, ...], dict[str, int]]:
    """Counter sums per `group` key over the rows of `cube` in `pieces` (adjacent pieces of one grain
    read as one range)."""
    if not pieces:
        return {}
    params: dict[str, Any] = {}
    branches = []
    cols = "".join(f"{g}, " for g in group)
    sums = ", ".join(f"SUM({c}) AS {c}" for c in counters)
    grouping = f" GROUP BY {', '.join(group)}" if group else ""
    for i, p in enumerate(merge_pieces(pieces)):
        params[f"lo{i}"], params[f"hi{i}"] = p.lo, p.hi
        branches.append(
            f"SELECT {cols}{sums} FROM index_rollups WHERE cube = {int(cube)} AND grain = {int(p.grain)} "
            f"AND period BETWEEN :lo{i} AND :hi{i}{grouping}"
        )
    out: dict[tuple[str, ...], dict[str, int]] = {}
    width = len(group)
    # Plain tuples and one zip per row: the rows are few, but each carries every counter.
    for row in conn.execute(text(" UNION ALL ".join(branches)), params):
        key = tuple(str(v) for v in row[:width])
        acc = out.get(key)
        # SUM over NOT NULL columns is never null; int() turns PostgreSQL's numeric sums into ints.
        if acc is None:
            out[key] = dict(zip(counters, map(int, row[width:]), strict=True))
        else:
            for c, v in zip(counters, map(int, row[width:]), strict=True):
                acc[c] += v
    return out
