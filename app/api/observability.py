"""Monitoring of a server process: request ids, the access log, and the Prometheus series.

`ObservabilityMiddleware` wraps the whole app (outside Starlette's error middleware, so a `500` is
seen too). For every HTTP request it:
- keeps an incoming `X-Request-ID` of 1 to 64 characters of `[A-Za-z0-9._-]`, or makes one (uuid4
  hex), leaves it in `request.state.request_id` and in the logging context, and echoes it in the
  response's `X-Request-ID`, whatever the status;
- counts the request and its duration by method, route template and status, and writes one access
  line (`tthc.access`). The route is the template (`/v1/dossiers/{code}`), never the path, so the
  labels are a bounded set; a path that matches no route is `unmatched`. `/metrics` itself is left
  out of both (its access line is DEBUG).

The series live in this module's registry. Under `tthc-metrics serve` the environment names a
directory (PROMETHEUS_MULTIPROC_DIR, see app.server) and every worker process writes its values to
files there; a scrape, answered by any one worker, adds up every worker's files
(prometheus_client's multiprocess mode). The pool gauges are kept current by pool events in each
worker and summed over the live workers (`livesum`); a worker's gauges are dropped when it stops.
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
import weakref
from collections import Counter as Tally
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import fastapi.routing
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import QueuePool
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.cache import Rendered, ResponseCache
from app.dossiers.service import IngestTotals, Verdict
from app.logs import ACCESS_LOGGER, REQUEST_ID
from app.models import DataState
from app.store.engine import Engines

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
METRICS_PATH = "/metrics"
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OUTCOMES = ("created", "updated", "unchanged", "stale", "rejected", "skipped")
# Error types are the validation's codes (pydantic's and the service's own, a few dozen); a process
# labels at most this many distinct ones, then `other`, so no input can grow the series without end.
MAX_ERROR_TYPES = 100
_ERROR_TYPE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

REGISTRY = CollectorRegistry(auto_describe=True)
HTTP_REQUESTS = Counter(
    "tthc_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ("method", "route", "status"),
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "tthc_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by method, route template and status.",
    ("method", "route", "status"),
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
INGEST_RECORDS = Counter(
    "tthc_ingest_records",
    "Dossier records received by the ingest endpoints, by the outcome their report gives them.",
    ("outcome",),
    registry=REGISTRY,
)
INGEST_REJECTED = Counter(
    "tthc_ingest_rejected_records",
    "Rejected records by error type: a record counts once under each type among its errors.",
    ("error_type",),
    registry=REGISTRY,
)
CACHE_HITS = Counter(
    "tthc_response_cache_hits", "Reads of figures answered from the response cache.", registry=REGISTRY
)
CACHE_MISSES = Counter(
    "tthc_response_cache_misses",
    "Reads of figures looked up in the response cache and not found there.",
    registry=REGISTRY,
)
POOL_CHECKED_OUT = Gauge(
    "tthc_db_pool_checked_out",
    "Database connections in use, by pool (write, read), summed over the live worker processes.",
    ("pool",),
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
POOL_SIZE = Gauge(
    "tthc_db_pool_size",
    "Connections a pool may hold, by pool (write, read), summed over the live worker processes.",
    ("pool",),
    multiprocess_mode="livesum",
    registry=REGISTRY,
)

access_log = logging.getLogger(ACCESS_LOGGER)
log = logging.getLogger("tthc.monitoring")


def request_id_of(headers: Sequence[tuple[bytes, bytes]]) -> str:
    """The request's first X-Request-ID when it is 1-64 characters of [A-Za-z0-9._-], else a new id."""
    for name, value in headers:
        if name == b"x-request-id" or (len(name) == 12 and name.lower() == b"x-request-id"):
            if _REQUEST_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return uuid.uuid4().hex


def route_label(scope: Scope) -> str | None:
    """The template of the FastAPI route that served the request, or None (not one of its routes)."""
    path: str | None = getattr(scope.get("route"), "path", None)
    return path or None


def route_table(app: Any) -> list[tuple[re.Pattern[str], str]]:
    """(pattern, template) of every route, a mount as `<mount>/{path}`: for the requests answered
    before routing (a body refused for its size), by a mount (the dashboard's files) or by a route
    that is not FastAPI's (the documentation pages), which leave no route in the scope."""
    # FastAPI >= 0.165 keeps included routers whole in app.routes; this walks into them.
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if contexts is not None:
        entries = [(c.path, c.original_route) for c in contexts(app.routes)]
    else:
        entries = [(getattr(r, "path", None), r) for r in app.routes]
    table: list[tuple[re.Pattern[str], str]] = []
    for template, route in entries:
        if not template:
            continue
        if isinstance(route, Mount):
            table.append((re.compile("^" + re.escape(template) + "/"), template + "/{path}"))
        else:
            pattern = "^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)) + "$"
            table.append((re.compile(pattern), template))
    return table


