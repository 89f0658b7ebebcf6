"""Two writers sending overlapping codes at once: the newest version of each code wins, rollups stay exact."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from app.api.auth import ADMIN_TOKEN_ID
from app.core.access import SCOPES, Principal
from app.core.communes import communes_of
from app.dossiers.service import Verdict, process_chunk
from app.dossiers.validation import Registry
from app.models import Agency, Dossier
from app.store import index_rollups, rollups
from app.store.dialect import LOCK_BUCKETS, dialect_of
from tests.factory import open_rec, rec

NOW = datetime(2025, 10, 1, 1, 0, tzinfo=UTC)
ADMIN = Principal(ADMIN_TOKEN_ID, frozenset(SCOPES), None)
CODES = [f"C-{i:02d}" for i in range(12)]
VERSIONS = 6
SECTORS = ("dat_dai", "xay_dung", "dau_tu", "ho_tich")
AGENCIES = ("000.00.07.H41", "000.00.03.H41", "UBND-17329")


def version(code: str, v: int) -> dict[str, Any]:
    """Version v of a dossier: each version moves it to other days, agencies and sectors, so that every
    replacement moves its contribution between rollup rows."""
    n = int(code[2:])
    received = datetime(2025, 7, 1 + (n + v) % 5, 8, tzinfo=UTC)
    common = {
        "received_at": received.isoformat(),
        "due_at": (received + timedelta(days=3 + v)).isoformat(),
        "updated_at": (datetime(2025, 9, 1, tzinfo=UTC) + timedelta(minutes=v)).isoformat(),
        "agency_code": AGENCIES[(n + v) % 3],
        "sector": SECTORS[v % 4],
    }
    if v % 2 == 0:
        return open_rec(code, **common)
    return rec(code, **common, resolved_at=(received + timedelta(days=v)).isoformat())


def writer(
    engine: Engine, registry: Registry, records: list[dict[str, Any]], start: threading.Barrier
) -> list[Verdict]:
    verdicts: list[Verdict] = []
    start.wait()
    for i in range(0, len(records), 4):
        verdicts += process_chunk(engine, list(enumerate(records[i : i + 4], i)), ADMIN, registry)
    return verdicts


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_concurrent_writers_leave_the_newest_version_of_every_code(engine: Engine, seed: int) -> None:
    rng = random.Random(seed)
    with engine.connect() as conn:
        agencies = set(conn.scalars(select(Agency.code)))
    registry = Registry(agencies=agencies, communes=set(communes_of(40)), now=NOW)
    everything = [version(code, v) for code in CODES for v in range(VERSIONS)]
    rng.shuffle(everything)
    # Each writer sends about half of the versions, in its own random order: every code reaches both.
    halves: list[list[dict[str, Any]]] = [everything[0::2], everything[1::2]]
    results: list[list[Verdict]] = [[], []]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(i: int) -> None:
        try:
            results[i] = writer(engine, registry, halves[i], start)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    outcome = Counter(v.result or "rejected" for r in results for v in r)
    # Every code is created exactly once, whichever writer got there first; nothing is rejected.
    assert outcome["created"] == len(CODES)
    assert outcome["rejected"] == 0
    assert sum(outcome.values()) == len(CODES) * VERSIONS

    newest = {code: version(code, VERSIONS - 1) for code in CODES}
    with engine.connect() as conn, conn.begin():
        rows = conn.execute(
            select(Dossier.code, Dossier.updated_at, Dossier.agency_code, Dossier.sector)
        ).all()
        assert rollups.verify(conn) == (0, [])
        assert index_rollups.verify(conn) == (0, [])
    assert {r.code: (r.updated_at.isoformat(), r.agency_code, r.sector) for r in rows} == {
        c: (n["updated_at"], n["agency_code"], n["sector"]) for c, n in newest.items()
    }


def test_a_chunk_holds_at_most_one_lock_per_bucket_of_codes(engine: Engine) -> None:
    # PostgreSQL has 64 lock slots per connection by default (max_locks_per_transaction): one
    # advisory lock per code made a chunk of 20,000 new codes fail with "out of shared memory".
    codes = [f"K-{i:05d}" for i in range(5000)]
    with engine.connect() as conn, conn.begin():
        dialect_of(conn).lock_codes(conn, codes)
        if engine.dialect.name != "postgresql":
            return  # SQLite serialises writers with its write lock; nothing is taken here
        held = conn.scalar(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
        )
    assert held == LOCK_BUCKETS == 64
