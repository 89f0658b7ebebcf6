"""Crash safety: SIGKILL the server in the middle of a large NDJSON import, restart it, re-send.

A record is *acknowledged* once the transaction of its chunk has committed: from that moment any
reader sees it (here, a reader polling the database; equally GET /v1/dossiers/{code} or the
metrics). The sender of a killed import gets no response at all, so its recovery is to send the
same file again. The test shows that every acknowledged record survives the kill, that chunks are
stored whole or not at all, that the rollups still equal a recomputation, and that re-sending the
file completes the import with `unchanged` + `created` adding up to the file's size.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import Engine, text

from app.demo import generate_demo, write_ndjson
from app.store import index_rollups, rollups
from app.store.engine import make_engine
from tests.naive import naive_counts
from tests.trust.live import ADMIN_TOKEN, FULL, Database, LiveServer, start_server

RECORDS = 50_000 if FULL else 20_000
CHUNK = 500
# Kill when this share of the file is committed: once in the first import, once in the re-send.
KILL_AT = (0.3, 0.7)


def blocks(path: Path, size: int = 256 * 1024) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while block := fh.read(size):
            yield block


def send(server: LiveServer, path: Path) -> httpx.Response:
    with server.client(timeout=600) as http:
        return http.post(
            "/v1/dossiers", content=blocks(path), headers={"Content-Type": "application/x-ndjson"}
        )


def stored(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {
            code: updated for code, updated in conn.execute(text("SELECT code, updated_at FROM dossiers"))
        }


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM dossiers")).scalar_one())


def verify(engine: Engine) -> None:
    with engine.connect() as conn:
        differences, rows = rollups.verify(conn)
        index_differences, index_rows = index_rollups.verify(conn)
    assert differences == 0, rows
    assert index_differences == 0, index_rows


def import_and_kill(server: LiveServer, path: Path, engine: Engine, at: int) -> dict[str, Any]:
    """Stream the file; once `at` records are committed, note them and SIGKILL the server."""
    failure: list[BaseException] = []

    def upload() -> None:
        try:
            send(server, path)
        except httpx.HTTPError as exc:  # the connection dies with the server
            failure.append(exc)

    uploader = threading.Thread(target=upload)
    uploader.start()
    deadline = time.monotonic() + 300
    while count(engine) < at:
        assert time.monotonic() < deadline, "the import did not progress"
        assert uploader.is_alive(), "the import ended before the kill"
        time.sleep(0.02)
    acknowledged = stored(engine)
    server.kill()
    uploader.join(timeout=60)
    assert not uploader.is_alive()
    assert failure, "the killed import should not have been answered"
    return acknowledged


def test_sigkill_mid_import_loses_no_acknowledged_record(live_db: Database, tmp_path: Path) -> None:
    path = tmp_path / "import.ndjson"
    assert (
        write_ndjson(generate_demo(RECORDS, year=2025, now=datetime(2026, 1, 15, tzinfo=UTC)), path)
        == RECORDS
    )
    records = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    engine = make_engine(live_db.url)
    log = tmp_path / "server.log"
    env = {"TTHC_INGEST_CHUNK": str(CHUNK)}
    try:
        lost = 0
        for share in KILL_AT:
            server = start_server(live_db.url, log, env=env)
            acknowledged = import_and_kill(server, path, engine, int(RECORDS * share))
            # Restarted on the same database: nothing acknowledged is missing or changed.
            server = start_server(live_db.url, log, env=env)
            after = stored(engine)
            lost += sum(1 for code, updated in acknowledged.items() if after.get(code) != updated)
            # Chunks are whole: the file's records are unique and valid, so the stored ones are
            # exactly the first chunks of the file.
            assert len(after) % CHUNK == 0
            assert set(after) == {r["code"] for r in records[: len(after)]}
            verify(engine)
            server.stop()
        assert lost == 0

        server = start_server(live_db.url, log, env=env)
        before = count(engine)
        try:
            r = send(server, path)
            with server.client(token=None) as http:
                year = http.get("/v1/metrics", params={"from": "2025-01-01", "to": "2025-12-31"}).json()
        finally:
            server.stop()
        assert r.status_code == 200
        report = r.json()
        assert report["received"] == RECORDS
        assert (report["unchanged"], report["created"]) == (before, RECORDS - before)
        assert report["updated"] == report["stale"] == report["rejected"] == 0
        assert count(engine) == RECORDS
        verify(engine)
        expected = naive_counts(records, date(2025, 1, 1), date(2025, 12, 31), datetime.now(UTC))
        assert year["totals"]["counts"] == expected
    finally:
        engine.dispose()
    assert "unhandled error" not in log.read_text(errors="replace")
    assert ADMIN_TOKEN not in log.read_text(errors="replace")
    print(
        f"\n{live_db.kind}: {RECORDS} records, 2 SIGKILLs, {before} stored before the final re-send, 0 lost"
    )
