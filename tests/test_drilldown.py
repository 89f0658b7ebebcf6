"""GET /v1/dossiers (contract §3): filters, outcomes judged at the end of as_of or now, keyset pages."""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import anyio
import openpyxl
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, Table, insert, select

from app.api import exports
from app.api.openapi_examples import success_examples
from app.core.communes import communes_of
from app.dossiers.schemas import EXAMPLE_RECORD
from app.models import Dossier
from tests.conftest import Clock
from tests.factory import AGENCY, COMMUNE, COMMUNE_AGENCY, open_rec, rec
from tests.ingesting import post, wait_for_index_jobs
from tests.test_worklists import f, o, t

# The clock stands at 2025-10-01 08:00 Vietnam time.
DATASET = [
    rec("EARLY"),  # received 1 Jul, due 10 Jul 17:00, resolved 8 Jul
    rec("LATE", resolved_at="2025-07-12T10:00:00+07:00", updated_at="2025-07-12T10:00:00+07:00"),
    open_rec("OVERDUE", received_at="2025-07-02T08:00:00+07:00"),  # due 10 Jul 17:00, still open
    open_rec("PENDING", received_at="2025-09-30T08:00:00+07:00", due_at="2025-10-01T17:00:00+07:00"),
    open_rec("DUE-THIS-MORNING", received_at="2025-09-30T08:00:00+07:00", due_at="2025-10-01T07:00:00+07:00"),
    rec("WITHDRAWN", status="withdrawn", resolved_at="2025-07-05T10:00:00+07:00"),
    rec(
        "ONLINE",
        agency_code="UBND-17329",
        commune_code="17329",
        sector="dat_dai",
        procedure_code="2.000123",
        channel="online",
        online_level="full",
    ),
]


@pytest.fixture
def dataset(client: TestClient) -> TestClient:
    assert post(client, DATASET)["created"] == len(DATASET)
    return client


def listing(client: TestClient, **params: Any) -> list[tuple[str, str | None]]:
    r = client.get("/v1/dossiers", params=params)
    assert r.status_code == 200, r.text
    return [(d["code"], d["outcome"]) for d in r.json()["items"]]


def test_without_filters_every_dossier_is_listed_in_code_order_with_its_outcome_now(
    dataset: TestClient,
) -> None:
    assert listing(dataset) == [
        ("DUE-THIS-MORNING", "pending_overdue"),  # due 07:00 today: overdue since then
        ("EARLY", "early"),
        ("LATE", "late"),
        ("ONLINE", "early"),
        ("OVERDUE", "pending_overdue"),
        ("PENDING", "pending"),  # due 17:00 today: not yet overdue
        ("WITHDRAWN", "withdrawn"),
    ]


def test_outcome_filters_are_repeatable(dataset: TestClient) -> None:
    assert listing(dataset, outcome="pending") == [("PENDING", "pending")]
    assert [c for c, _ in listing(dataset, outcome=["late", "withdrawn"])] == ["LATE", "WITHDRAWN"]


def test_as_of_judges_outcomes_at_the_end_of_that_day(dataset: TestClient) -> None:
    # End of 9 July: LATE and OVERDUE are still pending within their deadline (10 July 17:00),
    # dossiers received later are not listed.
    assert listing(dataset, as_of="2025-07-09") == [
        ("EARLY", "early"),
        ("LATE", "pending"),
        ("ONLINE", "early"),
        ("OVERDUE", "pending"),
        ("WITHDRAWN", "withdrawn"),
    ]
    assert listing(dataset, as_of="2025-07-10", outcome="pending_overdue") == [
        ("LATE", "pending_overdue"),
        ("OVERDUE", "pending_overdue"),
    ]
    # At the end of the day it is due, the dossier due this morning is already overdue.
    assert listing(dataset, as_of="2025-09-30", outcome=["pending", "pending_overdue"]) == [
        ("DUE-THIS-MORNING", "pending"),
        ("OVERDUE", "pending_overdue"),
        ("PENDING", "pending"),
    ]


