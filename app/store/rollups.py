"""Rollup upkeep: how dossier versions turn into additive counters, kept in the same transaction.

A write stages signed dossier versions (-1 for the stored version it replaces, +1 for the new one)
in a temporary table; SQL then expands each into its contributions (received date, close date,
due date, max(due, close) date), and adds them to every cube at every grain with one
INSERT ... SELECT ... ON CONFLICT DO UPDATE per cube and grain. The expansion runs inside the
database engine, so the per-record cost in Python stays one staged row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from app.core.counters import COUNTERS, FinishClass
from app.core.vocabulary import DIMENSION_COLUMNS, DIMENSIONS, SATISFIED_RATINGS, WITHDRAWN
from app.store.dialect import Dialect, dialect_of
from app.store.table_diff import differences

# Cubes keep a subset of the dimensions; a read uses the smallest cube that holds what it asks for.
CUBES: dict[int, tuple[str, ...]] = {
    0: DIMENSIONS,
    1: ("agency", "sector"),
    2: ("commune", "sector"),
    3: ("agency",),
    4: ("commune",),
}
# Where each cube's day-level contributions are summed from: the staged contributions, or a bigger
# cube's staging (the one-dimension cubes cost little more than their own rows).
CUBE_SOURCE = {0: "_contrib", 1: "_contrib", 2: "_contrib", 3: "_cube1", 4: "_cube2"}
# The order in which a read looks for the smallest cube that holds its dimensions.
CUBE_PREFERENCE = (3, 4, 1, 2, 0)
DAY, MONTH, YEAR = 0, 1, 2
# The full cube has about one row per dossier and date, so it keeps no year rows: they would not
# aggregate anything and would cost an upsert per dossier; its prefix sums run over month rows.
CUBE_GRAINS: dict[int, tuple[int, ...]] = {
    0: (DAY, MONTH),
    **{cube: (DAY, MONTH, YEAR) for cube in CUBES if cube != 0},
}

# The staged dossier fields, named as the dossiers table names them.
STAGED_COLUMNS = (
    "agency_code",
    "commune_code",
    "sector",
    "procedure_code",
    "channel",
    "online_level",
    "status",
    "fee_required",
    "paid_online",
    "digitised_intake",
    "reused_digital_data",
    "digitised_result",
    "apology_issued",
    "rating",
    "finish_class",
    "received_date",
    "close_date",
    "due_date",
)
_KEY = ("cube", "grain", "period", *DIMENSIONS)
_TEMP_TABLES = ("_delta", "_contrib", *(f"_cube{c}" for c in CUBES if c != 0))


def choose_cube(dims: Iterable[str]) -> int:
    """The smallest cube holding every dimension asked for (grouped by or filtered on)."""
    wanted = set(dims)
    for cube in CUBE_PREFERENCE:
        if wanted <= set(CUBES[cube]):
            return cube
    raise ValueError(f"no cube holds {sorted(wanted)}")


def _contrib_select(dialect: Dialect, source: str, sign: str) -> str:
    """SELECT of (d, dimension keys, counters...) contributions of every row of `source`."""

    def b(column: str) -> str:
        return dialect.true(f"s.{column}")

    dims = ", ".join(f"COALESCE(s.{DIMENSION_COLUMNS[d]}, '') AS {d}" for d in DIMENSIONS)

    def when(cond: str) -> str:
        return f"CASE WHEN {cond} THEN {sign} ELSE 0 END"

    finished = f"s.status <> '{WITHDRAWN}'"
    withdrawn = f"s.status = '{WITHDRAWN}'"
    satisfied = ", ".join(f"'{r}'" for r in SATISFIED_RATINGS)
    # Overdue at the end of D = sum(due, <= D) - sum(due_closed, <= D). A dossier closed no later
    # than its due date would add 1 to both on the same day, so it adds to neither: only dossiers
    # still open, or closed on a later date than their due date, carry these counters.
    late_close = "s.due_date IS NOT NULL AND s.close_date > s.due_date"
    values: dict[str, dict[str, str]] = {
        "received": {
            "received": sign,
            "received_online": when("s.channel = 'online'"),
            "received_full_online": when("s.channel = 'online' AND s.online_level = 'full'"),
            "fee_required": when(b("fee_required")),
            "paid_online": when(f"{b('fee_required')} AND {b('paid_online')}"),
            "digitised_intake": when(b("digitised_intake")),
            "reused_digital_data": when(b("reused_digital_data")),
        },
        "close": {
            "finished": when(finished),
            "finished_early": when(f"{finished} AND s.finish_class = {int(FinishClass.EARLY)}"),
            "finished_on_time": when(f"{finished} AND s.finish_class = {int(FinishClass.ON_TIME)}"),
            "finished_late": when(f"{finished} AND s.finish_class = {int(FinishClass.LATE)}"),
            "finished_late_apologised": when(
                f"{finished} AND s.finish_class = {int(FinishClass.LATE)} AND {b('apology_issued')}"
            ),
            "digitised_result": when(f"{finished} AND {b('digitised_result')}"),
            "rated": when(f"{finished} AND s.rating IS NOT NULL"),
            "satisfied": when(f"{finished} AND s.rating IN ({satisfied})"),
            "withdrawn": when(withdrawn),
            "withdrawn_early": when(f"{withdrawn} AND s.finish_class = {int(FinishClass.EARLY)}"),
            "withdrawn_on_time": when(f"{withdrawn} AND s.finish_class = {int(FinishClass.ON_TIME)}"),
            "withdrawn_late": when(f"{withdrawn} AND s.finish_class = {int(FinishClass.LATE)}"),
            "closed": sign,
            "due_closed": when(late_close),
            "due_closed_apology": when(f"{late_close} AND {b('apology_issued')}"),
        },
        "due": {"due": sign, "due_apology": when(b("apology_issued"))},
    }
    parts = {
        "received": ("s.received_date", "1 = 1"),
        "close": ("s.close_date", "s.close_date IS NOT NULL"),
        "due": ("s.due_date", f"s.due_date IS NOT NULL AND (s.close_date IS NULL OR {late_close})"),
    }
    selects = []
    for part, (day, where) in parts.items():
        counters = ", ".join(f"{values[part].get(c, '0')} AS {c}" for c in COUNTERS)
        selects.append(f"SELECT {day} AS d, {dims}, {counters} FROM {source} AS s WHERE {where}")
    return "\nUNION ALL\n".join(selects)


def _accumulate(dialect: Dialect, table: str, keys: Sequence[str], select: str) -> str:
    """INSERT the rows of `select` (d, m, y, keys..., counters...) into a staging table, summed by key.

    On SQLite the staging tables are keyed by (d, keys) and rows accumulate through ON CONFLICT,
    which SQLite applies row by row: about a third cheaper than GROUP BY's sort with every counter
    summed. PostgreSQL's ON CONFLICT may not touch a row twice in one statement, so it groups.
    """
    cols = f"d, m, y, {', '.join(keys)}, {', '.join(COUNTERS)}"
    if not dialect.accumulates_by_conflict:
        sums = ", ".join(f"SUM({c})" for c in COUNTERS)
        return (
            f"INSERT INTO {table} ({cols}) SELECT d, m, y, {', '.join(keys)}, {sums} "
            f"FROM ({select}) AS u GROUP BY d, m, y, {', '.join(keys)}"
        )
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in COUNTERS)
    return (
        f"INSERT INTO {table} ({cols}) SELECT {cols} FROM ({select}) AS u WHERE 1 = 1 "
        f"ON CONFLICT (d, {', '.join(keys)}) DO UPDATE SET {updates}"
    )


def _fill_contrib_sql(dialect: Dialect, sources: Sequence[tuple[str, str]]) -> str:
    """Stage the contributions of the rows of each (table, sign expression), summed by day and dimensions."""
    month, year = dialect.month_start("d"), dialect.year_start("d")
    union = "\nUNION ALL\n".join(_contrib_select(dialect, table, sign) for table, sign in sources)
    select = (
        f"SELECT d, {month} AS m, {year} AS y, {', '.join(DIMENSIONS)}, {', '.join(COUNTERS)} "
        f"FROM ({union}) AS c"
    )
    return _accumulate(dialect, "_contrib", DIMENSIONS, select)


def _stage_cube_sql(dialect: Dialect, cube: int) -> str:
    """A cube's day-level contributions, from which its day, month and year rows are taken."""
    dims = CUBES[cube]
    select = f"SELECT d, m, y, {', '.join(dims)}, {', '.join(COUNTERS)} FROM {CUBE_SOURCE[cube]}"
    return _accumulate(dialect, f"_cube{cube}", dims, select)


