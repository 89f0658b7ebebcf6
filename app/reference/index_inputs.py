"""What the national index's derivation reads besides the record: the procedure catalogue and the
working-day calendar, as one snapshot per reference revision.

Every change of the catalogue or the calendar moves `data_state.reference_rev` in its own
transaction, holding the exclusive reference lock (PostgreSQL; SQLite runs one writer at a time), so
that an ingest transaction — which holds the shared lock from before it reads the revision until it
commits — either commits before the change does or reads the changed inputs. The snapshot is loaded
once per engine and revision.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Connection, Engine, Table, select, text, update

from app.core.calendar import WorkingCalendar
from app.core.index_derive import CatalogueEntry
from app.models import DataState, Procedure
from app.reference.calendar import working_calendar

_STATE = cast(Table, DataState.__table__)
_PROCEDURES = cast(Table, Procedure.__table__)
# An advisory lock key of its own (apart from the ingest's code buckets, app.store.dialect).
REFERENCE_LOCK_KEY = 0x7443_7660


@dataclass(frozen=True, slots=True)
class IndexInputs:
    rev: int
    catalogue: dict[str, CatalogueEntry]
    calendar: WorkingCalendar


def lock_reference(conn: Connection, *, exclusive: bool) -> None:
    """The reference lock for the rest of the transaction (a no-op on SQLite: one writer at a time)."""
    if conn.dialect.name == "postgresql":
        fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        conn.execute(text(f"SELECT {fn}(:k)"), {"k": REFERENCE_LOCK_KEY})


def reference_revs(conn: Connection) -> tuple[int, int]:
    """(reference_rev, index_rev) as stored."""
    row = conn.execute(select(_STATE.c.reference_rev, _STATE.c.index_rev).where(_STATE.c.id == 1)).first()
    return (int(row[0]), int(row[1])) if row is not None else (0, 0)


def reference_changed(conn: Connection) -> int:
    """Record, in the caller's transaction, that the catalogue or the calendar changed; the new revision."""
    lock_reference(conn, exclusive=True)
    conn.execute(update(_STATE).where(_STATE.c.id == 1).values(reference_rev=_STATE.c.reference_rev + 1))
    return reference_revs(conn)[0]


def load_inputs(conn: Connection, rev: int) -> IndexInputs:
    catalogue = {
        r.code: CatalogueEntry(
            level=r.level,
            max_duration_value=r.max_duration_value,
            max_duration_unit=r.max_duration_unit,
            paper_result=bool(r.paper_result),
            fee=bool(r.fee),
            full_online_eligible=bool(r.full_online_eligible),
            full_online_offered=bool(r.full_online_offered),
            online_payment_integrated=bool(r.online_payment_integrated),
        )
        for r in conn.execute(select(_PROCEDURES))
    }
    return IndexInputs(rev, catalogue, working_calendar(conn))


_cache: weakref.WeakKeyDictionary[Engine, IndexInputs] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def inputs_at(conn: Connection, rev: int) -> IndexInputs:
    """The snapshot of revision `rev` (the caller read `rev` in this transaction, after its lock)."""
    engine = conn.engine
    with _cache_lock:
        cached = _cache.get(engine)
    if cached is not None and cached.rev == rev:
        return cached
    loaded = load_inputs(conn, rev)
    with _cache_lock:
        _cache[engine] = loaded
    return loaded


def current_inputs(conn: Connection) -> IndexInputs:
    """The snapshot of the stored revision, read through `conn`."""
    return inputs_at(conn, reference_revs(conn)[0])


def cached_inputs(engine: Engine) -> IndexInputs | None:
    """The last snapshot loaded for `engine`, if any (ingest derives with it before its transaction
    and checks the revision inside)."""
    with _cache_lock:
        return _cache.get(engine)
