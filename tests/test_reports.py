"""GET /v1/reports/dossier-processing: reporting cut-off, calendar periods, units, caching (the CSV and
XLSX in the form: tests/test_report_xlsx_form.py)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factory import AGENCY, OTHER_AGENCY, open_rec, rec

URL = "/v1/reports/dossier-processing"
A, B = AGENCY, OTHER_AGENCY  # Sở Xây dựng, Sở Tài chính


def _finished(code: str, received: str, due: str | None, resolved: str, **over: Any) -> dict[str, Any]:
    return rec(code, received_at=received, due_at=due, resolved_at=resolved, updated_at=resolved, **over)


def _open(code: str, received: str, due: str | None, **over: Any) -> dict[str, Any]:
    return open_rec(code, received_at=received, due_at=due, updated_at=received, **over)


# Around the September 2025 reporting month (15 August to 14 September). Agency A:
#   A-carried: received before the month, finished late inside it     -> carried over, late
#   A-early, A-ontime, A-late (apology): received and finished inside  -> early, on time, late
#   A-overdue, A-within, A-14th-night: received inside, still open     -> pending (1 overdue)
#   A-15th: received 00:30 local on the 15th (17:30 UTC on the 14th)   -> the next reporting month
# Agency B: one online dossier with no deadline, finished inside the month -> on time.
SEPTEMBER: list[dict[str, Any]] = [
    _finished(
        "A-carried", "2025-08-10T09:00:00+07:00", "2025-08-20T17:00:00+07:00", "2025-09-05T10:00:00+07:00"
    ),
    _finished(
        "A-early",
        "2025-08-20T08:00:00+07:00",
        "2025-08-30T17:00:00+07:00",
        "2025-08-25T10:00:00+07:00",
        channel="online",
        commune_code="17329",
        sector="xay_dung",
    ),
    _finished(
        "A-ontime",
        "2025-08-20T09:00:00+07:00",
        "2025-08-30T17:00:00+07:00",
        "2025-08-30T16:00:00+07:00",
        commune_code="17329",
        sector="xay_dung",
    ),
    _finished(
        "A-late",
        "2025-08-21T09:00:00+07:00",
        "2025-08-25T17:00:00+07:00",
        "2025-09-01T10:00:00+07:00",
        channel="postal",
        apology_issued=True,
    ),
    _open("A-overdue", "2025-09-01T09:00:00+07:00", "2025-09-10T17:00:00+07:00"),
    _open("A-within", "2025-09-10T09:00:00+07:00", "2025-10-20T17:00:00+07:00", channel="online"),
    _open("A-14th-night", "2025-09-14T23:30:00+07:00", "2025-10-20T17:00:00+07:00"),
    _open("A-15th", "2025-09-14T17:30:00Z", "2025-10-20T17:00:00+07:00"),
    _finished(
        "B-nodeadline",
        "2025-09-02T09:00:00+07:00",
        None,
        "2025-09-03T09:00:00+07:00",
        agency_code=B,
        channel="online",
        sector="dau_tu",
    ),
]


def ingest(client: TestClient, records: list[dict[str, Any]]) -> None:
    r = client.post("/v1/dossiers", json=records)
    assert r.status_code == 200
    assert r.json()["rejected"] == 0, r.json()["errors"]


def row_of(body: dict[str, Any], unit: str, key: str | None) -> dict[str, Any]:
    return next(r for r in body["rows"] if r[unit] == key)


def layout(counts: dict[str, int]) -> dict[str, int]:
    """The report form's count columns."""
    return {
        "received": counts["received"],
        "online": counts["received_online"],
        "in_person_or_post": counts["received"] - counts["received_online"],
        "carried_over": counts["carried_over"],
        "finished": counts["finished"],
        "early": counts["finished_early"],
        "on_time": counts["finished_on_time"],
        "late": counts["finished_late"],
        "pending": counts["pending"],
        "within_deadline": counts["pending"] - counts["pending_overdue"],
        "overdue": counts["pending_overdue"],
    }


def form(*values: int) -> dict[str, int]:
    names = (
        "received",
        "online",
        "in_person_or_post",
        "carried_over",
        "finished",
        "early",
        "on_time",
        "late",
        "pending",
        "within_deadline",
        "overdue",
    )
    return dict(zip(names, values, strict=True))


