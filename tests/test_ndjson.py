"""Contract §3: NDJSON streams of any length in committed chunks, per-line errors; bodies refused whole."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from app.dossiers import service, stream
from app.models import Dossier
from app.store import rollups
from tests.conftest import Clock
from tests.factory import rec
from tests.ingesting import NDJSON, app_client, counts, ndjson, post_in_pieces, post_ndjson

BROKEN_LINE = {"loc": [], "msg": "the line is not a valid JSON object", "type": "json_invalid"}
NOT_AN_OBJECT = {"loc": [], "msg": "a record must be a JSON object", "type": "model_type"}


def stored_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Dossier)) or 0)


def assert_problem(r: Any, status: int, slug: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status
    assert body["type"].endswith("/" + slug)
    assert body["title"] and body["detail"]


def in_pieces(body: bytes, size: int) -> Iterator[bytes]:
    """The body as a stream of `size`-byte pieces that cut lines anywhere."""
    for i in range(0, len(body), size):
        yield body[i : i + size]


# --- streams ---------------------------------------------------------------------------------------


def test_a_long_stream_is_stored_in_several_chunks(engine: Engine, clock: Clock) -> None:
    lines = [rec(f"S-{i:04d}", procedure_name=f"Thủ tục {i}") for i in range(250)]
    with app_client(engine, clock, TTHC_INGEST_CHUNK=40) as c:
        r = post_in_pieces(c, in_pieces(ndjson(lines), 997), "application/x-ndjson")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "received": 250,
        "created": 250,
        "updated": 0,
        "unchanged": 0,
        "stale": 0,
        "rejected": 0,
        "errors": [],
        "errors_omitted": 0,
        "errors_summary": [],
    }
    assert stored_count(engine) == 250
    with engine.connect() as conn, conn.begin():
        assert rollups.verify(conn) == (0, [])


def test_a_broken_line_is_reported_with_its_line_number_and_the_others_are_stored(
    engine: Engine, clock: Clock
) -> None:
    body = ndjson([rec("L-0"), rec("L-1"), b'{"code": "L-2", "status": ', rec("L-3"), rec("L-4")])
    with app_client(engine, clock, TTHC_INGEST_CHUNK=2) as c:
        report = post_ndjson(c, body)
    assert counts(report) == {
        "received": 5,
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "stale": 0,
        "rejected": 1,
    }
    assert report["errors"] == [{"index": 2, "code": None, "errors": [BROKEN_LINE]}]
    assert stored_count(engine) == 4


def test_blank_lines_are_skipped_but_counted_in_line_numbers(client: TestClient) -> None:
    body = (
        b"\n" + orjson.dumps(rec("B-1")) + b"\n   \n\n" + orjson.dumps(rec("B-2", agency_code="x")) + b"\n\n"
    )
    report = post_ndjson(client, body)
    assert (report["received"], report["created"], report["rejected"]) == (2, 1, 1)
    assert [(e["index"], e["code"]) for e in report["errors"]] == [(4, "B-2")]


def test_a_line_that_is_json_but_not_an_object_is_that_lines_error(client: TestClient) -> None:
    report = post_ndjson(client, ndjson([[rec("A-1")], "A-2", rec("A-3"), 42]))
    assert (report["received"], report["created"], report["rejected"]) == (4, 1, 3)
    assert report["errors"] == [
        {"index": 0, "code": None, "errors": [NOT_AN_OBJECT]},
        {"index": 1, "code": None, "errors": [NOT_AN_OBJECT]},
        {"index": 3, "code": None, "errors": [NOT_AN_OBJECT]},
    ]


@pytest.mark.parametrize("content_type", ["application/ndjson", "application/jsonl"])
def test_other_names_of_ndjson_are_accepted(client: TestClient, content_type: str) -> None:
    r = client.post("/v1/dossiers", content=ndjson([rec()]), headers={"Content-Type": content_type})
    assert r.status_code == 200 and r.json()["created"] == 1


def test_crlf_line_ends_and_a_last_line_without_one_are_read(client: TestClient) -> None:
    body = orjson.dumps(rec("C-1")) + b"\r\n" + orjson.dumps(rec("C-2")) + b"\r\n" + orjson.dumps(rec("C-3"))
    report = post_ndjson(client, body)
    assert (report["received"], report["created"]) == (3, 3)


def test_invalid_utf8_in_a_line_is_that_lines_error(client: TestClient) -> None:
    body = ndjson([rec("U-1"), b'{"code": "U-2", "procedure_name": "\xff\xfe"}', rec("U-3")])
    report = post_ndjson(client, body)
    assert (report["created"], report["rejected"]) == (2, 1)
    assert report["errors"] == [{"index": 1, "code": None, "errors": [BROKEN_LINE]}]


def test_a_line_longer_than_a_megabyte_is_that_lines_error(client: TestClient) -> None:
    huge = orjson.dumps(rec("H-1", procedure_name="x" * (1024 * 1024 + 10)))
    body = ndjson([rec("H-0"), huge, rec("H-2")])
    report = post_ndjson(client, in_pieces(body, 64 * 1024))
    assert (report["received"], report["created"], report["rejected"]) == (3, 2, 1)
    assert report["errors"] == [
        {
            "index": 1,
            "code": None,
            "errors": [{"loc": [], "msg": "the line is longer than 1048576 bytes", "type": "too_long"}],
        }
    ]


def test_a_line_longer_than_a_megabyte_arriving_in_pieces_is_that_lines_error(client: TestClient) -> None:
    huge = orjson.dumps(rec("H-1", procedure_name="x" * (3 * 1024 * 1024)))
    body = ndjson([rec("H-0"), huge, rec("H-2"), b"{", rec("H-4")])
    r = post_in_pieces(client, in_pieces(body, 64 * 1024), "application/x-ndjson")
    report = r.json()
    assert (report["received"], report["created"], report["rejected"]) == (5, 3, 2)
    assert [(e["index"], e["errors"][0]["type"]) for e in report["errors"]] == [
        (1, "too_long"),
        (3, "json_invalid"),
    ]


def test_an_empty_stream_stores_nothing_and_says_so(client: TestClient, engine: Engine) -> None:
    report = post_ndjson(client, b"\n\n")
    assert counts(report) == dict.fromkeys(
        ("received", "created", "updated", "unchanged", "stale", "rejected"), 0
    )
    assert stored_count(engine) == 0


def test_chunks_committed_before_a_failure_stay_stored(
    engine: Engine, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = service.write_chunk
    calls = {"n": 0}

    def failing_second_chunk(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(stream, "write_chunk", failing_second_chunk)
    with app_client(engine, clock, TTHC_INGEST_CHUNK=3) as c:
        c2 = TestClient(c.app, base_url="http://testserver", raise_server_exceptions=False)
        c2.headers.update(c.headers)
        r = c2.post("/v1/dossiers", content=ndjson([rec(f"F-{i}") for i in range(7)]), headers=NDJSON)
    assert_problem(r, 500, "internal-error")
    assert "database" not in r.text
    assert stored_count(engine) == 3


# --- bodies refused whole --------------------------------------------------------------------------


def test_a_body_that_is_not_json_is_400(client: TestClient, engine: Engine) -> None:
    r = client.post("/v1/dossiers", content=b"[{", headers={"Content-Type": "application/json"})
    assert_problem(r, 400, "bad-request")
    assert stored_count(engine) == 0


@pytest.mark.parametrize("body", [{"records": []}, "text", 5, None])
def test_a_json_body_that_is_not_an_array_is_422(client: TestClient, engine: Engine, body: Any) -> None:
    r = client.post("/v1/dossiers", content=orjson.dumps(body), headers={"Content-Type": "application/json"})
    assert_problem(r, 422, "validation-error")
    assert r.json()["errors"] == [{"loc": [], "msg": "must be an array", "type": "list_type"}]
    assert stored_count(engine) == 0


def test_an_empty_array_is_422(client: TestClient) -> None:
    r = client.post("/v1/dossiers", json=[])
    assert_problem(r, 422, "validation-error")
    assert r.json()["errors"][0]["type"] == "too_short"


def test_an_array_of_5001_records_is_422_and_nothing_is_stored(client: TestClient, engine: Engine) -> None:
    r = client.post("/v1/dossiers", json=[rec(f"M-{i}") for i in range(5001)])
    assert_problem(r, 422, "validation-error")
    assert r.json()["errors"][0]["type"] == "too_long"
    assert stored_count(engine) == 0


def test_an_array_of_5000_records_is_accepted(client: TestClient, engine: Engine) -> None:
    r = client.post("/v1/dossiers", json=[rec(f"M-{i:04d}") for i in range(5000)])
    assert r.status_code == 200
    assert (r.json()["received"], r.json()["created"]) == (5000, 5000)
    assert stored_count(engine) == 5000


def test_a_json_body_over_10_mb_is_413(client: TestClient, engine: Engine) -> None:
    body = b"[" + orjson.dumps(rec("BIG")) + b" " * (10 * 1024 * 1024) + b"]"
    r = client.post("/v1/dossiers", content=body, headers={"Content-Type": "application/json"})
    assert_problem(r, 413, "payload-too-large")
    assert stored_count(engine) == 0


def test_a_streamed_json_body_over_10_mb_is_413(client: TestClient, engine: Engine) -> None:
    body = b"[" + orjson.dumps(rec("BIG")) + b" " * (10 * 1024 * 1024) + b"]"
    r = post_in_pieces(client, in_pieces(body, 1 << 20), "application/json")
    assert_problem(r, 413, "payload-too-large")
    assert stored_count(engine) == 0


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "multipart/form-data", "application/json-seq", None]
)
def test_an_unsupported_content_type_is_415(
    client: TestClient, engine: Engine, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    r = client.post("/v1/dossiers", content=orjson.dumps([rec()]), headers=headers)
    assert_problem(r, 415, "unsupported-media-type")
    assert stored_count(engine) == 0


def test_json_with_a_charset_parameter_is_accepted(client: TestClient) -> None:
    r = client.post(
        "/v1/dossiers",
        content=orjson.dumps([rec()]),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 200 and r.json()["created"] == 1