def test_as_of_today_or_later_judges_now(dataset: TestClient) -> None:
    now = listing(dataset)
    assert listing(dataset, as_of="2025-10-01") == now
    assert listing(dataset, as_of="2025-12-31") == now


# Each case: (its name, the filters, the codes listed, in code order).
FILTERS: list[tuple[str, dict[str, Any], list[str]]] = [
    ("agency", {"agency": "UBND-17329"}, ["ONLINE"]),
    ("agency repeated", {"agency": ["UBND-17329", "000.00.03.H41"]}, ["ONLINE"]),
    ("commune", {"commune": "17329"}, ["ONLINE"]),
    ("sector", {"sector": "dat_dai"}, ["ONLINE"]),
    ("procedure", {"procedure": "2.000123"}, ["ONLINE"]),
    ("channel", {"channel": "online"}, ["ONLINE"]),
    (
        "channel repeated and received_from",
        {"channel": ["in_person", "postal"], "received_from": "2025-09-01"},
        ["DUE-THIS-MORNING", "PENDING"],
    ),
    ("one day received", {"received_from": "2025-07-02", "received_to": "2025-07-02"}, ["OVERDUE"]),
]


def test_filters_narrow_the_list(dataset: TestClient) -> None:
    # The dataset is written once for the whole table; every failing case is reported at once.
    failures: list[tuple[Any, ...]] = []
    for name, params, codes in FILTERS:
        if (got := [c for c, _ in listing(dataset, **params)]) != codes:
            failures.append((name, got, codes))
    assert not failures, failures


