"""Re-deriving the national index of stored dossiers when the catalogue or the calendar changes.

A change of one catalogue entry re-derives that procedure's dossiers at once; a bulk change (a
calendar year, a catalogue file) or an upgrade re-derives every dossier in a background job, one at a
time (table index_jobs; progress readable while it runs). Either way the dossiers are taken in code
order in chunks, each chunk one transaction holding the shared reference lock and the chunk's code
locks like an ingest chunk: each version's contribution is subtracted and the re-derived one added,
so figures stay exact beside concurrent ingest, and memory stays one chunk.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, bindparam, func, insert, select, update

from app.core.errors import Conflict
from app.core.timeutil import utcnow
from app.dossiers.service import bump_data_version, stored_rows, with_index
from app.models import DataState, Dossier, IndexJob
from app.reference.index_inputs import inputs_at, lock_reference, reference_revs
from app.store.dialect import dialect_of
from app.store.index_rollups import IndexRollupWriter
from app.store.uow import run_write, write_transaction

log = logging.getLogger("tthc.index")

_DOSSIERS = cast(Table, Dossier.__table__)
_JOBS = cast(Table, IndexJob.__table__)
_STATE = cast(Table, DataState.__table__)
DERIVED = tuple(c.name for c in _DOSSIERS.columns if c.name.startswith("idx_"))
CHUNK = 2000
# A running job that has not written progress for this long is taken as dead (its process stopped).
STALE_AFTER = timedelta(minutes=2)


@dataclass(slots=True)
class Progress:
    seen: int = 0
    changed: int = 0


def _chunk(conn: Connection, after: str, procedures: Collection[str] | None) -> tuple[list[str], int]:
    """Re-derive the next chunk of dossiers after code `after`; (its codes, how many changed)."""
    lock_reference(conn, exclusive=False)
    inputs = inputs_at(conn, reference_revs(conn)[0])
    q = select(_DOSSIERS.c.code).where(_DOSSIERS.c.code > after).order_by(_DOSSIERS.c.code).limit(CHUNK)
    if procedures is not None:
        q = q.where(_DOSSIERS.c.procedure_code.in_(list(procedures)))
    codes = list(conn.scalars(q))
    if not codes:
        return codes, 0
    dialect_of(conn).lock_codes(conn, codes)
    stored = stored_rows(conn, codes)
    old, new = [], []
    for code in sorted(stored):
        row = stored[code]
        derived = with_index(dict(row), inputs)
        if any(derived[c] != row[c] for c in DERIVED):
            old.append(row)
            new.append(derived)
    if new:
        conn.execute(
            update(_DOSSIERS).where(_DOSSIERS.c.code == bindparam("_code")),
            [{"_code": r["code"], **{c: r[c] for c in DERIVED}} for r in new],
        )
        writer = IndexRollupWriter(conn)
        writer.stage_rows(-1, old)
        writer.stage_rows(1, new)
        writer.fold()
        bump_data_version(conn, utcnow())
    return codes, len(new)


def rederive(
    engine: Engine,
    *,
    procedures: Collection[str] | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> Progress:
    """Re-derive the stored dossiers (of `procedures`, or all), chunk by chunk; what was seen and changed."""
    done = Progress()
    after = ""
    while True:
        codes, changed = run_write(engine, functools.partial(_chunk, after=after, procedures=procedures))
        if not codes:
            return done
        after = codes[-1]
        done.seen += len(codes)
        done.changed += changed
        if progress is not None:
            progress(done)


def after_entry_change(engine: Engine, code: str, rev: int) -> Progress:
    """Re-derive one procedure's dossiers after the change that made revision `rev`; the index is
    marked current when no other change is pending."""
    done = rederive(engine, procedures=[code])
    with write_transaction(engine) as conn:
        conn.execute(
            update(_STATE).where(_STATE.c.id == 1, _STATE.c.index_rev == rev - 1).values(index_rev=rev)
        )
    return done


# The background jobs.


def job_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "state": row.state,
        "reason": row.reason,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "total": row.total,
        "done": row.done,
        "changed": row.changed,
        "error": row.error,
    }


def get_job(conn: Connection, job_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(_JOBS).where(_JOBS.c.id == job_id)).first()
    return job_view(row) if row is not None else None


def latest_jobs(conn: Connection, limit: int = 20) -> list[dict[str, Any]]:
    return [job_view(r) for r in conn.execute(select(_JOBS).order_by(_JOBS.c.id.desc()).limit(limit))]


def start_job(engine: Engine, reason: str, started_by: str | None, now: datetime | None = None) -> int:
    """Record a new running job; Conflict when one is running (a dead one is marked failed first)."""
    now = now or utcnow()

    def work(conn: Connection) -> int:
        lock_reference(conn, exclusive=True)  # one starter at a time (SQLite: one writer anyway)
        running = conn.execute(select(_JOBS).where(_JOBS.c.state == "running")).all()
        for job in running:
            if job.heartbeat_at >= now - STALE_AFTER:
                raise Conflict(
                    f"re-derivation job {job.id} is running; its progress is at /v1/index/jobs/{job.id}"
                )
            conn.execute(
                update(_JOBS)
                .where(_JOBS.c.id == job.id)
                .values(state="failed", finished_at=now, error="stopped without finishing")
            )
        total = conn.execute(select(func.count()).select_from(_DOSSIERS)).scalar_one()
        rev = reference_revs(conn)[0]
        res = conn.execute(
            insert(_JOBS).values(
                state="running",
                reason=reason,
                started_at=now,
                heartbeat_at=now,
                total=total,
                done=0,
                changed=0,
                target_rev=rev,
                started_by=started_by,
            )
        )
        return int(res.inserted_primary_key[0])  # type: ignore[index]

    return run_write(engine, work)


def run_job(engine: Engine, job_id: int) -> None:
    """Run a started job to its end: every dossier re-derived, again while the reference moved meanwhile."""

    def report(p: Progress) -> None:
        with write_transaction(engine) as conn:
            conn.execute(
                update(_JOBS)
                .where(_JOBS.c.id == job_id)
                .values(done=p.seen, changed=p.changed, heartbeat_at=utcnow())
            )

    try:
        total = Progress()
        while True:
            with engine.connect() as conn:
                target = reference_revs(conn)[0]
            done = rederive(
                engine, progress=lambda p: report(Progress(total.seen + p.seen, total.changed + p.changed))
            )
            total.seen += done.seen
            total.changed += done.changed
            with write_transaction(engine) as conn:
                rev = reference_revs(conn)[0]
                if rev == target:
                    conn.execute(update(_STATE).where(_STATE.c.id == 1).values(index_rev=target))
                    conn.execute(
                        update(_JOBS)
                        .where(_JOBS.c.id == job_id)
                        .values(
                            state="done",
                            done=total.seen,
                            changed=total.changed,
                            finished_at=utcnow(),
                            heartbeat_at=utcnow(),
                            target_rev=target,
                        )
                    )
                    return
    except Exception as exc:
        log.exception("re-derivation job %d failed", job_id)
        with write_transaction(engine) as conn:
            conn.execute(
                update(_JOBS)
                .where(_JOBS.c.id == job_id)
                .values(state="failed", finished_at=utcnow(), error=type(exc).__name__)
            )


def start_in_background(engine: Engine, reason: str, started_by: str | None) -> int | None:
    """Start a job in a thread of this process; None when one is already running (it re-reads the
    reference when it ends, so it covers the change that asked for this one)."""
    try:
        job_id = start_job(engine, reason, started_by)
    except Conflict:
        return None
    launch(engine, job_id)
    return job_id


def launch(engine: Engine, job_id: int) -> None:
    """Run a started job in a thread of this process."""
    threading.Thread(target=run_job, args=(engine, job_id), name=f"index-job-{job_id}", daemon=True).start()


def index_behind(conn: Connection) -> bool:
    ref, idx = reference_revs(conn)
    return idx < ref
