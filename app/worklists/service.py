"""The worklists' queries: the dossiers of a kind, a page at a time in (deadline, code) order, and
their counts per unit. The rule of each kind is app.core.worklist; the SQL conditions here compare
with the instants and dates it gives, and `items` judges each listed dossier with it.

For the callers to come (the webhook digest, the drill-down), the entry points are:
- `items(conn, kind, filters, options, names, after=None, limit=...)`: one page and the position
  after it;
- `batches(conn, kind, filters, options, names)` / `iter_items(...)`: every item, streamed from one
  statement (bounded memory);
- `summary(conn, unit, filters, options)`: the counts per unit and kind.

Cost: the open kinds read the open dossiers through the index on `close_date` (null while open, a
small share of the stored dossiers); the period kinds' lists read the period's dossiers they can list
through their partial indexes (migration 0010); the period is at most a year (MAX_PERIOD_DAYS). The
summary counts late_without_apology's finished dossiers in its index's order (see `_period_parts`),
and takes unpaid_online and no_electronic_result from the rollups' sums over the period (a few rollup
rows per unit and month; `_rollup_kinds`), not from the dossiers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    case,
    false,
    func,
    or_,
    select,
    true,
)

from app.core import worklist
from app.core.calendar import WorkingCalendar
from app.core.timeutil import to_local
from app.core.vocabulary import DIMENSION_COLUMNS, FINISHED_STATUSES
from app.core.worklist import Kind, Window
from app.models import Dossier, Procedure, tables
from app.models.tables import WL_LATE_UNAPOLOGISED, WL_NO_RESULT, WL_UNPAID
from app.reference.rule_sets import rule_set_in_force
from app.store import repository
from app.store.rollups import choose_cube

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
EXPORT_PAGE = 2000
MAX_PERIOD_DAYS = 366
UNIT_COLUMNS: Mapping[str, str] = {"agency": "agency_code", "commune": "commune_code"}

_D = cast(Table, Dossier.__table__)
_P = cast(Table, Procedure.__table__)

# The worklists' deadline: due_at, else the national deadline derived from the catalogue.
DEADLINE: ColumnElement[datetime] = tables.DEADLINE
_OPEN = _D.c.close_date.is_(None)  # open statuses have no resolved_at, so no close date (indexed)
_AGENCY_CLOCK = _D.c.idx_end_at.is_(None)  # an open dossier with an end is waiting for the applicant
_NO_APOLOGY = _D.c.apology_issued.is_(False)
# The stored supplements are canonical JSON, one "requested_at" key per request.
_TWO_REQUESTS = _D.c.supplements.like("%requested_at%requested_at%")


@dataclass(frozen=True, slots=True)
class Filters:
    """Checked filters (dimension -> values, any matches; absent: all) and the reader's agencies
    (None: every agency), which bound every query."""

    values: Mapping[str, Sequence[str]] = field(default_factory=dict)
    agencies: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Options:
    """The instant lists are judged at, the period of the period kinds, the due-soon horizon in working
    days, and the working-day calendar the deadlines were derived with."""

    now: datetime
    period: Window
    due_within: int
    calendar: WorkingCalendar


@dataclass(frozen=True, slots=True)
class Position:
    """A page's last (deadline, code): the next page starts after it."""

    deadline: datetime | None
    code: str


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    after: Position | None  # None on the last page


_FINISHED = _D.c.status.in_(sorted(FINISHED_STATUSES))


def _closed_in(o: Options) -> ColumnElement[bool]:
    return and_(_D.c.close_date >= o.period.start, _D.c.close_date <= o.period.end)


def _overdue(o: Options) -> ColumnElement[bool]:
    return and_(_OPEN, _AGENCY_CLOCK, DEADLINE < o.now)  # noqa: SIM300


def _late_open(o: Options) -> ColumnElement[bool]:
    """late_without_apology's open branch: overdue, no apology (read with the open dossiers)."""
    return and_(_overdue(o), _NO_APOLOGY)


def _late_finished(o: Options) -> ColumnElement[bool]:
    """late_without_apology's finished branch: finished late in the period, no apology (its partial
    index). A dossier is in at most one branch: the first is open, the second closed."""
    return and_(_closed_in(o), WL_LATE_UNAPOLOGISED, _FINISHED)


