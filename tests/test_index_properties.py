"""Property: every idx21_ count GET /v1/index answers (unit=agency, commune and province) equals a naive
per-dossier computation of NATIONAL_INDEX.md, over random dossiers, catalogues, calendars and periods,
on both stores; after a catalogue entry and the calendar change, the stored figures follow them; the
index rollups verify.

The oracle below is written from the specification alone: it reads neither the derived idx_* columns
nor the production rules (app.core.index_derive, app.index, app.store.index_rollups' sums); it walks
the calendar day by day with the `holidays` package, and judges each dossier at the period's judging
instant J (the end of the period's last day, or now while the period is in progress). Where the
specification leaves a point open it takes the service's reading (docs/INDEX.md states them):
- a dossier is judged on what its record says now: its national end, and its effective deadline with
  every answered pause the record lists;
- a dossier that ended after J is judged at J as one in processing against its effective deadline
  alone (a finished dossier is never late for its number of requests);
- 3.6b's procedures "with dossiers received in the period" count any dossier received, fee or not;
- 2.2 counts the dossiers received in the period whose status is resolved or returned.

Each example: a clock (a moment in a window of 2025 around Tết or around 1–2 September), the
province's days off and make-up days in that window (PUT /v1/calendar/2025), a catalogue of some of
four procedures (bulk PUT /v1/procedures), up to 40 dossiers over three agencies (two departments, one
commune's People's Committee) as the source would hold them now, some ended near their effective
deadline; the counts of periods the window touches (`make test`: one in progress and one closed;
TTHC_TRUST_FULL=1: every month and quarter and the year); then one catalogue entry is replaced (PUT
/v1/procedures/{code}) and the calendar's exceptions change (re-derived by a background job), and the
counts are checked again.

`make test` runs a few derandomized examples per store; TTHC_TRUST_FULL=1 (as `make fuzz` sets it)
runs many more with a fresh seed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import holidays
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from app.models import Agency
from app.store import index_rollups
from app.store.uow import write_transaction
from tests.conftest import Clock, reset_database
from tests.ingesting import wait_for_index_jobs
from tests.trust.live import FULL

LOCAL = timezone(timedelta(hours=7))  # Vietnam: UTC+7, no daylight saving
DEPARTMENT_A, DEPARTMENT_B, COMMUNE_UNIT = "000.00.07.H41", "000.00.03.H41", "UBND-17329"
AGENCIES = (DEPARTMENT_A, DEPARTMENT_B, COMMUNE_UNIT)
PROCEDURES = ("1.004227", "1.000003", "2.000002", "2.000123")
STATUSES = ("processing", "supplement_requested", "resolved", "returned", "rejected", "withdrawn")
CLOSED = frozenset({"resolved", "returned", "rejected", "withdrawn"})
FINISHED = frozenset({"resolved", "returned", "rejected"})  # digitised_result and rating allowed
WITH_RESULT = frozenset({"resolved", "returned"})  # 2.2 counts their working days
UNITS = ("working_days", "days", "hours", "months")
# Times of day at and around the usual boundaries (midnight, the office's 17:00).
TIMES = (time(0, 0), time(7, 30), time(8, 0), time(16, 59), time(17, 0), time(23, 30))
# Windows of 2025 (first day, days): around Tết (27 January – 1 February) and Quốc khánh (1–2 September).
WINDOWS = {"tet": (date(2025, 1, 2), 70), "quoc_khanh": (date(2025, 7, 20), 75)}

# --- the calendar, day by day -------------------------------------------------------------------------

_VN = holidays.country_holidays("VN", years=(2024, 2025, 2026))
PUBLIC_HOLIDAYS = frozenset(_VN)
NATIONAL_MAKE_UP = frozenset(getattr(_VN, "weekend_workdays", ()))


def nationally_working(d: date) -> bool:
    """Monday to Friday and not a public holiday, or a weekend day the government made a working day."""
    return d in NATIONAL_MAKE_UP or (d.weekday() < 5 and d not in PUBLIC_HOLIDAYS)


@dataclass(frozen=True)
class Calendar:
    exceptions: tuple[tuple[date, bool], ...]  # the province's own: day -> working

    def working(self, d: date) -> bool:
        for day, working in self.exceptions:
            if day == d:
                return working
        return nationally_working(d)

    def working_days_from_to(self, first: date, last: date) -> int:
        """Working days d with first <= d <= last, counted one by one."""
        n, d = 0, first
        while d <= last:
            n += self.working(d)
            d += timedelta(days=1)
        return n

    def nth_working_day_after(self, day: date, n: int) -> date:
        d, seen = day, 0
        while seen < n:
            d += timedelta(days=1)
            seen += self.working(d)
        return d


def local_day(instant: datetime) -> date:
    return instant.astimezone(LOCAL).date()


def midnight_after(day: date) -> datetime:
    """24:00 of `day` (the end of the day), as an instant."""
    return datetime.combine(day + timedelta(days=1), time(0), LOCAL)


def day_closed_by(instant: datetime) -> date:
    """The day whose end an instant is: 00:00 of X+1 is 24:00 of X, otherwise the instant's own day."""
    local = instant.astimezone(LOCAL)
    if local.time() == time(0):
        return local.date() - timedelta(days=1)
    return local.date()


