"""Period arithmetic (pure): calendar buckets cut to a range, reporting cut-off periods, and the
decomposition of a date range into whole years, whole months and days for the rollups."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

DAY, MONTH, YEAR = 0, 1, 2
EPOCH = date(1900, 1, 1)
# The last day a figure can be asked for: the engine looks a bucket (at most a year) past a range's
# end, and the calendar of `datetime` ends with 9999. The first is EPOCH, where the state sums start.
LAST_DAY = date(9998, 12, 31)
TIME_UNITS = ("day", "month", "quarter", "year")


def month_start(d: date) -> date:
    return d.replace(day=1)


def next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def month_end(d: date) -> date:
    return next_month(d) - timedelta(days=1)


def quarter_of(d: date) -> int:
    return (d.month - 1) // 3 + 1


def label(unit: str, d: date) -> str:
    """The bucket label of a date: YYYY-MM-DD, YYYY-MM, YYYY-Qn or YYYY."""
    if unit == "day":
        return d.isoformat()
    if unit == "month":
        return f"{d.year:04d}-{d.month:02d}"
    if unit == "quarter":
        return f"{d.year:04d}-Q{quarter_of(d)}"
    return f"{d.year:04d}"


def unit_start(unit: str, d: date) -> date:
    if unit == "day":
        return d
    if unit == "month":
        return month_start(d)
    if unit == "quarter":
        return date(d.year, 3 * (quarter_of(d) - 1) + 1, 1)
    return date(d.year, 1, 1)


def unit_next(unit: str, start: date) -> date:
    if unit == "day":
        return start + timedelta(days=1)
    if unit == "month":
        return next_month(start)
    if unit == "quarter":
        return next_month(next_month(next_month(start)))
    return date(start.year + 1, 1, 1)


@dataclass(frozen=True, slots=True)
class Bucket:
    start: date
    end: date  # inclusive


def buckets(unit: str | None, start: date, end: date) -> list[Bucket]:
    """Calendar buckets of `unit` covering [start, end], the first and last cut to the range."""
    if unit is None:
        return [Bucket(start, end)]
    out: list[Bucket] = []
    cur = unit_start(unit, start)
    while cur <= end:
        nxt = unit_next(unit, cur)
        out.append(Bucket(max(cur, start), min(nxt - timedelta(days=1), end)))
        cur = nxt
    return out


@dataclass(frozen=True, slots=True)
class Piece:
    """Rollup rows of one grain whose period starts lie in [lo, hi]."""

    grain: int
    lo: date
    hi: date


def decompose(start: date, end: date, years: bool = True) -> list[Piece]:
    """[start, end] as the fewest whole years (when the rows have a year grain), whole months and days."""
    pieces: list[Piece] = []
    cur = start
    while cur <= end:
        if years and cur.month == 1 and cur.day == 1 and date(cur.year, 12, 31) <= end:
            last = cur.year
            while date(last + 1, 12, 31) <= end:
                last += 1
            pieces.append(Piece(YEAR, cur, date(last, 1, 1)))
            cur = date(last + 1, 1, 1)
        elif cur.day == 1 and month_end(cur) <= end:
            last_m = cur
            while (not years or next_month(last_m).year == cur.year) and month_end(next_month(last_m)) <= end:
                last_m = next_month(last_m)
            pieces.append(Piece(MONTH, cur, last_m))
            cur = next_month(last_m)
        else:
            stop = min(end, month_end(cur))
            pieces.append(Piece(DAY, cur, stop))
            cur = stop + timedelta(days=1)
    return pieces


def prefix(day: date, years: bool = True) -> list[Piece]:
    """Every day from the beginning of time up to and including `day`."""
    return decompose(EPOCH, day, years)


# --- The periodic report's periods -------------------------------------------------------------

_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2})|-Q([1-4])|-H([12]))?$")


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    label: str
    start: date
    end: date


def report_period(text: str, basis: str = "reporting") -> ReportPeriod:
    """A period `YYYY-MM`, `YYYY-Qn`, `YYYY-H1|H2` or `YYYY` as dates.

    The reporting basis cuts at the 14th: a month runs from the 15th of the previous month to the
    14th; a quarter from the 15th of the month before it to the 14th of its last month; H1 from
    15 December to 14 June, H2 from 15 June to 14 December; a year from 15 December to 14 December.
    """
    m = _PERIOD.match(text)
    if m is None:
        raise ValueError("period must be YYYY-MM, YYYY-Qn, YYYY-H1, YYYY-H2 or YYYY")
    year = int(m.group(1))
    if not EPOCH.year < year <= LAST_DAY.year:
        raise ValueError(f"the year must lie between {EPOCH.year + 1} and {LAST_DAY.year}")
    if m.group(2):
        month = int(m.group(2))
        if not 1 <= month <= 12:
            raise ValueError("month must be 01 to 12")
        first, last = month, month
    elif m.group(3):
        q = int(m.group(3))
        first, last = 3 * q - 2, 3 * q
    elif m.group(4):
        first, last = (1, 6) if m.group(4) == "1" else (7, 12)
    else:
        first, last = 1, 12
    if basis == "calendar":
        return ReportPeriod(text, date(year, first, 1), month_end(date(year, last, 1)))
    before = date(year - (first == 1), 12 if first == 1 else first - 1, 15)
    return ReportPeriod(text, before, date(year, last, 14))


def year_range(year: int, basis: str = "calendar") -> tuple[date, date]:
    p = report_period(f"{year:04d}", basis)
    return p.start, p.end


# --- The periodic report's periods in words (Vietnamese, as the report form prints them) ----------

ROMAN = ("I", "II", "III", "IV", "V", "VI")  # quarters; the report form's sections


def period_words(text: str) -> str:
    """The period as the form names it: "Tháng 9 năm 2025", "Quý III năm 2025", "6 tháng đầu năm 2025",
    "6 tháng cuối năm 2025", "Năm 2025". The same on either basis: the basis moves the dates, not the name."""
    m = _PERIOD.match(text)
    if m is None:
        raise ValueError("period must be YYYY-MM, YYYY-Qn, YYYY-H1, YYYY-H2 or YYYY")
    year = int(m.group(1))
    if m.group(2):
        return f"Tháng {int(m.group(2))} năm {year}"
    if m.group(3):
        return f"Quý {ROMAN[int(m.group(3)) - 1]} năm {year}"
    if m.group(4):
        return f"6 tháng {'đầu' if m.group(4) == '1' else 'cuối'} năm {year}"
    return f"Năm {year}"


def _day(d: date) -> str:
    # Decree 30/2020/NĐ-CP on official documents: a day below 10 and the months 1 and 2 take a leading 0.
    return f"{d.day:02d}" if d.day < 10 else str(d.day)


def _month(d: date) -> str:
    return f"{d.month:02d}" if d.month < 3 else str(d.month)


def short_date_vi(d: date) -> str:
    """15/6/2025, 05/01/2026, 14/12/2025: day/month/year, zero-padded where Decree 30/2020 pads."""
    return f"{_day(d)}/{_month(d)}/{d.year}"


def date_words(d: date) -> str:
    """ "ngày 30 tháng 11 năm 2026", "ngày 05 tháng 01 năm 2026": the date line of an official document."""
    return f"ngày {_day(d)} tháng {_month(d)} năm {d.year}"


def period_span_words(start: date, end: date) -> str:
    """ "Từ ngày 15/6/2025 đến ngày 14/9/2025": a period's first and last day, both included."""
    return f"Từ ngày {short_date_vi(start)} đến ngày {short_date_vi(end)}"
