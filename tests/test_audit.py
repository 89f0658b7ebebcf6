"""Every write request is audited (token id, counts, duration, time) in a table and the log, never values."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from app.auth import ADMIN_TOKEN_ID
from tests.conftest import Clock
from tests.factory import OTHER_AGENCY, rec
from tests.ingesting import NDJSON, app_client, ndjson, new_token, with_token

ZERO = {"received": 0, "created": 0, "updated": 0, "unchanged": 0, "stale": 0, "rejected": 0}


def entries(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    r = client.get("/v1/audit", params=params)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


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


def test_refused_writes_are_audited_too(client: TestClient) -> None:
    reader = with_token(client, new_token(client, ["read"]))
    reader_id = client.get("/v1/tokens").json()[0]["id"]
    client.post("/v1/dossiers", content=b"[]", headers={"Content-Type": "text/plain"})
    client.post("/v1/dossiers", content=b"[{", headers={"Content-Type": "application/json"})
    reader.post("/v1/dossiers", json=[rec()])
    assert [summary(e) for e in reversed(entries(client))][1:] == [
        (ADMIN_TOKEN_ID, "POST", "/v1/dossiers", 415, ZERO),
        (ADMIN_TOKEN_ID, "POST", "/v1/dossiers", 400, ZERO),
        (reader_id, "POST", "/v1/dossiers", 403, None),
    ]


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


def test_requests_without_a_valid_token_are_logged_but_not_stored(
    client: TestClient, anon: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="tthc.audit"):
        anon.post("/v1/dossiers", json=[rec()])
    assert client.get("/v1/audit").json()["total"] == 0
    [line] = [r.getMessage() for r in caplog.records if r.name == "tthc.audit"]
    assert orjson.loads(line.removeprefix("write "))["status"] == 401


def test_a_request_that_fails_midway_is_audited_with_what_was_stored(
    engine: Engine, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.dossiers import router, service

    calls = {"n": 0}

    def fail_second(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the database went away")
        return service.write_chunk(*args, **kwargs)

    monkeypatch.setattr(router, "write_chunk", fail_second)
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
        client.put("/v1/dossiers/D-1", json={**good, "sector": "xay_dung"})
    assert len(entries(client)) == 3
    text = caplog.text
    for needle in ("Nguyễn", "9.999999", "ho_tich_bi_mat", "09:17:43", "11:22:33", "carrier-pigeon"):
        assert needle not in text
    assert "02:17:43" not in text  # nor the same instants in UTC


def test_database_errors_carry_no_record_values(engine: Engine) -> None:
    # An unexpected database error is logged with its traceback; its text must not carry the values.
    with pytest.raises(DBAPIError) as failure, engine.connect() as conn:
        conn.execute(text("SELECT * FROM no_such_table WHERE code = :code"), {"code": "Nguyễn-0912345678"})
    assert "0912345678" not in str(failure.value)