def test_pages_follow_the_cursor_to_the_end(dataset: TestClient) -> None:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = dataset.get("/v1/dossiers", params=params).json()
        seen += [d["code"] for d in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [c for c, _ in listing(dataset)]


def test_a_page_that_ends_exactly_at_the_end_has_no_next_cursor(dataset: TestClient) -> None:
    assert dataset.get("/v1/dossiers", params={"limit": 7}).json()["next_cursor"] is None


def test_a_dossier_written_between_pages_is_not_lost_or_repeated(dataset: TestClient) -> None:
    first = dataset.get("/v1/dossiers", params={"limit": 2}).json()
    post(dataset, [rec("A-FIRST"), rec("ZZ-LAST")])
    rest = dataset.get("/v1/dossiers", params={"limit": 100, "cursor": first["next_cursor"]}).json()
    codes = [d["code"] for d in first["items"] + rest["items"]]
    assert codes == [
        "DUE-THIS-MORNING",
        "EARLY",
        "LATE",
        "ONLINE",
        "OVERDUE",
        "PENDING",
        "WITHDRAWN",
        "ZZ-LAST",
    ]


# Each case: (its name, the query, the location of the single error).
BAD_PARAMETERS: list[tuple[str, dict[str, Any], list[Any]]] = [
    ("a bad cursor", {"cursor": "!!!"}, ["query", "cursor"]),
    ("limit 0", {"limit": 0}, ["query", "limit"]),
    ("limit above 1000", {"limit": 1001}, ["query", "limit"]),
    ("unknown outcome", {"outcome": "lost"}, ["query", "outcome", 0]),
    ("unknown channel", {"channel": "fax"}, ["query", "channel", 0]),
    ("no such month", {"as_of": "2025-13-01"}, ["query", "as_of"]),
    ("a misspelt parameter", {"recieved_from": "2025-07-01"}, ["query", "recieved_from"]),
]


def test_a_bad_parameter_is_422_naming_it(dataset: TestClient) -> None:
    # The dataset is written once for the whole table; every failing case is reported at once.
    failures: list[tuple[Any, ...]] = []
    for name, params, loc in BAD_PARAMETERS:
        r = dataset.get("/v1/dossiers", params=params)
        got = (r.status_code, r.headers["content-type"])
        if got != (422, "application/problem+json"):
            failures.append((name, got, r.text))
        elif (locs := [e["loc"] for e in r.json()["errors"]]) != [loc]:
            failures.append((name, locs, loc))
    assert not failures, failures


def test_the_documented_example_is_what_the_list_answers_for_the_example_record(client: TestClient) -> None:
    # The OpenAPI example of GET /v1/dossiers is the example record as the drill-down lists it: the
    # seeded agency's and ward's names, resolved Fri 25 Jul 2025 against due_at Mon 28 Jul -> 1 working
    # day early.
    assert post(client, [EXAMPLE_RECORD])["created"] == 1
    r = client.get("/v1/dossiers")
    assert r.status_code == 200, r.text
    assert r.json()["items"] == success_examples()["list_dossiers"]["items"]


def test_get_of_an_unknown_code_is_404(client: TestClient) -> None:
    r = client.get("/v1/dossiers/NOPE")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


# --- names, deadlines, working days overdue or early; resolved and due ranges; exports -------------
#
# The calendar of these tests (app.core.calendar for 2026, plus one day off the province declares):
#   Fri 13 Feb 2026 is the last working day before Tết; Mon 16 - Fri 20 Feb are Tết holidays, then the
#   weekend; Mon 23 Feb works again; Tue 24 Feb is the province's day off; Wed 25 Feb works.
# The clock stands at Wed 25 Feb 2026 09:00 Vietnam time.

NOW_2026 = datetime(2026, 2, 25, 2, 0, tzinfo=UTC)  # 09:00 local
P_CAT = "1.000001"  # 3 working days in the catalogue
P_UNKNOWN = "9.999999"  # not in the catalogue
CATALOGUE = [
    {
        "code": P_CAT,
        "name": "Cấp phép (danh mục)",
        "level": "province",
        "max_duration": {"value": 3, "unit": "working_days"},
    }
]
DAY_OFF = [{"day": "2026-02-24", "working": False, "note": "Nghỉ theo quyết định của UBND tỉnh"}]


DATASET_2026 = [
    # Open past its deadline across Tết and the day off: working days after Fri 13 Feb up to Wed 25 Feb:
    # Mon 23, Wed 25 -> 2 (Tết 16-20 Feb, the weekend and the day off 24 Feb do not count).
    o("A-TET-OPEN", received_at=t("2026-02-05"), due_at=t("2026-02-13", "17:00")),
    # No due_at: the catalogue's 3 working days from the day after Mon 9 Feb: Tue 10, Wed 11, Thu 12 ->
    # the end of 12 Feb (13 Feb 00:00). Overdue after Thu 12 up to Wed 25: Fri 13, Mon 23, Wed 25 -> 3.
    # Its name is the catalogue's, not the record's.
    o(
        "B-CAT-OPEN",
        procedure_code=P_CAT,
        procedure_name="Tên trong hồ sơ",
        received_at=t("2026-02-09", "10:00"),
        due_at=None,
    ),
    # Finished early across Tết: resolved Thu 12 Feb, due Mon 23 Feb: after 12 Feb up to 23 Feb:
    # Fri 13, Mon 23 -> 2 working days early.
    f(
        "C-EARLY-TET",
        received_at=t("2026-02-02"),
        due_at=t("2026-02-23", "17:00"),
        resolved_at=t("2026-02-12"),
    ),
    # Finished late across Tết and the day off: due Fri 13 Feb, resolved Wed 25 Feb 08:00: after 13 Feb
    # up to 25 Feb: Mon 23, Wed 25 -> 2 working days overdue.
    f(
        "D-LATE-DAYOFF",
        received_at=t("2026-02-02"),
        due_at=t("2026-02-13", "17:00"),
        resolved_at=t("2026-02-25"),
    ),
    # Finished on its deadline's day: 0 working days early.
    f(
        "E-SAME-DAY",
        received_at=t("2026-02-02"),
        due_at=t("2026-02-11", "17:00"),
        resolved_at=t("2026-02-11", "10:00"),
    ),
    # Finished late in January: due Thu 15 Jan, resolved Tue 20 Jan: Fri 16, Mon 19, Tue 20 -> 3.
    f(
        "F-LATE-JAN",
        received_at=t("2026-01-05"),
        due_at=t("2026-01-15", "17:00"),
        resolved_at=t("2026-01-20", "10:00"),
    ),
    # Withdrawn: a deadline, but neither overdue nor early.
    f(
        "G-WITHDRAWN",
        status="withdrawn",
        received_at=t("2026-02-02"),
        due_at=t("2026-02-27", "17:00"),
        resolved_at=t("2026-02-10"),
    ),
    # Open within its deadline, in a ward; a name a spreadsheet would read as a formula (escaped in CSV).
    o(
        "H-WARD",
        agency_code=COMMUNE_AGENCY,
        commune_code=COMMUNE,
        procedure_code=P_UNKNOWN,
        procedure_name='=1+2 cấp phép, "tạm"',
        received_at=t("2026-02-23"),
        due_at=t("2026-02-27", "17:00"),
        supplements=[{"requested_at": t("2026-02-23", "09:00"), "supplied_at": t("2026-02-23", "10:00")}],
    ),
    # Neither due_at nor a catalogued procedure: no deadline.
    o("I-NO-DEADLINE", procedure_code=P_UNKNOWN, received_at=t("2026-02-23"), due_at=None),
]


@pytest.fixture
def tet(client: TestClient, clock: Clock) -> TestClient:
    clock.now = NOW_2026
    assert client.put("/v1/calendar/2026", json=DAY_OFF).status_code == 200
    assert client.put("/v1/procedures", json=CATALOGUE).status_code == 200
    wait_for_index_jobs(client)
    assert post(client, DATASET_2026)["created"] == len(DATASET_2026)
    return client


def pages(client: TestClient, limit: int = 100, **params: Any) -> list[dict[str, Any]]:
    """Every page of the JSON list, concatenated."""
    out: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        r = client.get(
            "/v1/dossiers", params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        )
        assert r.status_code == 200, r.text
        out += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return out
    raise AssertionError("too many pages")


def test_items_carry_names_the_deadline_and_working_days_overdue_or_early(tet: TestClient) -> None:
    agencies = {a["code"]: a["name"] for a in tet.get("/v1/agencies").json()}
    items = {i["code"]: i for i in pages(tet)}
    got = {
        c: (
            i["deadline_at"],
            i["deadline_source"],
            i["working_days_overdue"],
            i["working_days_early"],
            i["outcome"],
        )
        for c, i in items.items()
    }
    assert got == {
        "A-TET-OPEN": ("2026-02-13T17:00:00+07:00", "due_at", 2, None, "pending_overdue"),
        # outcome is judged by due_at (contract §4.1): none, so pending; the catalogue's deadline passed.
        "B-CAT-OPEN": ("2026-02-13T00:00:00+07:00", "catalogue", 3, None, "pending"),
        "C-EARLY-TET": ("2026-02-23T17:00:00+07:00", "due_at", None, 2, "early"),
        "D-LATE-DAYOFF": ("2026-02-13T17:00:00+07:00", "due_at", 2, None, "late"),
        "E-SAME-DAY": ("2026-02-11T17:00:00+07:00", "due_at", None, 0, "on_time"),
        "F-LATE-JAN": ("2026-01-15T17:00:00+07:00", "due_at", 3, None, "late"),
        "G-WITHDRAWN": ("2026-02-27T17:00:00+07:00", "due_at", None, None, "withdrawn"),
        "H-WARD": ("2026-02-27T17:00:00+07:00", "due_at", None, None, "pending"),
        "I-NO-DEADLINE": (None, None, None, None, "pending"),
    }
    assert items["B-CAT-OPEN"]["procedure_name"] == "Cấp phép (danh mục)"  # the catalogue's, not the record's
    assert items["H-WARD"]["procedure_name"] == '=1+2 cấp phép, "tạm"'  # not in the catalogue: the record's
    assert items["A-TET-OPEN"]["agency_name"] == agencies[AGENCY]
    assert items["A-TET-OPEN"]["commune_name"] is None
    assert items["H-WARD"]["agency_name"] == agencies[COMMUNE_AGENCY]
    assert items["H-WARD"]["commune_name"] == communes_of(40)[COMMUNE].name


def test_as_of_judges_the_working_days_at_the_end_of_that_day(tet: TestClient) -> None:
    # End of Mon 23 Feb: A-TET-OPEN is overdue by Mon 23 -> 1; D-LATE-DAYOFF (resolved on the 25th) is
    # still open then, overdue by 1 too.
    items = {i["code"]: i for i in pages(tet, as_of="2026-02-23")}
    assert items["A-TET-OPEN"]["working_days_overdue"] == 1
    assert (items["D-LATE-DAYOFF"]["working_days_overdue"], items["D-LATE-DAYOFF"]["outcome"]) == (
        1,
        "pending_overdue",
    )


# Each case: (its name, the ranges, the codes listed, in code order).
RANGES: list[tuple[str, dict[str, Any], list[str]]] = [
    # resolved on 10, 11, 12 and 25 Feb (withdrawn dossiers have a resolved_at too), not 20 Jan
    (
        "resolved in February",
        {"resolved_from": "2026-02-01", "resolved_to": "2026-02-28"},
        ["C-EARLY-TET", "D-LATE-DAYOFF", "E-SAME-DAY", "G-WITHDRAWN"],
    ),
    ("resolved up to January", {"resolved_to": "2026-01-31"}, ["F-LATE-JAN"]),
    (  # both bounds inclusive
        "resolved on one day",
        {"resolved_from": "2026-02-12", "resolved_to": "2026-02-12"},
        ["C-EARLY-TET"],
    ),
    # the deadline's day: 13 Feb 17:00 (A, D) is on 13 Feb; 13 Feb 00:00 (B, the catalogue's "end of
    # 12 Feb") is on 12 Feb, the day the worklists and working days count it on
    (
        "due on one day",
        {"due_from": "2026-02-13", "due_to": "2026-02-13"},
        ["A-TET-OPEN", "D-LATE-DAYOFF"],
    ),
    ("due at the end of a day", {"due_from": "2026-02-12", "due_to": "2026-02-12"}, ["B-CAT-OPEN"]),
    ("due up to 11 Feb", {"due_to": "2026-02-11"}, ["E-SAME-DAY", "F-LATE-JAN"]),
    (
        "due from 23 Feb",
        {"due_from": "2026-02-23"},
        ["C-EARLY-TET", "G-WITHDRAWN", "H-WARD"],
    ),  # I has no deadline
    (
        "due and resolved",
        {"due_from": "2026-02-13", "resolved_from": "2026-02-01"},
        ["C-EARLY-TET", "D-LATE-DAYOFF", "G-WITHDRAWN"],
    ),
]


def test_resolved_and_due_ranges_filter_the_list(tet: TestClient) -> None:
    # The dataset is written once for the whole table; every failing case is reported at once.
    failures: list[tuple[Any, ...]] = []
    for name, params, codes in RANGES:
        if (got := [i["code"] for i in pages(tet, **params)]) != codes:
            failures.append((name, got, codes))
    assert not failures, failures


# Each case: (its name, the query, the field the single error names).
BAD_RANGES: list[tuple[str, dict[str, Any], str]] = [
    (
        "resolved_to before resolved_from",
        {"resolved_from": "2026-02-02", "resolved_to": "2026-02-01"},
        "resolved_to",
    ),
    ("due_to before due_from", {"due_from": "2026-02-02", "due_to": "2026-02-01"}, "due_to"),
    (
        "received_to before received_from",
        {"received_from": "2026-02-02", "received_to": "2026-02-01"},
        "received_to",
    ),
    ("no such day", {"resolved_from": "2026-02-30"}, "resolved_from"),
    ("before the figures' first day", {"due_to": "1899-12-31"}, "due_to"),  # as received_from/to
    ("unknown format", {"format": "pdf"}, "format"),
    ("a limit with csv", {"format": "csv", "limit": 10}, "limit"),
    ("a cursor with xlsx", {"format": "xlsx", "cursor": "RA"}, "cursor"),
    (
        "a range with the index losses",
        {"index_loss": "2.1", "period": "2026", "resolved_from": "2026-01-01"},
        "resolved_from",
    ),
]


def test_bad_ranges_and_exports_are_422_naming_the_field(tet: TestClient) -> None:
    # The dataset is written once for the whole table; every failing case is reported at once.
    failures: list[tuple[Any, ...]] = []
    for name, params, field in BAD_RANGES:
        r = tet.get("/v1/dossiers", params=params)
        if r.status_code != 422 or not r.headers["content-type"].startswith("application/problem+json"):
            failures.append((name, r.status_code, r.headers["content-type"], r.text))
        elif (locs := [e["loc"] for e in r.json()["errors"]]) != [["query", field]]:
            failures.append((name, locs, field))
    assert not failures, failures


def _json_cell(value: Any) -> str:
    """A JSON value as the CSV writes it: null empty, booleans có/không, the supplements as JSON text."""
    if value is None or value == []:
        return ""
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, list):
        return orjson.dumps(value).decode()
    return str(value)


