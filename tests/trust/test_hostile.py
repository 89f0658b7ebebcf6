"""Hostile input: every kind gets a clear 4xx problem document (never a 500), and nothing wrong is stored.

Oversized bodies, deep nesting, huge strings, control characters, invalid UTF-8, SQL fragments in
every string field and every string parameter of every operation, wrong media types, and tricks on
the bearer token. Secrets never show in a response (other than the one creating a token) or a log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, text

from app.store import index_rollups, rollups
from tests.conftest import ADMIN_TOKEN
from tests.factory import AGENCY, rec

PROBLEM = "application/problem+json"
SQL_FRAGMENTS = [
    "' OR '1'='1",
    "'; DROP TABLE dossiers; --",
    '" OR 1=1 --',
    "1); DELETE FROM rollups; --",
    "x' UNION SELECT secret_hash FROM api_tokens --",
    "%' OR code LIKE '%",
]
# Every string field of a record and a value in each that the schema accepts or refuses.
HOSTILE_STRINGS = [
    *SQL_FRAGMENTS,
    "A\x00B",  # NUL: PostgreSQL text cannot hold it
    "tab\there",
    "line\nbreak",
    "\u202eevil",  # right-to-left override
    "x" * 100_000,
]


def assert_problem(r: Response, status: int | tuple[int, ...]) -> dict[str, Any]:
    expected = status if isinstance(status, tuple) else (status,)
    assert r.status_code in expected, (r.status_code, r.text[:500])
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert set(body) >= {"type", "title", "status", "detail"}
    assert body["status"] == r.status_code
    assert "Traceback" not in r.text and "SELECT" not in r.text and "sqlalchemy" not in r.text.lower()
    return body


def dossier_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM dossiers")).scalar_one())


def rollups_clean(engine: Engine) -> None:
    with engine.connect() as conn:
        differences, rows = rollups.verify(conn)
        index_differences, index_rows = index_rollups.verify(conn)
    assert differences == 0, rows
    assert index_differences == 0, index_rows


# --- Oversized bodies ---------------------------------------------------------------------------


def chunks(total: int, size: int = 1 << 20) -> Iterator[bytes]:
    """A body streamed without a Content-Length, so only counting bytes can stop it."""
    yield b"["
    sent = 1
    while sent < total:
        yield b" " * size
        sent += size
    yield b"]"


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_oversized_bodies_are_413_on_every_operation_that_takes_one(
    client: TestClient, engine: Engine, declared: bool
) -> None:
    big = 11 * 1024 * 1024
    cases = [
        ("POST", "/v1/dossiers", big),
        ("POST", "/v1/integrations/dvcqg/dossiers?madonvi=" + AGENCY, big),
        ("PUT", "/v1/dossiers/D-1", 2 * 1024 * 1024),
        ("POST", "/v1/tokens", 100 * 1024),
        ("PUT", "/v1/agencies/X-1", 100 * 1024),
        ("PUT", "/v1/sectors/XAYDUNG", 100 * 1024),
        ("PUT", "/v1/targets/2025", 100 * 1024),
    ]
    for method, path, size in cases:
        body: bytes | Iterator[bytes] = b"[" + b" " * size + b"]" if declared else chunks(size)
        r = client.request(method, path, content=body, headers={"Content-Type": "application/json"})
        assert_problem(r, 413)
    assert dossier_count(engine) == 0


def test_an_over_long_ndjson_line_is_refused_alone(client: TestClient, engine: Engine) -> None:
    body = b"\n".join(
        [
            orjson.dumps(rec("D-1")),
            orjson.dumps(rec("D-2", procedure_name="x" * (2 * 1024 * 1024))),
            orjson.dumps(rec("D-3")),
        ]
    )
    r = client.post("/v1/dossiers", content=body, headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200
    report = r.json()
    assert (report["created"], report["rejected"]) == (2, 1)
    assert report["errors"][0]["index"] == 1
    # Refused as an over-long line or as an over-long procedure_name, depending on how it arrived.
    assert report["errors"][0]["errors"][0]["type"] in ("too_long", "string_too_long")
    assert dossier_count(engine) == 2


def test_an_array_of_more_than_5000_records_is_refused_whole(client: TestClient, engine: Engine) -> None:
    assert_problem(client.post("/v1/dossiers", json=[rec(f"D-{i}") for i in range(5001)]), 422)
    assert dossier_count(engine) == 0


# --- Deep nesting, huge strings, control characters, invalid UTF-8 ---------------------------------


def test_deeply_nested_json_is_refused(client: TestClient, engine: Engine) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    json_ct = {"Content-Type": "application/json"}
    assert_problem(client.post("/v1/dossiers", content=deep, headers=json_ct), 400)
    assert_problem(client.put("/v1/dossiers/D-1", content=deep, headers=json_ct), 400)
    assert_problem(
        client.put("/v1/agencies/X-1", content=b'{"name":' + deep[:60000] + b"}", headers=json_ct), 400
    )
    nested_field = rec("D-1", procedure_name=orjson.loads(b"[" * 200 + b"]" * 200))
    r = client.post("/v1/dossiers", json=[nested_field])
    assert r.status_code == 200 and r.json()["rejected"] == 1
    ndjson = b"[" * 100_000 + b"\n" + orjson.dumps(rec("D-2"))
    r = client.post("/v1/dossiers", content=ndjson, headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200
    assert (r.json()["created"], r.json()["errors"][0]["errors"][0]["type"]) == (1, "json_invalid")
    assert dossier_count(engine) == 1


# Longest value of each free-text field: any text fits there, SQL text included; other fields are
# codes or slugs whose patterns refuse quotes, spaces and control characters.
FREE_TEXT = {"procedure_name": 1000, "procedure_code": 32}


@pytest.mark.parametrize(
    "field", ["code", "procedure_code", "procedure_name", "sector", "agency_code", "commune_code"]
)
def test_hostile_strings_in_record_fields_are_refused_or_stored_verbatim(
    client: TestClient, engine: Engine, field: str
) -> None:
    records = [{**rec(f"H-{i}"), field: value} for i, value in enumerate(HOSTILE_STRINGS)]
    r = client.post("/v1/dossiers", json=records)
    assert r.status_code == 200, r.text[:500]
    report = r.json()
    for e in report["errors"]:
        assert [x["loc"] for x in e["errors"]] == [[field]]
        # Errors never echo the submitted value.
        assert not any(s in orjson.dumps(e).decode() for s in HOSTILE_STRINGS if len(s) > 3)
    with engine.connect() as conn:
        stored = {row[0]: row[1] for row in conn.execute(text(f"SELECT code, {field} FROM dossiers"))}
    assert len(stored) == report["created"]
    sent = {x["code"]: x[field] for x in records}
    assert all(stored[code] == sent[code] for code in stored)  # verbatim
    assert not any(re.search(r"[\x00-\x1f\x7f]", value) for value in stored.values())
    fits = {v for v in SQL_FRAGMENTS if len(v) <= FREE_TEXT.get(field, 0)}
    assert fits <= set(stored.values())
    rollups_clean(engine)


def _codes(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(text("SELECT code FROM dossiers"))}


def test_invalid_utf8_is_refused(client: TestClient, engine: Engine) -> None:
    json_ct = {"Content-Type": "application/json"}
    assert_problem(client.post("/v1/dossiers", content=b'[{"code": "\xff\xfe"}]', headers=json_ct), 400)
    assert_problem(client.put("/v1/dossiers/D-1", content=b'{"code": "\xc3"}', headers=json_ct), 400)
    assert_problem(client.put("/v1/agencies/X-1", content=b'{"name": "\xff"}', headers=json_ct), (400, 422))
    # A lone surrogate, escaped or as raw bytes, is no Unicode text at all.
    assert_problem(client.post("/v1/dossiers", content=b'[{"code": "\\ud800"}]', headers=json_ct), 400)
    assert_problem(client.post("/v1/dossiers", content=b'[{"code": "\xed\xa0\x80"}]', headers=json_ct), 400)
    ndjson = b'{"code": "\xff"}\n' + orjson.dumps(rec("D-2"))
    r = client.post("/v1/dossiers", content=ndjson, headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200 and (r.json()["created"], r.json()["rejected"]) == (1, 1)
    assert_problem(client.get("/v1/dossiers/%FF%FE"), 422)
    r = client.get("/v1/dossiers?procedure=%FF%FE")
    assert r.status_code == 200 and r.json()["items"] == []
    assert dossier_count(engine) == 1


# --- Every string parameter of every operation -------------------------------------------------


def _operations(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    doc = client.get("/openapi.json").json()
    return [(method.upper(), path, op) for path, ops in doc["paths"].items() for method, op in ops.items()]


@pytest.mark.parametrize("value", [*SQL_FRAGMENTS, "A\x00B", "\x1b[31m", "x" * 5000])
def test_hostile_values_in_every_parameter_are_4xx_or_harmless(
    client: TestClient, engine: Engine, value: str
) -> None:
    client.post("/v1/dossiers", json=[rec("KEEP-1")])
    tried = 0
    for method, path, op in _operations(client):
        body = [rec("P-1")] if op.get("requestBody") else None
        for param in op.get("parameters", []):
            if param["in"] not in ("query", "path"):
                continue
            url = path
            params: dict[str, Any] = {}
            required = {p["name"]: p for p in op.get("parameters", []) if p.get("required")}
            for name, p in required.items():
                if p["in"] == "query":
                    params[name] = {"from": "2025-01-01", "to": "2025-01-31", "period": "2025-01"}.get(
                        name, "x"
                    )
            if param["in"] == "path":
                url = re.sub(r"\{" + param["name"] + r"\}", _quote(value), url)
            else:
                params[param["name"]] = value
            url = re.sub(r"\{[^}]+\}", "X-1", url)
            r = client.request(method, url, params=params, json=body)
            tried += 1
            assert r.status_code < 500, (method, url, param["name"], r.text[:300])
            if r.status_code >= 400:
                assert_problem(r, r.status_code)
    assert tried >= 40
    print(f"{tried} parameters of {len(_operations(client))} operations tried with {value[:20]!r}")
    # The tables are all there, the stored dossiers are the ones sent, and the figures are whole.
    assert _codes(engine) <= {"KEEP-1", "P-1"}
    rollups_clean(engine)


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


@pytest.mark.parametrize("value", SQL_FRAGMENTS)
def test_sql_text_in_a_filter_matches_nothing(client: TestClient, value: str) -> None:
    client.post("/v1/dossiers", json=[rec("D-1"), rec("D-2", procedure_code=value[:32])])
    r = client.get("/v1/dossiers", params={"procedure": value[:32]})
    assert [d["code"] for d in r.json()["items"]] == ["D-2"]
    m = client.get(
        "/v1/metrics", params={"from": "2025-07-01", "to": "2025-07-31", "procedure": "x" + value[:31]}
    )
    assert m.status_code == 200 and m.json()["totals"]["counts"]["received"] == 0


# --- Media types -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "media",
    [
        None,
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
    ],
)
def test_wrong_media_types_are_415(client: TestClient, engine: Engine, media: str | None) -> None:
    headers = {"Content-Type": media} if media else {}
    body = orjson.dumps(rec("D-1"))
    for method, path in [
        ("POST", "/v1/dossiers"),
        ("PUT", "/v1/dossiers/D-1"),
        ("POST", "/v1/integrations/dvcqg/dossiers"),
        ("POST", "/v1/tokens"),
        ("PUT", "/v1/agencies/X-1"),
        ("PUT", "/v1/sectors/XAYDUNG"),
        ("PUT", "/v1/targets/2025"),
    ]:
        assert_problem(client.request(method, path, content=body, headers=headers), 415)
    assert dossier_count(engine) == 0


# --- The bearer token ----------------------------------------------------------------------------


BAD_AUTHORIZATIONS = [
    "",
    "Bearer",
    "Bearer ",
    f"Bearer  {ADMIN_TOKEN}",  # two spaces
    f"Bearer {ADMIN_TOKEN} ",
    f"Bearer {ADMIN_TOKEN}x",
    f"Bearer {ADMIN_TOKEN[:-1]}",
    f"Bearer {ADMIN_TOKEN.upper()}",
    f"Basic {ADMIN_TOKEN}",
    f"Token {ADMIN_TOKEN}",
    f"Bearer {ADMIN_TOKEN},{ADMIN_TOKEN}",
    f"Bearer\t{ADMIN_TOKEN}",
    "Bearer " + "A" * 10_000,
    "Bearer ' OR '1'='1",
    "Bearer tthc_' UNION SELECT 1 --",
    "Bearer %00",
]


@pytest.mark.parametrize("authorization", BAD_AUTHORIZATIONS)
def test_a_malformed_or_wrong_bearer_token_is_401(
    anon: TestClient, engine: Engine, authorization: str
) -> None:
    for method, path, body in [
        ("POST", "/v1/dossiers", [rec("D-1")]),
        ("GET", "/v1/tokens", None),
        ("GET", "/v1/metrics?from=2025-07-01&to=2025-07-31", None),
    ]:
        r = anon.request(method, path, json=body, headers={"Authorization": authorization})
        assert_problem(r, 401)
        assert r.headers["www-authenticate"].startswith("Bearer")
        presented = authorization.partition(" ")[2].strip()
        assert ADMIN_TOKEN not in r.text
        assert len(presented) < 8 or presented not in r.text
    assert dossier_count(engine) == 0


def test_two_authorization_headers_and_non_ascii_bytes_are_401(anon: TestClient) -> None:
    two = [("Authorization", f"Bearer {ADMIN_TOKEN}"), ("Authorization", f"Bearer {ADMIN_TOKEN}")]
    assert_problem(anon.get("/v1/tokens", headers=two), 401)
    latin = [("Authorization", b"Bearer \xff\xfe" + ADMIN_TOKEN.encode())]
    assert_problem(anon.get("/v1/tokens", headers=latin), 401)


def test_revoked_expired_and_narrow_tokens(client: TestClient, anon: TestClient) -> None:
    def token(**body: Any) -> tuple[str, str]:
        r = client.post("/v1/tokens", json={"label": "t", **body})
        assert r.status_code == 201
        return r.json()["id"], r.json()["token"]

    read_id, read = token(scopes=["read"])
    _, expired = token(scopes=["ingest"], expires_at="2025-01-01T00:00:00+07:00")
    revoked_id, revoked = token(scopes=["ingest"])
    assert client.delete(f"/v1/tokens/{revoked_id}").status_code == 204
    _, other = token(scopes=["ingest"], agencies=["000.00.03.H41"])

    def auth(secret: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret}"}

    assert_problem(anon.post("/v1/dossiers", json=[rec("D-1")], headers=auth(read)), 403)
    assert_problem(anon.post("/v1/dossiers", json=[rec("D-1")], headers=auth(expired)), 401)
    assert_problem(anon.post("/v1/dossiers", json=[rec("D-1")], headers=auth(revoked)), 401)
    assert_problem(anon.put("/v1/dossiers/D-1", json=rec("D-1"), headers=auth(other)), 403)
    r = anon.post("/v1/dossiers", json=[rec("D-1")], headers=auth(other))
    assert r.json()["errors"][0]["errors"][0]["type"] == "forbidden"
    assert read_id not in (read, ADMIN_TOKEN)


def test_secrets_never_reach_logs_or_later_responses(
    client: TestClient, anon: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = client.post("/v1/tokens", json={"label": "one-stop", "scopes": ["ingest", "read"]})
    secret = created.json()["token"]
    auth = {"Authorization": f"Bearer {secret}"}
    later = [
        anon.post("/v1/dossiers", json=[rec("D-1"), rec("D-2", due_at="2025-06-01")], headers=auth),
        anon.put("/v1/dossiers/D-3", json=rec("D-3"), headers=auth),
        anon.put("/v1/dossiers/D-4", json=rec("D-5"), headers=auth),
        anon.get("/v1/tokens", headers=auth),
        client.get("/v1/tokens"),
        client.get("/v1/audit"),
        anon.get("/v1/tokens", headers={"Authorization": f"Bearer {secret}x"}),
        anon.get("/v1/tokens", headers={"Authorization": f"Bearer {ADMIN_TOKEN}x"}),
        anon.post("/v1/dossiers", content=b"{", headers={**auth, "Content-Type": "application/json"}),
    ]
    for r in later:
        everything = r.text + str(r.headers)
        assert secret not in everything and ADMIN_TOKEN not in everything
    assert later[0].status_code == 200 and later[4].status_code == 200
    logged = caplog.text + "".join(str(rec_.args) for rec_ in caplog.records)
    assert "write" in logged  # the writes were logged, without the secrets
    assert secret not in logged and ADMIN_TOKEN not in logged
    assert secret[5:20] not in logged


# --- The calendar's edges (found by fuzzing: each of these was a 500) ----------------------------


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/v1/metrics?from=0001-01-01&to=0001-01-01", 422),
        ("/v1/metrics?from=1899-12-31&to=1900-01-01", 422),
        ("/v1/metrics?from=1900-01-01&to=1900-01-31&group_by=day", 200),
        ("/v1/metrics?from=9998-01-01&to=9998-12-31&group_by=quarter", 200),
        ("/v1/metrics?from=9999-01-01&to=9999-12-30&group_by=month", 422),
        ("/v1/dossiers?as_of=9999-12-31", 422),
        ("/v1/dossiers?received_to=0", 422),
        ("/v1/scorecard?from=1900-01-01&to=1900-12-31", 200),
        ("/v1/reports/dossier-processing?period=0291-H2&unit=sector", 422),
        ("/v1/reports/dossier-processing?period=1901-01", 200),
        ("/v1/reports/dossier-processing?period=9998-12", 200),
        ("/v1/reports/dossier-processing?period=9999-12", 422),
        ("/v1/audit?before=77824436067848290304", 422),
    ],
)
def test_the_calendars_edges_are_answered_or_refused(client: TestClient, url: str, status: int) -> None:
    r = client.get(url)
    assert r.status_code == status, r.text[:300]
    if status == 422:
        assert_problem(r, 422)
