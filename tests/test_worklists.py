"""GET /v1/worklists/{kind} and GET /v1/worklists: every list across Tết 2026 and a province's day off, the
working days with a province's make-up Saturday (March 2026), paging while the data changes, CSV and XLSX
equal to the JSON, filters, a reader limited to one agency, bad parameters. The rule per dossier
(app.core.worklist) is checked against the SQL on every dossier.

The calendar of these tests (app.core.calendar for 2026, plus one day off the province declares):
  Fri 13 Feb 2026 is the last working day before Tết; Mon 16 - Fri 20 Feb are Tết holidays
  (Giao thừa, Tết, mùng 2, 3, 4), then the weekend; Mon 23 Feb works again; Tue 24 Feb is the
  province's day off (PUT /v1/calendar/2026); Wed 25 Feb works.
The clock stands at Wed 25 Feb 2026 09:00 Vietnam time.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, and_, event, func, select

from app.api.routers import worklists as worklists_router
from app.core.calendar import WorkingCalendar
from app.core.worklist import KINDS, Kind, Window, kinds_of
from app.models import Dossier, Procedure
from app.models.tables import WL_LATE_UNAPOLOGISED
from app.worklists.render import COLUMNS
from app.worklists.service import (
    Filters,
    Names,
    Options,
    batches,
    indicators_weighed,
    kind_condition,
    summary,
)
from tests.conftest import Clock
from tests.factory import AGENCY, COMMUNE, COMMUNE_AGENCY, OTHER_AGENCY, open_rec, rec
from tests.ingesting import new_token, post, wait_for_index_jobs, with_token

NOW = datetime(2026, 2, 25, 2, 0, tzinfo=UTC)  # 09:00 local
U = "2026-02-25T08:00:00+07:00"  # every record's updated_at
P_PAPER = "1.000001"  # 3 working days, result on paper
P_EPAPER = "1.000002"  # no legal maximum, electronic result
P_UNKNOWN = "9.999999"  # not in the catalogue
CATALOGUE = [
    {
        "code": P_PAPER,
        "name": "Cấp phép (giấy)",
        "level": "province",
        "max_duration": {"value": 3, "unit": "working_days"},
        "paper_result": True,
    },
    {"code": P_EPAPER, "name": "Thủ tục điện tử", "level": "province", "paper_result": False},
]
DAY_OFF = [{"day": "2026-02-24", "working": False, "note": "Nghỉ theo quyết định của UBND tỉnh"}]
CALENDAR = WorkingCalendar({date(2026, 2, 24): False})


def t(day: str, hm: str = "08:00") -> str:
    return f"{day}T{hm}:00+07:00"


def o(code: str, **over: Any) -> dict[str, Any]:
    return open_rec(code, **{"updated_at": U, **over})


def f(code: str, **over: Any) -> dict[str, Any]:
    return rec(code, **{"updated_at": U, **over})


DATASET = [
    # Overdue across Tết and the day off: working days after Fri 13 Feb up to Wed 25 Feb: Mon 23, Wed 25
    # -> 2 (Tết 16-20 Feb and the day off 24 Feb do not count).
    o("OVD-TET", received_at=t("2026-02-05"), due_at=t("2026-02-13", "17:00")),
    # Overdue with an apology: after Fri 30 Jan: 2-6 Feb (5), 9-13 Feb (5), 23 Feb, 25 Feb -> 12.
    o("OVD-SORRY", received_at=t("2026-01-05"), due_at=t("2026-01-30", "17:00"), apology_issued=True),
    # No due_at: the catalogue's 3 working days from Thu 12 Feb: Fri 13 (1), Mon 23 (2), Wed 25 (3, the
    # 24th is off) -> the end of 25 Feb (26 Feb 00:00): due today, 0 working days left.
    o("CAT-TODAY", procedure_code=P_PAPER, received_at=t("2026-02-12", "10:00"), due_at=None),
    # Due Fri 27 Feb 17:00: Thu 26, Fri 27 -> 2 working days left (due_soon with the default 2).
    o("SOON-FRI", agency_code=OTHER_AGENCY, received_at=t("2026-02-20"), due_at=t("2026-02-27", "17:00")),
    # Due Mon 2 Mar 08:00: Thu 26, Fri 27, Mon 2 -> 3 left: not due_soon with 2, listed with 3.
    o("LATER", received_at=t("2026-02-23"), due_at=t("2026-03-02", "08:00")),
    # Waiting for the applicant (its only request unanswered): past due, yet neither overdue nor late.
    o(
        "AWAIT",
        status="supplement_requested",
        received_at=t("2026-02-05"),
        due_at=t("2026-02-13", "17:00"),
        supplements=[{"requested_at": t("2026-02-10", "09:00"), "supplied_at": None}],
    ),
    # Two requests (the second unanswered): the agency's clock; due Tue 3 Mar 17:00: 26, 27, 2, 3 -> 4 left.
    o(
        "TWICE",
        status="supplement_requested",
        received_at=t("2026-02-02"),
        due_at=t("2026-03-03", "17:00"),
        supplements=[
            {"requested_at": t("2026-02-03", "09:00"), "supplied_at": t("2026-02-04", "09:00")},
            {"requested_at": t("2026-02-23", "09:00"), "supplied_at": None},
        ],
    ),
    # Finished late in 2026 without an apology: after Thu 15 Jan up to Tue 20 Jan: 16, 19, 20 -> 3.
    f(
        "LATE-JAN",
        received_at=t("2026-01-05"),
        due_at=t("2026-01-15", "17:00"),
        resolved_at=t("2026-01-20", "10:00"),
        digitised_result=True,
    ),
    f(
        "LATE-SORRY",
        received_at=t("2026-01-05"),
        due_at=t("2026-01-15", "17:00"),
        resolved_at=t("2026-01-20", "10:00"),
        digitised_result=True,
        apology_issued=True,
    ),
    # Finished late in 2025: outside the default period (the current year).
    f(
        "LATE-2025",
        received_at=t("2025-12-01"),
        due_at=t("2025-12-15", "17:00"),
        resolved_at=t("2025-12-30", "10:00"),
        digitised_result=True,
    ),
    o("UNPAID", received_at=t("2026-02-10"), due_at=t("2026-03-10", "17:00"), fee_required=True),
    o(
        "PAID",
        received_at=t("2026-02-10"),
        due_at=t("2026-03-10", "17:00"),
        fee_required=True,
        paid_online=True,
        channel="online",
    ),
    f(
        "UNPAID-2025",
        received_at=t("2025-12-20"),
        due_at=t("2025-12-30", "17:00"),
        resolved_at=t("2025-12-22"),
        fee_required=True,
        digitised_result=True,
    ),
    # Finished in the period without an electronic result: listed for a paper-result procedure and for
    # one the catalogue does not know, not for one whose result is electronic.
    f(
        "NOE-PAPER",
        agency_code=OTHER_AGENCY,
        procedure_code=P_PAPER,
        received_at=t("2026-02-09"),
        due_at=t("2026-02-13", "17:00"),
        resolved_at=t("2026-02-11", "10:00"),
    ),
    f(
        "NOE-EPAPER",
        agency_code=OTHER_AGENCY,
        procedure_code=P_EPAPER,
        received_at=t("2026-02-09"),
        due_at=t("2026-02-13", "17:00"),
        resolved_at=t("2026-02-11", "10:00"),
    ),
    f(
        "NOE-UNCAT",
        agency_code=COMMUNE_AGENCY,
        commune_code=COMMUNE,
        sector="dat_dai",
        procedure_code=P_UNKNOWN,
        procedure_name='=1+2 cấp phép, "tạm"',  # a formula to a spreadsheet: escaped in CSV
        received_at=t("2026-02-02"),
        due_at=t("2026-02-13", "17:00"),
        resolved_at=t("2026-02-09", "10:00"),
    ),
    # Overdue in the commune: after Wed 11 Feb: Thu 12, Fri 13, Mon 23, Wed 25 -> 4.
    o(
        "OVD-C",
        agency_code=COMMUNE_AGENCY,
        commune_code=COMMUNE,
        sector="dat_dai",
        received_at=t("2026-01-20"),
        due_at=t("2026-02-11", "17:00"),
    ),
]


@pytest.fixture
def setup(client: TestClient, clock: Clock) -> TestClient:
    clock.now = NOW
    assert client.put("/v1/calendar/2026", json=DAY_OFF).status_code == 200
    assert client.put("/v1/procedures", json=CATALOGUE).status_code == 200
    wait_for_index_jobs(client)
    return client


@pytest.fixture
def loaded(setup: TestClient) -> TestClient:
    assert post(setup, DATASET)["created"] == len(DATASET)
    return setup


def every_item(client: TestClient, kind: str, limit: int = 100, **params: Any) -> list[dict[str, Any]]:
    """All the pages of a list."""
    out: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        r = client.get(f"/v1/worklists/{kind}", params=query)
        assert r.status_code == 200, r.text
        doc = r.json()
        out += doc["items"]
        cursor = doc["next_cursor"]
        if cursor is None:
            return out
    raise AssertionError("too many pages")


def codes(client: TestClient, kind: str, **params: Any) -> list[str]:
    return [i["code"] for i in every_item(client, kind, **params)]


def test_every_list_across_tet_and_a_day_off(loaded: TestClient) -> None:
    assert codes(loaded, "overdue") == ["OVD-SORRY", "OVD-C", "OVD-TET"]  # by deadline: 30 Jan, 11, 13 Feb
    assert codes(loaded, "due_soon") == ["CAT-TODAY", "SOON-FRI"]  # 26 Feb 00:00, 27 Feb 17:00
    assert codes(loaded, "due_soon", due_within=0) == ["CAT-TODAY"]
    assert codes(loaded, "due_soon", due_within=3) == ["CAT-TODAY", "SOON-FRI", "LATER"]
    assert codes(loaded, "late_without_apology") == ["LATE-JAN", "OVD-C", "OVD-TET"]
    assert codes(loaded, "late_without_apology", **{"from": "2025-12-01", "to": "2026-11-30"}) == [
        "LATE-2025",
        "LATE-JAN",
        "OVD-C",
        "OVD-TET",
    ]
    assert codes(loaded, "supplement_repeated") == ["TWICE"]
    assert codes(loaded, "unpaid_online") == ["UNPAID"]
    assert codes(loaded, "unpaid_online", **{"from": "2025-01-01", "to": "2025-12-31"}) == ["UNPAID-2025"]
    # by deadline, then code: NOE-PAPER and NOE-UNCAT are both due 13 Feb 17:00.
    assert codes(loaded, "no_electronic_result") == ["NOE-PAPER", "NOE-UNCAT"]
    assert codes(loaded, "awaiting_supplement") == ["AWAIT"]


def test_items_carry_names_deadlines_working_days_and_the_figures_they_weigh_on(loaded: TestClient) -> None:
    names = {a["code"]: a["name"] for a in loaded.get("/v1/agencies").json()}
    overdue = {i["code"]: i for i in every_item(loaded, "overdue")}
    tet = overdue["OVD-TET"]
    assert tet["agency_name"] == names[AGENCY]
    assert tet["deadline_at"] == "2026-02-13T17:00:00+07:00" and tet["deadline_source"] == "due_at"
    assert tet["received_at"] == "2026-02-05T08:00:00+07:00"
    assert (tet["working_days_late"], tet["working_days_left"], tet["clock"]) == (2, None, "agency")
    assert (tet["apology_issued"], tet["apology_owed"]) == (False, True)
    # rates whose numerator holds finished_on_time or late_apologised; indicators whose numerator is
    # idx21_on_time (2.1) or idx21_satisfied (5.4).
    assert tet["weighs_on"] == {"rates": ["on_time", "on_time_766", "apology"], "index": ["2.1", "5.4"]}
    assert overdue["OVD-SORRY"]["working_days_late"] == 12
    assert (overdue["OVD-SORRY"]["apology_issued"], overdue["OVD-SORRY"]["apology_owed"]) == (True, False)
    assert overdue["OVD-C"]["working_days_late"] == 4
    assert (overdue["OVD-C"]["commune_code"], overdue["OVD-C"]["commune_name"]) == (COMMUNE, "Xã Anh Sơn")

    soon = {i["code"]: i for i in every_item(loaded, "due_soon")}
    cat = soon["CAT-TODAY"]
    assert cat["procedure_name"] == "Cấp phép (giấy)"  # the catalogue's name
    assert cat["deadline_at"] == "2026-02-26T00:00:00+07:00" and cat["deadline_source"] == "catalogue"
    assert (cat["working_days_left"], cat["working_days_late"], cat["apology_owed"]) == (0, None, True)
    assert (
        soon["SOON-FRI"]["working_days_left"] == 2 and soon["SOON-FRI"]["agency_name"] == names[OTHER_AGENCY]
    )

    [late_jan, *_] = every_item(loaded, "late_without_apology")
    assert (late_jan["code"], late_jan["working_days_late"], late_jan["clock"]) == ("LATE-JAN", 3, None)
    assert late_jan["resolved_at"] == "2026-01-20T10:00:00+07:00"
    assert late_jan["weighs_on"] == {"rates": ["apology"], "index": []}

    [await_] = every_item(loaded, "awaiting_supplement")
    assert (await_["clock"], await_["working_days_left"], await_["working_days_late"]) == (
        "applicant",
        None,
        None,
    )
    assert await_["weighs_on"] == {"rates": [], "index": []} and await_["apology_owed"] is False

    [twice] = every_item(loaded, "supplement_repeated")
    assert (twice["supplement_requests"], twice["working_days_left"], twice["clock"]) == (2, 4, "agency")

    [unpaid] = every_item(loaded, "unpaid_online")
    assert unpaid["weighs_on"] == {"rates": ["online_payment"], "index": ["3.6a"]}
    noe = {i["code"]: i for i in every_item(loaded, "no_electronic_result")}
    assert noe["NOE-UNCAT"]["procedure_name"] == '=1+2 cấp phép, "tạm"'  # the record's: not catalogued
    assert noe["NOE-PAPER"]["weighs_on"] == {"rates": ["result_digitisation"], "index": ["4.1", "4.2"]}


# A make-up working day: Saturday 14 March 2026 worked by the province's decision (PUT /v1/calendar/2026).
# Weekdays: Wed 11, Thu 12, Fri 13, Sat 14, (Sun 15), Mon 16, Tue 17 March. No public holiday near.
MAKE_UP = {"day": "2026-03-14", "working": True, "note": "Làm bù theo quyết định của UBND tỉnh"}
FRI_13 = datetime(2026, 3, 13, 2, 0, tzinfo=UTC)  # 09:00 local
TUE_17 = datetime(2026, 3, 17, 2, 0, tzinfo=UTC)  # 09:00 local
MAKE_UP_DATASET = [
    o("MU-FRI", received_at=t("2026-03-02"), due_at=t("2026-03-13", "17:00"), updated_at=t("2026-03-12")),
    o("MU-MON", received_at=t("2026-03-09"), due_at=t("2026-03-16", "17:00"), updated_at=t("2026-03-12")),
    o("MU-TUE", received_at=t("2026-03-09"), due_at=t("2026-03-17", "17:00"), updated_at=t("2026-03-12")),
    # No due_at: the catalogue's 3 working days from Thu 12 March (below).
    o(
        "MU-CAT",
        procedure_code=P_PAPER,
        received_at=t("2026-03-12", "10:00"),
        due_at=None,
        updated_at=t("2026-03-12"),
    ),
]


def test_a_make_up_saturday_is_a_working_day_of_every_count(setup: TestClient, clock: Clock) -> None:
    def left(**params: Any) -> list[tuple[str, int]]:
        return [(i["code"], i["working_days_left"]) for i in every_item(setup, "due_soon", **params)]

    def late() -> list[tuple[str, int]]:
        return [(i["code"], i["working_days_late"]) for i in every_item(setup, "overdue")]

    def drilled() -> list[tuple[str, str, int | None]]:
        r = setup.get("/v1/dossiers")
        assert r.status_code == 200, r.text
        return [(i["code"], i["deadline_at"], i["working_days_overdue"]) for i in r.json()["items"]]

    clock.now = FRI_13
    assert post(setup, MAKE_UP_DATASET)["created"] == 4

    # Without the make-up day (Sat 14 off, as every Saturday).
    # MU-CAT's deadline: 3 working days after Thu 12: Fri 13 (1), Mon 16 (2), Tue 17 (3) -> the end of
    # Tue 17 (18 Mar 00:00).
    # Fri 13 09:00, due_soon (2 working days: the horizon is the start of the 3rd working day after Fri
    # 13, Wed 18): MU-FRI due today -> 0; MU-MON: Mon 16 -> 1; MU-TUE: Mon 16, Tue 17 -> 2; MU-CAT: Mon
    # 16, Tue 17 -> 2.
    assert left() == [("MU-FRI", 0), ("MU-MON", 1), ("MU-TUE", 2), ("MU-CAT", 2)]
    # Tue 17 09:00, overdue: MU-FRI after Fri 13: Mon 16, Tue 17 -> 2; MU-MON after Mon 16: Tue 17 -> 1.
    # MU-TUE (today 17:00) and MU-CAT (the end of today) are due today: 0 left.
    clock.now = TUE_17
    assert late() == [("MU-FRI", 2), ("MU-MON", 1)]
    assert left() == [("MU-TUE", 0), ("MU-CAT", 0)]
    # The drill-down at Tue 17 09:00 (code order): the same working days overdue.
    assert drilled() == [
        ("MU-CAT", "2026-03-18T00:00:00+07:00", None),
        ("MU-FRI", "2026-03-13T17:00:00+07:00", 2),
        ("MU-MON", "2026-03-16T17:00:00+07:00", 1),
        ("MU-TUE", "2026-03-17T17:00:00+07:00", None),
    ]

    # The province makes Sat 14 a working day; the stored dossiers are derived again.
    assert setup.put("/v1/calendar/2026", json=[*DAY_OFF, MAKE_UP]).status_code == 200
    wait_for_index_jobs(setup)

    # MU-CAT's deadline: Fri 13 (1), Sat 14 (2), Mon 16 (3) -> the end of Mon 16 (17 Mar 00:00): one
    # working day, and one day, earlier.
    # Tue 17 09:00, overdue: MU-FRI after Fri 13: Sat 14, Mon 16, Tue 17 -> 3; MU-MON after Mon 16: Tue 17
    # -> 1 (the Saturday is before its deadline); MU-CAT, past due since 00:00, after Mon 16: Tue 17 -> 1.
    assert late() == [("MU-FRI", 3), ("MU-MON", 1), ("MU-CAT", 1)]
    assert left() == [("MU-TUE", 0)]
    assert drilled() == [
        ("MU-CAT", "2026-03-17T00:00:00+07:00", 1),
        ("MU-FRI", "2026-03-13T17:00:00+07:00", 3),
        ("MU-MON", "2026-03-16T17:00:00+07:00", 1),
        ("MU-TUE", "2026-03-17T17:00:00+07:00", None),
    ]
    [cat] = [i for i in every_item(setup, "overdue") if i["code"] == "MU-CAT"]
    assert (cat["deadline_at"], cat["deadline_source"]) == ("2026-03-17T00:00:00+07:00", "catalogue")
    # Fri 13 09:00, due_soon (the horizon is now the start of Tue 17: Sat 14, Mon 16, Tue 17): MU-FRI
    # -> 0; MU-MON: Sat 14, Mon 16 -> 2; MU-CAT: Sat 14, Mon 16 -> 2; MU-TUE: Sat 14, Mon 16, Tue 17 -> 3,
    # listed only within 3.
    clock.now = FRI_13
    assert left() == [("MU-FRI", 0), ("MU-MON", 2), ("MU-CAT", 2)]
    assert left(due_within=3) == [("MU-FRI", 0), ("MU-MON", 2), ("MU-CAT", 2), ("MU-TUE", 3)]


def test_the_per_dossier_rule_and_the_queries_agree_on_every_dossier(
    loaded: TestClient, engine: Engine
) -> None:
    period = Window(date(2026, 1, 1), date(2026, 12, 31))
    with engine.connect() as conn:
        rows = conn.execute(
            select(Dossier.__table__, Procedure.paper_result.label("paper_result")).outerjoin(
                Procedure.__table__, Procedure.code == Dossier.procedure_code
            )
        ).all()
    expected: dict[str, set[str]] = {k: set() for k in KINDS}
    for r in rows:
        m = dict(r._mapping)
        for k in kinds_of(m, NOW, period, 2, CALENDAR, m["paper_result"]):
            expected[k].add(m["code"])
    for k in KINDS:
        assert set(codes(loaded, k)) == expected[k], k


def test_the_summary_counts_per_unit_and_kind(loaded: TestClient) -> None:
    r = loaded.get("/v1/worklists")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert (doc["unit"], doc["from"], doc["to"], doc["due_within"]) == (
        "agency",
        "2026-01-01",
        "2026-12-31",
        2,
    )
    zero = dict.fromkeys(KINDS, 0)
    # A: CAT-TODAY; OVD-TET, OVD-SORRY; OVD-TET, LATE-JAN; TWICE; UNPAID; AWAIT.
    # B (OTHER_AGENCY): SOON-FRI; NOE-PAPER. The commune's committee: OVD-C (overdue, late); NOE-UNCAT.
    by_unit = {row["agency"]: row["counts"] for row in doc["rows"]}
    assert list(by_unit) == sorted([AGENCY, OTHER_AGENCY, COMMUNE_AGENCY])
    assert by_unit[AGENCY] == {
        **zero,
        "due_soon": 1,
        "overdue": 2,
        "late_without_apology": 2,
        "supplement_repeated": 1,
        "unpaid_online": 1,
        "awaiting_supplement": 1,
    }
    assert by_unit[OTHER_AGENCY] == {**zero, "due_soon": 1, "no_electronic_result": 1}
    assert by_unit[COMMUNE_AGENCY] == {
        **zero,
        "overdue": 1,
        "late_without_apology": 1,
        "no_electronic_result": 1,
    }
    assert doc["totals"] == {
        "due_soon": 2,
        "overdue": 3,
        "late_without_apology": 3,
        "supplement_repeated": 1,
        "unpaid_online": 1,
        "no_electronic_result": 2,
        "awaiting_supplement": 1,
    }
    # Each count is the length of its list.
    for k in KINDS:
        assert doc["totals"][k] == len(codes(loaded, k))
    communes = loaded.get("/v1/worklists", params={"unit": "commune"}).json()
    assert [(row["commune"], row["commune_name"]) for row in communes["rows"]] == [
        (COMMUNE, "Xã Anh Sơn"),
        (None, None),
    ]
    assert communes["rows"][0]["counts"] == {
        **zero,
        "overdue": 1,
        "late_without_apology": 1,
        "no_electronic_result": 1,
    }
    assert communes["totals"] == doc["totals"]
    filtered = loaded.get("/v1/worklists", params={"sector": "dat_dai", "due_within": 3}).json()
    assert [row["agency"] for row in filtered["rows"]] == [COMMUNE_AGENCY]


def test_filters(loaded: TestClient) -> None:
    assert codes(loaded, "overdue", commune=COMMUNE) == ["OVD-C"]
    assert codes(loaded, "overdue", sector="dat_dai") == ["OVD-C"]
    assert codes(loaded, "overdue", agency=[AGENCY, COMMUNE_AGENCY]) == ["OVD-SORRY", "OVD-C", "OVD-TET"]
    assert codes(loaded, "due_soon", agency=OTHER_AGENCY) == ["SOON-FRI"]
    assert codes(loaded, "due_soon", procedure=P_PAPER) == ["CAT-TODAY"]
    assert codes(loaded, "no_electronic_result", procedure=[P_UNKNOWN, P_EPAPER]) == ["NOE-UNCAT"]


def test_a_reader_limited_to_one_agency_sees_only_its_dossiers(loaded: TestClient) -> None:
    reader = with_token(loaded, new_token(loaded, ["read"], [OTHER_AGENCY]))
    assert codes(reader, "due_soon") == ["SOON-FRI"]
    assert codes(reader, "overdue") == []
    assert codes(reader, "no_electronic_result") == ["NOE-PAPER"]
    summary = reader.get("/v1/worklists").json()
    assert [row["agency"] for row in summary["rows"]] == [OTHER_AGENCY]
    assert summary["totals"]["due_soon"] == 1 and summary["totals"]["overdue"] == 0
    r = reader.get("/v1/worklists/overdue", params={"agency": AGENCY})
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["loc"] == ["query", "agency"]
    assert reader.get("/v1/worklists", params={"agency": AGENCY}).status_code == 403
    r = reader.get("/v1/worklists/due_soon", params={"format": "csv"})
    assert [line.split(",")[0] for line in r.text.splitlines()[1:]] == ["SOON-FRI"]


def test_pages_neither_repeat_nor_skip_a_dossier_while_the_data_changes(setup: TestClient) -> None:
    # Eight overdue dossiers, due 2 to 9 Feb 17:00; P3 and P3B share a deadline (ordered by code).
    days = {"P1": "02", "P2": "03", "P3": "04", "P3B": "04", "P4": "05", "P5": "06", "P6": "09", "P7": "10"}
    records = [o(c, received_at=t("2026-01-20"), due_at=t(f"2026-02-{d}", "17:00")) for c, d in days.items()]
    assert post(setup, records)["created"] == 8
    first = setup.get("/v1/worklists/overdue", params={"limit": 3}).json()
    assert [i["code"] for i in first["items"]] == ["P1", "P2", "P3"]
    # Between the pages: a new dossier due before the cursor, one already listed resolved, one not yet
    # listed resolved (its membership changed), one not yet listed given an apology (membership kept).
    changes = [
        o("P0", received_at=t("2026-01-20"), due_at=t("2026-02-01", "17:00")),
        f(
            "P2",
            received_at=t("2026-01-20"),
            due_at=t("2026-02-03", "17:00"),
            resolved_at=t("2026-02-25"),
            updated_at="2026-02-25T08:30:00+07:00",
        ),
        f(
            "P4",
            received_at=t("2026-01-20"),
            due_at=t("2026-02-05", "17:00"),
            resolved_at=t("2026-02-25"),
            updated_at="2026-02-25T08:30:00+07:00",
        ),
        o(
            "P6",
            received_at=t("2026-01-20"),
            due_at=t("2026-02-09", "17:00"),
            apology_issued=True,
            updated_at="2026-02-25T08:30:00+07:00",
        ),
    ]
    report = post(setup, changes)
    assert (report["created"], report["updated"]) == (1, 3), report
    second = setup.get("/v1/worklists/overdue", params={"limit": 3, "cursor": first["next_cursor"]}).json()
    # Offset paging would have skipped P3B (P2 left the first three); keyset paging resumes after P3.
    assert [i["code"] for i in second["items"]] == ["P3B", "P5", "P6"]
    third = setup.get("/v1/worklists/overdue", params={"limit": 3, "cursor": second["next_cursor"]}).json()
    assert [i["code"] for i in third["items"]] == ["P7"] and third["next_cursor"] is None
    # Every dossier whose deadline and membership did not change was listed exactly once.
    seen = [i["code"] for page in (first, second, third) for i in page["items"]]
    assert sorted(seen) == ["P1", "P2", "P3", "P3B", "P5", "P6", "P7"]


def _from_csv_cell(key: str, cell: str) -> Any:
    if key.startswith("weighs_on."):
        return [] if cell == "" else cell.split(", ")
    if cell == "":
        return None
    if key in ("working_days_left", "working_days_late", "supplement_requests"):
        return int(cell)
    if key in ("apology_issued", "apology_owed"):
        return {"có": True, "không": False}[cell]
    return cell[1:] if cell.startswith("'") else cell  # the escaping undone (app.reports.render.csv_text)


def _item_of(cells: list[Any], unescape: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"weighs_on": {}}
    for (key, _), cell in zip(COLUMNS, cells, strict=True):
        value = unescape(key, cell)
        if key.startswith("weighs_on."):
            item["weighs_on"][key.split(".", 1)[1]] = value
        else:
            item[key] = value
    return item


def _from_xlsx_cell(key: str, cell: Any) -> Any:
    if key.startswith("weighs_on."):
        return [] if cell is None else str(cell).split(", ")
    if key in ("apology_issued", "apology_owed"):
        return {"có": True, "không": False}[cell]
    return cell


def test_csv_and_xlsx_are_the_json_items(loaded: TestClient) -> None:
    for kind in KINDS:
        items = every_item(loaded, kind, limit=2)
        r = loaded.get(f"/v1/worklists/{kind}", params={"format": "csv"})
        assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
        assert r.headers["content-disposition"] == f'attachment; filename="viec-can-lam_{kind}_20260225.csv"'
        assert r.content.startswith(b"\xef\xbb\xbf")
        head, *lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert head == [h for _, h in COLUMNS]
        assert [_item_of(cells, _from_csv_cell) for cells in lines] == items, kind
        x = loaded.get(f"/v1/worklists/{kind}", params={"format": "xlsx"})
        assert x.status_code == 200, x.text
        ws = openpyxl.load_workbook(io.BytesIO(x.content), read_only=True).active
        assert ws is not None
        head_x, *rows = [list(row) for row in ws.iter_rows(values_only=True)]
        assert head_x == [h for _, h in COLUMNS]
        assert [_item_of(cells, _from_xlsx_cell) for cells in rows] == items, kind
    # The formula-like name: one ' in CSV, a text cell in XLSX.
    r = loaded.get("/v1/worklists/no_electronic_result", params={"format": "csv"})
    assert '"\'=1+2 cấp phép, ""tạm"""' in r.content.decode("utf-8-sig")


