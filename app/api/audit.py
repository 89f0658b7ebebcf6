"""The audit trail: every write request (token id, status, counts, duration, time), never a record's values.

One ASGI middleware sees every write, including those refused before an endpoint runs (a bad body, a
missing scope), so no endpoint can forget it. Endpoints only leave their result counts in
`request.state.audit_counts`; the token id is left in `request.state.token_id` by `app.api.auth`.

Every write gives one structured log line. What is stored depends on the outcome:
- a write refused with 401 or 403 adds one to a counter in `refused_requests`, keyed by token (""
  when none was recognised), local day and status, so refused traffic, however much of it, cannot
  grow the store beyond one row per token, day and status; the counts are gathered in memory and
  written at most every REFUSED_FLUSH_EVERY (see RefusalCounter), so refusals cost no write each;
- any other write by a recognised token is a row of `audit_log`; anonymous writes are only logged.

Both are kept for TTHC_AUDIT_RETENTION_DAYS (0: forever); the feed's quality counts and examples
(app/feedquality) for TTHC_FEED_QUALITY_DAYS, pruned with them. Writes prune in the same transaction:
at most once per PRUNE_EVERY per process, at most PRUNE_BATCH audit rows at a time (oldest first,
through the index on `at`), and again at the next write while a pass found a full batch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Engine, Table
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.observability import UNMATCHED, route_label
from app.api.state import state_of
from app.core.timeutil import local_date, to_local
from app.feedquality import store as feedquality
from app.models import AuditEntry
from app.refusals import RefusalCounter, count_refused, prune_audit
from app.store.uow import write_transaction

log = logging.getLogger("tthc.audit")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REFUSED_STATUSES = frozenset({401, 403})
PRUNE_EVERY = timedelta(minutes=10)
PRUNE_BATCH = 1000

_AUDIT = cast(Table, AuditEntry.__table__)


class Pruner:
    """When a write also prunes: once per PRUNE_EVERY per process, or at once while a backlog remains.

    Thread-safe: the claim is taken under a lock, so of concurrent writes only one prunes.
    """

    def __init__(self, retention_days: int, feed_quality_days: int | None = None) -> None:
        self.retention_days = retention_days
        self.feed_quality_days = feed_quality_days  # None: the feed's quality counts are left alone
        self._lock = threading.Lock()
        self._last: datetime | None = None
        self._backlog = False

    def claim(self, now: datetime) -> bool:
        if self.retention_days <= 0 and self.feed_quality_days is None:
            return False
        with self._lock:
            last = self._last
            if self._backlog or last is None or now - last >= PRUNE_EVERY or now < last:
                self._last, self._backlog = now, False
                return True
            return False

    def prune(self, conn: Connection, now: datetime) -> int:
        """Delete expired counters (refusals, the feed's quality) and up to PRUNE_BATCH expired audit
        rows; returns the audit rows gone."""
        if self.feed_quality_days is not None:
            feedquality.prune(conn, now, self.feed_quality_days)
        deleted = prune_audit(conn, now, self.retention_days, PRUNE_BATCH)
        with self._lock:
            self._backlog = deleted >= PRUNE_BATCH
        return int(deleted)


def record(
    engine: Engine,
    at: datetime,
    token_id: str | None,
    method: str,
    path: str,
    status: int,
    counts: dict[str, int] | None,
    duration_ms: float,
    pruner: Pruner | None = None,
    refusals: RefusalCounter | None = None,
    route: str | None = None,
) -> None:
    """Write one entry to the structured log, and count it (refused) or store it (recognised token).

    The log line names the route's template (`/v1/dossiers/{code}`), never the path, which may hold a
    record's code; the stored audit row keeps the path, for the admins who read GET /v1/audit.
    """
    entry = {
        "at": to_local(at).isoformat(),
        "token_id": token_id,
        "method": method,
        "route": route or UNMATCHED,
        "status": status,
        "counts": counts,
        "duration_ms": round(duration_ms, 1),
    }
    log.info("write %s", orjson.dumps(entry).decode())
    refused = status in REFUSED_STATUSES
    if refused and refusals is not None:
        if not refusals.add(token_id, local_date(at), status):
            return  # counted; written with the next flush
    elif token_id is None:
        # Other requests without a valid token stay out of the store, so anonymous traffic cannot fill it.
        return
    with write_transaction(engine) as conn:
        if refusals is not None:
            refusals.flush(conn)
        elif refused:
            count_refused(conn, token_id, local_date(at), status)
        if not refused:
            conn.execute(
                _AUDIT.insert().values(
                    at=at,
                    token_id=token_id,
                    method=method,
                    path=path,
                    status_code=status,
                    counts=orjson.dumps(counts).decode() if counts is not None else None,
                    duration_ms=duration_ms,
                )
            )
        if pruner is not None and pruner.claim(at):
            pruner.prune(conn, at)


class AuditMiddleware:
    """Audits every POST, PUT, PATCH and DELETE once its response has been sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._pruner: Pruner | None = None  # made at the first write, from the app's settings

    def _pruner_for(self, app: Any) -> Pruner:
        if self._pruner is None:
            settings = state_of(app).settings
            self._pruner = Pruner(settings.audit_retention_days, settings.feed_quality_days)
        return self._pruner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # Request.state lives in this dict; endpoints and dependencies write into it.
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            app = scope["app"]
            st = state_of(app)
            clock: Callable[[], datetime] = st.clock
            try:
                await run_in_threadpool(
                    record,
                    st.engine,
                    clock(),
                    state.get("token_id"),
                    scope["method"],
                    scope["path"],
                    status,
                    state.get("audit_counts"),
                    (time.perf_counter() - started) * 1000,
                    self._pruner_for(app),
                    st.refusals,
                    route_label(scope),
                )
            except Exception:
                # The request's own work is done and answered; a failed audit write must not undo that.
                log.exception("could not write the audit entry")
