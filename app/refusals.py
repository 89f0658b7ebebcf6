"""Write requests refused with 401 or 403, counted per token, local day and status (never one row each)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import Connection, Engine, Table, delete, select

from app.core.timeutil import local_date
from app.models import AuditEntry, RefusedRequests
from app.store.dialect import dialect_of
from app.store.uow import write_transaction

NO_TOKEN = ""  # the token id under which refusals without a recognised token are counted
REFUSED_FLUSH_EVERY = 5.0  # seconds between two writes of the refusal counts, at most
REFUSED = cast(Table, RefusedRequests.__table__)
_AUDIT = cast(Table, AuditEntry.__table__)


def count_refused(conn: Connection, token_id: str | None, day: date, status: int, n: int = 1) -> None:
    """count + n for (token, local day, status): one INSERT ... ON CONFLICT DO UPDATE, on both stores."""
    conn.execute(
        dialect_of(conn).upsert(
            REFUSED,
            {"token_id": token_id or NO_TOKEN, "day": day, "status_code": status, "count": n},
            keys=("token_id", "day", "status_code"),
            set_={"count": REFUSED.c.count + n},
        )
    )


class RefusalCounter:
    """Refusals counted in memory and added to `refused_requests` at most every REFUSED_FLUSH_EVERY.

    A refused request costs no database write of its own: a flood of them (no token needed for a
    401) would otherwise queue for the write lock behind the ingest and hold a worker thread each.
    The counts go to the store with the next audit row, when an admin reads them, or when the last
    flush is older than the interval; a crash loses at most that interval's counts.
    """

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, date, int]] = Counter()
        self._lock = threading.Lock()
        self._flushed = time.monotonic()

    def add(self, token_id: str | None, day: date, status: int) -> bool:
        """Count one refusal; True when a flush is due."""
        with self._lock:
            self._counts[(token_id or NO_TOKEN, day, status)] += 1
            return time.monotonic() - self._flushed >= REFUSED_FLUSH_EVERY

    def flush(self, conn: Connection) -> None:
        """Add the pending counts in the caller's transaction (given back if it fails)."""
        with self._lock:
            pending, self._counts = self._counts, Counter()
            self._flushed = time.monotonic()
        try:
            for (token_id, day, status), n in sorted(pending.items()):
                count_refused(conn, token_id, day, status, n)
        except Exception:
            with self._lock:
                self._counts.update(pending)
            raise

    def flush_now(self, engine: Engine) -> None:
        with self._lock:
            if not self._counts:
                return
        with write_transaction(engine) as conn:
            self.flush(conn)


def prune_audit(conn: Connection, now: datetime, retention_days: int, batch: int) -> int:
    """Delete the refused-request counts older than `retention_days` and up to `batch` audit rows
    older than that (oldest first, through the index on `at`); returns the audit rows deleted.

    The one rule of the audit trail's retention: writes prune through `app.api.audit.Pruner`, the job
    runner (app.webhooks.jobs) through its prune hooks.
    """
    if retention_days <= 0:
        return 0
    cutoff = now - timedelta(days=retention_days)
    conn.execute(delete(REFUSED).where(REFUSED.c.day < local_date(cutoff)))
    oldest = select(_AUDIT.c.id).where(_AUDIT.c.at < cutoff).order_by(_AUDIT.c.at).limit(batch)
    return int(conn.execute(delete(_AUDIT).where(_AUDIT.c.id.in_(oldest))).rowcount)
