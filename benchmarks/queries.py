"""The dashboard queries, and their latency measured four ways.

- cold: the first request for the URL after the server process started (an X-Cache miss);
- cached: repeated requests without If-None-Match, served from the in-process response cache
  (past periods are cacheable; X-Cache: hit);
- uncached: each request preceded (untimed) by an ingest that changes no figure but moves the data
  version (one stored dossier re-sent with a later `updated_at` and the same content: "updated",
  its old contribution subtracted and the same one added), so the cache cannot answer and the
  figures are computed from the rollups, as they are after every ingest;
- server-side: the app built in this process (create_app, same database) with a response cache that
  never answers, timed inside the ASGI call from the request's arrival to the last body byte: the
  server's own processing time without HTTP, loopback and client (what a Server-Timing header
  would report), with the interpreter tuned as a server process tunes it (app/runtime.py).
"""

from __future__ import annotations

import gc
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from benchmarks.common import BENCH_TOKEN, log, summary_ms


@dataclass(frozen=True, slots=True)
class Query:
    key: str
    label: str
    path: str
    params: tuple[tuple[str, str], ...]
    group_by: tuple[str, ...]  # the row keys, in order, for comparing with the baselines

    @property
    def url(self) -> str:
        return self.path + "?" + "&".join(f"{k}={v}" for k, v in self.params)


YEAR = (("from", "2025-01-01"), ("to", "2025-12-31"))
Q3 = (("from", "2025-07-01"), ("to", "2025-09-30"))
QUERIES = (
    Query("totals_year", "totals, 2025", "/v1/metrics", YEAR, ()),
    Query(
        "commune_month_year",
        "commune × month, 2025",
        "/v1/metrics",
        (*YEAR, ("group_by", "commune"), ("group_by", "month")),
        ("commune", "month"),
    ),
    Query(
        "agency_sector_q3",
        "agency × sector, 2025-Q3",
        "/v1/metrics",
        (*Q3, ("group_by", "agency"), ("group_by", "sector")),
        ("agency", "sector"),
    ),
    Query(
        "report_agency_q3",
        "periodic report by agency, 2025-Q3",
        "/v1/reports/dossier-processing",
        (("unit", "agency"), ("period", "2025-Q3")),
        ("agency",),
    ),
    # The national index (issue 15): every unit of a level scored for a quarter, computed from
    # index_rollups. No GROUP BY baseline: its counts (handled, on time, late judged at the end of the
    # quarter...) are not conditional sums of one table's columns; tests/test_index.py checks them.
    Query(
        "index_agency_q3",
        "national index, departments, 2025-Q3",
        "/v1/index",
        (("period", "2025-Q3"), ("unit", "agency")),
        ("code",),
    ),
    Query(
        "index_commune_q3",
        "national index, communes, 2025-Q3",
        "/v1/index",
        (("period", "2025-Q3"), ("unit", "commune")),
        ("code",),
    ),
)


def _timed_get(client: httpx.Client, url: str) -> tuple[float, httpx.Response]:
    t = time.perf_counter()
    resp = client.get(url)
    resp.read()
    return time.perf_counter() - t, resp


