"""Concurrent writers and readers against the real server (uvicorn, 2 worker processes).

Several writer processes send overlapping versions of the same dossiers, in random order, as JSON batches and
single PUTs, while readers poll metrics, the scorecard and single dossiers. Afterwards every dossier
holds its newest version, each code was created exactly once, the rollups equal a recomputation
from the stored dossiers, the metrics equal a naive per-dossier computation, and no request got
anything but the answers the contract gives.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from app.dossiers.schemas import parse_timestamp
from app.store import index_rollups, rollups
from app.store.engine import make_engine
from tests.factory import AGENCY, COMMUNE, OTHER_AGENCY
from tests.naive import naive_counts
from tests.trust.concurrent_writer import Tally, write
from tests.trust.live import ADMIN_TOKEN, FULL, Database, LiveServer, start_server

CODES = 1000 if FULL else 400
VERSIONS = 4
WRITERS = 6 if FULL else 4
READERS = 3 if FULL else 2
SEED = 6


def version(code_no: int, v: int) -> dict[str, Any]:
    """Version `v` of dossier `code_no`: open, then waiting for a supplement, then resolved (some moved
    to another agency and ward), then returned. Each version has a later updated_at than the one before."""
    received = datetime(2025, 3, 1, 8, 0) + timedelta(days=code_no % 200, minutes=code_no)
    due = received + timedelta(days=7 + code_no % 9)
    moved = code_no % 3 == 0 and v >= 2
    rec: dict[str, Any] = {
        "code": f"CC-{code_no:05d}",
        "procedure_code": f"1.00{code_no % 7}",
        "sector": ("dat_dai", "xay_dung", "ho_tich")[code_no % 3],
        "agency_code": OTHER_AGENCY if moved else AGENCY,
        "commune_code": None if moved else COMMUNE,
        "channel": ("online", "in_person", "postal")[code_no % 3],
        "received_at": received.isoformat(),
        "due_at": due.isoformat(),
        "status": ("processing", "supplement_requested", "resolved", "returned")[v],
        "fee_required": code_no % 2 == 0,
        "apology_issued": v >= 1 and code_no % 5 == 0,
        "updated_at": (received + timedelta(hours=1 + v)).isoformat(),
    }
    if v >= 2:
        resolved = received + timedelta(days=3 + code_no % 12)
        rec["resolved_at"] = resolved.isoformat()
        rec["paid_online"] = code_no % 4 == 0
        rec["rating"] = ("very_satisfied", "satisfied", "neutral", None)[code_no % 4]
        rec["digitised_result"] = code_no % 2 == 1
        rec["updated_at"] = (resolved + timedelta(minutes=v)).isoformat()
    if v == 3:
        rec["returned_at"] = (parse_timestamp(rec["resolved_at"]) + timedelta(hours=5)).isoformat()
        rec["updated_at"] = (parse_timestamp(rec["resolved_at"]) + timedelta(hours=6)).isoformat()
    if rec["channel"] == "online":
        rec["online_level"] = "full" if code_no % 2 else "partial"
    return rec


def writer_plans(rng: random.Random) -> list[list[tuple[int, int]]]:
    """Every (code, version) sent by at least one writer, most by two, each writer in its own order."""
    plans: list[list[tuple[int, int]]] = [[] for _ in range(WRITERS)]
    for code_no in range(CODES):
        for v in range(VERSIONS):
            for w in rng.sample(range(WRITERS), rng.choice((1, 2, 2))):
                plans[w].append((code_no, v))
    for plan in plans:
        rng.shuffle(plan)
    return plans


def read(server: LiveServer, stop: threading.Event, seed: int, tally: Tally) -> None:
    rng = random.Random(seed)
    with server.client(token=None) as http:
        while not stop.is_set():
            pick = rng.random()
            if pick < 0.5:
                params: dict[str, Any] = {"from": "2025-01-01", "to": "2025-12-31"}
                params["group_by"] = rng.choice((["agency"], ["agency", "month"], ["commune", "sector"]))
                r = http.get("/v1/metrics", params=params)
                tally.status("GET metrics", r.status_code, {200}, r.text)
            elif pick < 0.7:
                r = http.get("/v1/scorecard", params={"year": 2025})
                tally.status("GET scorecard", r.status_code, {200}, r.text)
            else:
                r = http.get(f"/v1/dossiers/CC-{rng.randrange(CODES):05d}")
                tally.status("GET dossier", r.status_code, {200, 404}, r.text)


def test_concurrent_overlapping_writers_keep_the_newest_version(live_db: Database, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    plans = writer_plans(rng)
    sent = sum(len(p) for p in plans)
    server = start_server(live_db.url, tmp_path / "server.log", workers=2)
    tally = Tally()
    stop = threading.Event()
    started = time.monotonic()
    try:
        # Writers are processes of their own (spawned: no threads carried over), readers are threads.
        spawn = multiprocessing.get_context("spawn")
        with (
            ProcessPoolExecutor(WRITERS, mp_context=spawn) as writers,
            ThreadPoolExecutor(READERS) as threads,
        ):
            readers = [threads.submit(read, server, stop, SEED + 100 + i, tally) for i in range(READERS)]
            # The records are built here: a writer process imports nothing of the app (concurrent_writer).
            sent_by = [
                writers.submit(write, server.url, ADMIN_TOKEN, [version(c, v) for c, v in plan], SEED + i)
                for i, plan in enumerate(plans)
            ]
            for writer in sent_by:
                results, statuses, unexpected = writer.result()
                tally.results.update(results)
                tally.statuses.update(statuses)
                tally.unexpected += unexpected
            stop.set()
            for reader in readers:
                reader.result()
        with server.client(token=None) as http:
            served = http.get("/v1/metrics", params={"from": "2025-01-01", "to": "2025-12-31"}).json()
    finally:
        stop.set()
        server.stop()
    elapsed = time.monotonic() - started
    assert tally.unexpected == []
    assert "unhandled error" not in server.log_text()
    assert ADMIN_TOKEN not in server.log_text()
    # Every record sent got a verdict; every code was created exactly once, whoever got there first.
    assert sum(tally.results.values()) == sent
    assert tally.results["created"] == CODES
    assert tally.results["rejected"] == 0

    newest = [version(c, VERSIONS - 1) for c in range(CODES)]
    engine = make_engine(live_db.url)
    try:
        with engine.connect() as conn:
            stored = {
                r.code: (r.status, r.agency_code, r.updated_at)
                for r in conn.execute(text("SELECT code, status, agency_code, updated_at FROM dossiers"))
            }
            differences, rows = rollups.verify(conn)
            index_differences, index_rows = index_rollups.verify(conn)
    finally:
        engine.dispose()
    assert differences == 0, rows
    assert index_differences == 0, index_rows
    assert len(stored) == CODES
    for rec in newest:
        status, agency, updated = stored[rec["code"]]
        when = updated if isinstance(updated, datetime) else datetime.fromisoformat(updated)
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        assert (status, agency, when) == (
            rec["status"],
            rec["agency_code"],
            parse_timestamp(rec["updated_at"]),
        )
    expected = naive_counts(newest, date(2025, 1, 1), date(2025, 12, 31), datetime.now(UTC))
    assert served["totals"]["counts"] == expected
    requests = sum(tally.statuses.values())
    print(
        f"\n{live_db.kind}: {WRITERS} writer processes, {READERS} reader threads, {requests} requests, "
        f"{sent} records ({len(newest) * VERSIONS} distinct versions), {dict(tally.results)}, {elapsed:.1f}s"
    )