def kind_condition(kind: Kind, o: Options) -> ColumnElement[bool]:
    """The SQL of app.core.worklist.kinds_of for one kind, over the dossiers alone. The period kinds
    use the predicates of their partial indexes (migration 0010) as app.models.tables writes them, so
    that both stores read those indexes."""
    deadline = DEADLINE
    period = _closed_in(o)
    finished = _FINISHED
    if kind == "due_soon":
        lo, hi = worklist.due_soon_window(o.now, o.due_within, o.calendar)
        return and_(_OPEN, _AGENCY_CLOCK, deadline >= lo, deadline <= hi)
    if kind == "overdue":
        return _overdue(o)
    if kind == "late_without_apology":
        # Two branches, each read through its own index (the open dossiers'; the late finished ones').
        return or_(_late_open(o), _late_finished(o))
    if kind == "supplement_repeated":
        return and_(_OPEN, _TWO_REQUESTS)
    if kind == "unpaid_online":
        return and_(_D.c.received_date >= o.period.start, _D.c.received_date <= o.period.end, WL_UNPAID)
    if kind == "no_electronic_result":
        return and_(
            period,
            WL_NO_RESULT,
            finished,
            # of a procedure with a paper result or not in the catalogue: none of its electronic ones
            # (a subquery read once, so that the count needs no join)
            _D.c.procedure_code.not_in(select(_P.c.code).where(_P.c.paper_result.is_(False))),
        )
    if kind == "awaiting_supplement":
        return and_(_OPEN, _D.c.idx_end_at.is_not(None))
    raise ValueError(f"not a worklist kind: {kind!r}")


def filter_condition(filters: Filters) -> ColumnElement[bool]:
    conds: list[ColumnElement[bool]] = [
        _D.c[DIMENSION_COLUMNS[dim]].in_(list(values)) for dim, values in filters.values.items() if values
    ]
    if filters.agencies is not None:
        conds.append(_D.c.agency_code.in_(sorted(filters.agencies)) if filters.agencies else false())
    return and_(true(), *conds)


def _after(pos: Position) -> ColumnElement[bool]:
    """Rows after `pos` in the order (deadline nulls last, code)."""
    if pos.deadline is None:
        return and_(DEADLINE.is_(None), _D.c.code > pos.code)
    later = DEADLINE > pos.deadline  # noqa: SIM300
    same = DEADLINE == pos.deadline  # noqa: SIM300
    return or_(later, and_(same, _D.c.code > pos.code), DEADLINE.is_(None))


_JOINED = _D.outerjoin(_P, _P.c.code == _D.c.procedure_code)


def _rows(kind: Kind, filters: Filters, o: Options, after: Position | None, limit: int | None) -> Select[Any]:
    conds = [kind_condition(kind, o), filter_condition(filters)]
    if after is not None:
        conds.append(_after(after))
    query = (
        select(
            _D.c.code,
            _D.c.procedure_code,
            func.coalesce(_P.c.name, _D.c.procedure_name).label("procedure_name"),
            _P.c.paper_result,
            _D.c.agency_code,
            _D.c.commune_code,
            _D.c.sector,
            _D.c.channel,
            _D.c.status,
            _D.c.received_at,
            _D.c.due_at,
            _D.c.idx_deadline_at,
            _D.c.idx_end_at,
            _D.c.resolved_at,
            _D.c.supplements,
            _D.c.apology_issued,
            _D.c.fee_required,
            _D.c.paid_online,
            _D.c.digitised_result,
            DEADLINE.label("deadline"),
        )
        .select_from(_JOINED)
        .where(and_(*conds))
        .order_by(DEADLINE.is_(None), DEADLINE, _D.c.code)
    )
    return query if limit is None else query.limit(limit)


@dataclass(frozen=True, slots=True)
class Names:
    """Unit names by code, and the figures each kind weighs on."""

    agency: Mapping[str, str]
    commune: Mapping[str, str]
    indicators: Mapping[str, tuple[str, ...]]


def indicators_weighed(conn: Connection, o: Options) -> dict[str, tuple[str, ...]]:
    """Per kind, the national index's indicators (the rule set in force at the period's start) whose
    numerator is one of the idx21_ counts the kind withholds."""
    rule_set = rule_set_in_force(conn, o.period.start)
    out: dict[str, tuple[str, ...]] = {}
    for kind in worklist.KINDS:
        withheld = set(worklist.WITHHELD_COUNTS[kind])
        found = () if rule_set is None else rule_set.indicators
        out[kind] = tuple(i.code for i in found if i.numerator is not None and i.numerator in withheld)
    return out


def _iso(value: datetime | None) -> str | None:
    return None if value is None else to_local(value).isoformat()