def _unescape(cell: str) -> str:
    return cell[1:] if cell.startswith("'") else cell  # app.reports.render.csv_text, undone


def test_csv_and_xlsx_equal_the_json_pages(tet: TestClient) -> None:
    params = {"due_from": "2026-02-01"}
    json_items = pages(tet, limit=2, **params)
    assert len(json_items) == 7  # every dossier due from 1 Feb: all but F (January) and I (none)
    r = tet.get("/v1/dossiers", params={**params, "format": "csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="ho-so_20260225.csv"'
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))
    head = rows[0]
    assert head == list(json_items[0])  # the JSON item's fields, in its order
    assert [[_unescape(c) for c in row] for row in rows[1:]] == [
        [_json_cell(i[k]) for k in head] for i in json_items
    ]
    # the formula-looking name is escaped in the file
    ward = next(row for row in rows if row[0] == "H-WARD")
    assert ward[head.index("procedure_name")] == '\'=1+2 cấp phép, "tạm"'

    x = tet.get("/v1/dossiers", params={**params, "format": "xlsx"})
    assert x.status_code == 200, x.text
    sheet = openpyxl.load_workbook(io.BytesIO(x.content), read_only=True).active
    assert sheet is not None
    # (read-only mode leaves out a row's trailing empty cells)
    cells = [[*row, *[None] * (len(head) - len(row))] for row in sheet.iter_rows(values_only=True)]
    assert cells[0] == head
    # XLSX cells: numbers stay numbers, null is an empty cell, the rest as in the CSV.
    expected = [
        [
            i[k] if isinstance(i[k], int) and not isinstance(i[k], bool) else _json_cell(i[k]) or None
            for k in head
        ]
        for i in json_items
    ]
    assert cells[1:] == expected