def _upsert_sql(dialect: Dialect, target: str, cube: int, grain: int) -> str:
    """Add one cube's contributions at one grain to `target`.

    The source is already grouped by day and the cube's dimensions, so day rows are copied as they
    are and only months and years are summed. On PostgreSQL the rows are taken in key order, so
    concurrent writers lock rollup rows in one order and cannot deadlock on them.
    """
    period = ("d", "m", "y")[grain]
    kept = CUBES[cube]
    source = "_contrib" if cube == 0 else f"_cube{cube}"
    dim_exprs = [d if d in kept else "''" for d in DIMENSIONS]
    group = [period, *(d for d in DIMENSIONS if d in kept)]
    if grain == DAY or (cube == 0 and dialect.accumulates_by_conflict):
        # The full cube's month rows merge few contributions: SQLite adds them row by row in the
        # upsert itself, cheaper than sorting them first (see _accumulate).
        values = ", ".join(COUNTERS)
        grouping = ""
    else:
        values = ", ".join(f"SUM({c})" for c in COUNTERS)
        grouping = f" GROUP BY {', '.join(group)}"
    order = f" ORDER BY {', '.join(group)}" if dialect.orders_upserts else ""
    updates = ", ".join(f"{c} = {target}.{c} + excluded.{c}" for c in COUNTERS)
    return (
        f"INSERT INTO {target} ({', '.join(_KEY)}, {', '.join(COUNTERS)}) "
        f"SELECT {cube}, {grain}, {period}, {', '.join(dim_exprs)}, {values} FROM {source} WHERE 1 = 1"
        f"{grouping}{order} ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET {updates}"
    )


