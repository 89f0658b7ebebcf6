"""Property: the worklists' summary (app.worklists.service.summary), which takes unpaid_online and
no_electronic_result from the rollups, equals a naive count for every unit and kind, whatever the
dossiers, the period, the filters and the reader's agencies.

The naive count is written here, apart from the service: unpaid_online and no_electronic_result from
the generated records in plain Python (the local date of received_at / resolved_at, the fee, the
payment, the digitised result, the catalogue's electronic-result procedures); the other kinds from the
per-dossier rule (app.core.worklist.kinds_of) over the stored rows. The periods cover whole years
(the rollups' year rows, and the full cube's month rows), whole months and loose days, with dossiers
received and finished on their first and last days, either side of them, and near midnight (local
dates are not UTC dates).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from app.api.auth import ADMIN_TOKEN_ID
from app.core.access import SCOPES, Principal
from app.core.calendar import WorkingCalendar
from app.core.communes import communes_of
from app.core.timeutil import VN_TZ, local_date
from app.core.worklist import KINDS, Window, kinds_of
from app.dossiers.service import process_chunk
from app.dossiers.validation import Registry
from app.models import Agency, Dossier, Procedure
from app.worklists.service import Filters, Options, summary
from tests.conftest import Clock, clear_dossiers
from tests.factory import AGENCY, COMMUNE, COMMUNE_AGENCY, OTHER_AGENCY
from tests.ingesting import wait_for_index_jobs

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 09:00 local, after every generated instant
ADMIN = Principal(ADMIN_TOKEN_ID, frozenset(SCOPES), None)
CALENDAR = WorkingCalendar({})
FINISHED = ("resolved", "returned", "rejected")
STATUSES = ("processing", "supplement_requested", *FINISHED, "withdrawn")
AGENCIES = (AGENCY, OTHER_AGENCY, COMMUNE_AGENCY)
OTHER_COMMUNE = min(c for c in communes_of(40) if c != COMMUNE)
COMMUNES = (COMMUNE, OTHER_COMMUNE)
SECTORS = ("dat_dai", "ho_tich")
P_PAPER, P_ELECTRONIC, P_UNKNOWN = "1.000001", "1.000002", "9.999999"
PROCEDURES = (P_PAPER, P_ELECTRONIC, P_UNKNOWN)
# The catalogue: one procedure with its result on paper, one with an electronic result (whose dossiers
# no_electronic_result leaves out), and P_UNKNOWN not in it (listed like a paper one).
CATALOGUE = [
    {"code": P_PAPER, "name": "Giấy", "level": "province", "paper_result": True},
    {"code": P_ELECTRONIC, "name": "Điện tử", "level": "province", "paper_result": False},
]
ELECTRONIC = {P_ELECTRONIC}
# (first, last day): a whole year (the smaller cubes' year row; the full cube's months), a year across
# New Year (days, months, days), whole months, one month, loose days.
PERIODS = (
    (date(2025, 1, 1), date(2025, 12, 31)),
    (date(2024, 12, 20), date(2025, 12, 19)),
    (date(2025, 6, 15), date(2025, 8, 10)),
    (date(2025, 7, 1), date(2025, 7, 31)),
    (date(2025, 7, 10), date(2025, 7, 20)),
)
DAYS = sorted({d + timedelta(days=k) for p in PERIODS for d in p for k in (-1, 0, 1)})
TIMES = (time(0, 0), time(6, 59), time(7, 0), time(23, 30))  # 07:00 local is 00:00 UTC

Record = dict[str, Any]


@st.composite
def records(draw: st.DrawFn, code: str) -> Record:
    status = draw(st.sampled_from(STATUSES))
    received = datetime.combine(draw(st.sampled_from(DAYS)), draw(st.sampled_from(TIMES)), VN_TZ)
    due = draw(st.sampled_from((None, 1, 3, 20, 400)))
    resolved = None
    if status not in ("processing", "supplement_requested"):
        resolved = received + draw(
            st.sampled_from((timedelta(0), timedelta(hours=17), timedelta(days=1), timedelta(days=40)))
        )
    fee = draw(st.booleans())
    supplements: list[dict[str, str | None]] = []
    if status == "supplement_requested" or (status == "processing" and draw(st.booleans())):
        asked = received + timedelta(days=1)
        if draw(st.booleans()):
            supplements.append({"requested_at": asked.isoformat(), "supplied_at": asked.isoformat()})
        last = None if status == "supplement_requested" else (asked + timedelta(days=2)).isoformat()
        supplements.append({"requested_at": (asked + timedelta(days=1)).isoformat(), "supplied_at": last})
    utc = draw(st.booleans())

    def ts(v: datetime | None) -> str | None:
        if v is None:
            return None
        return v.astimezone(UTC).isoformat().replace("+00:00", "Z") if utc else v.isoformat()

    return {
        "code": code,
        "procedure_code": draw(st.sampled_from(PROCEDURES)),
        "sector": draw(st.sampled_from((None, *SECTORS))),
        "agency_code": draw(st.sampled_from(AGENCIES)),
        "commune_code": draw(st.sampled_from((None, *COMMUNES))),
        "channel": draw(st.sampled_from(("online", "in_person"))),
        "received_at": ts(received),
        "due_at": None
        if due is None
        else ts(datetime.combine(received.date(), time(17), VN_TZ) + timedelta(due)),
        "resolved_at": ts(resolved),
        "returned_at": ts(resolved + timedelta(hours=1)) if status == "returned" and resolved else None,
        "status": status,
        "fee_required": fee,
        "paid_online": fee and draw(st.booleans()),
        "digitised_result": status in FINISHED and draw(st.booleans()),
        "apology_issued": draw(st.booleans()),
        "supplements": supplements or None,
        "updated_at": ts(NOW - timedelta(days=1)),
    }


dossier_lists = st.integers(0, 20).flatmap(
    lambda n: st.tuples(*(records(f"D-{i}") for i in range(n))).map(list)
)
values = {
    "agency": AGENCIES,
    "commune": COMMUNES,
    "sector": SECTORS,
    "procedure": PROCEDURES,
}
filter_sets = st.fixed_dictionaries(
    {},
    optional={
        dim: st.lists(st.sampled_from(vals), min_size=1, max_size=len(vals), unique=True)
        for dim, vals in values.items()
    },
)
# Most examples filter on little, so that the lists are seldom empty.
filter_sets = st.one_of(st.just({}), filter_sets)
readers = st.one_of(st.none(), st.none(), st.frozensets(st.sampled_from(AGENCIES), max_size=2))


def local_day(stamp: str | None) -> date | None:
    return None if stamp is None else local_date(datetime.fromisoformat(stamp.replace("Z", "+00:00")))


def matches(r: Record, filters: dict[str, list[str]], agencies: frozenset[str] | None) -> bool:
    columns = {
        "agency": "agency_code",
        "commune": "commune_code",
        "sector": "sector",
        "procedure": "procedure_code",
    }
    if agencies is not None and r["agency_code"] not in agencies:
        return False
    return all(r[columns[dim]] in vals for dim, vals in filters.items())


def unpaid(r: Record, period: Window) -> bool:
    received = local_day(r["received_at"])
    assert received is not None
    return period.start <= received <= period.end and r["fee_required"] and not r["paid_online"]


def no_electronic_result(r: Record, period: Window) -> bool:
    closed = local_day(r["resolved_at"])
    return (
        r["status"] in FINISHED
        and closed is not None
        and period.start <= closed <= period.end
        and not r["digitised_result"]
        and r["procedure_code"] not in ELECTRONIC
    )


@pytest.fixture
def catalogued(client: TestClient, engine: Engine, clock: Clock) -> Iterator[Registry]:
    clock.now = NOW
    assert client.put("/v1/procedures", json=CATALOGUE).status_code == 200
    wait_for_index_jobs(client)
    with engine.connect() as conn:
        agencies = set(conn.scalars(select(Agency.code)))
    assert set(AGENCIES) <= agencies
    yield Registry(agencies=agencies, communes=set(communes_of(40)), now=NOW)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    dossiers=dossier_lists,
    period=st.sampled_from(PERIODS),
    unit=st.sampled_from(("agency", "commune")),
    filters=filter_sets,
    agencies=readers,
)
def test_the_summary_equals_a_naive_count_per_unit_and_kind(
    catalogued: Registry,
    engine: Engine,
    dossiers: list[Record],
    period: tuple[date, date],
    unit: str,
    filters: dict[str, list[str]],
    agencies: frozenset[str] | None,
) -> None:
    clear_dossiers(engine)
    if dossiers:
        verdicts = process_chunk(engine, list(enumerate(dossiers)), ADMIN, catalogued)
        assert [v.result for v in verdicts] == ["created"] * len(dossiers), [v.errors for v in verdicts]
    window = Window(*period)
    o = Options(NOW, window, 2, CALENDAR)
    with engine.connect() as conn:
        got = summary(conn, unit, Filters(filters, agencies), o)
        stored = conn.execute(
            select(Dossier.__table__, Procedure.paper_result.label("paper_result")).outerjoin(
                Procedure.__table__, Procedure.code == Dossier.procedure_code
            )
        ).all()

    key = "agency_code" if unit == "agency" else "commune_code"
    expected: dict[str | None, dict[str, int]] = {}
    by_code = {r["code"]: r for r in dossiers}
    for row in stored:
        m = dict(row._mapping)
        r = by_code[m["code"]]
        if not matches(r, filters, agencies):
            continue
        kinds: set[str] = set(kinds_of(m, NOW, window, 2, CALENDAR, m["paper_result"]))
        # The two kinds read from the rollups: from the record itself, which the rule agrees with.
        assert ("unpaid_online" in kinds) == unpaid(r, window), r
        assert ("no_electronic_result" in kinds) == no_electronic_result(r, window), r
        for k in kinds:
            expected.setdefault(r[key], dict.fromkeys(KINDS, 0))[k] += 1
        if (
            no_electronic_result(r | {"procedure_code": P_PAPER}, window)
            and r["procedure_code"] in ELECTRONIC
        ):
            event("a finished dossier without an electronic result left out (electronic procedure)")
    for unit_code, counts in expected.items():
        for k in ("unpaid_online", "no_electronic_result"):
            if counts[k]:
                event(f"{k} listed" + (" without a ward" if unit == "commune" and unit_code is None else ""))
    assert got == expected
