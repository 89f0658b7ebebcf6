"""Hostile load on the real server with 2 workers (tests/trust/load.py): heavy and oversized metrics
reads, an NDJSON import and health probes at once; nothing answers 5xx except a shed heavy read (503
with Retry-After), every probe answers in time and every imported record is stored."""

from __future__ import annotations

import time
from pathlib import Path

from tests.trust.live import ADMIN_TOKEN, Database, start_server
from tests.trust.load import LoadPlan, run_load, seed

DOSSIERS = 5000


def test_hostile_load_on_two_workers(live_db: Database, tmp_path: Path) -> None:
    started = time.monotonic()
    seed(live_db.url, DOSSIERS)
    seeded = time.monotonic() - started
    log = tmp_path / "server.log"
    server = start_server(live_db.url, log, workers=2)
    try:
        result = run_load(server, LoadPlan(seconds=10, ingest_records=3000), tmp_path)
    finally:
        server.stop()
    print(f"\n{live_db.kind}: {DOSSIERS} dossiers seeded in {seeded:.0f} s, then\n{result.summary()}")
    problems = result.violations()
    assert not problems, f"{len(problems)} violations:\n" + "\n".join(problems[:40])
    text = log.read_text(errors="replace")
    assert "unhandled error" not in text
    assert ADMIN_TOKEN not in text
