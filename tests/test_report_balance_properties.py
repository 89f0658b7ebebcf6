"""Property: every row, level subtotal and total of the periodic report balances, and its form counts
equal a naive per-dossier computation, over random dossiers and periods, on both stores.

For each report: received_total = closed + pending, closed = closed_early + closed_on_time +
closed_late, and received_total, closed, closed_early, closed_on_time, closed_late and pending equal
the oracle below for every agency, each level's subtotal (two departments and two wards' People's
Committees carry the dossiers; the other registered agencies are idle) and the total.

The oracle is written from the contract alone (§4.1–4.2), one dossier at a time: it imports nothing
from the service. Vietnam time is UTC+7 with no daylight saving, so a local date is the UTC instant
plus seven hours.

Periods: ended ones (reporting and calendar months and quarters: their pending is judged at the end
of their last day), and the reporting month 2025-10, in progress on the clock's day (1 October
2025): its pending is judged now. Every generated instant (receipt, end, return, version) is before
the clock, so the flows of the period in progress are already cut at now and it balances as an
ended one does.

`make test` runs a few derandomized examples per store; TTHC_TRUST_FULL=1 (as `make fuzz` sets it)
runs many more with a fresh seed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from tests.conftest import Clock, reset_database
from tests.trust.live import FULL

NOW = datetime(2025, 10, 1, 1, 0, tzinfo=UTC)  # 08:00 on 1 October 2025, Vietnam time
LOCAL = timedelta(hours=7)
LEVELS = {
    "000.00.07.H41": "province",  # Sở Xây dựng
    "000.00.03.H41": "province",  # Sở Tài chính
    "UBND-17329": "commune",  # UBND Xã Anh Sơn
    "UBND-16681": "commune",  # UBND Phường Thành Vinh
}
WARDS = {"UBND-17329": "17329", "UBND-16681": "16681"}
STATUSES = ("processing", "supplement_requested", "resolved", "returned", "rejected", "withdrawn")
CLOSED = {"resolved", "returned", "rejected", "withdrawn"}
# (period, basis, first day, last day): ended ones, then the reporting month in progress.
PERIODS = (
    ("2025-08", "reporting", date(2025, 7, 15), date(2025, 8, 14)),
    ("2025-09", "reporting", date(2025, 8, 15), date(2025, 9, 14)),
    ("2025-08", "calendar", date(2025, 8, 1), date(2025, 8, 31)),
    ("2025-Q3", "reporting", date(2025, 6, 15), date(2025, 9, 14)),
    ("2025-Q3", "calendar", date(2025, 7, 1), date(2025, 9, 30)),
    ("2025-10", "reporting", date(2025, 9, 15), date(2025, 10, 14)),
)
FORM = ("received_total", "closed", "closed_early", "closed_on_time", "closed_late", "pending")
START = datetime(2025, 7, 1, 1, 0, tzinfo=UTC)  # received from here (some carried into each period)
# Times of day around the boundaries: local midnight (a bare date's deadline), the office's hours.
DUE_HOURS_UTC = (17, 2, 10)  # 00:00, 09:00 and 17:00 local


@dataclass(frozen=True)
class Dossier:
    code: str
    agency: str
    received_at: datetime
    due_at: datetime | None
    status: str
    resolved_at: datetime | None

    def record(self) -> dict[str, Any]:
        resolved = self.resolved_at
        returned = resolved + timedelta(minutes=30) if resolved and self.status == "returned" else None
        last = max(t for t in (self.received_at, resolved, returned) if t is not None)
        return {
            "code": self.code,
            "procedure_code": "1.004227",
            "agency_code": self.agency,
            "commune_code": WARDS.get(self.agency),
            "channel": "in_person",
            "received_at": self.received_at.isoformat(),
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "resolved_at": resolved.isoformat() if resolved else None,
            "returned_at": returned.isoformat() if returned else None,
            "status": self.status,
            "updated_at": last.isoformat(),
        }


@st.composite
def dossiers(draw: st.DrawFn, code: str) -> Dossier:
    received = START + timedelta(minutes=draw(st.integers(0, int((NOW - START).total_seconds()) // 60 - 120)))
    due = None
    if draw(st.integers(0, 5)):
        day = (received + LOCAL).date() + timedelta(days=draw(st.integers(0, 30)))
        due = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
            hours=draw(st.sampled_from(DUE_HOURS_UTC)) - (24 if draw(st.booleans()) else 0)
        )
        due = max(due, received)
    status = draw(st.sampled_from(STATUSES))
    resolved = None
    if status in CLOSED:
        # Often near the deadline (the day before, the day, the day after), else anywhere until now.
        anchor = due if due is not None and draw(st.booleans()) else received
        resolved = anchor + timedelta(minutes=draw(st.integers(-1440, 60 * 24 * 40)))
        resolved = min(max(resolved, received), NOW - timedelta(minutes=31))
    return Dossier(code, draw(st.sampled_from(list(LEVELS))), received, due, status, resolved)


@st.composite
def worlds(draw: st.DrawFn) -> list[Dossier]:
    n = draw(st.integers(0, 30))
    return [draw(dossiers(f"P-{i}")) for i in range(n)]


# --- the oracle: contract §4.1-4.2, one dossier at a time -------------------------------------------------


def local_day(t: datetime) -> date:
    return (t.astimezone(UTC) + LOCAL).date()


def end_of(day: date) -> datetime:
    """The instant day + 1 begins in Vietnam."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1) - LOCAL