class ObservabilityMiddleware:
    """Request id, request series and access log for every HTTP request (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # The children of the series per (method, route, status): labels() costs more than inc().
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        self._table: list[tuple[re.Pattern[str], str]] | None = None  # made at the first use

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        root = scope.get("root_path", "")
        rid = request_id_of(scope["headers"])
        scope.setdefault("state", {})["request_id"] = rid
        echoed = (b"x-request-id", rid.encode("ascii"))
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        token = REQUEST_ID.set(rid)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            status = status or 500
            raise
        finally:
            # A request cancelled before it answered (the server shutting down) is not counted.
            if status:
                route = route_label(scope) or self._fallback(scope, path, root)
                self._done(scope["method"], route, status, time.perf_counter() - started)
            REQUEST_ID.reset(token)

    def _fallback(self, scope: Scope, path: str, root: str) -> str:
        if self._table is None:
            self._table = route_table(scope["app"])
        if root and path.startswith(root):
            path = path[len(root) :]
        for pattern, template in self._table:
            if pattern.match(path):
                return template
        return UNMATCHED

    def _done(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "OTHER"
        ms = round(seconds * 1000, 1)
        if route == METRICS_PATH:
            if access_log.isEnabledFor(logging.DEBUG):
                self._log(logging.DEBUG, method, route, status, ms)
            return
        key = (method, route, str(status))
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (HTTP_REQUESTS.labels(*key), HTTP_DURATION.labels(*key))
        children[0].inc()
        children[1].observe(seconds)
        if access_log.isEnabledFor(logging.INFO):
            self._log(logging.INFO, method, route, status, ms)

    @staticmethod
    def _log(level: int, method: str, route: str, status: int, ms: float) -> None:
        fields = {"method": method, "route": route, "status": status, "duration_ms": ms}
        access_log.log(level, "%s %s %d %.1f ms", method, route, status, ms, extra={"access": fields})


class ObservedCache(ResponseCache):
    """The response cache, counting its hits and misses."""

    def get(self, key: str, version: int) -> Rendered | None:
        hit = super().get(key, version)
        (CACHE_MISSES if hit is None else CACHE_HITS).inc()
        return hit


_error_types: set[str] = set()


def error_type_label(kind: object) -> str:
    if not isinstance(kind, str) or not _ERROR_TYPE.fullmatch(kind):
        return "other"
    if kind not in _error_types:
        if len(_error_types) >= MAX_ERROR_TYPES:
            return "other"
        _error_types.add(kind)
    return kind


class ObservedTotals(IngestTotals):
    """An ingest request's totals, also counting each chunk's records in the ingest series."""

    __slots__ = ()

    def add(self, verdicts: Sequence[Verdict]) -> None:
        super().add(verdicts)
        outcomes: Tally[str] = Tally()
        types: Tally[str] = Tally()
        for v in verdicts:
            outcomes[v.result or "rejected"] += 1
            if v.result is None:
                types.update({error_type_label(e.get("type")) for e in v.errors})
        for outcome, n in outcomes.items():
            INGEST_RECORDS.labels(outcome).inc(n)
        for kind, n in types.items():
            INGEST_REJECTED.labels(kind).inc(n)

    def skip(self, n: int) -> None:
        """Portal records skipped (not dossiers of this service), which the report counts apart."""
        if n:
            INGEST_RECORDS.labels("skipped").inc(n)


# Engines whose pools report to the gauges; an engine shared by several apps (tests) reports once.
_watched: weakref.WeakSet[Engine] = weakref.WeakSet()


def watch_pools(engines: Engines) -> None:
    """Keep the pool gauges of the write and read engines current through pool events."""
    seen: set[int] = set()
    for label, engine in (("write", engines.write), ("read", engines.read)):
        if id(engine) in seen:
            continue  # reads share the writers' engine (in-memory SQLite, or a test's engine)
        seen.add(id(engine))
        if engine in _watched:
            continue
        _watched.add(engine)
        _watch(engine, label)


def _watch(engine: Engine, label: str) -> None:
    pool = engine.pool
    POOL_SIZE.labels(label).inc(pool.size() if isinstance(pool, QueuePool) else 1)
    checked_out = POOL_CHECKED_OUT.labels(label)

    def on_checkout(*_args: Any) -> None:
        checked_out.inc()

    def on_checkin(*_args: Any) -> None:
        checked_out.dec()

    event.listen(engine, "checkout", on_checkout)
    event.listen(engine, "checkin", on_checkin)


def process_stopping() -> None:
    """Drop this worker's live gauges from the shared directory (counters stay: they are totals)."""
    if MULTIPROCESS_DIR is not None:
        mark_process_dead(os.getpid(), MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]


class _Families(Collector):
    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self.families = families

    def collect(self) -> list[GaugeMetricFamily]:
        return self.families


def verify_families(engine: Engine, now: datetime) -> list[GaugeMetricFamily]:
    """The last `rollups verify` as read from data_state now: no sample when it never ran (or the
    database cannot be read)."""
    age = GaugeMetricFamily(
        "tthc_rollups_verify_age_seconds", "Seconds since the last `tthc-metrics rollups verify` ran."
    )
    differences = GaugeMetricFamily(
        "tthc_rollups_verify_differences",
        "Rollup rows that differed from a recomputation at the last verify.",
    )
    t = DataState.__table__
    try:
        with engine.connect() as conn:
            row = conn.execute(
                select(t.c.rollups_verified_at, t.c.rollups_verify_differences).where(t.c.id == 1)
            ).first()
    except SQLAlchemyError:
        log.warning("could not read the last rollups verify for /metrics")
        row = None
    if row is not None and row.rollups_verified_at is not None:
        age.add_metric([], max(0.0, (now - row.rollups_verified_at).total_seconds()))
        if row.rollups_verify_differences is not None:
            differences.add_metric([], float(row.rollups_verify_differences))
    return [age, differences]


def exposition(families: list[GaugeMetricFamily]) -> bytes:
    """The text exposition: every worker's series (or this process's), then the scrape-time families."""
    if MULTIPROCESS_DIR is not None:
        merged = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(merged, MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]
        body = generate_latest(merged)
    else:
        body = generate_latest(REGISTRY)
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(_Families(families))
    return body + generate_latest(scraped)