def test_an_xlsx_above_the_limit_is_refused(loaded: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worklists_router, "XLSX_MAX_ROWS", 2)
    r = loaded.get("/v1/worklists/overdue", params={"format": "xlsx"})  # 3 dossiers
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"] == [
        {
            "loc": ["query", "format"],
            "msg": "the list has 3 dossiers, above the XLSX limit of 2 rows",
            "type": "too_large",
        }
    ]
    assert loaded.get("/v1/worklists/due_soon", params={"format": "xlsx"}).status_code == 200  # 2 rows
    assert loaded.get("/v1/worklists/overdue", params={"format": "csv"}).status_code == 200


# Each case: (its name, the path, the query, the field the single error names). A repeatable parameter
# adds its position to the error's location; only the first two parts are compared.
BAD_PARAMETERS: list[tuple[str, str, dict[str, str], list[str]]] = [
    ("unknown kind", "/v1/worklists/late", {}, ["path", "kind"]),
    ("due_within below 0", "/v1/worklists/overdue", {"due_within": "-1"}, ["query", "due_within"]),
    ("due_within above 60", "/v1/worklists/overdue", {"due_within": "61"}, ["query", "due_within"]),
    ("limit above 1000", "/v1/worklists/overdue", {"limit": "1001"}, ["query", "limit"]),
    ("limit 0", "/v1/worklists/overdue", {"limit": "0"}, ["query", "limit"]),
    ("from without to", "/v1/worklists/overdue", {"from": "2026-01-01"}, ["query", "to"]),
    ("to without from", "/v1/worklists/overdue", {"to": "2026-01-01"}, ["query", "from"]),
    ("to before from", "/v1/worklists/overdue", {"from": "2026-02-01", "to": "2026-01-01"}, ["query", "to"]),
    (
        "a period over a year",
        "/v1/worklists/overdue",
        {"from": "2025-01-01", "to": "2026-01-02"},
        ["query", "to"],
    ),
    ("no such month", "/v1/worklists/overdue", {"from": "2026-13-01", "to": "2026-12-31"}, ["query", "from"]),
    ("a bad cursor", "/v1/worklists/overdue", {"cursor": "not-a-cursor"}, ["query", "cursor"]),
    ("a limit with csv", "/v1/worklists/overdue", {"format": "csv", "limit": "10"}, ["query", "limit"]),
    ("unknown format", "/v1/worklists/overdue", {"format": "pdf"}, ["query", "format"]),
    ("unknown agency", "/v1/worklists/overdue", {"agency": "NO.SUCH"}, ["query", "agency"]),
    ("unknown commune", "/v1/worklists/overdue", {"commune": "99999"}, ["query", "commune"]),
    ("unknown sector", "/v1/worklists/overdue", {"sector": "Đất"}, ["query", "sector"]),
    ("a misspelt parameter", "/v1/worklists/overdue", {"agenc": AGENCY}, ["query", "agenc"]),
    ("the summary by sector", "/v1/worklists", {"unit": "sector"}, ["query", "unit"]),
    ("a limit on the summary", "/v1/worklists", {"limit": "5"}, ["query", "limit"]),
]


