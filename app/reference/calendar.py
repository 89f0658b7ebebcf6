"""The province's working-day calendar: its own days off and make-up working days per year (table
calendar_days) over the national calendar of the pure core (weekends, public holidays)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, insert, select

from app.core.calendar import (
    Holiday,
    WorkingCalendar,
    holidays_of,
    is_national_working_day,
    is_weekend,
    national_make_up_days,
)
from app.core.errors import ValidationFailed
from app.core.periods import month_end
from app.models.tables import CalendarDay

_DAYS = cast(Table, CalendarDay.__table__)


@dataclass(frozen=True, slots=True)
class DayException:
    day: date
    working: bool  # True: a make-up working day; False: a day off
    note: str | None = None


@dataclass(frozen=True, slots=True)
class YearCalendar:
    year: int
    weekend_days: int
    public_holidays: tuple[Holiday, ...]
    public_make_up_days: tuple[date, ...]
    days_off: tuple[DayException, ...]
    make_up_days: tuple[DayException, ...]
    working_days: int
    months: tuple[int, ...]  # working days of January … December


def exceptions_of(conn: Connection, year: int) -> list[DayException]:
    """The province's exceptions of one year, by day."""
    rows = conn.execute(
        select(_DAYS.c.day, _DAYS.c.working, _DAYS.c.note)
        .where(_DAYS.c.day >= date(year, 1, 1), _DAYS.c.day <= date(year, 12, 31))
        .order_by(_DAYS.c.day)
    )
    return [DayException(d, bool(w), n) for d, w, n in rows]


def working_calendar(conn: Connection) -> WorkingCalendar:
    """The national calendar with every exception the province stored (a few rows a year)."""
    return WorkingCalendar({d: bool(w) for d, w in conn.execute(select(_DAYS.c.day, _DAYS.c.working))})


def check_exceptions(year: int, items: Sequence[DayException]) -> None:
    """A year's exceptions as PUT sends them: each day in the year, at most once, and each one a change:
    a day off on a working day of the national calendar, a make-up day on a day off. Errors name the
    item (`body.<index>.day`)."""
    errors: list[dict[str, Any]] = []
    seen: dict[date, int] = {}

    def bad(i: int, msg: str, kind: str = "value_error") -> None:
        errors.append({"loc": ["body", i, "day"], "msg": msg, "type": kind})

    for i, item in enumerate(items):
        d = item.day
        if d.year != year:
            bad(i, f"not a day of {year}", "wrong_year")
        elif d in seen:
            bad(i, f"{d.isoformat()} is already item {seen[d]}", "duplicate")
        elif not item.working and not is_national_working_day(d):
            bad(i, f"{d.isoformat()} is already a day off ({_why_off(d)})", "already_off")
        elif item.working and is_national_working_day(d):
            bad(i, f"{d.isoformat()} is already a working day", "already_working")
        seen.setdefault(d, i)
    if errors:
        where = ", ".join(f"body.{e['loc'][1]}.day" for e in errors)
        raise ValidationFailed(f"Invalid calendar days: {where}", errors=errors)


def _why_off(d: date) -> str:
    names = [h.name for h in holidays_of(d.year) if h.day == d]
    if names:
        return names[0]
    return "Saturday" if d.weekday() == 5 else "Sunday"


def replace_year(conn: Connection, year: int, items: Sequence[DayException]) -> bool:
    """The year's exceptions become exactly `items` (checked by `check_exceptions`), in the caller's
    transaction; whether the working days changed (a note alone changes none)."""
    before = {e.day: e.working for e in exceptions_of(conn, year)}
    conn.execute(delete(_DAYS).where(_DAYS.c.day >= date(year, 1, 1), _DAYS.c.day <= date(year, 12, 31)))
    if items:
        conn.execute(insert(_DAYS), [{"day": i.day, "working": i.working, "note": i.note} for i in items])
    return before != {i.day: i.working for i in items}


def year_calendar(conn: Connection, year: int) -> YearCalendar:
    """The year as the calendar endpoint shows it."""
    exceptions = exceptions_of(conn, year)
    cal = WorkingCalendar({e.day: e.working for e in exceptions})
    first = date(year, 1, 1)
    days = (date(year + 1, 1, 1) - first).days
    months = tuple(cal.working_days_in(date(year, m, 1), month_end(date(year, m, 1))) for m in range(1, 13))
    return YearCalendar(
        year=year,
        weekend_days=sum(is_weekend(first + timedelta(days=i)) for i in range(days)),
        public_holidays=holidays_of(year),
        public_make_up_days=national_make_up_days(year),
        days_off=tuple(e for e in exceptions if not e.working),
        make_up_days=tuple(e for e in exceptions if e.working),
        working_days=cal.working_days_in_year(year),
        months=months,
    )
