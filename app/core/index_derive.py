"""Rule 2.1 of the national index (Decision 766) per dossier, the catalogue-based facts of the other
computed indicators, and why a dossier is not a success of an indicator. Pure: no database and no web.

`derive` turns a dossier's stored columns, its procedure's catalogue entry (or None) and the
working-day calendar into the `idx_*` columns (docs/INDEX.md):

- the national **end of processing**: `resolved_at` for resolved, returned, rejected and withdrawn
  dossiers; for a dossier still in processing whose only request for supplements is unanswered, the
  instant of that request; otherwise none (the dossier is open);
- the **effective deadline** D*: `due_at` plus the answered pauses in clock time (the same as taking
  them off the end), or, without `due_at`, the procedure's legal maximum counted from the day after
  receipt and moved by the working days the answered pauses cover;
- the **class**: ON_TIME / LATE for an ended dossier, OPEN for one still in processing (late after
  `idx_late_at`: D*, or its second supplement request when earlier), UNJUDGED without a deadline.

`is_success` says what each computed indicator counts, and `index_reason` why a handled dossier is not
one of its successes, in the words the drill-down shows.
"""

from __future__ import annotations

import calendar as _monthcal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from app.core.calendar import WorkingCalendar
from app.core.index_counters import IndexClass
from app.core.supplements import Supplement, load_supplements
from app.core.timeutil import end_of_day, local_date, start_of_day
from app.core.vocabulary import CLOSED_STATUSES

DurationUnit = Literal["working_days", "days", "hours", "months"]
DURATION_UNITS: tuple[str, ...] = ("working_days", "days", "hours", "months")

# The statuses whose end of processing counts working days for 2.2 (finished with a result).
WORK_DAYS_STATUSES = frozenset({"resolved", "returned"})

# The computed per-dossier indicators, in the rule set's order.
DOSSIER_INDICATORS: tuple[str, ...] = ("2.1", "3.0", "4.1", "4.2", "4.3", "4.4", "4.5a", "5.4")

DERIVED_KEYS: tuple[str, ...] = (
    "idx_end_at",
    "idx_end_date",
    "idx_class",
    "idx_deadline_at",
    "idx_late_at",
    "idx_late_date",
    "idx_work_days",
    "idx_catalogued",
    "idx_eligible",
    "idx_full_online",
    "idx_electronic",
    "idx_digitised",
)

_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """What the index reads of a procedure in the catalogue."""

    level: str | None = None  # "province" | "commune"
    max_duration_value: int | None = None
    max_duration_unit: DurationUnit | None = None
    paper_result: bool = False
    fee: bool = False
    full_online_eligible: bool = False
    full_online_offered: bool = False
    online_payment_integrated: bool = False


# --- small helpers -----------------------------------------------------------------------------


def boundary_day(instant: datetime) -> date:
    """The local day an instant closes: a deadline (or judging instant) at 00:00 is the end of the
    day before, so 24:00 of day X is day X."""
    return local_date(instant - _TICK)


def add_months(d: date, months: int) -> date:
    """The same day `months` later, clamped to the end of a shorter month (31 Jan + 1 → 28 Feb)."""
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(d.day, _monthcal.monthrange(year, month)[1]))


def supplements_of(row: Mapping[str, Any]) -> tuple[Supplement, ...]:
    """The supplement requests of a row: its canonical stored text, or already a sequence."""
    value = row.get("supplements")
    if value is None or isinstance(value, str):
        return load_supplements(value)
    items: Sequence[Supplement] = value
    return tuple(items)


def answered(items: Sequence[Supplement]) -> list[tuple[datetime, datetime]]:
    """The answered pauses, (requested_at, supplied_at)."""
    return [(s.requested_at, s.supplied_at) for s in items if s.supplied_at is not None]


def pause_clock_time(items: Sequence[Supplement]) -> timedelta:
    """The clock time of the answered pauses."""
    return sum((b - a for a, b in answered(items)), timedelta(0))


def pause_working_days(items: Sequence[Supplement], calendar: WorkingCalendar) -> int:
    """The working days the answered pauses cover: a day counts when its local date is in
    [date(requested_at), date(supplied_at)). Requests do not overlap, so the sum is the union."""
    total = 0
    for a, b in answered(items):
        first, stop = local_date(a), local_date(b)
        if stop > first:
            total += calendar.working_days_in(first, stop - timedelta(days=1))
    return total


