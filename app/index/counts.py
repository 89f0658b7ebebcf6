"""The national index's counts per unit and period, from the index rollups (never a scan of dossiers;
for a period in progress, today's late instants are read from today's few dossiers).

The names are those of docs/INDEX.md (idx21_*); app.core.index_counters says how the counters add up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast as typed

from sqlalchemy import Connection, Integer, Table, cast, func, select, text

from app.core.definitions import INDEX_COUNTS
from app.core.index_counters import IN_COUNTERS, INDEX_COUNTERS, OUT_COUNTERS, UNIVERSE_ATTRIBUTES
from app.core.index_derive import CatalogueEntry
from app.core.periods import DAY, Piece, decompose, prefix, report_period
from app.core.timeutil import end_of_day, local_date
from app.models import Dossier
from app.store.index_rollups import AGENCY_CUBE, PROCEDURE_CUBE, index_sums

_DOSSIERS = typed(Table, Dossier.__table__)
_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2})|-Q([1-4]))?$")

# Every count a unit has for a period, in the order responses list them (app.core.definitions).
COUNT_NAMES = tuple(d.name for d in INDEX_COUNTS)


@dataclass(frozen=True, slots=True)
class IndexPeriod:
    """A calendar month, quarter or year, and the instant its open dossiers are judged at."""

    label: str
    start: date
    end: date
    judged_at: datetime  # the end of the last day, or now for a period in progress
    in_progress: bool
    # The last day whose end the state sums are taken at (today for a period in progress).
    state_day: date


def index_period(text: str, now: datetime) -> IndexPeriod:
    """`YYYY-MM`, `YYYY-Qn` or `YYYY` (calendar periods); ValueError for anything else or a future period."""
    if _PERIOD.match(text) is None:  # the index has no half-years and no reporting cut-off
        raise ValueError("period must be YYYY-MM, YYYY-Qn or YYYY")
    calendar_period = report_period(text, "calendar")
    start, end = calendar_period.start, calendar_period.end
    today = local_date(now)
    if start > today:
        raise ValueError("the period has not begun")
    if end >= today:
        return IndexPeriod(text, start, end, now, True, today)
    return IndexPeriod(text, start, end, end_of_day(end), False, end)


def _flow_and_state(
    conn: Connection, period: IndexPeriod
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Per agency: the counters summed over the period, and over every day up to the state day."""
    flows = index_sums(conn, AGENCY_CUBE, decompose(period.start, period.end), ("agency",), INDEX_COUNTERS)
    state_counters = (
        *IN_COUNTERS,
        *OUT_COUNTERS,
        "due_n",
        "due_complaint",
        "due_closed_n",
        "due_closed_complaint",
    )
    if not period.in_progress:
        states = index_sums(conn, AGENCY_CUBE, prefix(period.state_day), ("agency",), state_counters)
    else:
        # Today's late instants are not all past: the state sums are taken to yesterday, today's day
        # row added for every counter but the due ones, and today's due dossiers counted below from
        # those still in processing whose late instant has passed.
        states = index_sums(
            conn, AGENCY_CUBE, prefix(period.state_day - timedelta(days=1)), ("agency",), state_counters
        )
        not_due = tuple(c for c in state_counters if c not in ("due_n", "due_complaint"))
        today = index_sums(
            conn, AGENCY_CUBE, [Piece(DAY, period.state_day, period.state_day)], ("agency",), not_due
        )
        for key, got in today.items():
            acc = states.setdefault(key, dict.fromkeys(state_counters, 0))
            for c, v in got.items():
                acc[c] += v
        d = _DOSSIERS.c
        today_rows = conn.execute(
            select(d.agency_code, func.count(), func.sum(cast(d.complaint, Integer)))
            .where(
                d.idx_late_date == period.state_day,
                d.idx_end_at.is_(None),
                d.idx_late_at < period.judged_at,
            )
            .group_by(d.agency_code)
        )
        for agency, n, complaint in today_rows:
            acc = states.setdefault((agency,), dict.fromkeys(state_counters, 0))
            acc["due_n"] += int(n)
            acc["due_complaint"] += int(complaint or 0)
    return {k[0]: v for k, v in flows.items()}, {k[0]: v for k, v in states.items()}


def unit_counts(flow: Mapping[str, int], state: Mapping[str, int]) -> dict[str, int]:
    """The idx21_ counts of one unit (or a sum of units) from its flows and state sums."""

    def f(c: str) -> int:
        return int(flow.get(c, 0))

    def s(c: str) -> int:
        return int(state.get(c, 0))

    open_ = {a: s(f"in_{a}") - s(f"out_{a}") for a in UNIVERSE_ATTRIBUTES}
    handled = {a: f(f"out_{a}") + open_[a] for a in UNIVERSE_ATTRIBUTES}
    open_late = s("due_n") - s("due_closed_n")
    open_late_complaint = s("due_complaint") - s("due_closed_complaint")
    late = f("out_late") + open_late
    late_complaint = f("out_late_complaint") + open_late_complaint
    return {
        "idx21_handled": handled["n"],
        "idx21_ended": f("out_n"),
        "idx21_open": open_["n"],
        "idx21_judged": handled["n"] - handled["unjudged"],
        "idx21_on_time": f("out_on_time") + open_["n"] - open_["unjudged"] - open_late,
        "idx21_late": late,
        "idx21_unjudged": handled["unjudged"],
        "idx21_uncatalogued": handled["uncatalogued"],
        "idx21_catalogued": handled["n"] - handled["uncatalogued"],
        "idx21_eligible": handled["eligible"],
        "idx21_full_online": handled["full_online"],
        "idx21_electronic": handled["electronic"],
        "idx21_digitised": handled["digitised"],
        "idx21_reused": handled["reused"],
        "idx21_personal_store": handled["personal_store"],
        "idx21_population": handled["population"],
        "idx21_complaint": handled["complaint"],
        "idx21_satisfied": handled["n"] - (late + handled["complaint"] - late_complaint),
        "idx21_fee": f("rcv_fee"),
        "idx21_paid_online": f("rcv_paid"),
        "idx21_finished": f("fin_n"),
        "idx21_work_days": f("fin_work_days"),
    }