def item_of(row: Mapping[str, Any], kind: Kind, o: Options, names: Names) -> dict[str, Any]:
    """A listed dossier as the JSON, CSV and XLSX show it."""
    j = worklist.judge(row, kind, o.now, o.calendar)
    commune = row["commune_code"]
    return {
        "code": row["code"],
        "procedure_code": row["procedure_code"],
        "procedure_name": row["procedure_name"],
        "agency_code": row["agency_code"],
        "agency_name": names.agency.get(row["agency_code"]),
        "commune_code": commune,
        "commune_name": None if commune is None else names.commune.get(commune),
        "sector": row["sector"],
        "status": row["status"],
        "received_at": _iso(row["received_at"]),
        "deadline_at": _iso(j.deadline),
        "deadline_source": j.deadline_source,
        "resolved_at": _iso(row["resolved_at"]),
        "clock": j.clock,
        "working_days_left": j.working_days_left,
        "working_days_late": j.working_days_late,
        "supplement_requests": j.supplement_requests,
        "apology_issued": bool(row["apology_issued"]),
        "apology_owed": j.apology_owed,
        "weighs_on": {"rates": list(worklist.rates_weighed(kind)), "index": list(names.indicators[kind])},
    }


def items(
    conn: Connection,
    kind: Kind,
    filters: Filters,
    o: Options,
    names: Names,
    *,
    after: Position | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page:
    """One page of a worklist: at most `limit` dossiers after `after`, in (deadline, code) order
    (dossiers without a deadline last), and the position of the page's last one when more follow."""
    if not 1 <= limit <= EXPORT_PAGE:
        raise ValueError("limit out of range")
    rows: list[Mapping[str, Any]] = [
        dict(r._mapping) for r in conn.execute(_rows(kind, filters, o, after, limit + 1))
    ]
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more else None
    return Page(
        [item_of(r, kind, o, names) for r in rows],
        None if last is None else Position(last["deadline"], last["code"]),
    )


def batches(
    conn: Connection, kind: Kind, filters: Filters, o: Options, names: Names, size: int = EXPORT_PAGE
) -> Iterator[list[dict[str, Any]]]:
    """Every item of a worklist in list order, `size` at a time, from one statement whose rows are
    fetched as they are consumed (a server-side cursor on PostgreSQL): one sort of the list however
    long it is, and a bounded memory. The exports read this; a page at a time would sort it again for
    every page."""
    query = _rows(kind, filters, o, None, None).execution_options(yield_per=size)
    result = conn.execute(query)
    try:
        for part in result.partitions(size):
            yield [item_of(dict(r._mapping), kind, o, names) for r in part]
    finally:
        result.close()


def iter_items(
    conn: Connection, kind: Kind, filters: Filters, o: Options, names: Names
) -> Iterator[dict[str, Any]]:
    """Every item of a worklist, in list order (see `batches`)."""
    for part in batches(conn, kind, filters, o, names):
        yield from part


def count(conn: Connection, kind: Kind, filters: Filters, o: Options) -> int:
    query = select(func.count()).select_from(_D).where(kind_condition(kind, o), filter_condition(filters))
    return int(conn.execute(query).scalar_one())


# The summary's grouped count of late_without_apology's finished branch: its condition as it reads
# its partial index (migration 0010), and the index's leading date column. The index is ordered
# (close_date, agency_code, commune_code, ...), so a count grouped by (date, agency_code[,
# commune_code]) is taken while the index is read in order, and only those groups (at most days x
# units) are sorted into the units; grouped by the unit alone, SQLite would sort every listed
# dossier first (docs/PERFORMANCE.md, the worklists at 10M).
def _period_parts(o: Options) -> tuple[tuple[Kind, ColumnElement[bool], ColumnElement[Any]], ...]:
    return (("late_without_apology", _late_finished(o), _D.c.close_date),)


def _rollup_filters(filters: Filters) -> dict[str, list[str]] | None:
    """`filters` as the rollups' dimension filters, the reader's agencies folded into the agency
    filter (the dossiers' condition asks for both: their intersection); None when no agency is left,
    so that nothing can match. The values are codes of one or more characters, and the rollups keep
    an absent commune or sector as '': a filter value matches exactly the dossiers it would."""
    out = {dim: sorted(set(values)) for dim, values in filters.values.items() if values}
    if filters.agencies is not None:
        allowed = set(filters.agencies) if "agency" not in out else set(out["agency"]) & filters.agencies
        if not allowed:
            return None
        out["agency"] = sorted(allowed)
    return out


# The counters the additive period kinds are read from (app.store.rollups._contrib_select), both in
# the rollup rows of the period's days: fee_required and paid_online (counted only with a fee) by the
# received date, so unpaid_online = fee_required - paid_online; finished (closed, not withdrawn: a
# close date is set only for the closed statuses, so FINISHED_STATUSES with a close date) and
# digitised_result (finished and digitised) by the close date, so finished - digitised_result is every
# finished dossier without an electronic result, of which no_electronic_result leaves out those of a
# procedure whose catalogued result is electronic (read from the full cube, which keeps the procedure).
_UNPAID_TERMS = ("fee_required", "paid_online")
_NO_RESULT_TERMS = ("finished", "digitised_result")


def _electronic_procedures_asked(conn: Connection, dims: Mapping[str, Sequence[str]]) -> bool:
    """Whether the catalogue has a procedure with an electronic result that the filters let in: if
    not, no_electronic_result leaves nothing out and the full cube need not be read."""
    query = select(_P.c.code).where(_P.c.paper_result.is_(False))
    if "procedure" in dims:
        query = query.where(_P.c.code.in_(list(dims["procedure"])))
    return conn.execute(query.limit(1)).first() is not None


def _rollup_kinds(
    conn: Connection, unit: str, filters: Filters, o: Options
) -> dict[str | None, dict[str, int]]:
    """unpaid_online and no_electronic_result per unit, from the rollups (units with a non-zero count)."""
    dims = _rollup_filters(filters)
    if dims is None:
        return {}
    start, end = o.period.start, o.period.end
    cube = choose_cube([unit, *dims])
    sums = repository.period_sums(conn, cube, [unit], dims, start, end, (*_UNPAID_TERMS, *_NO_RESULT_TERMS))
    electronic: dict[repository.Key, dict[str, int]] = {}
    if sums and _electronic_procedures_asked(conn, dims):
        # The full cube's rows of the period (about one a key and month): the summary's largest read.
        electronic = repository.period_sums(
            conn, 0, [unit], dims, start, end, _NO_RESULT_TERMS, electronic_result_only=True
        )
    out: dict[str | None, dict[str, int]] = {}
    for (code,), s in sums.items():
        e = electronic.get((code,), {})
        unpaid = s["fee_required"] - s["paid_online"]
        no_result = s["finished"] - s["digitised_result"]
        no_result -= e.get("finished", 0) - e.get("digitised_result", 0)
        out[code] = {"unpaid_online": unpaid, "no_electronic_result": no_result}
    return out


def summary(conn: Connection, unit: str, filters: Filters, o: Options) -> dict[str | None, dict[str, int]]:
    """The counts per unit (its code; None for dossiers without a ward) and kind, for units with at
    least one listed dossier: one pass over the open dossiers for the open kinds and the open branch
    of late_without_apology, one grouped count of late_without_apology's finished branch (added to its
    open one), and unpaid_online and no_electronic_result summed from the rollups (`_rollup_kinds`)."""
    key = _D.c[UNIT_COLUMNS[unit]]
    out: dict[str | None, dict[str, int]] = {}

    def add(unit_code: str | None, kind: str, n: int) -> None:
        if n:
            out.setdefault(unit_code, dict.fromkeys(worklist.KINDS, 0))[kind] += int(n)

    open_parts: list[tuple[Kind, ColumnElement[bool]]] = [
        *((k, kind_condition(k, o)) for k in worklist.OPEN_KINDS),
        ("late_without_apology", _late_open(o)),
    ]
    open_counts = [func.sum(case((cond, 1), else_=0)).label(k) for k, cond in open_parts]
    query = (
        select(key.label("unit"), *open_counts)
        .select_from(_D)
        .where(_OPEN, filter_condition(filters))
        .group_by(key)
    )
    for row in conn.execute(query):
        for k, _ in open_parts:
            add(row.unit, k, row._mapping[k] or 0)
    in_index_order = [_D.c.agency_code] if unit == "agency" else [_D.c.agency_code, _D.c.commune_code]
    for k, cond, day in _period_parts(o):
        groups = (
            select(key.label("unit"), func.count().label("n"))
            .select_from(_D)
            .where(cond, filter_condition(filters))
            .group_by(day, *in_index_order)
            .subquery()
        )
        q = select(groups.c.unit, func.sum(groups.c.n).label("n")).group_by(groups.c.unit)
        for row in conn.execute(q):
            add(row.unit, k, row.n)
    for code, counts in _rollup_kinds(conn, unit, filters, o).items():
        for name, n in counts.items():
            add(code, name, n)
    return out


__all__ = [
    "DEADLINE",
    "Filters",
    "Names",
    "Options",
    "Page",
    "Position",
    "count",
    "indicators_weighed",
    "items",
    "iter_items",
    "kind_condition",
    "summary",
]
