"""What one read may cost: the row bound (422 before computing), the deadline (503), heavy-read slots,
the exact cache key and the byte-bounded cache, and the key table the bound is read from."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.api.cache import Rendered, ResponseCache
from app.api.state import state_of
from app.metrics.guard import CLIENT_LEFT, DEADLINE_REASON, Cancel, ReadCancelled, interruptible
from app.store import rollups
from tests.conftest import Clock
from tests.factory import AGENCY, OTHER_AGENCY, open_rec, rec
from tests.ingesting import app_client, post

PROBLEM = "application/problem+json"


def dataset() -> list[dict[str, Any]]:
    """Four keys (agency x procedure): three first seen in July 2025, one in September."""
    return [
        rec("B1", procedure_code="P1", received_at="2025-07-01T08:00:00+07:00"),
        rec("B2", procedure_code="P2", received_at="2025-07-02T08:00:00+07:00"),
        rec("B3", procedure_code="P3", agency_code=OTHER_AGENCY, received_at="2025-07-03T08:00:00+07:00"),
        open_rec(
            "B4",
            procedure_code="P4",
            received_at="2025-09-01T08:00:00+07:00",
            due_at="2025-09-10T17:00:00+07:00",
            updated_at="2025-09-01T08:00:00+07:00",
        ),
    ]


def metrics(client: TestClient, **params: Any) -> Any:
    return client.get("/v1/metrics", params=params)


def test_an_answer_above_the_row_limit_is_refused_before_it_is_computed(engine: Engine, clock: Clock) -> None:
    with app_client(engine, clock, TTHC_METRICS_MAX_ROWS=60) as client:
        post(client, dataset())
        # 20 days x 3 keys present by 20 July (P1, P2, P3; P4 comes in September) = 60: at the limit.
        r = metrics(client, **{"from": "2025-07-01", "to": "2025-07-20", "group_by": ["day", "procedure"]})
        assert r.status_code == 200, r.text
        # Each is pending from the day it is received until it finishes on the 8th, which makes a row
        # each day: P1 on days 1-8, P2 on days 2-8, P3 on days 3-8.
        assert len(r.json()["rows"]) == 8 + 7 + 6
        r = metrics(client, **{"from": "2025-07-01", "to": "2025-07-21", "group_by": ["day", "procedure"]})
        assert r.status_code == 422
        assert r.headers["content-type"] == PROBLEM
        body = r.json()
        assert (
            "up to 63 rows (21 time buckets x 3 keys present in the range: an upper bound)" in body["detail"]
        )
        assert "above the limit of 60 rows" in body["detail"]
        assert "Narrow the query" in body["detail"]
        assert body["errors"] == [
            {
                "loc": ["query", "group_by"],
                "msg": "the answer could have up to 63 rows (21 time buckets x 3 keys present in the range: "
                "an upper bound), above the limit of 60 rows",
                "type": "too_large",
            }
        ]
        # Filters narrow the keys counted: AGENCY has P1, P2 and (from 1 September) P4.
        r = metrics(
            client,
            **{"from": "2025-07-01", "to": "2025-09-01", "group_by": ["day", "procedure"], "agency": AGENCY},
        )
        assert r.status_code == 422
        assert "up to 189 rows (63 time buckets x 3 keys" in r.json()["detail"]
        r = metrics(
            client,
            **{"from": "2025-07-01", "to": "2025-08-31", "group_by": ["procedure"], "agency": OTHER_AGENCY},
        )
        assert r.status_code == 200
        assert [row["procedure"] for row in r.json()["rows"]] == ["P3"]


def test_the_key_table_follows_ingest_and_verify_finds_a_missing_key(
    client: TestClient, engine: Engine
) -> None:
    post(client, dataset())

    def keys() -> list[tuple[Any, ...]]:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT agency, commune, sector, procedure, channel, first_day FROM rollup_keys "
                    "ORDER BY procedure"
                )
            )
            return [(*r[:5], str(r[5])) for r in rows]

    assert keys() == [
        (AGENCY, "", "", "P1", "in_person", "2025-07-01"),
        (AGENCY, "", "", "P2", "in_person", "2025-07-02"),
        (OTHER_AGENCY, "", "", "P3", "in_person", "2025-07-03"),
        (AGENCY, "", "", "P4", "in_person", "2025-09-01"),
    ]
    # An update received earlier moves the key's first day back; a deletion keeps the key (a bound).
    assert (
        post(
            client,
            [
                rec(
                    "B2",
                    procedure_code="P2",
                    received_at="2025-06-30T08:00:00+07:00",
                    updated_at="2025-07-09T08:00:00+07:00",
                )
            ],
        )["updated"]
        == 1
    )
    assert client.delete("/v1/dossiers/B1").status_code == 204
    assert keys()[:2] == [
        (AGENCY, "", "", "P1", "in_person", "2025-07-01"),
        (AGENCY, "", "", "P2", "in_person", "2025-06-30"),
    ]
    with engine.connect() as conn, conn.begin():
        assert rollups.verify(conn)[0] == 0
        conn.execute(text("DELETE FROM rollup_keys WHERE procedure = 'P3'"))
    with engine.connect() as conn, conn.begin():
        count, rows = rollups.verify(conn)
        assert count == 1
        assert rows[0]["side"] == "missing key" and rows[0]["procedure"] == "P3"
        rollups.rebuild(conn)
    with engine.connect() as conn, conn.begin():
        assert rollups.verify(conn)[0] == 0
    # Rebuilt from the dossiers: B1 is gone, so is its key.
    assert [k[3] for k in keys()] == ["P2", "P3", "P4"]


SLOW_SQL = {
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000000) "
    "SELECT count(*) FROM c",
    "postgresql": "SELECT pg_sleep(20)",
}


def test_a_statement_past_the_deadline_is_interrupted(engine: Engine) -> None:
    cancel = Cancel(0.3)
    started = time.monotonic()
    with engine.connect() as conn:
        with pytest.raises(ReadCancelled) as caught, interruptible(conn, cancel):
            conn.exec_driver_sql(SLOW_SQL[engine.dialect.name]).scalar()
        assert caught.value.reason == DEADLINE_REASON
        assert time.monotonic() - started < 3
        conn.rollback()
        # The connection goes back to the pool clean: no handler left, no timeout left.
        assert conn.exec_driver_sql(
            SLOW_SQL[engine.dialect.name].replace("200000000", "10").replace("20)", "0)")
        )


def test_a_statement_is_interrupted_when_the_read_is_cancelled(engine: Engine) -> None:
    cancel = Cancel(60)
    timer = threading.Timer(0.3, cancel.set, args=(CLIENT_LEFT,))
    started = time.monotonic()
    timer.start()
    with engine.connect() as conn, pytest.raises(ReadCancelled) as caught, interruptible(conn, cancel):
        conn.exec_driver_sql(SLOW_SQL[engine.dialect.name]).scalar()
    timer.join()
    assert caught.value.reason == CLIENT_LEFT
    assert time.monotonic() - started < 3


def test_a_read_past_its_deadline_answers_503_with_retry_after(engine: Engine, clock: Clock) -> None:
    with app_client(engine, clock, TTHC_READ_TIMEOUT=0.000001) as client:
        for url in (
            "/v1/metrics?from=2025-07-01&to=2025-07-31",
            "/v1/reports/dossier-processing?period=2025-07",
            "/v1/scorecard?year=2025",
        ):
            r = client.get(url)
            assert r.status_code == 503, url
            assert r.headers["content-type"] == PROBLEM
            assert r.headers["retry-after"] == "1"
            assert "deadline of 1e-06 s" in r.json()["detail"]


def test_a_heavy_read_waits_for_a_slot_then_sheds_and_cheap_reads_pass(engine: Engine, clock: Clock) -> None:
    with app_client(engine, clock, TTHC_HEAVY_READ_WAIT=0.2, TTHC_HEAVY_READ_ROWS=50) as client:
        post(client, dataset())
        slots = state_of(client.app).heavy_slots
        assert slots.size == 1
        day = {"from": "2025-07-01", "to": "2025-07-31", "group_by": "day"}
        assert metrics(client, **day).status_code == 200
        assert slots.busy == 0
        assert slots._take()  # another heavy read is under way
        try:
            started = time.monotonic()
            r = metrics(client, **{**day, "to": "2025-07-30"})
            assert r.status_code == 503
            assert r.headers["retry-after"] == "2"
            assert r.headers["content-type"] == PROBLEM
            assert time.monotonic() - started >= 0.2
            # Grouped by procedure: heavy whatever its bound.
            assert (
                metrics(
                    client, **{"from": "2025-07-01", "to": "2025-07-30", "group_by": "procedure"}
                ).status_code
                == 503
            )
            # 31 months x 2 agencies with dossiers = 62 rows at most, above 50: heavy.
            months = {"from": "2023-01-01", "to": "2025-07-31", "group_by": ["month", "agency"]}
            assert metrics(client, **months).status_code == 503
            # 7 months x 2 agencies = 14: not heavy, answered while the slot is taken.
            assert metrics(client, **{**months, "from": "2025-01-01"}).status_code == 200
            wide = {"from": "2025-07-01", "to": "2025-07-29", "group_by": ["agency", "commune"]}
            assert metrics(client, **wide).status_code == 200
            # A cached answer is served without a slot.
            assert metrics(client, **day).status_code == 200
            assert metrics(client, **day).headers["x-cache"] == "hit"
        finally:
            slots.release()
        assert metrics(client, **{**day, "to": "2025-07-30"}).status_code == 200


def test_the_cache_key_is_the_exact_request(client: TestClient) -> None:
    post(client, dataset())
    base = "/v1/metrics?from=2025-07-01&to=2025-07-31"
    a = client.get(base + "&group_by=agency&group_by=procedure")
    b = client.get(base + "&group_by=procedure&group_by=agency")
    assert a.status_code == b.status_code == 200
    assert b.headers["x-cache"] == "miss"
    assert a.json()["group_by"] == ["agency", "procedure"]
    assert b.json()["group_by"] == ["procedure", "agency"]
    # Ordered by the keys in the order asked: agency first (000.00.03 before 000.00.07), then procedure.
    assert [(r["agency"], r["procedure"]) for r in a.json()["rows"]] == [
        (OTHER_AGENCY, "P3"),
        (AGENCY, "P1"),
        (AGENCY, "P2"),
    ]
    assert [(r["procedure"], r["agency"]) for r in b.json()["rows"]] == [
        ("P1", AGENCY),
        ("P2", AGENCY),
        ("P3", OTHER_AGENCY),
    ]
    # One value holding "&procedure=" is not two values.
    two = client.get(base + "&procedure=P1&procedure=P2")
    one = client.get(base + "&procedure=P1%26procedure%3DP2")
    assert two.json()["totals"]["counts"]["received"] == 2
    assert one.status_code == 200
    assert one.headers["x-cache"] == "miss"
    assert one.json()["totals"]["counts"]["received"] == 0
    # The same request again, parameters in another order: the same document, from the cache.
    again = client.get("/v1/metrics?to=2025-07-31&procedure=P1&from=2025-07-01&procedure=P2")
    assert again.headers["x-cache"] == "hit"
    assert again.content == two.content and again.headers["etag"] == two.headers["etag"]


def test_the_response_cache_is_bounded_by_bytes() -> None:
    cache = ResponseCache(max_bytes=100, max_body=60)

    def body(n: int) -> Rendered:
        return Rendered(b"x" * n, "application/json", '"e"')

    cache.put("a", 1, body(40))
    cache.put("b", 1, body(40))
    assert cache.bytes == 80 and len(cache) == 2
    assert cache.get("a", 1) is not None  # a is now the most recently used
    cache.put("c", 1, body(40))
    assert cache.bytes == 80 and len(cache) == 2
    assert cache.get("b", 1) is None and cache.get("a", 1) is not None and cache.get("c", 1) is not None
    cache.put("d", 1, body(61))  # over max_body: not kept, nothing pushed out
    assert cache.get("d", 1) is None and cache.bytes == 80
    cache.put("e", 1, Rendered((b"x" * 30, b"y" * 30), "application/json", '"e"'))
    assert cache.bytes == 100 and len(cache) == 2 and cache.get("a", 1) is None


class _Leaving:
    """A request whose client leaves after `after` seconds (what Starlette's is_disconnected reports)."""

    def __init__(self, after: float) -> None:
        self.gone_at = time.monotonic() + after

    async def is_disconnected(self) -> bool:
        return time.monotonic() >= self.gone_at


def test_the_work_of_a_read_stops_when_its_client_leaves() -> None:
    import anyio

    from app.api.reads import _watching_client

    cancel = Cancel(60)
    steps = []

    def work() -> Rendered:
        # A long loop that looks at the flag between steps, as compute() does between buckets.
        for i in range(600):
            steps.append(i)
            cancel.check()
            time.sleep(0.01)
        return Rendered(b"done", "text/plain", '"x"')

    async def main() -> None:
        with pytest.raises(ReadCancelled) as caught:
            await _watching_client(_Leaving(0.3), cancel, work)  # type: ignore[arg-type]
        assert caught.value.reason == CLIENT_LEFT

    started = time.monotonic()
    anyio.run(main)
    # Stopped within a look of the watcher (every 0.25 s) after the client left, not after 6 s.
    assert time.monotonic() - started < 1.5
    assert len(steps) < 150


def test_exports_and_the_worklist_summary_take_a_heavy_slot_and_pages_do_not(
    engine: Engine, clock: Clock
) -> None:
    # Issue 17's heavy reads: the worklist summary, every CSV/XLSX export (worklists and drill-down) and
    # a JSON page of a period kind wait for a slot, then shed with 503; the other JSON pages never wait.
    with app_client(engine, clock, TTHC_HEAVY_READ_WAIT=0.05) as client:
        post(client, dataset())
        slots = state_of(client.app).heavy_slots
        heavy = [
            "/v1/worklists",
            "/v1/worklists?unit=commune",
            "/v1/worklists/overdue?format=csv",
            "/v1/worklists/late_without_apology?format=xlsx",
            # a page of a period kind sorts the period's candidates: heavy
            "/v1/worklists/unpaid_online?limit=5",
            "/v1/worklists/no_electronic_result",
            "/v1/worklists/late_without_apology",
            "/v1/dossiers?format=csv",
            "/v1/dossiers?format=xlsx",
        ]
        pages = [
            "/v1/worklists/overdue",
            "/v1/worklists/due_soon",
            "/v1/worklists/supplement_repeated",
            "/v1/worklists/awaiting_supplement?limit=5",
            "/v1/dossiers?limit=5",
        ]
        assert slots._take()  # another heavy read is under way
        try:
            for url in heavy:
                r = client.get(url)
                assert (r.status_code, r.headers["content-type"]) == (503, PROBLEM), url
                assert r.headers["retry-after"] == "2", url
            for url in pages:
                assert client.get(url).status_code == 200, url
        finally:
            slots.release()
        for url in heavy:
            assert client.get(url).status_code == 200, url
        assert slots.busy == 0  # each export gave its slot back when its body was sent