def _summed(parts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in parts:
        for k, v in p.items():
            out[k] = out.get(k, 0) + v
    return out


def procedure_counts(
    conn: Connection,
    period: IndexPeriod,
    units: Mapping[str, tuple[str, ...]],
    levels: Mapping[str, str | None],
    catalogue: Mapping[str, CatalogueEntry],
) -> dict[str, dict[str, int]]:
    """3.6b and 3.6c per unit: `units` maps a unit code to its agencies, `levels` a unit to the
    procedure level it counts (None: every level, as for the province).

    3.6b's procedures come from the agency x procedure x month cube, summed in SQL: per agency (or
    for all of them) the fee procedures of the level with a dossier received in the period, and of
    those the ones with a dossier paid online.
    """
    months = decompose(period.start, period.end, years=False)
    lo, hi = months[0].lo, months[-1].hi
    fee = "p.fee = " + ("1" if conn.dialect.name == "sqlite" else "true")
    # Only the catalogue's fee procedures count: their rows alone are summed.
    per_procedure = (
        "SELECT agency, procedure, SUM(in_n) AS n, SUM(rcv_paid) AS paid FROM index_rollups "
        f"WHERE cube = {PROCEDURE_CUBE} AND grain = 1 AND period BETWEEN :lo AND :hi "
        f"AND procedure IN (SELECT code FROM procedures AS p WHERE {fee}) GROUP BY agency, procedure"
    )
    paid_count = "SUM(CASE WHEN x.paid > 0 THEN 1 ELSE 0 END)"
    by_agency: dict[str, tuple[int, int]] = {}
    if any(levels.get(u) is not None for u in units):
        by_agency = {
            agency: (int(n), int(paid))
            for agency, n, paid in conn.execute(
                text(
                    f"SELECT x.agency, COUNT(*), {paid_count} FROM ({per_procedure}) AS x "
                    "JOIN agencies AS a ON a.code = x.agency "
                    f"JOIN procedures AS p ON p.code = x.procedure AND {fee} AND p.level = a.level "
                    "WHERE x.n > 0 GROUP BY x.agency"
                ),
                {"lo": lo, "hi": hi},
            )
        }
    everywhere: tuple[int, int] | None = None
    fee_catalogue: dict[str | None, tuple[int, int]] = {}
    out: dict[str, dict[str, int]] = {}
    for unit, agencies in units.items():
        level = levels.get(unit)
        if level is None:
            if everywhere is None:
                row = conn.execute(
                    text(
                        f"SELECT COUNT(*), {paid_count} FROM (SELECT procedure, "
                        "SUM(n) AS n, SUM(paid) AS paid FROM ("
                        + per_procedure
                        + ") AS y GROUP BY procedure) AS x JOIN procedures AS p ON p.code = x.procedure "
                        f"AND {fee} WHERE x.n > 0"
                    ),
                    {"lo": lo, "hi": hi},
                ).one()
                everywhere = (int(row[0]), int(row[1] or 0))
            had, paid = everywhere
        else:
            had = sum(by_agency.get(a, (0, 0))[0] for a in agencies)
            paid = sum(by_agency.get(a, (0, 0))[1] for a in agencies)
        if level not in fee_catalogue:
            entries = [e for e in catalogue.values() if e.fee and (level is None or e.level == level)]
            fee_catalogue[level] = (len(entries), sum(e.online_payment_integrated for e in entries))
        out[unit] = {
            "idx21_fee_procedures": had,
            "idx21_paid_procedures": paid,
            "idx21_catalogue_fee_procedures": fee_catalogue[level][0],
            "idx21_integrated_procedures": fee_catalogue[level][1],
        }
    return out


def counts_by_unit(
    conn: Connection,
    period: IndexPeriod,
    units: Mapping[str, tuple[str, ...]],
    levels: Mapping[str, str | None],
    catalogue: Mapping[str, CatalogueEntry],
) -> dict[str, dict[str, int]]:
    """Every idx21_ count per unit, a unit being a set of agencies (one agency, or all of them)."""
    flows, states = _flow_and_state(conn, period)
    procedures = procedure_counts(conn, period, units, levels, catalogue)
    out: dict[str, dict[str, int]] = {}
    for unit, agencies in units.items():
        if len(agencies) == 1:  # a department or a commune: its own sums as they are
            counts = unit_counts(flows.get(agencies[0], {}), states.get(agencies[0], {}))
        else:
            counts = unit_counts(
                _summed(flows.get(a, {}) for a in agencies), _summed(states.get(a, {}) for a in agencies)
            )
        counts.update(procedures[unit])
        out[unit] = {name: counts[name] for name in COUNT_NAMES}
    return out