def _keys_sql(dialect: Dialect) -> str:
    """Record the full cube's keys that the staged contributions add to, with their first day.

    A dossier's received date is its earliest contribution (due and close dates are never before
    it), so a key's first day is the earliest received date of a dossier it ever held. Keys are
    never removed: a count over the table bounds the keys a range can show, from above.
    """
    dims = ", ".join(DIMENSIONS)
    if not dialect.accumulates_by_conflict:
        select = f"SELECT {dims}, MIN(d) FROM _contrib WHERE received > 0 GROUP BY {dims} ORDER BY {dims}"
    else:
        select = f"SELECT {dims}, d FROM _contrib WHERE received > 0"
    return (
        f"INSERT INTO rollup_keys ({dims}, first_day) {select} ON CONFLICT ({dims}) "
        "DO UPDATE SET first_day = excluded.first_day WHERE excluded.first_day < rollup_keys.first_day"
    )


def _fold_sql(dialect: Dialect, target: str) -> list[str]:
    """The statements that fold the staged contributions (_contrib) into `target`, in lock order."""
    out = [_keys_sql(dialect)] if target == "rollups" else []
    for cube, grains in CUBE_GRAINS.items():
        if cube != 0:
            out.append(_stage_cube_sql(dialect, cube))
        out += [_upsert_sql(dialect, target, cube, grain) for grain in grains]
    return out


def _temp_ddl(dialect: Dialect) -> list[str]:
    boolean = dialect.boolean_type
    suffix = dialect.temp_suffix
    types = {
        "fee_required": boolean,
        "paid_online": boolean,
        "digitised_intake": boolean,
        "reused_digital_data": boolean,
        "digitised_result": boolean,
        "apology_issued": boolean,
        "finish_class": "SMALLINT",
        "received_date": "DATE",
        "close_date": "DATE",
        "due_date": "DATE",
    }
    cols = ", ".join(f"{c} {types.get(c, 'VARCHAR(1000)')}" for c in STAGED_COLUMNS)
    counters = ", ".join(f"{c} INTEGER NOT NULL" for c in COUNTERS)
    dims = ", ".join(f"{d} VARCHAR(64) NOT NULL" for d in DIMENSIONS)
    days = "d DATE NOT NULL, m DATE NOT NULL, y DATE NOT NULL"

    def keyed(keys: Sequence[str]) -> str:
        # Keyed where rows accumulate by key (see _accumulate); else grouped first.
        return dialect.keyed_temp_end(keys) if dialect.accumulates_by_conflict else ")"

    return [
        f"CREATE TEMP TABLE IF NOT EXISTS _delta (sign INTEGER NOT NULL, {cols}){suffix}",
        f"CREATE TEMP TABLE IF NOT EXISTS _contrib ({days}, {dims}, {counters}{keyed(DIMENSIONS)}{suffix}",
        *(
            f"CREATE TEMP TABLE IF NOT EXISTS _cube{cube} ({days}, "
            + "".join(f"{d} VARCHAR(64) NOT NULL, " for d in CUBES[cube])
            + f"{counters}{keyed(CUBES[cube])}{suffix}"
            for cube in CUBES
            if cube != 0
        ),
    ]


