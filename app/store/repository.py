"""SQL over the rollups (and, for "now", over today's few dossiers). Never a scan of all dossiers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from app.core.counters import COUNTERS, STATE_COUNTERS
from app.core.periods import DAY, MONTH, Bucket, Piece, decompose, next_month, prefix
from app.core.vocabulary import DIMENSION_COLUMNS, DIMENSIONS
from app.store.dialect import dialect_of
from app.store.rollups import CUBE_GRAINS, CUBES, YEAR

Key = tuple[str | None, ...]
Filters = Mapping[str, Sequence[str]]


class _Params:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f":{name}"


def _filter_sql(filters: Filters, params: _Params, column: Mapping[str, str] | None = None) -> str:
    parts = []
    for dim, values in filters.items():
        col = column[dim] if column else dim
        marks = ", ".join(params.add(v) for v in values)
        parts.append(f" AND {col} IN ({marks})")
    return "".join(parts)


def merge_pieces(pieces: Iterable[Piece]) -> list[Piece]:
    """Adjacent pieces of one grain as one range, so a year of months is one index range scan."""
    out: list[Piece] = []
    for p in sorted(pieces, key=lambda p: (p.grain, p.lo)):
        last = out[-1] if out else None
        if last is not None and last.grain == p.grain and _next_period(last.grain, last.hi) >= p.lo:
            out[-1] = Piece(p.grain, last.lo, max(last.hi, p.hi))
        else:
            out.append(p)
    return out


def _next_period(grain: int, start: date) -> date:
    if grain == DAY:
        return start + timedelta(days=1)
    if grain == MONTH:
        return next_month(start)
    return date(start.year + 1, 1, 1)


def _sums_sql(
    cube: int,
    pieces: Sequence[Piece],
    filters: Filters,
    group: Sequence[str],
    counters: Sequence[str],
    params: _Params,
    where: str = "",
) -> str:
    """Counter sums per `group` over the rollup rows of `cube` in `pieces`: one aggregate per piece.

    Each branch is one index range scan on the primary key, summed on its own; the caller adds the
    branches up. (A WHERE with the ranges OR-ed together makes SQLite scan the whole cube, and one
    aggregate over a UNION ALL of the ranges loses the index order that streams the grouping.)
    `where`, when given, is one more condition on the rows (" AND ...").
    """
    cols = "".join(f"{g}, " for g in group)
    sums = ", ".join(f"SUM({c})" for c in counters)
    grouping = f" GROUP BY {', '.join(group)}" if group else ""
    return " UNION ALL ".join(
        f"SELECT {cols}{sums} FROM rollups WHERE cube = {int(cube)} AND grain = {p.grain} AND period BETWEEN "
        f"{params.add(p.lo)} AND {params.add(p.hi)}{_filter_sql(filters, params)}{where}{grouping}"
        for p in merge_pieces(pieces)
    )


def _accumulate(
    out: dict[Any, dict[str, int]], slot: Any, names: Sequence[str], values: Sequence[Any]
) -> None:
    acc = out.get(slot)
    if acc is None:
        out[slot] = dict(zip(names, (int(v or 0) for v in values), strict=True))
    else:
        for name, v in zip(names, values, strict=True):
            acc[name] += int(v or 0)


def _key(row: Sequence[Any], start: int, n: int) -> Key:
    return tuple(v if v != "" else None for v in row[start : start + n])


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def flows(
    conn: Connection,
    cube: int,
    dims: Sequence[str],
    filters: Filters,
    buckets: Sequence[Bucket],
) -> dict[tuple[int, Key], list[int]]:
    """Every counter summed per (bucket index, dimension key) over each bucket's days.

    The sums are lists in COUNTERS order: an answer can have a hundred thousand of them at once,
    and a list of ints costs a fifth of a dict of named counters.

    The database sums rows per (grain, period, key); each (grain, period) lies in exactly one bucket,
    since buckets are cut into whole years, whole months and days, and the buckets' sums are added up
    here. A CASE expression mapping periods to buckets in SQL costs more than it saves.
    """
    params = _Params()
    years = YEAR in CUBE_GRAINS[cube]
    owner: dict[tuple[int, date], int] = {}
    pieces: list[Piece] = []
    for i, b in enumerate(buckets):
        for p in decompose(b.start, b.end, years):
            pieces.append(p)
            cur = p.lo
            while cur <= p.hi:
                owner[(p.grain, cur)] = i
                cur = _next_period(p.grain, cur)
    # One bucket: the database sums per key. Several: per (grain, period, key).
    periods = ["grain", "period"] if len(buckets) > 1 else []
    sql = _sums_sql(cube, pieces, filters, [*periods, *dims], COUNTERS, params)
    out: dict[tuple[int, Key], list[int]] = {}
    n = len(dims)
    skip = len(periods)
    for row in conn.execute(text(sql), params.values):
        values = row[skip + n :]
        if not any(values):
            continue  # nothing matched (an aggregate without GROUP BY still answers one row)
        bucket = owner[(int(row[0]), _as_date(row[1]))] if skip else 0
        slot = (bucket, _key(row, skip, n))
        acc = out.get(slot)
        if acc is None:
            out[slot] = [int(v or 0) for v in values]
        else:
            for j, v in enumerate(values):
                acc[j] += int(v or 0)
    return out


def period_sums(
    conn: Connection,
    cube: int,
    dims: Sequence[str],
    filters: Filters,
    start: date,
    end: date,
    counters: Sequence[str],
    *,
    electronic_result_only: bool = False,
) -> dict[Key, dict[str, int]]:
    """`counters` summed over the days [start, end] per dimension key (keys with a non-zero sum).

    On the full cube (0: about a row per key and month), when the dimensions asked for lead its
    primary key (period, agency, commune, ...), the database sums per period and key, in the key's
    order, so the rows are summed as the range is read instead of each being sorted into its key
    (by agency at 1M dossiers, a third less time), and those sums, at most periods x keys, are
    added up here. Otherwise (by commune: agency comes first) more groups would cost more than the
    sort, and the database sums per key, as on the smaller cubes, which hold few rows a period.
    `electronic_result_only` keeps the rows of procedures the catalogue gives an electronic result
    (paper_result false); only the full cube keeps the procedure, so it asks for that cube.
    """
    where = ""
    if electronic_result_only:
        if "procedure" not in CUBES[cube]:
            raise ValueError(f"cube {cube} keeps no procedure")
        paper = dialect_of(conn).true("paper_result")
        where = f" AND procedure IN (SELECT code FROM procedures WHERE NOT ({paper}))"
    leading = cube == 0 and tuple(dims) == DIMENSIONS[: len(dims)]
    group = ["period", *dims] if leading else list(dims)
    picks = [group.index(d) for d in dims]
    params = _Params()
    pieces = decompose(start, end, YEAR in CUBE_GRAINS[cube])
    sql = _sums_sql(cube, pieces, filters, group, counters, params, where)
    out: dict[Key, dict[str, int]] = {}
    n = len(group)
    for row in conn.execute(text(sql), params.values):
        if any(row[n:]):
            key = tuple(None if row[i] == "" else row[i] for i in picks)
            _accumulate(out, key, counters, row[n:])
    return out


def prefix_sums(
    conn: Connection, cube: int, dims: Sequence[str], filters: Filters, day: date
) -> dict[Key, dict[str, int]]:
    """The state counters summed over every day up to and including `day`, per dimension key."""
    params = _Params()
    pieces = prefix(day, YEAR in CUBE_GRAINS[cube])
    if not pieces:
        # The eve of the first day the rollups cover (a range starting on EPOCH): nothing yet.
        return {}
    sql = _sums_sql(cube, pieces, filters, dims, STATE_COUNTERS, params)
    out: dict[Key, dict[str, int]] = {}
    n = len(dims)
    for row in conn.execute(text(sql), params.values):
        if any(row[n:]):
            _accumulate(out, _key(row, 0, n), STATE_COUNTERS, row[n:])
    return out


def today_changes(
    conn: Connection, dims: Sequence[str], filters: Filters, today: date, now: datetime
) -> dict[Key, dict[str, int]]:
    """What happened today before `now`, from the few dossiers received, closed or due today.

    received: received today before now; closed: closed today before now; closed_overdue(_apology):
    closed today before now with an earlier due date; due_now(_apology): due today before now and
    not closed before now.
    """
    params = _Params()
    cols = [f"COALESCE({DIMENSION_COLUMNS[d]}, '')" for d in dims]
    dialect = dialect_of(conn)
    t, n_ = params.add(today), params.add(dialect.instant(now))
    closed_now = f"(close_date IS NOT NULL AND resolved_at < {n_})"
    closed_today = f"(close_date = {t} AND resolved_at < {n_})"
    apology = dialect.true("apology_issued")
    due_now = f"due_date = {t} AND due_at < {n_} AND NOT {closed_now}"
    sums = {
        "received": f"received_date = {t} AND received_at < {n_}",
        "closed": closed_today,
        "closed_overdue": f"{closed_today} AND due_date < {t}",
        "closed_overdue_apology": f"{closed_today} AND due_date < {t} AND {apology}",
        "due_now": due_now,
        "due_now_apology": f"{due_now} AND {apology}",
    }
    sum_sql = ", ".join(f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)" for cond in sums.values())
    select_dims = "".join(f"{c}, " for c in cols)
    group = f" GROUP BY {', '.join(cols)}" if cols else ""
    sql = (
        f"SELECT {select_dims}{sum_sql} FROM dossiers WHERE (received_date = {t} OR close_date = {t} "
        f"OR due_date = {t}){_filter_sql(filters, params, DIMENSION_COLUMNS)}{group}"
    )
    out: dict[Key, dict[str, int]] = {}
    n = len(dims)
    for row in conn.execute(text(sql), params.values):
        out[_key(row, 0, n)] = dict(zip(sums, (int(v or 0) for v in row[n:]), strict=True))
    return out


def data_state(conn: Connection) -> tuple[int, datetime | None]:
    row = conn.execute(text("SELECT version, changed_at FROM data_state WHERE id = 1")).first()
    if row is None:
        return 0, None
    changed = row[1]
    if isinstance(changed, str):
        changed = datetime.fromisoformat(changed)
    if changed is not None and changed.tzinfo is None:
        changed = changed.replace(tzinfo=UTC)
    return int(row[0]), changed


def keys_version(conn: Connection) -> int:
    """Moves whenever rollup_keys changes: a key bound read at one keys version holds until the next."""
    return int(conn.execute(text("SELECT keys_version FROM data_state WHERE id = 1")).scalar() or 0)


def key_bound(conn: Connection, dims: Sequence[str], filters: Filters, end: date) -> int:
    """An upper bound on the dimension keys a range ending on `end` can show, from rollup_keys.

    Every key that had a dossier received on or before `end` (filtered as asked), counted once per
    distinct combination of the grouped dimensions. A key whose dossiers all closed long before is
    counted too: it is a bound, never an undercount.
    """
    if not dims:
        return 1
    params = _Params()
    cols = ", ".join(dims)
    sql = (
        f"SELECT COUNT(*) FROM (SELECT DISTINCT {cols} FROM rollup_keys WHERE first_day <= "
        f"{params.add(end)}{_filter_sql(filters, params)}) AS k"
    )
    return int(conn.execute(text(sql), params.values).scalar_one())