def test_bad_parameters_are_problems_naming_the_field(client: TestClient) -> None:
    # One app and one database for the whole table; every failing case is reported at once.
    failures: list[tuple[Any, ...]] = []
    for name, path, params, loc in BAD_PARAMETERS:
        r = client.get(path, params=params)
        got = (r.status_code, r.headers["content-type"])
        if got != (422, "application/problem+json"):
            failures.append((name, got, r.text))
        elif (locs := [e["loc"][:2] for e in r.json()["errors"]]) != [loc]:
            failures.append((name, locs, loc))
    assert not failures, failures


def test_a_cursor_of_another_list_is_refused(loaded: TestClient) -> None:
    cursor = loaded.get("/v1/worklists/overdue", params={"limit": 1}).json()["next_cursor"]
    assert cursor is not None
    r = loaded.get("/v1/worklists/late_without_apology", params={"cursor": cursor})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize(
    ("kind", "index"),
    [
        ("unpaid_online", "ix_dossiers_wl_unpaid"),
        ("no_electronic_result", "ix_dossiers_wl_no_result"),
        ("late_without_apology", "ix_dossiers_wl_late"),
    ],
)
def test_the_period_kinds_read_their_partial_indexes(engine: Engine, kind: Kind, index: str) -> None:
    # The queries repeat the indexes' predicates (app.models.tables, migration 0010) so that each store
    # proves the index applies; a predicate written differently in one place would fail here.
    o = Options(NOW, Window(date(2026, 1, 1), date(2026, 12, 31)), 2, CALENDAR)
    condition = kind_condition(kind, o)
    if kind == "late_without_apology":
        # Its finished branch (the other reads the open dossiers through the close date's index; on an
        # empty table PostgreSQL's costs do not tell the two indexes of an OR apart).
        condition = and_(
            Dossier.close_date >= o.period.start, Dossier.close_date <= o.period.end, WL_LATE_UNAPOLOGISED
        )
    query = select(func.count()).select_from(Dossier).where(condition)
    with engine.connect() as conn:
        sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name == "postgresql":
            # On a near-empty table PostgreSQL's costs may tie the partial index with the close date's
            # index (which one wins depended on the statistics earlier tests left). So, in this
            # transaction only (rolled back below), the table's other secondary indexes are dropped:
            # the partial index is then chosen exactly when the query's predicate implies its own,
            # else the plan is a scan of the primary key or of the table.
            others = conn.exec_driver_sql(
                "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                "WHERE x.indrelid = 'dossiers'::regclass AND NOT x.indisprimary AND i.relname <> %(keep)s",
                {"keep": index},
            ).scalars()
            for name in list(others):
                conn.exec_driver_sql(f'DROP INDEX "{name}"')
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(str(r[0]) for r in conn.exec_driver_sql("EXPLAIN " + sql))
        else:
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
        conn.rollback()
    assert index in plan, plan


