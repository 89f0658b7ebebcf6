"""Which handled dossiers cost an indicator its points in a period, and why (the drill-down's
`index_loss`): the same universe and judging instant as app.index.counts, as SQL conditions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_

from app.core.calendar import WorkingCalendar
from app.core.index_counters import IndexClass
from app.core.index_derive import index_reason
from app.index.counts import IndexPeriod
from app.models import Dossier

# The indicators whose losses are dossiers (the others are procedures, declared values or 0 points).
DOSSIER_INDICATORS = ("2.1", "3.0", "3.6a", "4.1", "4.2", "4.3", "4.4", "4.5a", "5.4")


def _handled(p: IndexPeriod) -> ColumnElement[bool]:
    d = Dossier
    ended_in = and_(d.idx_end_date >= p.start, d.idx_end_date <= p.state_day)
    open_at = and_(
        d.received_date <= p.state_day, or_(d.idx_end_date.is_(None), d.idx_end_date > p.state_day)
    )
    return or_(ended_in, open_at)


def _open_at(p: IndexPeriod) -> ColumnElement[bool]:
    d = Dossier
    return and_(d.received_date <= p.state_day, or_(d.idx_end_date.is_(None), d.idx_end_date > p.state_day))


def _late(p: IndexPeriod) -> ColumnElement[bool]:
    """Late under rule 2.1 at the period's judging instant (as the rollups count it)."""
    d = Dossier
    ended_late = and_(
        d.idx_end_date >= p.start, d.idx_end_date <= p.state_day, d.idx_class == int(IndexClass.LATE)
    )
    if p.in_progress:
        late_by_then = or_(
            d.idx_late_date < p.state_day, and_(d.idx_late_date == p.state_day, d.idx_late_at < p.judged_at)
        )
    else:
        late_by_then = d.idx_late_date <= p.state_day
    return or_(ended_late, and_(_open_at(p), d.idx_late_date.is_not(None), late_by_then))


def loss_condition(indicator: str, p: IndexPeriod) -> ColumnElement[bool]:
    """The dossiers of the period that are not successes of `indicator` (within its denominator)."""
    d = Dossier
    if indicator == "3.6a":
        return and_(
            d.received_date >= p.start,
            d.received_date <= p.end,
            d.fee_required.is_(True),
            d.paid_online.is_(False),
        )
    handled = _handled(p)
    fails: dict[str, ColumnElement[bool]] = {
        "2.1": _late(p),
        "3.0": and_(d.idx_eligible.is_(True), d.idx_full_online.is_(False)),
        "4.1": and_(d.idx_catalogued.is_(True), d.idx_electronic.is_(False)),
        "4.2": and_(d.idx_catalogued.is_(True), d.idx_digitised.is_(False)),
        "4.3": d.reused_digital_data.is_(False),
        "4.4": d.from_personal_store.is_(False),
        "4.5a": d.population_data.is_(False),
        "5.4": or_(_late(p), d.complaint.is_(True)),
    }
    return and_(handled, fails.get(indicator, false()))


def as_judged(row: Mapping[str, Any], p: IndexPeriod) -> dict[str, Any]:
    """The row as it stood at the judging instant: a dossier that ended after it was in processing."""
    out = dict(row)
    end_date = out.get("idx_end_date")
    if end_date is not None and end_date > p.state_day:
        out["idx_end_at"], out["idx_end_date"] = None, None
        out["idx_class"] = int(IndexClass.OPEN) if out.get("idx_late_at") is not None else out["idx_class"]
    return out


def reason(indicator: str, row: Mapping[str, Any], p: IndexPeriod, calendar: WorkingCalendar) -> str | None:
    if indicator == "3.6a":
        return "fee not paid online"
    judged_at: datetime = p.judged_at
    return index_reason(indicator, as_judged(row, p), judged_at, calendar)