def test_an_export_of_the_index_losses_carries_the_reason(tet: TestClient) -> None:
    json_items = pages(tet, index_loss="2.1", period="2026-02")
    r = tet.get("/v1/dossiers", params={"index_loss": "2.1", "period": "2026-02", "format": "csv"})
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))
    assert rows[0][-1] == "index_reason"
    assert [(row[0], row[-1]) for row in rows[1:]] == [(i["code"], i["index_reason"]) for i in json_items]
    assert len(json_items) >= 2  # A and D at least are late in February


def test_an_xlsx_above_the_row_limit_is_refused(tet: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 8)
    r = tet.get("/v1/dossiers", params={"format": "xlsx"})  # 9 dossiers
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [
        {
            "loc": ["query", "format"],
            "msg": "the list has 9 dossiers, above the XLSX limit of 8 rows",
            "type": "too_large",
        }
    ]
    assert (
        tet.get("/v1/dossiers", params={"format": "xlsx", "due_from": "2026-02-01"}).status_code == 200
    )  # 7


# --- a large export: streamed, the server's memory bounded ---------------------------------------


def _seed_copies(engine: Engine, template_code: str, n: int) -> None:
    """n copies of a stored dossier under new codes, written straight to the table (ingesting 100k
    records through the API would take minutes); the drill-down reads this table alone."""
    table = cast(Table, Dossier.__table__)
    with engine.begin() as conn:
        row = dict(conn.execute(select(table).where(table.c.code == template_code)).one()._mapping)
        for start in range(0, n, 10_000):
            conn.execute(
                insert(table),
                [{**row, "code": f"BULK-{i:06d}"} for i in range(start, min(n, start + 10_000))],
            )