def test_reporting_month_runs_from_the_15th_of_the_previous_month_to_the_14th(client: TestClient) -> None:
    ingest(client, SEPTEMBER)
    body = client.get(URL, params={"period": "2025-09"}).json()
    assert (body["period"], body["basis"], body["from"], body["to"], body["unit"]) == (
        "2025-09",
        "reporting",
        "2025-08-15",
        "2025-09-14",
        "agency",
    )
    assert body["group_by"] == ["agency"]
    a = row_of(body, "agency", A)
    assert a["agency_name"] == "Sở Xây dựng"
    # received: early, ontime, late, overdue, within, 14th-night (not A-carried, not A-15th)
    assert layout(a["counts"]) == form(6, 2, 4, 1, 4, 1, 1, 2, 3, 2, 1)
    assert a["counts"]["late_apologised"] == 1
    assert a["rates"]["on_time"] == 0.5
    assert a["rates"]["online"] == 2 / 6
    assert a["rates"]["apology"] == 1 / 3
    b = row_of(body, "agency", B)
    assert layout(b["counts"]) == form(1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0)
    assert layout(body["totals"]["counts"]) == form(7, 3, 4, 1, 5, 1, 2, 2, 3, 2, 1)
    assert body["totals"]["rates"]["on_time"] == 0.6
    assert body["totals"]["rates"]["online"] == 3 / 7


def test_a_dossier_received_on_the_15th_lands_in_the_next_reporting_month(client: TestClient) -> None:
    ingest(client, SEPTEMBER)
    # 2025-10 runs 15 September to 14 October; on 1 October it is still in progress.
    body = client.get(URL, params={"period": "2025-10"}).json()
    assert (body["from"], body["to"]) == ("2025-09-15", "2025-10-14")
    a = row_of(body, "agency", A)
    assert a["counts"]["received"] == 1  # A-15th only: 00:30 on the 15th local, although the 14th in UTC
    assert a["counts"]["carried_over"] == 3  # the three pending at the end of the 14th
    assert a["counts"]["pending"] == 4
    # A-overdue is overdue now, A-within, A-14th-night and A-15th are due on 20 October.
    assert a["counts"]["pending_overdue"] == 1


def test_calendar_basis_uses_the_calendar_month(client: TestClient) -> None:
    ingest(client, SEPTEMBER)
    body = client.get(URL, params={"period": "2025-09", "basis": "calendar"}).json()
    assert (body["basis"], body["from"], body["to"]) == ("calendar", "2025-09-01", "2025-09-30")
    a = row_of(body, "agency", A)
    # received in September: overdue, within, 14th-night, 15th; carried over at the end of 31 August:
    # A-late and A-carried, both finished late in September.
    assert layout(a["counts"]) == form(4, 1, 3, 2, 2, 0, 0, 2, 4, 3, 1)
    assert layout(body["totals"]["counts"]) == form(5, 2, 3, 2, 3, 0, 1, 2, 4, 3, 1)


@pytest.mark.parametrize(
    ("period", "basis", "start", "end"),
    [
        ("2025-01", "reporting", "2024-12-15", "2025-01-14"),
        ("2025-Q1", "reporting", "2024-12-15", "2025-03-14"),
        ("2025-Q3", "reporting", "2025-06-15", "2025-09-14"),
        ("2025-H1", "reporting", "2024-12-15", "2025-06-14"),
        ("2025-H2", "reporting", "2025-06-15", "2025-12-14"),
        ("2025", "reporting", "2024-12-15", "2025-12-14"),
        ("2025-Q3", "calendar", "2025-07-01", "2025-09-30"),
        ("2025-H1", "calendar", "2025-01-01", "2025-06-30"),
        ("2025-H2", "calendar", "2025-07-01", "2025-12-31"),
        ("2024", "calendar", "2024-01-01", "2024-12-31"),
        ("2024-02", "calendar", "2024-02-01", "2024-02-29"),
    ],
)
def test_periods_in_every_form_map_to_their_dates(
    client: TestClient, period: str, basis: str, start: str, end: str
) -> None:
    body = client.get(URL, params={"period": period, "basis": basis}).json()
    assert (body["period"], body["from"], body["to"]) == (period, start, end)


def test_quarter_and_half_year_count_what_their_ranges_hold(client: TestClient) -> None:
    ingest(client, SEPTEMBER)
    q3 = client.get(URL, params={"period": "2025-Q3"}).json()["totals"]["counts"]
    assert (q3["received"], q3["carried_over"], q3["finished"]) == (8, 0, 5)  # all but A-15th
    cal_q3 = client.get(URL, params={"period": "2025-Q3", "basis": "calendar"}).json()["totals"]["counts"]
    assert cal_q3["received"] == 9
    h2 = client.get(URL, params={"period": "2025-H2"}).json()["totals"]["counts"]
    assert (h2["received"], h2["finished"], h2["pending"]) == (9, 5, 4)
    h1 = client.get(URL, params={"period": "2025-H1"}).json()["totals"]["counts"]
    assert h1["received"] == 0


