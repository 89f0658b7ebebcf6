"""Issue 12, ingestion: chunks cut by bytes, the bounded error report, a leading BOM, the clock read
per chunk, the upload idle timeout, database reads off the event loop, a bad record never costing a
good one (both ingest endpoints, SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from app.api import bodies
from app.api.routers import dossiers as dossier_router
from app.api.routers import dvcqg as dvcqg_router
from app.core.timeutil import VN_TZ
from app.dossiers import service, stream
from app.integrations.dvcqg import service as dvcqg_service
from app.integrations.dvcqg.mapping import LIST_FIELDS, SCALAR_FIELDS
from app.models import Dossier
from tests.conftest import Clock
from tests.dvcqg_factory import envelope, portal
from tests.factory import rec
from tests.ingesting import NDJSON, app_client, counts, ndjson, post, post_ndjson

BOM = b"\xef\xbb\xbf"
PORTAL_URL = "/v1/integrations/dvcqg/dossiers"
ZERO = {"received": 0, "created": 0, "updated": 0, "unchanged": 0, "stale": 0, "rejected": 0}


def stored_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Dossier)) or 0)


def stored_codes(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(select(Dossier.code)))


async def _post_stream(
    client: TestClient, url: str, body: AsyncIterator[bytes], content_type: str
) -> httpx.Response:
    transport = httpx.ASGITransport(app=client.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        headers = {"Content-Type": content_type, "Authorization": client.headers["Authorization"]}
        return await c.post(url, content=body, headers=headers)


def post_stream(
    client: TestClient, body: AsyncIterator[bytes], content_type: str = "application/x-ndjson"
) -> Any:
    """POST a body produced by an async generator (which may pause or move the clock between pieces)."""
    return asyncio.run(_post_stream(client, "/v1/dossiers", body, content_type))


# --- 1. chunks cut by bytes ----------------------------------------------------------------------


def test_a_stream_is_cut_into_chunks_by_bytes_as_well_as_by_lines(
    engine: Engine, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [rec(f"B-{i:02d}") for i in range(10)]
    size = len(orjson.dumps(lines[0]))
    assert {len(orjson.dumps(x)) for x in lines} == {size}
    chunks: list[int] = []
    real = service.write_chunk

    def counting(engine: Engine, prepared: service.PreparedChunk, *args: Any, **kwargs: Any) -> Any:
        chunks.append(len(prepared.verdicts))
        return real(engine, prepared, *args, **kwargs)

    monkeypatch.setattr(stream, "write_chunk", counting)
    # 3 lines reach the byte cap: chunks of 3, 3, 3 and the last line.
    with app_client(engine, clock, TTHC_INGEST_CHUNK=1000, TTHC_INGEST_CHUNK_BYTES=3 * size) as c:
        report = post_ndjson(c, ndjson(lines))
    assert chunks == [3, 3, 3, 1]
    assert counts(report) == {**ZERO, "received": 10, "created": 10}
    assert stored_count(engine) == 10


# --- 2. the first 1,000 rejected records in full, the others counted ------------------------------


def test_an_ndjson_report_lists_the_first_1000_rejected_records_and_counts_the_others(
    client: TestClient, engine: Engine
) -> None:
    # Line 0 is valid; lines 1..1003 each lack six required fields; line 1004 is not JSON.
    body = ndjson([rec("OK-0"), *({"code": f"B-{i}"} for i in range(1, 1004)), b'{"code": '])
    report = post_ndjson(client, body)
    assert counts(report) == {**ZERO, "received": 1005, "created": 1, "rejected": 1004}
    assert [e["index"] for e in report["errors"]] == list(range(1, 1001))
    assert report["errors"][0] == {
        "index": 1,
        "code": "B-1",
        "errors": [
            {"loc": [field], "msg": "Field required", "type": "missing"}
            for field in ("procedure_code", "agency_code", "channel", "received_at", "status", "updated_at")
        ],
    }
    # Left out: lines 1001, 1002, 1003 (six errors each) and 1004 (one).
    assert report["errors_omitted"] == 4
    assert report["errors_summary"] == [
        {"loc": ["agency_code"], "type": "missing", "count": 3},
        {"loc": ["channel"], "type": "missing", "count": 3},
        {"loc": ["procedure_code"], "type": "missing", "count": 3},
        {"loc": ["received_at"], "type": "missing", "count": 3},
        {"loc": ["status"], "type": "missing", "count": 3},
        {"loc": ["updated_at"], "type": "missing", "count": 3},
        {"loc": [], "type": "json_invalid", "count": 1},
    ]
    assert stored_codes(engine) == {"OK-0"}


def test_a_json_array_report_lists_the_first_1000_rejected_records_and_counts_the_others(
    client: TestClient, engine: Engine
) -> None:
    records: list[Any] = [{} for _ in range(1003)]
    records.insert(500, rec("OK-500"))
    report = post(client, records)
    assert counts(report) == {**ZERO, "received": 1004, "created": 1, "rejected": 1003}
    assert [e["index"] for e in report["errors"]] == [*range(500), *range(501, 1001)]
    assert report["errors_omitted"] == 3
    assert report["errors_summary"] == [
        {"loc": [field], "type": "missing", "count": 3}
        for field in (
            "agency_code",
            "channel",
            "code",
            "procedure_code",
            "received_at",
            "status",
            "updated_at",
        )
    ]
    assert stored_codes(engine) == {"OK-500"}


def test_a_short_report_says_nothing_was_left_out(client: TestClient) -> None:
    report = post(client, [rec("OK-1"), {"code": "B-1", **rec("B-1"), "status": "open"}])
    assert (report["rejected"], report["errors_omitted"], report["errors_summary"]) == (1, 0, [])
    assert [e["index"] for e in report["errors"]] == [1]


def test_a_record_lists_at_most_100_errors_and_says_how_many_more(client: TestClient) -> None:
    record = {**rec("MANY-1"), **{f"x{i:03d}": 1 for i in range(150)}}
    report = post(client, [record])
    errors = report["errors"][0]["errors"]
    assert len(errors) == 101
    assert errors[0] == {"loc": ["x000"], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}
    assert errors[99]["loc"] == ["x099"]
    assert errors[100] == {
        "loc": [],
        "msg": "50 more errors of this record are not listed",
        "type": "too_many_errors",
    }


def test_the_summary_keeps_1000_distinct_pairs_and_counts_the_rest_by_type(client: TestClient) -> None:
    # Each line has its own unknown field: 1,000 lines listed, 1,002 omitted with 1,002 distinct locs.
    lines = [{**rec(f"U-{i}"), f"x{i}": 1} for i in range(2002)]
    report = post_ndjson(client, ndjson(lines))
    assert (report["rejected"], len(report["errors"]), report["errors_omitted"]) == (2002, 1000, 1002)
    summary = report["errors_summary"]
    assert len(summary) == 1001
    assert summary[0] == {"loc": [], "type": "extra_forbidden", "count": 2}
    assert {(tuple(s["loc"]), s["count"]) for s in summary[1:]} == {
        ((f"x{i}",), 1) for i in range(1000, 2000)
    }


def test_the_portal_report_lists_the_first_1000_rejected_records_and_counts_the_others(
    client: TestClient, engine: Engine
) -> None:
    bad = [portal(f"PB-{i}", MaTTHC="", NgayTiepNhan="") for i in range(1003)]
    report = client.post(PORTAL_URL, json=envelope([portal("PK-0"), *bad, portal("PS-1", TrangThaiHoSo="1")]))
    assert report.status_code == 200, report.text
    body = report.json()
    assert {k: body[k] for k in (*ZERO, "skipped")} == {
        **ZERO,
        "received": 1005,
        "created": 1,
        "rejected": 1003,
        "skipped": 1,
    }
    assert [e["index"] for e in body["errors"]] == list(range(1, 1001))
    assert body["errors"][0]["errors"] == [
        {"loc": ["MaTTHC"], "msg": "is required", "type": "missing"},
        {"loc": ["NgayTiepNhan"], "msg": "is required: the dossier's reception time", "type": "missing"},
    ]
    assert body["errors_omitted"] == 3
    assert body["errors_summary"] == [
        {"loc": ["MaTTHC"], "type": "missing", "count": 3},
        {"loc": ["NgayTiepNhan"], "type": "missing", "count": 3},
    ]
    assert body["skipped_records"] == [{"index": 1004, "code": "PS-1", "status": "1"}]
    assert stored_codes(engine) == {"PK-0"}


def test_a_short_portal_report_says_nothing_was_left_out(client: TestClient) -> None:
    r = client.post(PORTAL_URL, json=envelope([portal("PK-1")]))
    assert (r.json()["errors_omitted"], r.json()["errors_summary"]) == (0, [])


# --- 3. a leading UTF-8 BOM ------------------------------------------------------------------------


def test_a_json_body_may_start_with_a_bom(client: TestClient, engine: Engine) -> None:
    r = client.post(
        "/v1/dossiers",
        content=BOM + orjson.dumps([rec("BOM-1")]),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert counts(r.json()) == {**ZERO, "received": 1, "created": 1}


def test_an_ndjson_body_may_start_with_a_bom(client: TestClient, engine: Engine) -> None:
    report = post_ndjson(client, BOM + ndjson([rec("BOM-1"), rec("BOM-2")]))
    assert counts(report) == {**ZERO, "received": 2, "created": 2}
    assert stored_codes(engine) == {"BOM-1", "BOM-2"}


def test_a_bom_is_only_skipped_at_the_start_of_the_body(client: TestClient) -> None:
    report = post_ndjson(client, ndjson([rec("BOM-1")]) + BOM + ndjson([rec("BOM-2")]))
    assert counts(report) == {**ZERO, "received": 2, "created": 1, "rejected": 1}
    assert report["errors"][0]["index"] == 1
    assert report["errors"][0]["errors"][0]["type"] == "json_invalid"


def test_a_put_body_may_start_with_a_bom(client: TestClient) -> None:
    r = client.put(
        "/v1/dossiers/BOM-1",
        content=BOM + orjson.dumps(rec("BOM-1")),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["result"] == "created"


def test_a_portal_body_may_start_with_a_bom(client: TestClient, engine: Engine) -> None:
    body = BOM + orjson.dumps(envelope([portal("BOM-P1")]))
    r = client.post(PORTAL_URL, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 1
    assert stored_codes(engine) == {"BOM-P1"}


# --- 4. the clock is read per chunk --------------------------------------------------------------


def test_each_chunk_is_judged_against_the_clock_when_it_is_read(engine: Engine, clock: Clock) -> None:
    start = clock.now

    def at(instant: Any) -> str:
        return str(instant.astimezone(VN_TZ).isoformat())

    def line(code: str, instant: Any) -> bytes:
        return ndjson(
            [rec(code, received_at=at(instant), due_at=None, resolved_at=at(instant), updated_at=at(instant))]
        )

    async def body() -> AsyncIterator[bytes]:
        yield line("C-0", start - timedelta(minutes=1))
        await asyncio.sleep(0)
        # An hour later (a long stream): a record of 59 minutes after the start is now in the past.
        clock.now = start + timedelta(hours=1)
        yield line("C-1", start + timedelta(minutes=59)) + line("C-2", start + timedelta(minutes=66))

    with app_client(engine, clock, TTHC_INGEST_CHUNK=1) as c:
        r = post_stream(c, body())
    assert r.status_code == 200, r.text
    report = r.json()
    assert counts(report) == {**ZERO, "received": 3, "created": 2, "rejected": 1}
    assert [(e["index"], [x["loc"] for x in e["errors"]]) for e in report["errors"]] == [
        (2, [["received_at"], ["updated_at"]])
    ]
    assert stored_codes(engine) == {"C-0", "C-1"}


# --- 5. the upload idle timeout --------------------------------------------------------------------


def test_an_upload_idle_past_the_timeout_is_408_and_committed_chunks_stay(
    engine: Engine, clock: Clock
) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield ndjson([rec("I-0"), rec("I-1")])
        await asyncio.sleep(2.0)
        yield ndjson([rec("I-2")])

    with app_client(engine, clock, TTHC_INGEST_CHUNK=1, TTHC_UPLOAD_IDLE_TIMEOUT=0.3) as c:
        r = post_stream(c, body())
    assert r.status_code == 408, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json() == {
        "type": "https://tthc-metrics.local/problems/request-timeout",
        "title": "Request timeout",
        "status": 408,
        "detail": "No part of the body arrived for 0.3 seconds.",
    }
    assert stored_codes(engine) == {"I-0", "I-1"}


def test_a_slow_upload_that_keeps_moving_is_not_cut(engine: Engine, clock: Clock) -> None:
    async def body() -> AsyncIterator[bytes]:
        for i in range(6):  # 6 x 0.15 s: longer than the timeout in all, never idle that long
            yield ndjson([rec(f"S-{i}")])
            await asyncio.sleep(0.15)

    with app_client(engine, clock, TTHC_INGEST_CHUNK=2, TTHC_UPLOAD_IDLE_TIMEOUT=0.5) as c:
        r = post_stream(c, body())
    assert r.status_code == 200, r.text
    assert counts(r.json()) == {**ZERO, "received": 6, "created": 6}


@pytest.mark.parametrize("url", ["/v1/dossiers", "/v1/dossiers/I-9", PORTAL_URL])
def test_a_json_upload_idle_past_the_timeout_is_408(engine: Engine, clock: Clock, url: str) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"[{"
        await asyncio.sleep(2.0)
        yield b"}]"

    with app_client(engine, clock, TTHC_UPLOAD_IDLE_TIMEOUT=0.3) as c:
        method = "PUT" if url.endswith("I-9") else "POST"

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=c.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as ac:
                headers = {"Content-Type": "application/json", "Authorization": c.headers["Authorization"]}
                return await ac.request(method, url, content=body(), headers=headers)

        r = asyncio.run(send())
    assert r.status_code == 408, r.text
    assert r.json()["type"].endswith("/request-timeout")
    assert stored_count(engine) == 0


# --- 6. no database call on the event loop ---------------------------------------------------------


def test_ingest_endpoints_read_the_database_off_the_event_loop(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_loop: list[bool] = []

    def running_loop() -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    def watch(module: Any, name: str) -> None:
        real = getattr(module, name)

        def watched(*args: Any, **kwargs: Any) -> Any:
            on_loop.append(running_loop())
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, watched)

    watch(bodies, "current_registry")
    watch(dossier_router, "_stored_row")
    watch(dvcqg_router, "sector_map")
    assert client.post("/v1/dossiers", json=[rec("E-1")]).status_code == 200
    assert client.post("/v1/dossiers", content=ndjson([rec("E-2")]), headers=NDJSON).status_code == 200
    assert client.put("/v1/dossiers/E-3", json=rec("E-3")).status_code == 201
    assert client.post(PORTAL_URL, json=envelope([portal("E-4")])).status_code == 200
    # A registry for each of the four requests, the stored row of the PUT, the portal's sectors.
    assert on_loop == [False] * 6


# --- 7. a bad record never costs a good one --------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        (
            "KenhThucHien",
            "²",
            {
                "loc": ["KenhThucHien"],
                "msg": "must be 1 (in person), 2 (online) or 3 (postal)",
                "type": "enum",
            },
        ),
        (
            "KenhThucHien",
            "9" * 5000,
            {
                "loc": ["KenhThucHien"],
                "msg": "must be 1 (in person), 2 (online) or 3 (postal)",
                "type": "enum",
            },
        ),
        (
            "TrangThaiHoSo",
            "²",
            {"loc": ["TrangThaiHoSo"], "msg": "must be one of the status codes 1 to 10", "type": "enum"},
        ),
        (
            "TrangThaiHoSo",
            "1" * 5000,
            {"loc": ["TrangThaiHoSo"], "msg": "must be one of the status codes 1 to 10", "type": "enum"},
        ),
        (
            "NgayTiepNhan",
            "2" * 5000,
            {
                "loc": ["NgayTiepNhan"],
                "msg": "must be a date and time as yyyyMMddHHmmss (Vietnam local time)",
                "type": "datetime_from_date_parsing",
            },
        ),
    ],
)
def test_a_portal_record_with_an_unreadable_code_is_its_own_error(
    client: TestClient, engine: Engine, field: str, value: Any, error: dict[str, Any]
) -> None:
    r = client.post(PORTAL_URL, json=envelope([portal("BAD-1", **{field: value}), portal("GOOD-1")]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["created"], body["rejected"]) == (1, 1)
    assert body["errors"] == [{"index": 0, "code": "BAD-1", "errors": [error]}]
    assert value not in r.text
    assert stored_codes(engine) == {"GOOD-1"}


def test_a_portal_flag_with_odd_digits_counts_as_not_set(client: TestClient, engine: Engine) -> None:
    r = client.post(
        PORTAL_URL,
        json=envelope([portal("F-1", DuocThanhToanTrucTuyen="²", HoSoCoThanhPhanSoHoa="0" * 5000 + "1")]),
    )
    assert r.status_code == 200 and r.json()["created"] == 1, r.text
    stored = client.get("/v1/dossiers/F-1").json()
    # HoSoCoThanhPhanSoHoa = 1 (after its leading zeros) means reuse of digitised data.
    assert (stored["paid_online"], stored["reused_digital_data"]) == (False, True)


def test_an_unexpected_failure_mapping_a_portal_record_rejects_that_record_only(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = dvcqg_service.map_record  # type: ignore[attr-defined]

    def fragile(raw: Any, ctx: Any) -> Any:
        if raw.get("MaHoSo") == "BOOM-1":
            raise RuntimeError("secret value 0912345678")
        return real(raw, ctx)

    monkeypatch.setattr(dvcqg_service, "map_record", fragile)
    r = client.post(PORTAL_URL, json=envelope([portal("BOOM-1"), portal("GOOD-1")]))
    assert r.status_code == 200, r.text
    assert r.json()["errors"] == [
        {
            "index": 0,
            "code": None,
            "errors": [{"loc": [], "msg": "the record could not be read", "type": "value_error"}],
        }
    ]
    assert "0912345678" not in r.text
    assert stored_codes(engine) == {"GOOD-1"}
    assert any("portal record 0 could not be mapped: RuntimeError" in m for m in caplog.messages)


def test_an_unexpected_failure_validating_a_record_rejects_that_record_only(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = service.validate_record  # type: ignore[attr-defined]

    def fragile(raw: Any, registry: Any) -> Any:
        if raw.get("code") == "BOOM-1":
            raise OverflowError("secret value 0912345678")
        return real(raw, registry)

    monkeypatch.setattr(service, "validate_record", fragile)
    senders: list[Callable[[list[Any]], httpx.Response]] = [
        lambda body: client.post("/v1/dossiers", json=body),
        lambda body: client.post("/v1/dossiers", content=ndjson(body), headers=NDJSON),
    ]
    for send in senders:
        r = send([rec("BOOM-1"), rec("GOOD-1")])
        assert r.status_code == 200, r.text
        assert r.json()["errors"] == [
            {
                "index": 0,
                "code": "BOOM-1",
                "errors": [{"loc": [], "msg": "the record could not be read", "type": "value_error"}],
            }
        ]
        assert "0912345678" not in r.text
    assert stored_codes(engine) == {"GOOD-1"}
    assert any("record 0 could not be validated: OverflowError" in m for m in caplog.messages)


# The fuzz test's example count: small in the suite, raised for a long run (TTHC_FUZZ_EXAMPLES=2000).
FUZZ_EXAMPLES = int(os.environ.get("TTHC_FUZZ_EXAMPLES", "30"))
_PORTAL_FIELDS = sorted({*SCALAR_FIELDS, *LIST_FIELDS, "TenLinhVuc", "NgayNopHoSo", "DonViXuLy", "ChuHoSo"})
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.text(alphabet="0123456789²³¹٣０", min_size=1, max_size=20),
    st.integers(min_value=1, max_value=6000).map(lambda n: "7" * n),
    st.sampled_from(["20250701080000", "20251301080000", "99991231235959", "00000000000000", "9", "10", "2"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["Gia", "DuocSoHoa", "x"]), inner, max_size=3)
    ),
    max_leaves=6,
)
_counter = iter(range(10**9))


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(over=st.dictionaries(st.sampled_from(_PORTAL_FIELDS), _VALUES, min_size=1, max_size=5))
def test_any_portal_record_is_judged_alone_and_its_valid_neighbour_is_stored(
    client: TestClient, over: dict[str, Any]
) -> None:
    n = next(_counter)
    good = portal(f"FZ-GOOD-{n}")
    bad = portal(f"FZ-BAD-{n}", **over)
    r = client.post(PORTAL_URL, json=envelope([bad, good]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["received"] == 2
    # The neighbour is always stored.
    assert client.get(f"/v1/dossiers/FZ-GOOD-{n}").status_code == 200
    assert [e["index"] for e in body["errors"]] in ([], [0])
    for e in body["errors"]:
        assert e["errors"] and all(x["loc"] and isinstance(x["loc"][0], str) for x in e["errors"]), e
        assert all(
            x["type"] != "value_error" or x["msg"] != "the record could not be read" for x in e["errors"]
        )


def test_parse_lines_parses_each_line_only_when_taken() -> None:
    items: list[tuple[int, bytes | service.Unreadable]] = [
        (0, b'{"a": 1}'),
        (1, b"{"),
        (2, stream.LONG_LINE),
    ]
    taken = stream.parse_lines(items)
    assert next(taken) == (0, {"a": 1})
    index, broken = next(taken)
    assert (index, broken) == (1, service.Unreadable([dict(stream.BROKEN_LINE)]))
    assert next(taken) == (2, stream.LONG_LINE)
