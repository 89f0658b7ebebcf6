"""Every write request is audited (token id, counts, duration, time) in a table and the log, never values;
refused writes (401/403) are counted per token, day and status; both are kept for the retention period."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from app.api import audit
from app.api.auth import ADMIN_TOKEN_ID
from app.refusals import REFUSED_FLUSH_EVERY, RefusalCounter
from tests.conftest import Clock
from tests.factory import OTHER_AGENCY, rec
from tests.ingesting import NDJSON, app_client, ndjson, new_token, with_token

ZERO = {"received": 0, "created": 0, "updated": 0, "unchanged": 0, "stale": 0, "rejected": 0}


def entries(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    r = client.get("/v1/audit", params=params)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def refused(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    r = client.get("/v1/audit/refused", params=params)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def stored_counters(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT token_id, day, status_code, count FROM refused_requests ORDER BY day, token_id")
        )
        return [(t, d if isinstance(d, date) else date.fromisoformat(d), s, c) for t, d, s, c in rows]


def summary(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (entry["token_id"], entry["method"], entry["path"], entry["status_code"], entry["counts"])


def test_an_ingest_request_is_audited_with_token_counts_duration_and_time(client: TestClient) -> None:
    secret = new_token(client, ["ingest"])
    token_id = client.get("/v1/tokens").json()[0]["id"]
    writer = with_token(client, secret)
    writer.post("/v1/dossiers", json=[rec("D-1"), rec("D-1"), rec("D-2", status="nope")])
    [entry, created] = entries(client)[:2]
    assert summary(entry) == (
        token_id,
        "POST",
        "/v1/dossiers",
        200,
        {**ZERO, "received": 3, "created": 1, "unchanged": 1, "rejected": 1},
    )
    assert entry["at"] == "2025-10-01T08:00:00+07:00"
    assert entry["duration_ms"] > 0
    assert summary(created) == (ADMIN_TOKEN_ID, "POST", "/v1/tokens", 201, None)


def test_put_and_delete_are_audited_with_their_results(client: TestClient) -> None:
    client.put("/v1/dossiers/D-1", json=rec("D-1"))
    client.put("/v1/dossiers/D-1", json=rec("D-1", sector="ho_tich"))  # conflict
    client.delete("/v1/dossiers/D-1")
    client.delete("/v1/dossiers/D-1")  # already gone
    assert [summary(e) for e in reversed(entries(client))] == [
        (ADMIN_TOKEN_ID, "PUT", "/v1/dossiers/D-1", 201, {**ZERO, "received": 1, "created": 1}),
        (ADMIN_TOKEN_ID, "PUT", "/v1/dossiers/D-1", 409, {**ZERO, "received": 1, "rejected": 1}),
        (ADMIN_TOKEN_ID, "DELETE", "/v1/dossiers/D-1", 204, {"deleted": 1}),
        (ADMIN_TOKEN_ID, "DELETE", "/v1/dossiers/D-1", 404, {"deleted": 0}),
    ]


def test_writes_refused_for_their_body_are_audited_and_for_the_token_counted(client: TestClient) -> None:
    reader = with_token(client, new_token(client, ["read"]))
    reader_id = client.get("/v1/tokens").json()[0]["id"]
    client.post("/v1/dossiers", content=b"[]", headers={"Content-Type": "text/plain"})
    client.post("/v1/dossiers", content=b"[{", headers={"Content-Type": "application/json"})
    reader.post("/v1/dossiers", json=[rec()])
    assert [summary(e) for e in reversed(entries(client))][1:] == [
        (ADMIN_TOKEN_ID, "POST", "/v1/dossiers", 415, ZERO),
        (ADMIN_TOKEN_ID, "POST", "/v1/dossiers", 400, ZERO),
    ]
    assert refused(client) == [{"token_id": reader_id, "day": "2025-10-01", "status": 403, "count": 1}]


def test_token_administration_is_audited(client: TestClient) -> None:
    new_token(client, ["read"])
    token_id = client.get("/v1/tokens").json()[0]["id"]
    client.delete(f"/v1/tokens/{token_id}")
    assert [summary(e) for e in reversed(entries(client))] == [
        (ADMIN_TOKEN_ID, "POST", "/v1/tokens", 201, None),
        (ADMIN_TOKEN_ID, "DELETE", f"/v1/tokens/{token_id}", 204, None),
    ]


def test_reads_are_not_audited(client: TestClient) -> None:
    client.get("/v1/dossiers")
    client.get("/v1/metrics", params={"from": "2025-07-01", "to": "2025-07-31"})
    assert client.get("/v1/audit").json()["total"] == 0


def test_requests_without_a_valid_token_are_logged_and_counted_but_not_stored(
    client: TestClient, anon: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="tthc.audit"):
        anon.post("/v1/dossiers", json=[rec()])
    assert client.get("/v1/audit").json()["total"] == 0
    [line] = [r.getMessage() for r in caplog.records if r.name == "tthc.audit"]
    assert orjson.loads(line.removeprefix("write "))["status"] == 401
    assert refused(client) == [{"token_id": None, "day": "2025-10-01", "status": 401, "count": 1}]


def test_a_request_that_fails_midway_is_audited_with_what_was_stored(
    engine: Engine, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.dossiers import service, stream

    calls = {"n": 0}

    def fail_second(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the database went away")
        return service.write_chunk(*args, **kwargs)

    monkeypatch.setattr(stream, "write_chunk", fail_second)
    with app_client(engine, clock, TTHC_INGEST_CHUNK=2) as admin:
        c = TestClient(admin.app, base_url="http://testserver", raise_server_exceptions=False)
        c.headers.update(admin.headers)
        r = c.post("/v1/dossiers", content=ndjson([rec(f"F-{i}") for i in range(5)]), headers=NDJSON)
        assert r.status_code == 500
        [entry] = entries(admin)
    assert summary(entry) == (
        ADMIN_TOKEN_ID,
        "POST",
        "/v1/dossiers",
        500,
        {**ZERO, "received": 2, "created": 2},
    )


def test_the_audit_trail_pages_newest_first(client: TestClient) -> None:
    for i in range(5):
        client.put(f"/v1/dossiers/D-{i}", json=rec(f"D-{i}"))
    first = client.get("/v1/audit", params={"limit": 2}).json()
    assert first["total"] == 5
    assert [e["path"] for e in first["items"]] == ["/v1/dossiers/D-4", "/v1/dossiers/D-3"]
    second = client.get("/v1/audit", params={"limit": 2, "before": first["next_cursor"]}).json()
    assert [e["path"] for e in second["items"]] == ["/v1/dossiers/D-2", "/v1/dossiers/D-1"]
    third = client.get("/v1/audit", params={"limit": 2, "before": second["next_cursor"]}).json()
    assert [e["path"] for e in third["items"]] == ["/v1/dossiers/D-0"]
    assert third["next_cursor"] is None


def test_the_audit_trail_is_for_admins(client: TestClient, anon: TestClient) -> None:
    assert anon.get("/v1/audit").status_code == 401
    writer = with_token(client, new_token(client, ["ingest", "read"]))
    assert writer.get("/v1/audit").status_code == 403


def test_no_record_value_reaches_the_log(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    values = {
        "procedure_name": "Đăng ký khai sinh cho Nguyễn Văn Bình",
        "procedure_code": "9.999999",
        "sector": "ho_tich_bi_mat",
        "received_at": "2025-07-03T09:17:43+07:00",
        "updated_at": "2025-07-09T11:22:33+07:00",
    }
    good = rec("D-1", **values)
    bad = rec("D-2", **values, agency_code=OTHER_AGENCY + "-X", channel="carrier-pigeon")
    with caplog.at_level(logging.DEBUG):
        client.post("/v1/dossiers", json=[good, bad])
        client.post(
            "/v1/dossiers", content=ndjson([good, b'{"procedure_name": "Nguy\\u1ec5n"']), headers=NDJSON
        )
        client.put("/v1/dossiers/PRIVATE-CODE-1", json={**good, "code": "PRIVATE-CODE-1"})
    assert len(entries(client)) == 3
    assert entries(client)[0]["path"] == "/v1/dossiers/PRIVATE-CODE-1"  # the stored trail keeps the path
    lines = [
        orjson.loads(r.getMessage().removeprefix("write ")) for r in caplog.records if r.name == "tthc.audit"
    ]
    assert [(e["method"], e["route"]) for e in lines] == [
        ("POST", "/v1/dossiers"),
        ("POST", "/v1/dossiers"),
        ("PUT", "/v1/dossiers/{code}"),
    ]
    # The service's log lines (the test client's own httpx lines name the URLs it called).
    text = "\n".join(r.getMessage() for r in caplog.records if r.name != "httpx")
    for needle in (
        "Nguyễn",
        "9.999999",
        "ho_tich_bi_mat",
        "09:17:43",
        "11:22:33",
        "carrier-pigeon",
        "PRIVATE",
    ):
        assert needle not in text
    assert "02:17:43" not in text  # nor the same instants in UTC


def test_database_errors_carry_no_record_values(engine: Engine) -> None:
    # An unexpected database error is logged with its traceback; its text must not carry the values.
    with pytest.raises(DBAPIError) as failure, engine.connect() as conn:
        conn.execute(text("SELECT * FROM no_such_table WHERE code = :code"), {"code": "Nguyễn-0912345678"})
    assert "0912345678" not in str(failure.value)


# --- refused writes: counted, not stored one by one -----------------------------------------------


def test_refused_writes_are_counted_per_token_day_and_status_not_stored_one_by_one(
    client: TestClient, anon: TestClient, engine: Engine, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    reader = with_token(client, new_token(client, ["read"]))
    reader_id = client.get("/v1/tokens").json()[0]["id"]
    assert client.get("/v1/audit").json()["total"] == 1  # the token's creation
    with caplog.at_level(logging.INFO, logger="tthc.audit"):
        for _ in range(300):
            assert reader.delete("/v1/dossiers/D-1").status_code == 403
    for _ in range(7):
        assert anon.delete("/v1/dossiers/D-1").status_code == 401
    for _ in range(2):  # an unknown token is no recognised token: counted under none
        r = anon.delete("/v1/dossiers/D-1", headers={"Authorization": "Bearer tthc_unknown"})
        assert r.status_code == 401
    # 16:59:59 UTC is still 1 October in Vietnam, 17:00 UTC is 2 October.
    clock.now = datetime(2025, 10, 1, 16, 59, 59, tzinfo=UTC)
    assert reader.put("/v1/dossiers/D-1", json=rec("D-1")).status_code == 403
    clock.now = datetime(2025, 10, 1, 17, 0, tzinfo=UTC)
    assert reader.post("/v1/dossiers", json=[rec()]).status_code == 403
    assert anon.post("/v1/dossiers", json=[rec()]).status_code == 401

    assert client.get("/v1/audit").json()["total"] == 1  # not one row more
    # Counted in memory and written at most every 5 s; reading them writes what is still pending.
    body = client.get("/v1/audit/refused").json()
    assert body == {
        "items": [
            {"token_id": None, "day": "2025-10-02", "status": 401, "count": 1},
            {"token_id": reader_id, "day": "2025-10-02", "status": 403, "count": 1},
            {"token_id": None, "day": "2025-10-01", "status": 401, "count": 9},
            {"token_id": reader_id, "day": "2025-10-01", "status": 403, "count": 301},
        ],
        "next_cursor": None,
        "total": 4,
    }
    assert stored_counters(engine) == [
        ("", date(2025, 10, 1), 401, 9),
        (reader_id, date(2025, 10, 1), 403, 301),
        ("", date(2025, 10, 2), 401, 1),
        (reader_id, date(2025, 10, 2), 403, 1),
    ]
    # Every refusal still gives its structured log line.
    lines = [
        orjson.loads(r.getMessage().removeprefix("write ")) for r in caplog.records if r.name == "tthc.audit"
    ]
    assert len(lines) == 300
    assert {(x["token_id"], x["method"], x["status"]) for x in lines} == {(reader_id, "DELETE", 403)}


def test_refused_counts_page_newest_day_first_and_filter_by_day(
    client: TestClient, anon: TestClient, clock: Clock
) -> None:
    for day in range(1, 6):  # 1..5 October, n refusals on day n
        clock.now = datetime(2025, 10, day, 3, 0, tzinfo=UTC)
        for _ in range(day):
            anon.delete("/v1/dossiers/D-1")
    first = client.get("/v1/audit/refused", params={"limit": 2}).json()
    assert first["total"] == 5
    assert [(x["day"], x["count"]) for x in first["items"]] == [("2025-10-05", 5), ("2025-10-04", 4)]
    second = client.get("/v1/audit/refused", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [(x["day"], x["count"]) for x in second["items"]] == [("2025-10-03", 3), ("2025-10-02", 2)]
    third = client.get("/v1/audit/refused", params={"limit": 2, "cursor": second["next_cursor"]}).json()
    assert [(x["day"], x["count"]) for x in third["items"]] == [("2025-10-01", 1)]
    assert third["next_cursor"] is None
    window = client.get("/v1/audit/refused", params={"from": "2025-10-02", "to": "2025-10-03"}).json()
    assert [(x["day"], x["count"]) for x in window["items"]] == [("2025-10-03", 3), ("2025-10-02", 2)]
    assert window["total"] == 2


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not-a-cursor!"},
        {"cursor": "MjAyNS0xMC0wMXx8NDA0"},
        {"from": "2025-10-02", "to": "2025-10-01"},
    ],
)
def test_bad_refused_count_parameters_are_422_problems(client: TestClient, params: dict[str, str]) -> None:
    r = client.get("/v1/audit/refused", params=params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"


def test_refused_counts_are_for_admins(client: TestClient, anon: TestClient) -> None:
    assert anon.get("/v1/audit/refused").status_code == 401
    reader = with_token(client, new_token(client, ["ingest", "read"]))
    assert reader.get("/v1/audit/refused").status_code == 403
    # Refused reads are not writes: neither stored nor counted.
    assert refused(client) == []


# --- retention ------------------------------------------------------------------------------------

T0 = datetime(2025, 10, 1, 1, 0, tzinfo=UTC)  # 08:00 on 1 October in Vietnam


def audit_times(client: TestClient) -> list[str]:
    return [e["at"] for e in reversed(entries(client))]


def test_audit_rows_and_refused_counts_older_than_the_retention_go_and_recent_ones_stay(
    engine: Engine, clock: Clock
) -> None:
    clock.now = T0
    with app_client(engine, clock, TTHC_AUDIT_RETENTION_DAYS=30) as admin:
        anon = TestClient(admin.app, base_url="http://testserver")
        reader = with_token(admin, new_token(admin, ["read"]))  # audit row a1
        reader_id = admin.get("/v1/tokens").json()[0]["id"]
        admin.put("/v1/dossiers/D-1", json=rec("D-1"))  # a2
        reader.delete("/v1/dossiers/D-1")
        reader.delete("/v1/dossiers/D-1")  # (reader, 1 Oct, 403) = 2
        clock.now = T0 + timedelta(days=20)
        admin.put("/v1/dossiers/D-2", json=rec("D-2"))  # a3
        anon.delete("/v1/dossiers/D-1")  # ("", 21 Oct, 401) = 1

        # Exactly 30 days after a1 and a2: not older than the retention, both stay.
        clock.now = T0 + timedelta(days=30)
        admin.put("/v1/dossiers/D-3", json=rec("D-3"))  # a4
        assert audit_times(admin) == [
            "2025-10-01T08:00:00+07:00",
            "2025-10-01T08:00:00+07:00",
            "2025-10-21T08:00:00+07:00",
            "2025-10-31T08:00:00+07:00",
        ]
        # An hour later a1 and a2 are older than 30 days and go; 1 October's counter stays while part of
        # that day (its last hours) is within the 30 days.
        clock.now = T0 + timedelta(days=30, hours=1)
        admin.put("/v1/dossiers/D-4", json=rec("D-4"))  # a5
        assert audit_times(admin) == [
            "2025-10-21T08:00:00+07:00",
            "2025-10-31T08:00:00+07:00",
            "2025-10-31T09:00:00+07:00",
        ]
        assert stored_counters(engine) == [
            (reader_id, date(2025, 10, 1), 403, 2),
            ("", date(2025, 10, 21), 401, 1),
        ]
        # 1 November, 08:00: the retention starts on 2 October, so 1 October's counter goes.
        clock.now = T0 + timedelta(days=31)
        admin.put("/v1/dossiers/D-5", json=rec("D-5"))  # a6
        assert admin.get("/v1/audit").json()["total"] == 4
        assert stored_counters(engine) == [("", date(2025, 10, 21), 401, 1)]
        # 21 November 09:00: a refused write is counted in memory; the next stored write adds it and
        # prunes: a3 and 21 October's counter are past 30 days.
        clock.now = T0 + timedelta(days=51, hours=1)
        reader.delete("/v1/dossiers/D-1")
        admin.put("/v1/dossiers/D-6", json=rec("D-6"))  # a7
        assert audit_times(admin) == [
            "2025-10-31T08:00:00+07:00",
            "2025-10-31T09:00:00+07:00",
            "2025-11-01T08:00:00+07:00",
            "2025-11-21T09:00:00+07:00",
        ]
        assert stored_counters(engine) == [(reader_id, date(2025, 11, 21), 403, 1)]


def test_a_retention_of_zero_keeps_everything(engine: Engine, clock: Clock) -> None:
    clock.now = T0
    with app_client(engine, clock, TTHC_AUDIT_RETENTION_DAYS=0) as admin:
        anon = TestClient(admin.app, base_url="http://testserver")
        admin.put("/v1/dossiers/D-1", json=rec("D-1"))
        anon.delete("/v1/dossiers/D-1")
        clock.now = T0 + timedelta(days=3650)
        admin.put("/v1/dossiers/D-2", json=rec("D-2"))
        anon.delete("/v1/dossiers/D-1")
        assert audit_times(admin) == ["2025-10-01T08:00:00+07:00", "2035-09-29T08:00:00+07:00"]
        assert [(x["day"], x["count"]) for x in refused(admin)] == [("2035-09-29", 1), ("2025-10-01", 1)]


def test_the_default_retention_is_a_year() -> None:
    from app.config import Settings

    assert Settings().audit_retention_days == 365


def test_pruning_is_bounded_per_write_and_at_most_every_ten_minutes(
    engine: Engine, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "PRUNE_BATCH", 2)
    assert timedelta(minutes=10) == audit.PRUNE_EVERY
    clock.now = T0
    with app_client(engine, clock, TTHC_AUDIT_RETENTION_DAYS=1) as admin:
        for i in range(5):
            admin.put(f"/v1/dossiers/A-{i}", json=rec(f"A-{i}"))  # the first write prunes (nothing)

        def total() -> int:
            n: int = admin.get("/v1/audit").json()["total"]
            return n

        clock.now = T0 + timedelta(days=2)
        admin.put("/v1/dossiers/B-0", json=rec("B-0"))
        assert total() == 5 + 1 - 2  # a full batch: the next write prunes again
        admin.put("/v1/dossiers/B-1", json=rec("B-1"))
        assert total() == 4 + 1 - 2
        admin.put("/v1/dossiers/B-2", json=rec("B-2"))
        assert total() == 3 + 1 - 1  # the last old row: not a full batch, the backlog is gone
        assert [e["path"] for e in entries(admin)] == [
            "/v1/dossiers/B-2",
            "/v1/dossiers/B-1",
            "/v1/dossiers/B-0",
        ]

        # The B rows turn old at T0 + 3 days; two minutes later they are old, but the last pass was
        # seven minutes ago (T0 + 3 days - 5 minutes), so they stay until the next pass.
        clock.now = T0 + timedelta(days=3, minutes=-5)
        admin.put("/v1/dossiers/C-0", json=rec("C-0"))
        assert total() == 4
        clock.now = T0 + timedelta(days=3, minutes=2)
        admin.put("/v1/dossiers/C-1", json=rec("C-1"))
        assert total() == 5
        clock.now = T0 + timedelta(days=3, minutes=6)
        admin.put("/v1/dossiers/C-2", json=rec("C-2"))  # a full batch again: B-0 and B-1
        assert [e["path"] for e in entries(admin)][-1] == "/v1/dossiers/B-2"
        admin.put("/v1/dossiers/C-3", json=rec("C-3"))  # and at once the rest
        assert [e["path"] for e in entries(admin)] == [f"/v1/dossiers/C-{i}" for i in (3, 2, 1, 0)]


def test_refusals_are_written_together_not_one_write_each() -> None:
    counter = RefusalCounter()
    day = date(2025, 10, 1)
    # Within the interval since the last write, a refusal is only counted.
    assert [counter.add("t1", day, 403) for _ in range(3)] == [False, False, False]
    counter._flushed -= REFUSED_FLUSH_EVERY  # the interval has passed
    assert counter.add(None, day, 401) is True
    assert sorted(counter._counts.items()) == [(("", day, 401), 1), (("t1", day, 403), 3)]


def test_refused_count_days_are_iso_dates(client: TestClient) -> None:
    # A number is no date, though pydantic would read 0 as 1970-01-01.
    for params in ({"to": "0"}, {"from": "20251001"}):
        r = client.get("/v1/audit/refused", params=params)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"] == ["query", next(iter(params))]
