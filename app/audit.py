"""The audit trail: every write request (token id, status, counts, duration, time), never a record's values.

One ASGI middleware sees every write, including those refused before an endpoint runs (a bad body, a
missing scope), so no endpoint can forget it. Endpoints only leave their result counts in
`request.state.audit_counts`; the token id is left in `request.state.token_id` by `app.auth`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import Engine, Table
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.models import AuditEntry
from app.timeutil import to_local

log = logging.getLogger("tthc.audit")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def record(
    engine: Engine,
    at: datetime,
    token_id: str | None,
    method: str,
    path: str,
    status: int,
    counts: dict[str, int] | None,
    duration_ms: float,
) -> None:
    """Write one entry to the structured log and, when a token was recognised, to the audit table."""
    entry = {
        "at": to_local(at).isoformat(),
        "token_id": token_id,
        "method": method,
        "path": path,
        "status": status,
        "counts": counts,
        "duration_ms": round(duration_ms, 1),
    }
    log.info("write %s", orjson.dumps(entry).decode())
    if token_id is None:
        # Requests without a valid token stay out of the table, so anonymous traffic cannot fill it.
        return
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        conn.execute(
            cast(Table, AuditEntry.__table__)
            .insert()
            .values(
                at=at,
                token_id=token_id,
                method=method,
                path=path,
                status_code=status,
                counts=orjson.dumps(counts).decode() if counts is not None else None,
                duration_ms=duration_ms,
            )
        )


class AuditMiddleware:
    """Audits every POST, PUT, PATCH and DELETE once its response has been sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
            clock: Callable[[], datetime] = app.state.clock
            try:
                await run_in_threadpool(
                    record,
                    app.state.engine,
                    clock(),
                    state.get("token_id"),
                    scope["method"],
                    scope["path"],
                    status,
                    state.get("audit_counts"),
                    (time.perf_counter() - started) * 1000,
                )
            except Exception:
                # The request's own work is done and answered; a failed audit write must not undo that.
                log.exception("could not write the audit entry")