def catalogue_deadline(
    received_at: datetime, entry: CatalogueEntry | None, calendar: WorkingCalendar
) -> datetime | None:
    """The legal deadline of a dossier from its procedure's maximum duration (None without one)."""
    if entry is None or entry.max_duration_value is None or entry.max_duration_value < 0:
        return None
    n, unit = entry.max_duration_value, entry.max_duration_unit
    day = local_date(received_at)
    if unit == "working_days":
        return end_of_day(calendar.add_working_days(day, n))
    if unit == "days":
        return end_of_day(day + timedelta(days=n))
    if unit == "hours":
        return received_at + timedelta(hours=n)
    if unit == "months":
        return end_of_day(add_months(day, n))
    return None


def move_by_working_days(deadline: datetime, n: int, calendar: WorkingCalendar) -> datetime:
    """A deadline moved `n` working days later, keeping its time of day (24:00 of day X moves as X)."""
    if n <= 0:
        return deadline
    day = boundary_day(deadline)
    offset = deadline - start_of_day(day)  # in (0, 24 h]
    return start_of_day(calendar.add_working_days(day, n)) + offset


# --- derivation --------------------------------------------------------------------------------


def _flags(row: Mapping[str, Any], entry: CatalogueEntry | None) -> dict[str, bool]:
    if entry is None:
        return dict.fromkeys(
            ("idx_catalogued", "idx_eligible", "idx_full_online", "idx_electronic", "idx_digitised"), False
        )
    level = row.get("online_level")
    full = level == "full" or (level is None and row.get("channel") == "online" and entry.full_online_offered)
    result = bool(row.get("digitised_result"))
    return {
        "idx_catalogued": True,
        "idx_eligible": entry.full_online_eligible,
        "idx_full_online": entry.full_online_eligible and full,
        "idx_electronic": entry.paper_result and result,
        "idx_digitised": bool(row.get("digitised_intake")) and (result or not entry.paper_result),
    }


def derive(row: Mapping[str, Any], entry: CatalogueEntry | None, calendar: WorkingCalendar) -> dict[str, Any]:
    """The idx_* columns (all but idx_rev) of a dossier under rule 2.1 and the catalogue."""
    status = row["status"]
    received_at: datetime = row["received_at"]
    due_at: datetime | None = row.get("due_at")
    items = supplements_of(row)

    # End of processing.
    end_at: datetime | None = None
    if status in CLOSED_STATUSES:
        end_at = row.get("resolved_at") or row.get("returned_at")  # a closed record has resolved_at
    elif len(items) == 1 and items[0].supplied_at is None:
        end_at = items[0].requested_at

    # Effective deadline.
    deadline: datetime | None
    if due_at is not None:
        deadline = due_at + pause_clock_time(items)
    else:
        legal = catalogue_deadline(received_at, entry, calendar)
        moved = pause_working_days(items, calendar)
        deadline = None if legal is None else move_by_working_days(legal, moved, calendar)

    late_at: datetime | None = None
    if end_at is not None:
        if deadline is None:
            cls = IndexClass.UNJUDGED
        else:
            cls = IndexClass.ON_TIME if end_at <= deadline else IndexClass.LATE
    else:
        second = items[1].requested_at if len(items) >= 2 else None
        candidates = [t for t in (deadline, second) if t is not None]
        late_at = min(candidates) if candidates else None
        cls = IndexClass.UNJUDGED if late_at is None else IndexClass.OPEN

    work_days: int | None = None
    if status in WORK_DAYS_STATUSES and end_at is not None:
        spent = calendar.working_days_between(local_date(received_at), local_date(end_at))
        work_days = max(0, spent - pause_working_days(items, calendar))

    return {
        "idx_end_at": end_at,
        "idx_end_date": None if end_at is None else local_date(end_at),
        "idx_class": cls,
        "idx_deadline_at": deadline,
        "idx_late_at": late_at,
        "idx_late_date": None if late_at is None else max(local_date(late_at), local_date(received_at)),
        "idx_work_days": work_days,
        **_flags(row, entry),
    }


# --- what each indicator counts, and why a dossier is not a success ----------------------------


def late_at_judging(row: Mapping[str, Any], judged_at: datetime) -> bool:
    """Whether a handled dossier is late under rule 2.1 at the judging instant."""
    cls = row["idx_class"]
    if cls == IndexClass.LATE:
        return True
    late_at: datetime | None = row.get("idx_late_at")
    return cls == IndexClass.OPEN and late_at is not None and judged_at > late_at


