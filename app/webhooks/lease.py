"""A lease: at most one holder of a named job at a time, however many processes ask.

- PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) on a connection held for the lease's
  life; the server drops it when that connection ends, so a runner that dies frees it at once.
- SQLite: a row of `job_leases` (holder, expiry) claimed in a write transaction when it is free,
  expired, or already the claimant's; released by expiring it. A runner that dies keeps it until the
  expiry, so `ttl` must exceed the longest a holder works without renewing (`Lease.renew`).

Callers that must never do a piece of work twice (a digest queued, a delivery attempted) also make
that piece conditional in the database; the lease keeps the second runner from trying at all.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Connection, Engine, Table, select, text, update

from app.models import JobLease
from app.store.dialect import dialect_of
from app.store.uow import write_transaction

_LEASES = cast(Table, JobLease.__table__)
_LEASE_NAMESPACE = 0x7443_1000  # advisory keys of leases, apart from the ingest's code buckets


def advisory_key(name: str) -> int:
    return _LEASE_NAMESPACE + zlib.crc32(name.encode()) % 4096


@dataclass
class Lease:
    """A lease held (`held`) or not; `renew` moves a row lease's expiry on (no-op for a lock)."""

    held: bool
    renew: Callable[[datetime], None]


@contextmanager
def hold_lease(engine: Engine, name: str, holder: str, now: datetime, ttl: timedelta) -> Iterator[Lease]:
    """The lease `name` for `holder` while the block runs, if no one else holds it (`Lease.held`)."""
    if dialect_of(engine).advisory_locks:
        # Autocommit: the lock is the session's, and no transaction stays open while it is held.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            key = advisory_key(name)
            held = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            try:
                yield Lease(held, lambda _now: None)
            finally:
                if held:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        return
    held = _claim_row(engine, name, holder, now, ttl)

    def renew(at: datetime) -> None:
        with write_transaction(engine) as conn:
            conn.execute(
                update(_LEASES)
                .where(_LEASES.c.name == name, _LEASES.c.holder == holder)
                .values(expires_at=at + ttl)
            )

    try:
        yield Lease(held, renew)
    finally:
        if held:
            with write_transaction(engine) as conn:
                conn.execute(
                    update(_LEASES)
                    .where(_LEASES.c.name == name, _LEASES.c.holder == holder)
                    .values(expires_at=now - timedelta(seconds=1))
                )


def _claim_row(engine: Engine, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    with write_transaction(engine) as conn:
        return _claim_in(conn, name, holder, now, ttl)


def _claim_in(conn: Connection, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    row = conn.execute(select(_LEASES.c.holder, _LEASES.c.expires_at).where(_LEASES.c.name == name)).first()
    if row is None:
        conn.execute(_LEASES.insert().values(name=name, holder=holder, expires_at=now + ttl))
        return True
    if row.holder != holder and row.expires_at > now:
        return False
    conn.execute(update(_LEASES).where(_LEASES.c.name == name).values(holder=holder, expires_at=now + ttl))
    return True