class VersionBump:
    """A write that changes no figure but moves the data version, so no cached response matches:
    one dossier of the dataset re-sent with a later updated_at each time (result "updated"; the
    content is otherwise the same, so every figure stays as it was)."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.n = 0

    def __call__(self, client: httpx.Client) -> None:
        # Later than any version stored by an earlier run, and never in the future.
        self.n += 1
        stamp = datetime.now(UTC) - timedelta(seconds=1) + timedelta(microseconds=self.n)
        rec = {**self.record, "updated_at": stamp.isoformat()}
        headers = {"Authorization": f"Bearer {BENCH_TOKEN}"}
        for attempt in range(5):
            resp = client.post("/v1/dossiers", json=[rec], headers=headers)
            if resp.status_code == 200:
                body = resp.json()
                if body.get("updated") != 1:
                    raise RuntimeError(f"the version bump did not update the dossier: {body}")
                return
            log(f"  version bump refused ({resp.status_code}), attempt {attempt + 1}: {resp.text[:200]}")
            time.sleep(0.5)
        resp.raise_for_status()


def http_latency(
    base_url: str, runs: int, bump_record: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Latency of every query over HTTP from a freshly started server; (figures, response bodies)."""
    out: dict[str, Any] = {}
    bodies: dict[str, Any] = {}
    with httpx.Client(base_url=base_url, timeout=120) as client:
        # Cold: the first request for each URL after the process started, in order.
        for q in QUERIES:
            seconds, resp = _timed_get(client, q.url)
            if resp.status_code == 404:
                out[q.key] = {"available": False, "status": 404}
                log(f"  {q.label}: 404, not available yet")
                continue
            resp.raise_for_status()
            bodies[q.key] = resp.json()
            out[q.key] = {
                "available": True,
                "cold_ms": round(seconds * 1000, 3),
                "cold_x_cache": resp.headers.get("x-cache"),
                "bytes": len(resp.content),
                "rows": len(bodies[q.key].get("rows", [])),
            }
        live = [q for q in QUERIES if out[q.key]["available"]]
        # Cached: the same URL again, without If-None-Match.
        for q in live:
            times, caches = [], []
            for _ in range(runs):
                seconds, resp = _timed_get(client, q.url)
                resp.raise_for_status()
                times.append(seconds)
                caches.append(resp.headers.get("x-cache", "?"))
            out[q.key]["cached"] = summary_ms(times) | {"x_cache": _tally(caches)}
        # Uncached: the data version moves before every (timed) request.
        bump = VersionBump(bump_record)
        for q in live:
            times, caches = [], []
            for _ in range(runs):
                bump(client)
                seconds, resp = _timed_get(client, q.url)
                resp.raise_for_status()
                times.append(seconds)
                caches.append(resp.headers.get("x-cache", "?"))
            out[q.key]["uncached"] = summary_ms(times) | {"x_cache": _tally(caches)}
            m = out[q.key]
            log(
                f"  {q.label}: cold {m['cold_ms']:.1f} ms, "
                f"uncached p50 {m['uncached']['p50']:.1f} / p95 {m['uncached']['p95']:.1f} ms, "
                f"cached p50 {m['cached']['p50']:.2f} / p95 {m['cached']['p95']:.2f} ms"
            )
    return out, bodies


def _tally(values: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def inprocess_latency(database_url: str, runs: int, queries: Sequence[Query] = QUERIES) -> dict[str, Any]:
    """Server-side processing time of the uncached path: the app in this process, timed inside ASGI."""
    from starlette.types import Message, Receive, Scope, Send

    from app.api.cache import Rendered, ResponseCache
    from app.config import Settings
    from app.main import create_app
    from app.runtime import tune_interpreter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    class NoCache(ResponseCache):
        def get(self, key: str, version: int) -> Rendered | None:
            return None

        def put(self, key: str, version: int, value: Rendered) -> None:
            return None

    app = create_app(Settings(database_url=database_url, log_level="WARNING"))
    from app.api.state import state_of

    state_of(app).response_cache = NoCache()
    # The interpreter as a server process runs it (app/asgi.py): collector thresholds, frozen objects.
    thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
    tune_interpreter()
    last: list[float] = []

    async def timed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_and_time(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                last.append(time.perf_counter() - started)

        await app(scope, receive, send_and_time)

    out: dict[str, Any] = {}
    with TestClient(timed) as client:
        for q in queries:
            resp = client.get(q.url)  # first call: compiles, fills the driver's and the store's caches
            if resp.status_code == 404:
                out[q.key] = {"available": False}
                continue
            resp.raise_for_status()
            last.clear()
            cpu: list[float] = []
            for _ in range(runs):
                cpu0 = time.process_time()
                client.get(q.url).raise_for_status()
                cpu.append(time.process_time() - cpu0)
            # process_cpu: this process's CPU time per request (the test client's share included),
            # less disturbed than wall time by other work on the machine.
            out[q.key] = {
                "available": True,
                "server_side": summary_ms(list(last)),
                "process_cpu": summary_ms(cpu),
            }
            log(
                f"  {q.label}: server-side uncached p50 {out[q.key]['server_side']['p50']:.1f} / "
                f"p95 {out[q.key]['server_side']['p95']:.1f} ms "
                f"(process CPU p50 {out[q.key]['process_cpu']['p50']:.1f} ms)"
            )
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    sys.setswitchinterval(interval)
    return out