def test_every_registered_agency_has_a_row_in_code_order(client: TestClient) -> None:
    ingest(client, SEPTEMBER)
    rows = client.get(URL, params={"period": "2025-09"}).json()["rows"]
    assert len(rows) == 16 + 130
    assert [r["agency"] for r in rows[:3]] == ["000.00.01.H41", "000.00.02.H41", "000.00.03.H41"]
    idle = row_of({"rows": rows}, "agency", "000.00.01.H41")
    assert idle["counts"]["received"] == 0 and idle["rates"]["on_time"] is None


def test_commune_report_lists_every_ward_and_a_row_for_dossiers_without_one(client: TestClient) -> None:
    ingest(client, SEPTEMBER)
    body = client.get(URL, params={"period": "2025-09", "unit": "commune"}).json()
    assert len(body["rows"]) == 131
    anh_son = row_of(body, "commune", "17329")
    assert anh_son["commune_name"] == "Xã Anh Sơn"
    assert layout(anh_son["counts"]) == form(2, 1, 1, 0, 2, 1, 1, 0, 0, 0, 0)
    assert body["rows"][-1]["commune"] is None
    assert layout(body["rows"][-1]["counts"]) == form(5, 2, 3, 1, 3, 0, 1, 2, 3, 2, 1)


def test_sector_report_lists_the_sectors_with_dossiers(client: TestClient) -> None:
    ingest(client, SEPTEMBER)
    body = client.get(URL, params={"period": "2025-09", "unit": "sector"}).json()
    assert [(r["sector"], r["sector_name"], r["counts"]["received"]) for r in body["rows"]] == [
        ("dau_tu", "Đầu tư", 1),
        ("xay_dung", "Xây dựng", 2),
        (None, None, 4),
    ]


def test_filters_narrow_the_report_to_the_chosen_units(client: TestClient) -> None:
    ingest(client, SEPTEMBER)
    body = client.get(URL, params={"period": "2025-09", "agency": B}).json()
    assert [r["agency"] for r in body["rows"]] == [B]
    assert body["totals"]["counts"] == body["rows"][0]["counts"]
    online = client.get(URL, params={"period": "2025-09", "channel": "online"}).json()
    assert online["totals"]["counts"]["received"] == 3


def test_report_etag_answers_304_and_changes_with_the_data(client: TestClient) -> None:
    ingest(client, SEPTEMBER)
    for fmt in ("json", "csv", "xlsx"):
        params = {"period": "2025-09", "format": fmt}
        first = client.get(URL, params=params)
        tag = first.headers["etag"]
        assert first.headers["cache-control"] == "public, max-age=60"
        again = client.get(URL, params=params, headers={"If-None-Match": tag})
        assert again.status_code == 304
        # The period ended before today; the XLSX carries the day it is drawn up and is never kept.
        assert again.headers["x-cache"] == ("miss" if fmt == "xlsx" else "hit")
    before = {
        fmt: client.get(URL, params={"period": "2025-09", "format": fmt}).headers["etag"]
        for fmt in ("json", "csv")
    }
    ingest(client, [_open("B-new", "2025-09-12T09:00:00+07:00", None, agency_code=B)])
    for fmt, tag in before.items():
        r = client.get(URL, params={"period": "2025-09", "format": fmt}, headers={"If-None-Match": tag})
        assert r.status_code == 200
        assert r.headers["etag"] != tag


def test_a_period_in_progress_is_never_served_from_the_cache(client: TestClient) -> None:
    ingest(client, SEPTEMBER)
    for _ in range(2):
        r = client.get(URL, params={"period": "2025-10"})
        assert r.headers["x-cache"] == "miss"


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"period": "2025-13"}, ["query", "period"]),
        ({"period": "2025-Q5"}, ["query", "period"]),
        ({"period": "25-09"}, ["query", "period"]),
        ({"period": "2025-09", "unit": "procedure"}, ["query", "unit"]),
        ({"period": "2025-09", "basis": "fiscal"}, ["query", "basis"]),
        ({"period": "2025-09", "format": "pdf"}, ["query", "format"]),
        ({"period": "2025-09", "agency": "NOPE"}, ["query", "agency"]),
        ({"period": "2025-09", "group_by": "month"}, ["query", "group_by"]),
        ({}, ["query", "period"]),
    ],
)
def test_bad_report_parameters_are_422_naming_the_parameter(
    client: TestClient, params: dict[str, str], loc: list[str]
) -> None:
    r = client.get(URL, params=params)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["loc"] for e in r.json()["errors"]] == [loc]
    assert "NOPE" not in r.text


def test_report_operation_ids_are_published(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    ids = {op["operationId"] for path in doc["paths"].values() for op in path.values()}
    assert {"get_dossier_processing_report", "get_scorecard", "list_targets", "put_targets"} <= ids
    content = doc["paths"][URL]["get"]["responses"]["200"]["content"]
    assert set(content) == {
        "application/json",
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