def months_later(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    year, month = d.year + y, m + 1
    for day in range(d.day, 0, -1):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError(d)


# --- the world of one example -------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    level: str
    duration: tuple[int, str] | None
    paper_result: bool
    fee: bool
    full_online_eligible: bool
    full_online_offered: bool
    online_payment_integrated: bool

    def body(self) -> dict[str, Any]:
        return {
            "name": "Thủ tục thử",
            "level": self.level,
            "max_duration": None
            if self.duration is None
            else {"value": self.duration[0], "unit": self.duration[1]},
            "paper_result": self.paper_result,
            "fee": self.fee,
            "full_online_eligible": self.full_online_eligible,
            "full_online_offered": self.full_online_offered,
            "online_payment_integrated": self.online_payment_integrated,
        }


@dataclass(frozen=True)
class Dossier:
    code: str
    agency: str
    procedure: str
    status: str
    channel: str
    online_level: str | None
    received_at: datetime
    due_at: datetime | None
    resolved_at: datetime | None
    returned_at: datetime | None
    supplements: tuple[tuple[datetime, datetime | None], ...]
    fee_required: bool
    paid_online: bool
    digitised_intake: bool
    digitised_result: bool
    reused: bool
    complaint: bool
    population: bool
    personal_store: bool

    def record(self, now: datetime) -> dict[str, Any]:
        def ts(v: datetime | None) -> str | None:
            return None if v is None else v.astimezone(LOCAL).isoformat()

        out: dict[str, Any] = {
            "code": self.code,
            "procedure_code": self.procedure,
            "agency_code": self.agency,
            "channel": self.channel,
            "received_at": ts(self.received_at),
            "due_at": ts(self.due_at),
            "resolved_at": ts(self.resolved_at),
            "returned_at": ts(self.returned_at),
            "status": self.status,
            "fee_required": self.fee_required,
            "paid_online": self.paid_online,
            "digitised_intake": self.digitised_intake,
            "digitised_result": self.digitised_result,
            "reused_digital_data": self.reused,
            "complaint": self.complaint,
            "population_data": self.population,
            "from_personal_store": self.personal_store,
            "supplements": [{"requested_at": ts(a), "supplied_at": ts(b)} for a, b in self.supplements],
            "updated_at": ts(now),
        }
        if self.online_level is not None:
            out["online_level"] = self.online_level
        return out


@dataclass(frozen=True)
class World:
    window: str
    now: datetime
    calendar: Calendar
    catalogue: dict[str, Entry]
    dossiers: list[Dossier]
    change: tuple[str, Entry]  # the catalogue entry put after ingest
    calendar_after: Calendar  # then the year's exceptions become these
    periods: tuple[int, ...]  # which of periods_of(world) are asked for (all of them under FULL)


def as_held_at(d: Dossier, now: datetime) -> Dossier | None:
    """The dossier as its source holds it at `now`: what happened later has not happened yet."""
    if d.received_at > now:
        return None
    sups = tuple((a, b if b is not None and b <= now else None) for a, b in d.supplements if a <= now)
    if d.resolved_at is not None and d.resolved_at > now:
        status = "supplement_requested" if sups and sups[-1][1] is None else "processing"
        return replace(
            d, status=status, resolved_at=None, returned_at=None, digitised_result=False, supplements=sups
        )
    returned = d.returned_at
    if returned is not None and returned > now:
        returned = d.resolved_at
    return replace(d, supplements=sups, returned_at=returned)


entries = st.builds(
    Entry,
    level=st.sampled_from(("province", "province", "commune")),
    duration=st.one_of(
        st.none(),
        st.tuples(st.integers(1, 12), st.just("working_days")),
        st.tuples(st.integers(1, 20), st.just("days")),
        st.tuples(st.sampled_from((4, 8, 16, 40, 100)), st.just("hours")),
        st.tuples(st.integers(1, 2), st.just("months")),
    ),
    paper_result=st.booleans(),
    fee=st.booleans(),
    full_online_eligible=st.booleans(),
    full_online_offered=st.booleans(),
    online_payment_integrated=st.booleans(),
)

GAPS = (
    timedelta(minutes=30),
    timedelta(hours=9),
    timedelta(days=1),
    timedelta(days=2, hours=3),
    timedelta(days=5),
    timedelta(days=12),
    timedelta(days=30),
)


@st.composite
def dossiers(
    draw: st.DrawFn, code: str, first: date, days: int, catalogue: dict[str, Entry], cal: Calendar
) -> Dossier:
    procedure = draw(st.sampled_from(PROCEDURES))
    received = datetime.combine(
        first + timedelta(days=draw(st.integers(0, days - 1))), draw(st.sampled_from(TIMES)), LOCAL
    )
    due_kind = draw(st.sampled_from(("none", "none", "hours", "end_of_day")))
    due: datetime | None = None
    if due_kind == "hours":
        due = received + timedelta(hours=draw(st.sampled_from((0, 9, 30, 100, 200))))
    elif due_kind == "end_of_day":
        due = midnight_after(local_day(received) + timedelta(days=draw(st.integers(0, 15))))
    sups: list[tuple[datetime, datetime | None]] = []
    point = received
    for i in range(draw(st.sampled_from((0, 0, 0, 1, 1, 2, 3)))):
        # The first request may come at the very instant of receipt.
        gap = timedelta(0) if i == 0 and draw(st.booleans()) else draw(st.sampled_from(GAPS))
        requested = point + gap
        supplied = requested + draw(st.sampled_from(GAPS))
        sups.append((requested, supplied))
        point = supplied
    unanswered: bool = draw(st.booleans())
    if sups and unanswered:
        sups[-1] = (sups[-1][0], None)  # the last request unanswered
        point = sups[-1][0]
    status = draw(st.sampled_from(STATUSES))
    channel = draw(st.sampled_from(("online", "online", "in_person", "postal")))
    fee = draw(st.booleans())
    d = Dossier(
        code=code,
        agency=draw(st.sampled_from(AGENCIES)),
        procedure=procedure,
        status=status,
        channel=channel,
        online_level=draw(st.sampled_from((None, None, "full", "partial"))) if channel == "online" else None,
        received_at=received,
        due_at=due,
        resolved_at=None,
        returned_at=None,
        supplements=tuple(sups),
        fee_required=fee,
        paid_online=fee and draw(st.booleans()),
        digitised_intake=draw(st.booleans()),
        digitised_result=status in FINISHED and draw(st.booleans()),
        reused=draw(st.booleans()),
        complaint=draw(st.booleans()),
        population=draw(st.booleans()),
        personal_store=draw(st.booleans()),
    )
    if status not in CLOSED:
        return d
    resolved = point + draw(st.sampled_from((timedelta(0), *GAPS)))
    deadline = effective_deadline(d, catalogue.get(procedure), cal)
    near: bool = draw(st.booleans())
    if near and deadline is not None:
        # Ended just before, at or just after its effective deadline (as the catalogue and calendar
        # stand at first).
        close = (-timedelta(hours=1), timedelta(0), timedelta(minutes=1), timedelta(hours=3))
        resolved = max(point, deadline + draw(st.sampled_from(close)))
    returned = None
    if status == "returned":
        returned = resolved + draw(st.sampled_from((timedelta(0), timedelta(hours=2), timedelta(days=3))))
    return replace(d, resolved_at=resolved, returned_at=returned)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    window = draw(st.sampled_from(sorted(WINDOWS)))
    first, days = WINDOWS[window]
    # The clock: from two thirds into the window to a few weeks after it.
    now_day = first + timedelta(days=draw(st.integers(days * 2 // 3, days + 20)))
    now = datetime.combine(now_day, draw(st.sampled_from(TIMES[1:])), LOCAL)
    window_days = [first + timedelta(days=i) for i in range(days)]
    weekdays = [d for d in window_days if nationally_working(d)]
    off_days = [d for d in window_days if not nationally_working(d)]

    def exceptions() -> Calendar:
        got = {d: False for d in draw(st.lists(st.sampled_from(weekdays), max_size=2, unique=True))}
        got |= {d: True for d in draw(st.lists(st.sampled_from(off_days), max_size=2, unique=True))}
        return Calendar(tuple(sorted(got.items())))

    calendar = exceptions()
    catalogue = {
        code: draw(entries)
        for code in draw(st.lists(st.sampled_from(PROCEDURES), min_size=1, max_size=4, unique=True))
    }
    n = draw(st.integers(0, 40))
    raw = [draw(dossiers(f"HS-{i:02d}", first, days, catalogue, calendar)) for i in range(n)]
    held = [x for x in (as_held_at(d, now) for d in raw) if x is not None]
    change = (draw(st.sampled_from(PROCEDURES)), draw(entries))
    world = World(window, now, calendar, catalogue, held, change, exceptions(), ())
    # Each GET /v1/index costs ~0.1 s: `make test` asks for two of the periods (one of them in progress).
    candidates = periods_of(world)
    if FULL:
        return replace(world, periods=tuple(range(len(candidates))))
    today = local_day(now)
    running = [i for i, p in enumerate(candidates) if p.end >= today]
    closed = [i for i, p in enumerate(candidates) if p.end < today]
    chosen = [draw(st.sampled_from(running))]
    if closed:
        chosen.append(draw(st.sampled_from(closed)))
    return replace(world, periods=tuple(chosen))


# --- the oracle: rule 2.1 and the other counts of NATIONAL_INDEX.md, one dossier at a time -----------


def national_end(d: Dossier) -> datetime | None:
    """Resolved, returned, refused or withdrawn: resolved_at. Not finished, with exactly one request and
    it unanswered: that request. Otherwise still in processing."""
    if d.status in CLOSED:
        return d.resolved_at
    if len(d.supplements) == 1 and d.supplements[0][1] is None:
        return d.supplements[0][0]
    return None


def effective_deadline(d: Dossier, entry: Entry | None, cal: Calendar) -> datetime | None:
    answered = [(a, b) for a, b in d.supplements if b is not None]
    if d.due_at is not None:
        # Answered supplement time in clock time: the end moves back, i.e. the deadline moves on.
        return d.due_at + sum((b - a for a, b in answered), timedelta(0))
    if entry is None or entry.duration is None:
        return None
    n, unit = entry.duration
    received_day = local_day(d.received_at)
    if unit == "working_days":
        legal = midnight_after(cal.nth_working_day_after(received_day, n))
    elif unit == "days":
        legal = midnight_after(received_day + timedelta(days=n))
    elif unit == "hours":
        legal = d.received_at + timedelta(hours=n)
    else:
        legal = midnight_after(months_later(received_day, n))
    # Each answered pause moves it by the working days it covers: days in [date(requested), date(supplied)).
    covered = 0
    for a, b in answered:
        day = local_day(a)
        while day < local_day(b):
            covered += cal.working(day)
            day += timedelta(days=1)
    if covered == 0:
        return legal
    day = day_closed_by(legal)
    time_of_day = legal - datetime.combine(day, time(0), LOCAL)
    return datetime.combine(cal.nth_working_day_after(day, covered), time(0), LOCAL) + time_of_day


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date


def periods_of(world: World) -> list[Period]:
    """Every month and quarter the window touches up to today, and the year."""
    first, days = WINDOWS[world.window]
    today = local_day(world.now)
    out: list[Period] = []
    month = date(first.year, first.month, 1)
    while month <= min(today, first + timedelta(days=days)):
        nxt = months_later(month, 1)
        out.append(Period(f"{month:%Y-%m}", month, nxt - timedelta(days=1)))
        month = nxt
    quarters = sorted({(p.start.month - 1) // 3 + 1 for p in out})
    for q in quarters:
        start = date(first.year, 3 * q - 2, 1)
        out.append(Period(f"{first.year}-Q{q}", start, months_later(start, 3) - timedelta(days=1)))
    out.append(Period(str(first.year), date(first.year, 1, 1), date(first.year, 12, 31)))
    return out


def naive_counts(
    world: World, catalogue: dict[str, Entry], period: Period, agencies: set[str], level: str | None
) -> dict[str, int]:
    cal, now = world.calendar, world.now
    today = local_day(now)
    in_progress = period.end >= today
    last = today if in_progress else period.end  # E'
    judged_at = now if in_progress else midnight_after(period.end)  # J
    c = dict.fromkeys(
        (
            "handled",
            "ended",
            "open",
            "unjudged",
            "late",
            "uncatalogued",
            "eligible",
            "full_online",
            "electronic",
            "digitised",
            "reused",
            "personal_store",
            "population",
            "complaint",
            "late_or_complaint",
            "fee",
            "paid_online",
            "finished",
            "work_days",
        ),
        0,
    )
    received_procedures: dict[str, bool] = {}  # procedure -> one of its dossiers was paid online
    for d in world.dossiers:
        if d.agency not in agencies:
            continue
        entry = catalogue.get(d.procedure)
        received_day = local_day(d.received_at)
        received_in_period = period.start <= received_day <= period.end
        if received_in_period:
            c["fee"] += d.fee_required
            c["paid_online"] += d.fee_required and d.paid_online
            received_procedures[d.procedure] = received_procedures.get(d.procedure, False) or d.paid_online
            if d.status in WITH_RESULT:
                assert d.resolved_at is not None
                c["finished"] += 1
                spent = cal.working_days_from_to(received_day + timedelta(days=1), local_day(d.resolved_at))
                paused = sum(
                    cal.working_days_from_to(local_day(a), local_day(b) - timedelta(days=1))
                    for a, b in d.supplements
                    if b is not None
                )
                c["work_days"] += max(0, spent - paused)

        end = national_end(d)
        deadline = effective_deadline(d, entry, cal)
        ended_in_period = end is not None and period.start <= local_day(end) <= last
        open_at_j = received_day <= last and (end is None or local_day(end) > last)
        if not (ended_in_period or open_at_j):
            continue
        c["handled"] += 1
        late = False
        if ended_in_period:
            assert end is not None
            c["ended"] += 1
            if deadline is None:
                c["unjudged"] += 1
            elif end > deadline:
                late = True
        else:
            c["open"] += 1
            # Judged as still in processing at J: late after its deadline, or (not finished, with two
            # requests or more) after its second request; a finished dossier is never late for its
            # number of requests.
            candidates = [deadline] if deadline is not None else []
            if d.status not in CLOSED and len(d.supplements) >= 2:
                candidates.append(d.supplements[1][0])
            if not candidates:
                c["unjudged"] += 1
            else:
                late_at = min(candidates)
                if in_progress:
                    late = judged_at > late_at
                    if local_day(late_at) == today:
                        event("in progress: an open dossier's late instant is today")
                else:
                    late = max(local_day(late_at), received_day) <= period.end
        c["late"] += late
        if entry is None:
            c["uncatalogued"] += 1
        else:
            full = d.online_level == "full" or (
                d.online_level is None and d.channel == "online" and entry.full_online_offered
            )
            c["eligible"] += entry.full_online_eligible
            c["full_online"] += entry.full_online_eligible and full
            c["electronic"] += entry.paper_result and d.digitised_result
            c["digitised"] += d.digitised_intake and (d.digitised_result or not entry.paper_result)
        c["reused"] += d.reused
        c["personal_store"] += d.personal_store
        c["population"] += d.population
        c["complaint"] += d.complaint
        c["late_or_complaint"] += late or d.complaint

    fee_procedures = {p for p, e in catalogue.items() if e.fee and (level is None or e.level == level)}
    judged = c["handled"] - c["unjudged"]
    on_time = judged - c["late"]
    return {
        "idx21_handled": c["handled"],
        "idx21_ended": c["ended"],
        "idx21_open": c["open"],
        "idx21_judged": judged,
        "idx21_on_time": on_time,
        "idx21_late": c["late"],
        "idx21_unjudged": c["unjudged"],
        "idx21_uncatalogued": c["uncatalogued"],
        "idx21_catalogued": c["handled"] - c["uncatalogued"],
        "idx21_eligible": c["eligible"],
        "idx21_full_online": c["full_online"],
        "idx21_electronic": c["electronic"],
        "idx21_digitised": c["digitised"],
        "idx21_reused": c["reused"],
        "idx21_personal_store": c["personal_store"],
        "idx21_population": c["population"],
        "idx21_complaint": c["complaint"],
        "idx21_satisfied": c["handled"] - c["late_or_complaint"],
        "idx21_fee": c["fee"],
        "idx21_paid_online": c["paid_online"],
        "idx21_fee_procedures": len(fee_procedures & received_procedures.keys()),
        "idx21_paid_procedures": sum(
            received_procedures[p] for p in fee_procedures & received_procedures.keys()
        ),
        "idx21_catalogue_fee_procedures": len(fee_procedures),
        "idx21_integrated_procedures": sum(catalogue[p].online_payment_integrated for p in fee_procedures),
        "idx21_finished": c["finished"],
        "idx21_work_days": c["work_days"],
    }


# --- the app ------------------------------------------------------------------------------------------


def _put_calendar(client: TestClient, calendar: Calendar) -> None:
    body = [{"day": d.isoformat(), "working": w} for d, w in calendar.exceptions]
    r = client.put("/v1/calendar/2025", json=body)
    assert r.status_code == 200, r.text
    wait_for_index_jobs(client)


def _units(engine: Engine) -> dict[str, tuple[str, str | None, set[str]]]:
    """GET /v1/index's unit kinds -> per row code: (unit kind, procedure level, its agencies)."""
    with engine.connect() as conn:
        rows = conn.execute(select(Agency.code, Agency.level)).all()
    return {code: ("agency" if level == "province" else "commune", level, {code}) for code, level in rows}


def _check_every_count(client: TestClient, engine: Engine, world: World, catalogue: dict[str, Entry]) -> int:
    units = _units(engine)
    checked = 0
    periods = periods_of(world)
    for period in (periods[i] for i in world.periods):
        note(f"period {period}")
        for kind in ("agency", "commune", "province"):
            r = client.get("/v1/index", params={"period": period.label, "unit": kind})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["derivation_behind"] is False
            got = {row["code"]: row["counts"] for row in body["rows"]}
            if kind == "province":
                (code,) = got
                want = {code: naive_counts(world, catalogue, period, set(units), None)}
            else:
                want = {
                    code: naive_counts(world, catalogue, period, agencies, level)
                    for code, (k, level, agencies) in units.items()
                    if k == kind
                }
            for code in sorted(want):
                for name in (
                    "idx21_late",
                    "idx21_open",
                    "idx21_unjudged",
                    "idx21_work_days",
                    "idx21_paid_procedures",
                ):
                    if want[code][name]:
                        event(f"{name} > 0")
                diff = {k: (got[code][k], v) for k, v in want[code].items() if got[code].get(k) != v}
                assert not diff, f"{period.label} {kind} {code}: (api, naive) {diff}"
                checked += 1
    return checked


@settings(
    max_examples=150 if FULL else 6,
    deadline=None,
    derandomize=not FULL,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(world=worlds())
def test_every_index_count_equals_a_naive_count_of_the_dossiers(
    client: TestClient, engine: Engine, clock: Clock, world: World
) -> None:
    reset_database(engine)
    wait_for_index_jobs(client)
    clock.now = world.now.astimezone(UTC)
    note(f"now {world.now.isoformat()}, calendar {world.calendar.exceptions}")
    note(f"catalogue {world.catalogue}")
    for d in world.dossiers:
        note(repr(d))

    _put_calendar(client, world.calendar)
    r = client.put("/v1/procedures", json=[{"code": c, **e.body()} for c, e in world.catalogue.items()])
    assert r.status_code == 200 and r.json()["rejected"] == 0, r.text
    wait_for_index_jobs(client)
    if world.dossiers:
        r = client.post("/v1/dossiers", json=[d.record(world.now) for d in world.dossiers])
        assert r.status_code == 200, r.text
        assert r.json()["created"] == len(world.dossiers), r.text

    _check_every_count(client, engine, world, world.catalogue)

    # One entry replaced (or added): its procedure's stored dossiers are re-derived before the answer;
    # then the calendar changes: every stored dossier is re-derived by a background job.
    code, entry = world.change
    note(f"then PUT {code} {entry}, then the calendar {world.calendar_after.exceptions}")
    r = client.put(f"/v1/procedures/{code}", json=entry.body())
    assert r.status_code in (200, 201), r.text
    _put_calendar(client, world.calendar_after)
    _check_every_count(
        client, engine, replace(world, calendar=world.calendar_after), {**world.catalogue, code: entry}
    )

    with write_transaction(engine) as conn:
        assert index_rollups.verify(conn)[0] == 0