@pytest.mark.parametrize("unit", ["agency", "commune"])
def test_the_summary_reads_late_dossiers_in_index_order_and_the_rest_from_the_rollups(
    engine: Engine, unit: str
) -> None:
    # late_without_apology's finished dossiers are counted per (date, agency[, commune]) while its
    # partial index is read in that order, then those groups are added up per unit: no temporary B-tree
    # of every listed dossier (docs/PERFORMANCE.md). SQLite shows it in the plan: the grouped count is a
    # co-routine reading the index with nothing sorted inside it. PostgreSQL (seq scans off, as above)
    # reads the same partial index. unpaid_online and no_electronic_result read no dossier: their
    # partial indexes are in no plan, and the rollups' sums are read instead.
    o = Options(NOW, Window(date(2026, 1, 1), date(2026, 12, 31)), 2, CALENDAR)
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        statements.append((statement, parameters))

    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")
        event.listen(conn, "before_cursor_execute", capture)
        summary(conn, unit, Filters(), o)
        event.remove(conn, "before_cursor_execute", capture)
        plans = [
            [
                tuple(r)
                for r in conn.exec_driver_sql(
                    ("EXPLAIN " if conn.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN ") + s, p
                )
            ]
            for s, p in statements
        ]
    texts = [" ".join(str(r[-1]) for r in plan) for plan in plans]
    read = [i for i, text in enumerate(texts) if "ix_dossiers_wl_late" in text]
    assert len(read) == 1, texts
    if engine.dialect.name == "sqlite":
        plan = plans[read[0]]  # rows (id, parent, notused, detail)
        inner = [r[0] for r in plan if str(r[3]).startswith("CO-ROUTINE")]
        assert len(inner) == 1, plan
        inside = [str(r[3]) for r in plan if r[1] == inner[0]]
        assert any("ix_dossiers_wl_late" in d for d in inside), plan
        assert not any("TEMP B-TREE" in d for d in inside), plan
    for index in ("ix_dossiers_wl_unpaid", "ix_dossiers_wl_no_result"):
        assert not any(index in text for text in texts), texts
    assert any("FROM rollups" in s for s, _ in statements), statements


def test_exports_read_the_list_in_batches_in_list_order(loaded: TestClient, engine: Engine) -> None:
    # The CSV and XLSX read app.worklists.service.batches (2,000 at a time); with batches of 2 the three
    # late dossiers come as [2, 1], in the pages' order.
    items = every_item(loaded, "late_without_apology")
    o = Options(NOW, Window(date(2026, 1, 1), date(2026, 12, 31)), 2, CALENDAR)
    with engine.connect() as conn:
        names = Names(
            {a["code"]: a["name"] for a in loaded.get("/v1/agencies").json()},
            {COMMUNE: "Xã Anh Sơn"},
            indicators_weighed(conn, o),
        )
        parts = list(batches(conn, "late_without_apology", Filters(), o, names, size=2))
    assert [len(p) for p in parts] == [2, 1]
    assert [i for p in parts for i in p] == items