def _stream_csv(client: TestClient, query: str) -> tuple[int, int, int]:
    """(status, lines, the growth of the process's resident memory at its peak) of the CSV export: the
    body is counted as it arrives and dropped (_stream)."""
    lines = 0

    def count(piece: bytes) -> None:
        nonlocal lines
        lines += piece.count(b"\n")

    status, growth = _stream(client, "/v1/dossiers", query, count)
    return status, lines, growth


def _stream(client: TestClient, path: str, query: str, take: Callable[[bytes], object]) -> tuple[int, int]:
    """(status, the growth of the process's resident memory at its peak) of a GET driven through the
    ASGI app in-process: each piece of the body is handed to `take` as it arrives. The resident memory
    is sampled with each piece and, where Linux lets the peak (VmHWM) be reset, also read as the peak
    since the request began, which catches what happens before the first piece (an XLSX is written
    whole first). The growth is counted from the resident memory at the start, so memory an earlier test
    freed but the allocator kept can hide part of it (a test run alone shows the most). (tracemalloc
    would be more precise, but makes the export many times slower.)"""
    app = client.app
    status = 0
    requested: list[bool] = []
    base = _rss()
    peak = base
    reset = _reset_peak_rss()

    async def run() -> None:
        nonlocal status

        sent = anyio.Event()  # never set: the client stays connected until the body ends

        async def receive() -> dict[str, Any]:
            if not requested:
                requested.append(True)
                return {"type": "http.request", "body": b"", "more_body": False}
            await sent.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, peak
            peak = max(peak, _rss())
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                take(message.get("body", b""))

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [
                (b"host", b"testserver"),
                (b"authorization", client.headers["Authorization"].encode()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "state": {},
        }
        await app(scope, receive, send)  # type: ignore[arg-type]

    assert client.portal is not None
    client.portal.call(run)
    if reset:
        peak = max(peak, _peak_rss())
    return status, peak - base


def _rss() -> int:
    """The process's resident memory, in bytes (Linux)."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak_rss() -> bool:
    """Start the process's peak resident memory (VmHWM) afresh; False where Linux does not let it."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _peak_rss() -> int:
    """The process's peak resident memory since the last reset, in bytes (Linux)."""
    with open("/proc/self/status", encoding="ascii") as f:
        kib = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
    return int(kib) * 1024


def _large_export(client: TestClient, engine: Engine, n: int, limit: int) -> None:
    assert post(client, [rec("BULK-TEMPLATE")])["created"] == 1
    _seed_copies(engine, "BULK-TEMPLATE", n)
    started = time.monotonic()
    status, lines, growth = _stream_csv(client, "format=csv&procedure=1.004227")
    print(f"{n} rows: {time.monotonic() - started:.1f} s, resident memory +{growth / 2**20:.1f} MiB")
    assert status == 200
    assert lines == 1 + n + 1  # the headings, the copies and the template
    # The body is ~430 bytes a line; the server holds a block of 2,000 rows at a time (held whole, the
    # listed rows would take ~5 KB each as Python objects: 50 MB for 10k, 500 MB for 100k).
    assert growth < limit, growth


def test_a_10k_csv_export_streams_with_bounded_memory(client: TestClient, engine: Engine) -> None:
    _large_export(client, engine, 10_000, 40 * 2**20)


# The 100k-row export takes ~30 s: tests/ci/test_drilldown_100k.py (`make ci-extra`).
