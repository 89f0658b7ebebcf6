"""A realistic synthetic dataset for the configured province: its real wards, plausible agencies,
sectors and procedures, channels, deadlines, and realistic shares of late, online and pending dossiers.

Dossiers are received, resolved and returned in office hours (07:30–17:00) on working days of the
working-day calendar (weekends and public holidays off), and deadlines count its working days; about
3% of these moments fall outside (an online filing at night, a result signed on a Saturday). Those
hours and exceptions come from a random stream of their own, so the other draws do not depend on them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import orjson

from app.core.calendar import WorkingCalendar
from app.core.communes import communes_of
from app.core.timeutil import VN_TZ
from app.reference.agencies import seed_agencies

# (sector slug, procedure codes and their legal processing time in days, handled at province or commune level)
SECTORS: list[tuple[str, str, int, int]] = [
    # slug, level, number of procedures, typical deadline (days)
    ("ho_tich", "commune", 12, 3),
    ("chung_thuc", "commune", 6, 1),
    ("dat_dai", "commune", 10, 20),
    ("xay_dung", "province", 8, 15),
    ("dau_tu", "province", 8, 15),
    ("doanh_nghiep", "province", 6, 3),
    ("giao_duc", "province", 5, 10),
    ("y_te", "province", 6, 20),
    ("lao_dong", "province", 5, 10),
    ("tu_phap", "province", 5, 7),
    ("giao_thong", "province", 6, 5),
    ("bao_tro_xa_hoi", "commune", 6, 10),
    ("nong_nghiep", "commune", 4, 10),
    ("moi_truong", "province", 4, 20),
]
DEPARTMENT_SECTORS = {
    "000.00.02.H41": ["lao_dong"],
    "000.00.03.H41": ["dau_tu", "doanh_nghiep"],
    "000.00.04.H41": ["tu_phap"],
    "000.00.05.H41": ["doanh_nghiep"],
    "000.00.06.H41": ["dat_dai", "moi_truong", "nong_nghiep"],
    "000.00.07.H41": ["xay_dung", "giao_thong"],
    "000.00.09.H41": ["giao_duc"],
    "000.00.10.H41": ["y_te"],
    "000.00.14.H41": ["dau_tu", "xay_dung", "moi_truong"],
    "000.00.15.H41": ["giao_thong"],
}


def _procedures() -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    n = 1000
    for slug, _level, count, days in SECTORS:
        out[slug] = []
        for i in range(count):
            n += 7
            out[slug].append((f"1.{n:06d}", max(1, days + (i % 3) - 1)))
    return out


def _at(day: date, hour: float) -> datetime:
    h = int(hour)
    m = int((hour - h) * 60)
    return datetime.combine(day, time(h, m), VN_TZ)


OPEN, CLOSE = 7.5, 17.0  # office hours, 07:30–17:00
EXCEPTIONS = 0.03  # the share of moments outside office hours or on a day off


def _hour(t: datetime) -> float:
    local = t.astimezone(VN_TZ)
    return local.hour + local.minute / 60 + local.second / 3600 + local.microsecond / 3.6e9


class _Office:
    """Moves a moment into office hours of a working day, never earlier; about 3% are left outside."""

    def __init__(self, calendar: WorkingCalendar, seed: int) -> None:
        self.calendar = calendar
        self.rng = random.Random(f"office-hours-{seed}")

    def received(self, day: date, hour: float, last: date) -> datetime:
        """A receipt on `day` (a working day) at `hour` (in office hours), or an exception: the same
        day at night, or the weekend or holiday after it when that is not after `last`."""
        if self.rng.random() >= EXCEPTIONS:
            return _at(day, hour)
        evening = _at(day, self.rng.uniform(CLOSE, 22.0))
        if self.rng.random() < 0.5:
            return evening
        off = day + timedelta(days=1)
        while self.calendar.is_working_day(off):
            off += timedelta(days=1)
        return _at(off, self.rng.uniform(8.0, 20.0)) if off <= last else evening

    def later(self, t: datetime, *, latest: datetime | None = None) -> datetime:
        """`t` if it is in office hours of a working day, else the next such moment after it; with the
        exceptions, `t` as it is, or the evening of its day when that is still before `latest`."""
        day, hour = t.astimezone(VN_TZ).date(), _hour(t)
        working = self.calendar.is_working_day(day)
        if self.rng.random() < EXCEPTIONS:
            if working and OPEN <= hour <= CLOSE:
                evening = _at(day, self.rng.uniform(CLOSE, 20.0))
                if latest is None or evening <= latest:
                    return evening
            return t
        if working and OPEN <= hour <= CLOSE:
            return t
        if working and hour < OPEN:
            return _at(day, self.rng.uniform(OPEN, CLOSE))
        return _at(self.calendar.add_working_days(day, 1), self.rng.uniform(OPEN, CLOSE))


def generate_demo(
    count: int,
    *,
    seed: int = 2025,
    year: int | None = None,
    now: datetime | None = None,
    province_code: int = 40,
    calendar: WorkingCalendar | None = None,
) -> Iterator[dict[str, Any]]:
    """`count` dossier records received over a year (or the last 12 months), as the contract writes them;
    working days from `calendar` (default: the national one)."""
    rng = random.Random(seed)
    calendar = calendar or WorkingCalendar()
    office = _Office(calendar, seed)
    now = now or datetime.now(UTC)
    today = now.astimezone(VN_TZ).date()
    start = date(year, 1, 1) if year else today - timedelta(days=364)
    span = 365
    procedures = _procedures()
    communes = list(communes_of(province_code))
    agencies = seed_agencies(province_code)
    commune_agencies = [a for a in agencies if a.level == "commune"]
    departments = [a for a in agencies if a.level == "province" and a.code in DEPARTMENT_SECTORS]
    commune_sectors = [s for s, level, _, _ in SECTORS if level == "commune"]
    # Some units are better than others, so rankings mean something.
    late_bias = {a.code: rng.uniform(0.005, 0.08) for a in agencies}
    online_bias = {a.code: rng.uniform(0.35, 0.9) for a in agencies}
    prefix = f"DEMO{seed % 1000:03d}"
    # Receipts spread evenly over the working days of the span (up to today).
    in_span = [start + timedelta(days=k) for k in range(span)]
    last = min(in_span[-1], today)
    working_days = [d for d in in_span if d <= last and calendar.is_working_day(d)] or [min(start, today)]
    for i in range(count):
        day = working_days[int(len(working_days) * i / count)]
        if rng.random() < 0.65:
            agency = rng.choice(commune_agencies)
            commune = agency.commune_code
            sector = rng.choice(commune_sectors)
        else:
            agency = rng.choice(departments)
            commune = rng.choice(communes) if rng.random() < 0.7 else None
            sector = rng.choice(DEPARTMENT_SECTORS[agency.code])
        proc, days = rng.choice(procedures[sector])
        received = office.received(day, rng.uniform(OPEN, CLOSE), last)
        if received > now:
            received = now - timedelta(minutes=rng.randint(1, 600))
        channel = (
            "online"
            if rng.random() < online_bias[agency.code]
            else ("postal" if rng.random() < 0.08 else "in_person")
        )
        online_level = ("full" if rng.random() < 0.6 else "partial") if channel == "online" else None
        due = (
            _at(calendar.add_working_days(received.astimezone(VN_TZ).date(), days), CLOSE)
            if rng.random() < 0.97
            else None
        )
        fee = rng.random() < 0.4
        # How long it takes: mostly within the deadline, sometimes late.
        if due is not None and rng.random() < late_bias[agency.code]:
            resolved = due + timedelta(hours=rng.uniform(1, 24 * 10))
        else:
            limit = (due - received).total_seconds() if due else days * 86400
            resolved = received + timedelta(seconds=rng.uniform(0.1, 1.0) * limit)
        # Into office hours, never earlier, so a dossier on time stays on time (its deadline is the
        # end of a working day) and a late one stays late.
        resolved = office.later(resolved, latest=due if due is not None and resolved <= due else None)
        status: str
        rec: dict[str, Any] = {
            "code": f"{prefix}-{agency.code}-{i:08d}",
            "procedure_code": proc,
            "sector": sector,
            "agency_code": agency.code,
            "commune_code": commune,
            "channel": channel,
            "online_level": online_level,
            "received_at": received.isoformat(),
            "due_at": due.isoformat() if due else None,
            "fee_required": fee,
            "paid_online": fee and channel == "online" and rng.random() < 0.75,
            "digitised_intake": rng.random() < 0.8,
            "reused_digital_data": rng.random() < 0.3,
        }
        if resolved > now:
            status = "supplement_requested" if rng.random() < 0.1 else "processing"
            rec.update(
                status=status,
                resolved_at=None,
                returned_at=None,
                digitised_result=False,
                rating=None,
                apology_issued=bool(due and due < now and rng.random() < 0.6),
            )
            updated = max(received, now - timedelta(minutes=rng.randint(1, 120)))
        else:
            r = rng.random()
            status = (
                "withdrawn" if r < 0.01 else "rejected" if r < 0.03 else "returned" if r < 0.8 else "resolved"
            )
            returned = (
                office.later(resolved + timedelta(hours=rng.uniform(1, 48))) if status == "returned" else None
            )
            if returned and returned > now:
                returned = now
            finished = status != "withdrawn"
            late = due is not None and resolved > due
            rating = None
            if finished and rng.random() < 0.4:
                rating = rng.choices(
                    ["very_satisfied", "satisfied", "neutral", "dissatisfied"], [55, 37, 5, 3]
                )[0]
            rec.update(
                status=status,
                resolved_at=resolved.isoformat(),
                returned_at=returned.isoformat() if returned else None,
                digitised_result=finished and rng.random() < 0.75,
                rating=rating,
                apology_issued=late and rng.random() < 0.7,
            )
            updated = returned or resolved
        rec["updated_at"] = updated.isoformat()
        yield rec


def write_ndjson(records: Iterator[dict[str, Any]], path: Path) -> int:
    n = 0
    with path.open("wb") as fh:
        for rec in records:
            fh.write(orjson.dumps(rec))
            fh.write(b"\n")
            n += 1
    return n