@dataclass(slots=True)
class RollupWriter:
    """Stages signed dossier versions and folds them into the rollups, in the caller's transaction."""

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
        """Stage dossier rows given as mappings (stored versions as read) with a sign."""
        self.stage(sign, [tuple(r[c] for c in STAGED_COLUMNS) for r in rows])

    def stage(self, sign: int, rows: Sequence[Sequence[Any]]) -> None:
        """Stage dossier rows (value tuples in STAGED_COLUMNS order, as the driver takes them) with a sign."""
        if not rows:
            return
        if ("_delta", "s.sign") not in self.sources:
            self.sources.append(("_delta", "s.sign"))
        dialect_of(self.conn).insert_rows(
            self.conn, "_delta", ("sign", *STAGED_COLUMNS), [(sign, *r) for r in rows]
        )

    def stage_table(self, table: str, sign: int) -> None:
        """Count every row of `table` (a staging table with the dossier columns) with `sign` at the fold.

        The caller empties that table after the fold. Reading the rows where they already are saves
        binding them a second time.
        """
        self.sources.append((table, str(int(sign))))

    def fold(self) -> None:
        """Add the staged versions' contributions to every cube and grain, then empty the staging."""
        if not self.sources:
            return
        dialect = dialect_of(self.conn)
        self.conn.exec_driver_sql(_fill_contrib_sql(dialect, self.sources))
        statements = _fold_sql(dialect, "rollups")
        if self.conn.exec_driver_sql(statements[0]).rowcount:
            bump_keys_version(self.conn)
        for sql in statements[1:]:
            self.conn.exec_driver_sql(sql)
        for table in _TEMP_TABLES:
            self.conn.exec_driver_sql(f"DELETE FROM {table}")
        self.sources = []


def bump_keys_version(conn: Connection) -> None:
    conn.exec_driver_sql("UPDATE data_state SET keys_version = keys_version + 1 WHERE id = 1")


def rebuild(conn: Connection, target: str = "rollups") -> None:
    """Recompute `target` (the rollups, or a scratch copy) from the stored dossiers."""
    dialect = dialect_of(conn)
    for ddl in _temp_ddl(dialect):
        conn.exec_driver_sql(ddl)
    conn.exec_driver_sql(f"DELETE FROM {target}")
    if target == "rollups":
        conn.exec_driver_sql("DELETE FROM rollup_keys")
    for table in _TEMP_TABLES:
        conn.exec_driver_sql(f"DELETE FROM {table}")
    conn.exec_driver_sql(_fill_contrib_sql(dialect, [("dossiers", "1")]))
    for sql in _fold_sql(dialect, target):
        conn.exec_driver_sql(sql)
    if target == "rollups":
        bump_keys_version(conn)
    for table in _TEMP_TABLES:
        conn.exec_driver_sql(f"DELETE FROM {table}")


def verify(conn: Connection, limit: int = 20) -> tuple[int, list[dict[str, Any]]]:
    """Compare the rollups with a recomputation; (number of differing rows, the first few)."""
    keys, rows = differences(conn, "rollups", _KEY, COUNTERS, rebuild)
    # The key table may hold keys no dossier holds any more (it bounds from above), never miss one.
    dims = ", ".join(DIMENSIONS)
    key_of = [
        "agency_code",
        "COALESCE(commune_code, '')",
        "COALESCE(sector, '')",
        "procedure_code",
        "channel",
    ]
    named = ", ".join(f"{expr} AS {d}" for expr, d in zip(key_of, DIMENSIONS, strict=True))
    missing_sql = (
        f"SELECT 'missing key' AS side, {dims}, first_day FROM (SELECT {named}, "
        f"MIN(received_date) AS first_day FROM dossiers GROUP BY {', '.join(key_of)}) AS k "
        "WHERE NOT EXISTS (SELECT 1 FROM rollup_keys AS r WHERE r.agency = k.agency "
        "AND r.commune = k.commune AND r.sector = k.sector AND r.procedure = k.procedure "
        "AND r.channel = k.channel AND r.first_day <= k.first_day)"
    )
    missing = [dict(r._mapping) for r in conn.exec_driver_sql(missing_sql)]
    return len(keys) + len(missing), (rows + missing)[:limit]