def is_success(indicator: str, row: Mapping[str, Any], judged_at: datetime) -> bool | None:
    """Whether a handled dossier is a success of a computed indicator at the judging instant; None
    when it is outside the indicator's denominator (unjudged for 2.1; uncatalogued for 3.0, 4.1,
    4.2; not eligible for full-online service for 3.0)."""
    if indicator == "2.1":
        if row["idx_class"] == IndexClass.UNJUDGED:
            return None
        return not late_at_judging(row, judged_at)
    if indicator in ("3.0", "4.1", "4.2") and not row["idx_catalogued"]:
        return None
    if indicator == "3.0":
        return bool(row["idx_full_online"]) if row["idx_eligible"] else None
    if indicator == "4.1":
        return bool(row["idx_electronic"])
    if indicator == "4.2":
        return bool(row["idx_digitised"])
    if indicator == "4.3":
        return bool(row.get("reused_digital_data"))
    if indicator == "4.4":
        return bool(row.get("from_personal_store"))
    if indicator == "4.5a":
        return bool(row.get("population_data"))
    if indicator == "5.4":
        return not late_at_judging(row, judged_at) and not row.get("complaint")
    raise ValueError(f"not a per-dossier indicator: {indicator!r}")


def _late_by(deadline_day: date, day: date, calendar: WorkingCalendar) -> str:
    n = calendar.working_days_between(deadline_day, day)
    if n < 1:
        return "late by less than 1 working day"
    return f"late by {n} working day" + ("" if n == 1 else "s")


def _late_reasons(row: Mapping[str, Any], judged_at: datetime, calendar: WorkingCalendar) -> list[str]:
    """Why a dossier is late under rule 2.1 at the judging instant (empty when it is not)."""
    if not late_at_judging(row, judged_at):
        return []
    deadline: datetime | None = row.get("idx_deadline_at")
    if row["idx_class"] == IndexClass.LATE:
        assert deadline is not None  # an ended dossier is late only against a deadline
        return [_late_by(boundary_day(deadline), local_date(row["idx_end_at"]), calendar)]
    out = []
    if deadline is not None and judged_at > deadline:
        out.append(_late_by(boundary_day(deadline), boundary_day(judged_at), calendar))
    items = supplements_of(row)
    if len(items) >= 2 and judged_at > items[1].requested_at:
        out.append("second supplement request")
    return out


def index_reason(
    indicator: str, row: Mapping[str, Any], judged_at: datetime, calendar: WorkingCalendar
) -> str | None:
    """Why a handled dossier is not a success of an indicator at the judging instant (reasons joined
    by "; "), or None when it is one. `row` carries the idx_* columns and the record's inputs.

    Dossiers outside the denominator (is_success None) get their reason too: "no deadline
    (unjudged)", "uncatalogued procedure", "procedure not eligible for full-online service".
    """
    if is_success(indicator, row, judged_at):
        return None
    if indicator == "2.1":
        if row["idx_class"] == IndexClass.UNJUDGED:
            return "no deadline (unjudged)"
        return "; ".join(_late_reasons(row, judged_at, calendar))
    if indicator in ("3.0", "4.1", "4.2") and not row["idx_catalogued"]:
        return "uncatalogued procedure"
    if indicator == "3.0":
        return "not full-online" if row["idx_eligible"] else "procedure not eligible for full-online service"
    if indicator == "4.1":
        if not row.get("digitised_result"):
            if _paper_result(row):
                return "no electronic result, paper result required"
            return "no electronic result"
        return "procedure requires no paper result"
    if indicator == "4.2":
        out = []
        if not row.get("digitised_intake"):
            out.append("not digitised at intake")
        if not row.get("digitised_result") and _paper_result(row) is True:
            out.append("no electronic result")
        return "; ".join(out)
    if indicator == "4.3":
        return "no reuse of digitised data"
    if indicator == "4.4":
        return "not from the personal data store"
    if indicator == "4.5a":
        return "no population data"
    # 5.4
    out = _late_reasons(row, judged_at, calendar)
    if row.get("complaint"):
        out.append("complaint")
    return "; ".join(out)


def _paper_result(row: Mapping[str, Any]) -> bool | None:
    """The procedure's paper_result as the row tells it: the `paper_result` key when the caller joined
    the catalogue, else what the derived flags imply (None when they do not settle it)."""
    if "paper_result" in row and row["paper_result"] is not None:
        return bool(row["paper_result"])
    if row.get("idx_electronic"):
        return True
    if row.get("digitised_intake") and not row.get("digitised_result"):
        # idx_digitised = intake and (result or not paper_result)
        return not row.get("idx_digitised")
    return None
