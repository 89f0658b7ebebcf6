"""Monitoring: GET /metrics (exact counts, one server of two workers), request ids, JSON-line logs."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import sys
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, select, text

from app.api.state import state_of
from app.cli import main as cli_main
from app.config import get_settings
from app.core.counters import COUNTERS
from app.logs import JsonFormatter, TextFormatter, logging_config
from app.migrate import upgrade
from app.models import DataState
from tests.conftest import ADMIN_TOKEN, Clock
from tests.dvcqg_factory import envelope, portal
from tests.factory import rec
from tests.ingesting import NDJSON, app_client, ndjson, new_token, with_token
from tests.trust.live import ADMIN_TOKEN as LIVE_ADMIN_TOKEN
from tests.trust.live import start_server

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
HEX_ID = re.compile(r"[0-9a-f]{32}")


def parse(exposition: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
    }


def scrape(client: TestClient) -> Samples:
    r = client.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return parse(r.text)


def changes(before: Samples, after: Samples, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of `name` that moved between two scrapes, by labels, with how much they moved."""
    moved = {
        labels: value - before.get((n, labels), 0.0)
        for (n, labels), value in after.items()
        if n == name and value != before.get((n, labels), 0.0)
    }
    return moved


def lbl(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


LEAKED = "-".join(("4711", "LEAK"))  # built at run time: the stack's source lines show only the name


def boom() -> None:
    raise RuntimeError(f"record value {LEAKED} must not be logged")


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the app's loggers (tthc.*) write at INFO and above, formatted as in production."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tthc")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


# --- the request series ---------------------------------------------------------------------------


def test_request_counts_move_exactly_by_the_requests_made(client: TestClient, anon: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    app.add_api_route("/boom", boom)
    quiet = TestClient(app, raise_server_exceptions=False)
    before = scrape(client)
    for _ in range(3):
        assert anon.get("/healthz").status_code == 200
    assert anon.get("/v1/dossiers/NO-SUCH-1").status_code == 404
    assert client.get("/v1/dossiers/NO-SUCH-2").status_code == 404
    assert anon.get("/no/such/path-77").status_code == 404
    assert anon.get("/dashboard/static/dashboard.css").status_code == 200
    big = b"{" + b" " * 70_000 + b"}"
    assert (
        client.post("/v1/tokens", content=big, headers={"Content-Type": "application/json"}).status_code
        == 413
    )
    assert anon.post("/v1/dossiers", json=[rec()]).status_code == 401
    assert quiet.get("/boom").status_code == 500
    scrape(client)  # scrapes are not counted
    after = scrape(client)
    expected = {
        lbl(method="GET", route="/healthz", status="200"): 3.0,
        lbl(method="GET", route="/v1/dossiers/{code}", status="404"): 2.0,
        lbl(method="GET", route="unmatched", status="404"): 1.0,
        lbl(method="GET", route="/dashboard/static/{path}", status="200"): 1.0,
        lbl(method="POST", route="/v1/tokens", status="413"): 1.0,
        lbl(method="POST", route="/v1/dossiers", status="401"): 1.0,
        lbl(method="GET", route="/boom", status="500"): 1.0,
    }
    assert changes(before, after, "tthc_http_requests_total") == expected
    assert changes(before, after, "tthc_http_request_duration_seconds_count") == expected
    # Paths never become labels: the codes asked for appear nowhere in the exposition.
    exposition = client.get("/metrics").text
    assert "NO-SUCH" not in exposition and "path-77" not in exposition and ADMIN_TOKEN not in exposition


def test_ingest_outcomes_and_rejected_error_types_are_exact(client: TestClient) -> None:
    before = scrape(client)
    batch = [
        rec("M-1"),
        rec("M-2"),
        rec("M-3", channel="fax", procedure_code=...),  # missing + literal_error
        rec("M-4", agency_code="999.99.99.H41"),  # unknown_agency
        rec("M-5", rating="superb"),  # literal_error
    ]
    report = client.post("/v1/dossiers", json=batch).json()
    assert (report["created"], report["rejected"]) == (2, 3)
    stream = ndjson(
        [
            rec("M-1"),  # unchanged
            rec("M-2", updated_at="2025-07-09T10:00:00+07:00"),  # updated
            rec("M-6"),  # created
            rec("M-1", updated_at="2025-07-01T09:00:00+07:00"),  # stale
            rec("M-7", channel="fax"),  # literal_error
        ]
    )
    report = client.post("/v1/dossiers", content=stream, headers=NDJSON).json()
    assert [report[k] for k in ("created", "updated", "unchanged", "stale", "rejected")] == [1, 1, 1, 1, 1]
    assert client.put("/v1/dossiers/M-8", json=rec("M-8")).status_code == 201
    assert client.put("/v1/dossiers/M-9", json=rec("M-9", procedure_code=...)).status_code == 422
    r = client.post(
        "/v1/integrations/dvcqg/dossiers", json=envelope([portal("P-1"), portal("P-2", TrangThaiHoSo="1")])
    )
    assert (r.json()["created"], r.json()["skipped"]) == (1, 1)
    after = scrape(client)
    assert changes(before, after, "tthc_ingest_records_total") == {
        lbl(outcome="created"): 5.0,  # M-1, M-2, M-6, M-8, P-1
        lbl(outcome="updated"): 1.0,
        lbl(outcome="unchanged"): 1.0,
        lbl(outcome="stale"): 1.0,
        lbl(outcome="rejected"): 5.0,  # M-3, M-4, M-5, M-7, M-9
        lbl(outcome="skipped"): 1.0,
    }
    assert changes(before, after, "tthc_ingest_rejected_records_total") == {
        lbl(error_type="missing"): 2.0,  # M-3, M-9
        lbl(error_type="literal_error"): 3.0,  # M-3 (once for its one such error), M-5, M-7
        lbl(error_type="unknown_agency"): 1.0,
    }


def test_cache_hits_misses_and_pool_gauges(client: TestClient) -> None:
    query = {"from": "2025-01-01", "to": "2025-01-31"}
    before = scrape(client)
    assert client.get("/v1/metrics", params=query).status_code == 200
    middle = scrape(client)
    assert client.get("/v1/metrics", params=query).status_code == 200
    assert client.get("/v1/metrics", params=query).status_code == 200
    after = scrape(client)
    assert changes(before, middle, "tthc_response_cache_misses_total") == {(): 1.0}
    assert changes(before, middle, "tthc_response_cache_hits_total") == {}
    assert changes(middle, after, "tthc_response_cache_hits_total") == {(): 2.0}
    assert changes(middle, after, "tthc_response_cache_misses_total") == {}
    # The test's engine serves reads and writes (one pool, labelled write); a held connection shows.
    assert after[("tthc_db_pool_size", lbl(pool="write"))] >= 1
    engine = state_of(client.app).engine
    with engine.connect():
        held = scrape(client)
    assert changes(after, held, "tthc_db_pool_checked_out") == {lbl(pool="write"): 1.0}
    assert changes(after, scrape(client), "tthc_db_pool_checked_out") == {}


def test_the_last_rollups_verify_is_recorded_and_its_age_exposed(
    client: TestClient, engine: Engine, db_url: str, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = scrape(client)
    assert "tthc_rollups_verify_age_seconds" not in {name for name, _ in before}
    assert client.post("/v1/dossiers", json=[rec("V-1"), rec("V-2")]).json()["created"] == 2

    def verify() -> int:
        monkeypatch.setenv("DATABASE_URL", db_url)
        get_settings.cache_clear()
        try:
            return cli_main(["rollups", "verify"])
        finally:
            get_settings.cache_clear()

    def verified() -> Any:
        with engine.connect() as conn:
            return conn.execute(select(DataState.rollups_verified_at).where(DataState.id == 1)).scalar_one()

    assert verify() == 0
    clock.now = verified() + timedelta(seconds=90)
    samples = scrape(client)
    assert samples[("tthc_rollups_verify_age_seconds", ())] == 90.0
    assert samples[("tthc_rollups_verify_differences", ())] == 0.0
    counter = COUNTERS[0]
    with engine.begin() as conn:
        changed = conn.execute(
            text(f"UPDATE rollups SET {counter} = {counter} + 1 WHERE {counter} > 0")
        ).rowcount
    assert changed > 0
    assert verify() == 1
    clock.now = verified() + timedelta(days=2)
    samples = scrape(client)
    assert samples[("tthc_rollups_verify_age_seconds", ())] == 172800.0
    # Each corrupted row is one rollup key that differs from the recomputation.
    assert samples[("tthc_rollups_verify_differences", ())] == float(changed)


def test_metrics_can_require_a_read_token(engine: Engine, clock: Clock) -> None:
    with app_client(engine, clock, TTHC_METRICS_REQUIRE_TOKEN="true") as c:
        anon = TestClient(c.app, base_url="http://testserver")
        r = anon.get("/metrics", headers={"X-Request-ID": "scrape-1"})
        assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
        assert r.headers["x-request-id"] == "scrape-1"
        assert with_token(c, new_token(c, ["ingest"])).get("/metrics").status_code == 403
        reader = with_token(c, new_token(c, ["read"]))
        assert reader.get("/metrics").status_code == 200
        assert c.get("/metrics").status_code == 200  # the admin token holds every scope


# --- request ids and logs -------------------------------------------------------------------------


REQUEST_IDS = [
    ("a" * 64, True),  # 64 characters: kept
    ("Req-1.2_x", True),  # every allowed class
    ("a" * 65, False),  # one too many
    ("has space", False),
    ("a/b", False),
    ("ý-1", False),  # not ASCII
    ("", False),
]


def test_a_request_id_is_kept_when_valid_and_replaced_otherwise(anon: TestClient) -> None:
    for sent, kept in REQUEST_IDS:
        echoed = anon.get("/healthz", headers={"X-Request-ID": sent.encode()}).headers["x-request-id"]
        assert echoed == sent if kept else HEX_ID.fullmatch(echoed), (sent, echoed)
    # Without one, each request gets an id of its own.
    first, second = (anon.get("/healthz").headers["x-request-id"] for _ in range(2))
    assert HEX_ID.fullmatch(first) and HEX_ID.fullmatch(second) and first != second


def test_the_request_id_is_echoed_on_every_error(client: TestClient, engine: Engine, clock: Clock) -> None:
    rid = {"X-Request-ID": "err-1"}
    answers = [
        client.get("/v1/dossiers/NONE", headers=rid),
        client.get("/v1/metrics", params={"from": "x"}, headers=rid),
        client.post("/v1/tokens", content=b"x" * 70_000, headers={**rid, "Content-Type": "application/json"}),
        client.post("/v1/dossiers", content=b"[1]", headers={**rid, "Content-Type": "text/csv"}),
        TestClient(client.app).post("/v1/dossiers", json=[rec()], headers=rid),
    ]
    assert [r.status_code for r in answers] == [404, 422, 413, 415, 401]
    for r in answers:
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["x-request-id"] == "err-1"

    async def body() -> AsyncIterator[bytes]:
        yield ndjson([rec("T-0")])
        await asyncio.sleep(0.4)
        yield ndjson([rec("T-1")])

    with app_client(engine, clock, TTHC_UPLOAD_IDLE_TIMEOUT=0.1) as c:

        async def send() -> httpx.Response:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=c.app), base_url="http://testserver"
            ) as ac:
                headers = {**NDJSON, **rid, "Authorization": f"Bearer {ADMIN_TOKEN}"}
                return await ac.post("/v1/dossiers", content=body(), headers=headers)

        r = asyncio.run(send())
    assert r.status_code == 408 and r.headers["x-request-id"] == "err-1"


def test_log_lines_are_json_with_the_request_id_and_no_secret_or_value(
    client: TestClient, log_lines: io.StringIO
) -> None:
    secret = new_token(client, ["ingest"])
    writer = with_token(client, secret)
    batch = [rec("LOGREC-1", procedure_code="9.999001"), rec("LOGREC-2", rating="VALUE-LEAK")]
    r = writer.post("/v1/dossiers", json=batch, headers={"X-Request-ID": "ingest-42"})
    assert r.json()["rejected"] == 1
    app: FastAPI = client.app  # type: ignore[assignment]
    app.add_api_route("/boom", boom)
    quiet = TestClient(app, raise_server_exceptions=False)
    assert quiet.get("/boom", headers={"X-Request-ID": "boom-1"}).status_code == 500
    client.get("/metrics")

    written = log_lines.getvalue()
    entries = [json.loads(line) for line in written.splitlines()]
    for e in entries:
        assert {"time", "level", "logger", "message", "request_id"} <= set(e), e
    access = [e for e in entries if e["logger"] == "tthc.access" and e["request_id"] == "ingest-42"]
    assert [{k: e[k] for k in ("method", "route", "status")} for e in access] == [
        {"method": "POST", "route": "/v1/dossiers", "status": 200}
    ]
    assert access[0]["duration_ms"] >= 0
    audit = [e for e in entries if e["logger"] == "tthc.audit" and e["request_id"] == "ingest-42"]
    assert len(audit) == 1
    failure = [e for e in entries if e["logger"] == "tthc.errors" and e["request_id"] == "boom-1"]
    assert [(e["level"], e["exception"]) for e in failure] == [("ERROR", "RuntimeError")]
    assert "in boom" in failure[0]["stack"]
    # /metrics leaves no access line at INFO.
    assert not [e for e in entries if e.get("route") == "/metrics"]
    for leak in (secret, ADMIN_TOKEN, "Bearer", "LOGREC", "9.999001", "VALUE-LEAK", LEAKED):
        assert leak not in written, leak


def test_the_formatters_leave_out_exception_messages() -> None:
    try:
        raise ValueError(f"input_value={LEAKED!r}")
    except ValueError:
        record = logging.LogRecord(
            "tthc.x", logging.ERROR, __file__, 1, "failed %s", ("here",), sys.exc_info()
        )
    line = JsonFormatter().format(record)
    entry = orjson.loads(line)
    assert "\n" not in line and entry["message"] == "failed here" and entry["exception"] == "ValueError"
    assert entry["request_id"] is None
    text_line = TextFormatter().format(record)
    assert "failed here" in text_line and "ValueError raised at:" in text_line
    assert LEAKED not in line and LEAKED not in text_line
    assert logging_config("info", "text")["root"]["level"] == "INFO"
    with pytest.raises(ValueError):
        logging_config("INFO", "xml")


# --- the real server, two workers -----------------------------------------------------------------


def _per_process(directory: Path, route: str) -> dict[str, float]:
    """The requests to `route` each worker process wrote to the shared directory, by pid."""
    counts: dict[str, float] = {}
    for f in directory.glob("counter_*.db"):
        pid = f.stem.split("_")[-1]
        for key, value, _ts, _pos in MmapedDict.read_all_values_from_file(str(f)):  # type: ignore[no-untyped-call]
            _family, name, labels, _help = json.loads(key)
            if name == "tthc_http_requests_total" and labels.get("route") == route:
                counts[pid] = counts.get(pid, 0.0) + value
    return counts


HEALTHZ_200 = lbl(method="GET", route="/healthz", status="200")


def test_two_workers_are_summed_and_the_token_is_required(tmp_path: Path) -> None:
    directory = tmp_path / "prom"
    directory.mkdir()
    (directory / "counter_999999.db").write_bytes(b"stale file of an earlier run")
    db_url = f"sqlite:///{tmp_path / 'live.db'}"
    upgrade(db_url)  # in this process: a `migrate` process would import the whole app once more
    env = {
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "TTHC_METRICS_REQUIRE_TOKEN": "1",
        "TTHC_LOG_LEVEL": "INFO",
    }
    server = start_server(db_url, tmp_path / "server.log", workers=2, env=env)
    try:
        assert not (directory / "counter_999999.db").exists()  # cleared at start
        made = 0

        def one(_: int) -> int:
            # A connection each, so the kernel hands them to either worker.
            return httpx.get(server.url + "/healthz", headers={"Connection": "close"}, timeout=10).status_code

        with ThreadPoolExecutor(8) as pool:
            for _ in range(20):
                assert list(pool.map(one, range(10))) == [200] * 10
                made += 10
                if len(_per_process(directory, "/healthz")) == 2:
                    break
        per_worker = _per_process(directory, "/healthz")
        assert len(per_worker) == 2, per_worker
        assert sum(per_worker.values()) == made

        assert httpx.get(server.url + "/metrics").status_code == 401
        with server.client(LIVE_ADMIN_TOKEN) as c:
            totals = set()
            for _ in range(6):  # answered by either worker, the sum is the same
                r = httpx.get(
                    server.url + "/metrics",
                    headers={"Authorization": f"Bearer {LIVE_ADMIN_TOKEN}", "Connection": "close"},
                )
                samples = parse(r.text)
                totals.add(
                    samples[("tthc_http_requests_total", lbl(method="GET", route="/healthz", status="200"))]
                )
            assert totals == {float(made)}
            assert samples[("tthc_db_pool_size", lbl(pool="write"))] == 2 * 8
            assert c.get("/readyz").status_code == 200
    finally:
        server.stop()
    log = server.log_text()
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]
    access = [e for e in lines if e["logger"] == "tthc.access"]
    assert len([e for e in access if e["route"] == "/healthz"]) == made
    assert all(HEX_ID.fullmatch(e["request_id"]) for e in access)
    assert LIVE_ADMIN_TOKEN not in log
    assert not [e for e in lines if e["logger"] == "uvicorn.access"]
    # Stopped workers drop their live gauges; counters stay until the next start clears them.
    assert not list(directory.glob("gauge_live*"))
