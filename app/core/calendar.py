"""The working-day calendar (pure): weekends, Vietnam's public holidays and the province's own exceptions.

A day is a working day unless it is a Saturday or Sunday or a public holiday, with two kinds of
exception:
- national ones, from the `holidays` package: the Saturdays the government made working days to
  bridge a holiday (e.g. Saturday 26 April 2025, worked so that Friday 2 May was a day off);
- the province's own, per day: a day off (`False`) on what would be a working day, or a make-up
  working day (`True`) on what would be a day off.

Deadlines count working days: `add_working_days(d, n)` is the n-th working day after `d`, and
`working_days_between(a, b)` counts the working days after `a` up to and including `b`, so
`working_days_between(d, add_working_days(d, n)) == n`. Both read per-year prefix sums, computed once
per year and calendar, so they cost a lookup or two whatever the distance.
"""

from __future__ import annotations

import functools
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate

COUNTRY = "VN"
SATURDAY = 5  # date.weekday(): Saturday and Sunday are 5 and 6


@dataclass(frozen=True, slots=True)
class Holiday:
    day: date
    name: str  # in Vietnamese, as the package names it ("Tết Nguyên Đán", "Quốc khánh", …)


@functools.cache
def holidays_of(year: int) -> tuple[Holiday, ...]:
    """The public holidays of a year (days off nationally, weekend ones included), by date."""
    import holidays  # here, not at import: it takes ~0.4 s, and ~0.7 s more for its first country

    found = holidays.country_holidays(COUNTRY, years=year, language="vi")
    return tuple(Holiday(d, name) for d, name in sorted(found.items()) if d.year == year)


@functools.cache
def national_make_up_days(year: int) -> tuple[date, ...]:
    """The weekend days of a year the government made working days (to bridge a holiday)."""
    import holidays

    # A make-up day may lie in the year before the holiday it bridges, so the next year is read too.
    found = holidays.country_holidays(COUNTRY, years=(year, year + 1))
    return tuple(sorted(d for d in found.weekend_workdays if d.year == year))


def _yday(d: date) -> int:
    """The day of the year, 1 for 1 January (cheaper than timetuple(), which derivation calls a lot)."""
    return d.toordinal() - _jan1(d.year)


@functools.cache
def _jan1(year: int) -> int:
    return date(year, 1, 1).toordinal() - 1


def is_weekend(d: date) -> bool:
    return d.weekday() >= SATURDAY


def _days_in(year: int) -> int:
    return (date(year + 1, 1, 1) - date(year, 1, 1)).days


@functools.cache
def _national_flags(year: int) -> bytes:
    """One byte a day of the year: 1 for a working day of the national calendar."""
    off = {h.day for h in holidays_of(year)}
    make_up = set(national_make_up_days(year))
    first = date(year, 1, 1)
    out = bytearray(_days_in(year))
    for i in range(len(out)):
        d = first + timedelta(days=i)
        out[i] = d in make_up or (not is_weekend(d) and d not in off)
    return bytes(out)


def is_national_working_day(d: date) -> bool:
    """Whether a day is a working day before the province's own exceptions."""
    return bool(_national_flags(d.year)[_yday(d) - 1])


class WorkingCalendar:
    """The national calendar with a province's exceptions: day -> True (a make-up working day) or
    False (a day off). An exception equal to the national day changes nothing."""

    def __init__(self, exceptions: Mapping[date, bool] | None = None) -> None:
        self._exceptions = dict(exceptions or {})
        # year -> the prefix sums of its working days: cum[i] = working days among its first i days.
        self._years: dict[int, list[int]] = {}

    def _cum(self, year: int) -> list[int]:
        cum = self._years.get(year)
        if cum is None:
            flags = bytearray(_national_flags(year))
            for d, working in self._exceptions.items():
                if d.year == year:
                    flags[_yday(d) - 1] = working
            cum = self._years[year] = [0, *accumulate(flags)]
        return cum

    def is_working_day(self, d: date) -> bool:
        i = _yday(d)
        cum = self._cum(d.year)
        return cum[i] > cum[i - 1]

    def working_days_in_year(self, year: int) -> int:
        return self._cum(year)[-1]

    def working_days_in(self, first: date, last: date) -> int:
        """The working days from `first` to `last`, both included (0 when `last` is before `first`)."""
        return max(0, self.working_days_between(first - timedelta(days=1), last))

    def working_days_between(self, a: date, b: date) -> int:
        """The working days after `a` up to and including `b`; negative (the same count, from `b` to `a`)
        when `b` is before `a`."""
        if b < a:
            return -self.working_days_between(b, a)
        cum_a, cum_b = self._cum(a.year), self._cum(b.year)
        ia, ib = _yday(a), _yday(b)
        if a.year == b.year:
            return cum_b[ib] - cum_a[ia]
        between = sum(self.working_days_in_year(y) for y in range(a.year + 1, b.year))
        return (cum_a[-1] - cum_a[ia]) + between + cum_b[ib]

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day after `d` (`d` itself when n is 0): a deadline of n working days."""
        if n < 0:
            raise ValueError("n must be >= 0")
        if n == 0:
            return d
        year = d.year
        cum = self._cum(year)
        need = cum[_yday(d)] + n  # working days counted from 1 January of `year`
        while need > cum[-1]:
            need -= cum[-1]
            year += 1
            cum = self._cum(year)
        # The first day of the year at which the count reaches `need`.
        return date(year, 1, 1) + timedelta(days=bisect_left(cum, need) - 1)

    def next_working_day(self, d: date) -> date:
        """`d` when it is a working day, else the first working day after it."""
        return d if self.is_working_day(d) else self.add_working_days(d, 1)
