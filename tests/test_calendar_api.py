"""GET and PUT /v1/calendar/{year}: the national calendar, the province's exceptions stored and replaced
at once by an admin, errors naming the item; on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.conftest import ADMIN_TOKEN
from tests.ingesting import new_token, with_token

MONTHS_2025 = [17, 20, 21, 21, 20, 21, 23, 21, 20, 23, 20, 23]


def _months(doc: dict[str, Any]) -> list[int]:
    assert [m["month"] for m in doc["months"]] == [f"{doc['year']}-{m:02d}" for m in range(1, 13)]
    return [m["working_days"] for m in doc["months"]]


def _problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    return body


def test_the_national_calendar_of_2025(anon: TestClient) -> None:
    r = anon.get("/v1/calendar/2025")
    assert r.status_code == 200
    doc = r.json()
    assert doc["year"] == 2025
    assert doc["weekend_days"] == 104
    assert [(h["day"], h["name"]) for h in doc["public_holidays"]][:2] == [
        ("2025-01-01", "Tết Dương lịch"),
        ("2025-01-27", "29 Tết"),
    ]
    assert [h["day"] for h in doc["public_holidays"]] == [
        "2025-01-01",
        "2025-01-27",
        "2025-01-28",
        "2025-01-29",
        "2025-01-30",
        "2025-01-31",
        "2025-02-01",
        "2025-04-07",
        "2025-04-30",
        "2025-05-01",
        "2025-05-02",
        "2025-09-01",
        "2025-09-02",
    ]
    assert doc["public_make_up_days"] == ["2025-04-26"]
    assert doc["days_off"] == [] and doc["make_up_days"] == []
    assert _months(doc) == MONTHS_2025
    assert doc["working_days"] == 250


def test_an_admin_sets_the_years_exceptions_and_reads_them_back(
    client: TestClient, anon: TestClient, engine: Engine
) -> None:
    body = [
        {"day": "2025-09-06", "working": True, "note": "Làm bù cho ngày 03/09"},
        {"day": "2025-09-03", "working": False, "note": "Nghỉ theo Quyết định 123/QĐ-UBND"},
        {"day": "2025-12-24", "working": False},
    ]
    r = client.put("/v1/calendar/2025", json=body)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["days_off"] == [
        {"day": "2025-09-03", "working": False, "note": "Nghỉ theo Quyết định 123/QĐ-UBND"},
        {"day": "2025-12-24", "working": False, "note": None},
    ]
    assert doc["make_up_days"] == [{"day": "2025-09-06", "working": True, "note": "Làm bù cho ngày 03/09"}]
    # September: 20 − 1 + 1; December: 23 − 1.
    assert _months(doc) == [17, 20, 21, 21, 20, 21, 23, 21, 20, 23, 20, 22]
    assert doc["working_days"] == 249
    assert anon.get("/v1/calendar/2025").json() == doc
    # Another year is untouched.
    assert anon.get("/v1/calendar/2024").json()["days_off"] == []
    # Audited like every admin write.
    [entry] = [e for e in client.get("/v1/audit").json()["items"] if e["path"] == "/v1/calendar/2025"]
    assert (entry["method"], entry["status_code"], entry["counts"]) == ("PUT", 200, {"days": 3})

    # A second PUT replaces the whole set; an empty one removes it.
    r = client.put("/v1/calendar/2025", json=[{"day": "2025-12-24", "working": False, "note": "x"}])
    assert [d["day"] for d in r.json()["days_off"]] == ["2025-12-24"]
    assert r.json()["make_up_days"] == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM calendar_days")).scalar_one() == 1
    r = client.put("/v1/calendar/2025", json=[])
    assert r.json()["days_off"] == [] and r.json()["working_days"] == 250
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM calendar_days")).scalar_one() == 0


def test_only_an_admin_writes_the_calendar(client: TestClient, anon: TestClient) -> None:
    body = [{"day": "2025-09-03", "working": False}]
    _problem(anon.put("/v1/calendar/2025", json=body), 401)
    reader = with_token(client, new_token(client, ["read", "ingest"]))
    _problem(reader.put("/v1/calendar/2025", json=body), 403)
    assert reader.get("/v1/calendar/2025").status_code == 200
    assert anon.get("/v1/calendar/2025").json()["days_off"] == []


def test_errors_name_the_item_and_change_nothing(client: TestClient) -> None:
    client.put("/v1/calendar/2025", json=[{"day": "2025-12-24", "working": False}])
    body = [
        {"day": "2025-09-03", "working": False},  # fine
        {"day": "2024-09-03", "working": False},  # another year
        {"day": "2025-09-03", "working": True},  # repeats item 0
        {"day": "2025-09-02", "working": False},  # National Day: already off
        {"day": "2025-09-07", "working": False},  # a Sunday: already off
        {"day": "2025-09-04", "working": True},  # a Thursday: already working
        {"day": "2025-04-26", "working": True},  # the national make-up Saturday: already working
    ]
    p = _problem(client.put("/v1/calendar/2025", json=body), 422)
    assert (
        p["detail"]
        == "Invalid calendar days: body.1.day, body.2.day, body.3.day, body.4.day, body.5.day, body.6.day"
    )
    assert [(e["loc"], e["type"], e["msg"]) for e in p["errors"]] == [
        (["body", 1, "day"], "wrong_year", "not a day of 2025"),
        (["body", 2, "day"], "duplicate", "2025-09-03 is already item 0"),
        (["body", 3, "day"], "already_off", "2025-09-02 is already a day off (Quốc khánh)"),
        (["body", 4, "day"], "already_off", "2025-09-07 is already a day off (Sunday)"),
        (["body", 5, "day"], "already_working", "2025-09-04 is already a working day"),
        (["body", 6, "day"], "already_working", "2025-04-26 is already a working day"),
    ]
    # Nothing was replaced.
    assert [d["day"] for d in client.get("/v1/calendar/2025").json()["days_off"]] == ["2025-12-24"]

    # Malformed items: named by pydantic's location.
    p = _problem(
        client.put(
            "/v1/calendar/2025",
            json=[{"day": "3/9/2025", "working": False}, {"day": "2025-09-03", "working": False, "x": 1}],
        ),
        422,
    )
    assert sorted(tuple(e["loc"]) for e in p["errors"]) == [("body", 0, "day"), ("body", 1, "x")]
    p = _problem(client.put("/v1/calendar/2025", json=[{"day": "2025-09-03"}]), 422)
    assert [e["loc"] for e in p["errors"]] == [["body", 0, "working"]]
    p = _problem(
        client.put("/v1/calendar/2025", json=[{"day": "2025-09-03", "working": False, "note": "x" * 201}]),
        422,
    )
    assert [e["loc"] for e in p["errors"]] == [["body", 0, "note"]]
    p = _problem(client.put("/v1/calendar/2025", json={"day": "2025-09-03", "working": False}), 422)
    assert [e["loc"] for e in p["errors"]] == [["body"]]


def test_the_year_is_bounded(anon: TestClient) -> None:
    for year in ("1999", "2101", "abc"):
        p = _problem(anon.get(f"/v1/calendar/{year}"), 422)
        assert [e["loc"] for e in p["errors"]] == [["path", "year"]]
    assert anon.get("/v1/calendar/2000").status_code == 200
    assert anon.get("/v1/calendar/2100").json()["weekend_days"] == 104


def test_the_admin_token_alone_is_enough(client: TestClient) -> None:
    assert client.headers["Authorization"] == f"Bearer {ADMIN_TOKEN}"
    r = client.put("/v1/calendar/2026", json=[{"day": "2026-01-03", "working": True, "note": "bù"}])
    assert r.status_code == 200
    assert r.json()["make_up_days"] == [{"day": "2026-01-03", "working": True, "note": "bù"}]