def how_it_ended(d: Dossier) -> str:
    """early / on_time / late by resolved_at against due_at (§4.1), for finished and withdrawn alike."""
    assert d.resolved_at is not None
    if d.due_at is None:
        return "on_time"
    if d.resolved_at > d.due_at:
        return "late"
    deadline_day = local_day(d.due_at - timedelta(microseconds=1))
    return "early" if local_day(d.resolved_at) < deadline_day else "on_time"


def pending_at(d: Dossier, instant: datetime) -> bool:
    ended = d.status in CLOSED and d.resolved_at is not None and d.resolved_at < instant
    return d.received_at < instant and not ended


def oracle(ds: list[Dossier], first: date, last: date) -> dict[str, Counter[str]]:
    """The form counts per agency for [first, last], judged at the end of `last` or now."""
    judged = end_of(last) if local_day(NOW) > last else NOW
    out: dict[str, Counter[str]] = {code: Counter() for code in LEVELS}
    for d in ds:
        c = out[d.agency]
        received = first <= local_day(d.received_at) <= last
        carried = pending_at(d, end_of(first - timedelta(days=1)))
        c["received_total"] += received + carried
        if d.status in CLOSED and d.resolved_at is not None and first <= local_day(d.resolved_at) <= last:
            c["closed"] += 1
            c[f"closed_{how_it_ended(d)}"] += 1
            event(f"{'withdrawn' if d.status == 'withdrawn' else 'finished'} {how_it_ended(d)}")
        c["pending"] += pending_at(d, judged)
    return out


def _form(counts: dict[str, int]) -> dict[str, int]:
    return {k: counts[k] for k in FORM}


def _want(c: Counter[str]) -> dict[str, int]:
    return {k: c[k] for k in FORM}


def _balances(counts: dict[str, int]) -> None:
    assert counts["received_total"] == counts["received"] + counts["carried_over"], counts
    assert counts["received_total"] == counts["closed"] + counts["pending"], counts
    assert counts["closed"] == counts["closed_early"] + counts["closed_on_time"] + counts["closed_late"], (
        counts
    )
    assert counts["closed"] == counts["finished"] + counts["withdrawn"], counts


@settings(
    max_examples=150 if FULL else 8,
    deadline=None,
    derandomize=not FULL,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_every_row_subtotal_and_total_balances_and_matches_a_naive_count(
    client: TestClient, engine: Engine, clock: Clock, world: list[Dossier]
) -> None:
    reset_database(engine)
    clock.now = NOW
    for d in world:
        note(repr(d))
    if world:
        r = client.post("/v1/dossiers", json=[d.record() for d in world])
        assert r.status_code == 200, r.text
        assert r.json()["created"] == len(world), r.json()["errors"]
    for period, basis, first, last in PERIODS:
        body = client.get("/v1/reports/dossier-processing", params={"period": period, "basis": basis}).json()
        assert (body["from"], body["to"]) == (first.isoformat(), last.isoformat())
        want = oracle(world, first, last)
        rows = {r["agency"]: r for r in body["rows"]}
        for code, counts in want.items():
            assert _form(rows[code]["counts"]) == _want(counts), (period, basis, code)
        idle = [r for code, r in rows.items() if code not in want]
        assert all(not any(r["counts"].values()) for r in idle)
        for sub in body["subtotals"]:
            level_sum: Counter[str] = sum(
                (c for code, c in want.items() if LEVELS[code] == sub["level"]), Counter()
            )
            assert _form(sub["counts"]) == _want(level_sum), (period, basis, sub["level"])
        assert [s["level"] for s in body["subtotals"]] == ["province", "commune"]
        total: Counter[str] = sum(want.values(), Counter())
        assert _form(body["totals"]["counts"]) == _want(total), (period, basis)
        for figures in [*body["rows"], *body["subtotals"], body["totals"]]:
            _balances(figures["counts"])
