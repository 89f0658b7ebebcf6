"""What queuing an early-warning digest costs the ingest beside it, on a database already loaded: one
subscription of every worklist kind, no scope, its digest queued (`JobRunner.queue_digests`) while one
ingest chunk (the file's first `--chunk` records, each a second newer than the round before) is
written. Printed per round: the chunk written alone and beside the digest (in all, and until its write
transaction began: validation, then the wait for SQLite's write lock), the digest alone and beside
the chunk, and each list's read.

    DATABASE_URL=sqlite:///bench-results/digest-100k.db .venv/bin/tthc-metrics migrate
    DATABASE_URL=sqlite:///bench-results/digest-100k.db .venv/bin/tthc-metrics import \\
        bench-results/data/dossiers-100k.ndjson
    .venv/bin/python -m benchmarks.digest_wait --database-url sqlite:///bench-results/digest-100k.db \\
        --records bench-results/data/dossiers-100k.ndjson

The lists are judged at `--now` (default 31 Dec 2025 23:00, Vietnam: the period kinds over the whole
year of the demo data). Only what both the old and the new runner offer is used (a `DigestSource`,
`queue_digests`), so the same script measures either with PYTHONPATH set to a checkout of the other.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Generator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event

import app.dossiers.service as ingest
from app.config import Settings
from app.core.communes import communes_of
from app.core.worklist import KINDS
from app.store.engine import make_engine
from app.store.uow import write_session
from app.webhooks import service as webhooks
from app.webhooks.digest import DigestScope, WorklistSource
from app.webhooks.jobs import JobRunner
from app.worklists.schemas import WorklistItem
from benchmarks.common import load_average, log
from benchmarks.history_cost import PRINCIPAL

DATA_NOW = datetime(2026, 1, 15, 5, 0, tzinfo=UTC)  # the demo file's "now" (dossiers-100k.json)


class TimedSource:
    """The worklists, each list's read timed; `reading` is set when the first list starts."""

    def __init__(self, province_code: int) -> None:
        self.inner = WorklistSource(province_code)
        self.kinds: Sequence[str] = self.inner.kinds
        self.reading = threading.Event()
        self.seconds: dict[str, float] = {}

    def pages(
        self, conn: Connection, kind: str, scope: DigestScope, now: datetime
    ) -> Generator[list[WorklistItem], None, None]:
        self.reading.set()
        started = time.perf_counter()
        try:
            yield from self.inner.pages(conn, kind, scope, now)
        finally:
            self.seconds[kind] = time.perf_counter() - started


def _chunk(path: Path, size: int, round_: int) -> list[tuple[int, Any]]:
    records = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            updated = datetime.fromisoformat(rec["updated_at"]) + timedelta(seconds=round_ + 1)
            rec["updated_at"] = updated.isoformat()
            records.append(rec)
            if len(records) == size:
                break
    return list(enumerate(records))


def _write(engine: Engine, items: list[tuple[int, Any]]) -> tuple[float, float]:
    """The chunk written: its seconds in all, and until its write transaction began (validation, then
    the wait for SQLite's write lock)."""
    with engine.connect() as conn:
        registry = ingest.current_registry(conn, set(communes_of(40)), DATA_NOW)
    me = threading.get_ident()
    began: list[float] = []

    def on_begin(conn: Any) -> None:  # after the engine's own listener: BEGIN IMMEDIATE has returned
        if threading.get_ident() == me and not began:
            began.append(time.perf_counter())

    event.listen(engine, "begin", on_begin)
    try:
        started = time.perf_counter()
        verdicts = ingest.process_chunk(engine, items, PRINCIPAL, registry)
        ended = time.perf_counter()
    finally:
        event.remove(engine, "begin", on_begin)
    assert all(v.result == "updated" for v in verdicts), verdicts[0]
    return ended - started, began[0] - started


def _subscribe(engine: Engine, settings: Settings, now: datetime) -> str:
    body = webhooks.WebhookCreate(url="http://127.0.0.1:9/digest", kinds=list(KINDS))
    with write_session(engine) as session:
        # Made a day before: its digest of `now`'s day is due.
        return webhooks.create(session, body, settings, now - timedelta(days=1)).id


def _unsubscribe(engine: Engine, webhook_id: str) -> None:
    with write_session(engine) as session:
        webhooks.remove(session, webhook_id)


def one_round(
    engine: Engine, settings: Settings, records: Path, size: int, now: datetime, n: int
) -> dict[str, Any]:
    alone = _write(engine, _chunk(records, size, 2 * n))
    webhook_id = _subscribe(engine, settings, now)
    started = time.perf_counter()
    assert JobRunner(engine, settings, lambda: now).queue_digests(now) == 1
    digest_alone = time.perf_counter() - started
    _unsubscribe(engine, webhook_id)
    webhook_id = _subscribe(engine, settings, now)
    source = TimedSource(settings.province_code)
    runner = JobRunner(engine, settings, lambda: now, source=source)
    digest: dict[str, float] = {}

    def queue() -> None:
        started = time.perf_counter()
        assert runner.queue_digests(now) == 1
        digest["seconds"] = time.perf_counter() - started
        digest["done"] = time.perf_counter()

    items = _chunk(records, size, 2 * n + 1)
    thread = threading.Thread(target=queue)
    thread.start()
    assert source.reading.wait(60)
    beside = _write(engine, items)
    written = time.perf_counter()
    thread.join()
    _unsubscribe(engine, webhook_id)
    return {
        "chunk_alone_s": round(alone[0], 3),
        "chunk_alone_until_begin_s": round(alone[1], 3),
        "chunk_beside_digest_s": round(beside[0], 3),
        "chunk_beside_until_begin_s": round(beside[1], 3),
        "chunk_finished_before_digest": written < digest["done"],
        "digest_alone_s": round(digest_alone, 3),
        "digest_beside_chunk_s": round(digest["seconds"], 3),
        "lists_s": {k: round(v, 3) for k, v in source.seconds.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--records", type=Path, required=True)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--now", default="2025-12-31T23:00:00+07:00")
    args = parser.parse_args()
    now = datetime.fromisoformat(args.now).astimezone(UTC)
    settings = Settings(DATABASE_URL=args.database_url, TTHC_WEBHOOK_ALLOWED_HOSTS="127.0.0.1")
    engine = make_engine(args.database_url)
    try:
        for n in range(args.rounds):
            result = one_round(engine, settings, args.records, args.chunk, now, n)
            log(f"round {n + 1}: load {load_average():.2f}")
            print(json.dumps(result), flush=True)
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
