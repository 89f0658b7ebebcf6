"""What the dossiers' history costs an import: the same records imported twice (the second time every
record changed), with the history written and with its writer replaced by a no-op, in-process through
the ingest's chunk writer on a fresh SQLite file (or the DATABASE_URL given) at the head revision.

    .venv/bin/python -m benchmarks.history_cost [records] [repeats] [database-url-template]

Prints seconds per import for each mode (the best of `repeats`), the history's rows and its bytes.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

import app.dossiers.service as ingest
from app.core.access import Principal
from app.core.communes import communes_of
from app.demo import generate_demo
from app.migrate import upgrade
from app.reference.agencies import load_seed
from app.store.engine import make_engine

CHUNK = 5000
MODES = ("without", "with")
NOW = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)
PRINCIPAL = Principal(token_id="bench", scopes=frozenset({"ingest", "admin"}), agencies=None)


def _fresh(url_template: str | None, tag: str) -> tuple[str, Engine]:
    url = url_template or f"sqlite:///{Path(tempfile.mkdtemp(prefix='tthc-history-')) / tag}.db"
    upgrade(url)
    engine = make_engine(url)
    tables = ("dossiers", "rollups", "rollup_keys", "index_rollups", "dossier_history", "agencies")
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)}"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
    with Session(engine) as session:
        load_seed(session, 40)
        session.commit()
    return url, engine


def _chunks(records: list[dict[str, Any]]) -> Iterator[list[tuple[int, Any]]]:
    for i in range(0, len(records), CHUNK):
        yield list(enumerate(records[i : i + CHUNK], start=i))


def _import(engine: Engine, records: list[dict[str, Any]], now: datetime) -> float:
    with engine.connect() as conn:
        registry = ingest.current_registry(conn, set(communes_of(40)), now)
    started = time.perf_counter()
    for items in _chunks(records):
        verdicts = ingest.process_chunk(engine, items, PRINCIPAL, registry)
        assert all(v.result in ("created", "updated") for v in verdicts), verdicts[0]
    return time.perf_counter() - started


def _history_bytes(engine: Engine) -> tuple[int, int | None]:
    with engine.connect() as conn:
        rows = int(conn.scalar(text("SELECT count(*) FROM dossier_history")) or 0)
        if engine.dialect.name == "sqlite":
            size = conn.scalar(text("SELECT SUM(pgsize) FROM dbstat WHERE name = 'dossier_history'"))
        else:
            size = conn.scalar(text("SELECT pg_total_relation_size('dossier_history')"))
    return rows, None if size is None else int(size)


def run(records: int, repeats: int, url_template: str | None) -> None:
    first = list(generate_demo(records, year=2025, now=NOW))
    # The second import: every record changed (a later updated_at; the content otherwise the same).
    second = [
        {**r, "updated_at": (datetime.fromisoformat(r["updated_at"]) + timedelta(hours=1)).isoformat()}
        for r in first
    ]
    original: Callable[..., None] = getattr(ingest, "record_staged")  # noqa: B009 (replaced below)
    spent = [0.0]

    def real(*args: Any, **kwargs: Any) -> None:
        """The history writer of a chunk, its time summed (its cost, whatever else the machine does)."""
        started = time.perf_counter()
        original(*args, **kwargs)
        spent[0] += time.perf_counter() - started

    best: dict[str, list[float]] = {}
    sizes: tuple[int, int | None] = (0, None)
    for rep in range(repeats):
        for mode in MODES:
            setattr(ingest, "record_staged", real if mode == "with" else (lambda *a, **k: None))  # noqa: B010
            _, engine = _fresh(url_template, f"{mode}-{rep}")
            spent[0] = 0.0
            t1 = _import(engine, first, NOW)
            w1, spent[0] = spent[0], 0.0
            t2 = _import(engine, second, NOW + timedelta(hours=2))
            w2 = spent[0]
            print(f"{mode} history, run {rep + 1}: first import {t1:.1f} s, second {t2:.1f} s", flush=True)
            if mode == "with":
                print(f"  of which writing the history: {w1:.2f} s and {w2:.2f} s", flush=True)
            prev = best.get(mode)
            best[mode] = [min(prev[0], t1), min(prev[1], t2)] if prev else [t1, t2]
            if mode == "with":
                sizes = _history_bytes(engine)
            engine.dispose()
    setattr(ingest, "record_staged", original)  # noqa: B010
    rows, size = sizes
    print(f"records: {records}; best of {repeats}")
    for mode, (t1, t2) in best.items():
        print(f"  {mode} history: first import {t1:.1f} s ({records / t1:,.0f}/s), second {t2:.1f} s")
    per_row = f"{size / rows:.1f}" if size and rows else "?"
    print(f"  history: {rows} rows, {size} bytes ({per_row} bytes a row, indexes included)")


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    run(n, reps, sys.argv[3] if len(sys.argv) > 3 else None)
