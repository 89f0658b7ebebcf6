"""Where the ingest writer's time goes, statement by statement (SQLite, in-process, no HTTP).

    python -m benchmarks.writer_profile --records 100000 --chunk 20000

Loads the first N records of the benchmark's dataset into a fresh migrated SQLite database with the
service's own `prepare_chunk` / `write_chunk`, one chunk after the other (not overlapped, so each
side is timed alone), and prints: validation time per record, writer time per record, and each
SQL statement's share of the writer with the rows it wrote. The HTTP import overlaps the two sides
in two threads; its rate is bounded by the slower one.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
import time
from collections import defaultdict
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event

from app.api.auth import ADMIN_TOKEN_ID
from app.core.access import SCOPES, Principal
from app.core.communes import communes_of
from app.dossiers.service import current_registry, prepare_chunk, write_chunk
from app.store.engine import make_engine
from benchmarks.common import ROOT, VENV_BIN
from benchmarks.data import NOW

_CUBE_GRAIN = re.compile(r"SELECT (\d), (\d),")


def _statement(sql: str) -> str:
    """A short name for a statement: the rollup upserts by cube and grain, the rest by their start."""
    for table in ("rollups", "index_rollups"):
        if sql.startswith(f"INSERT INTO {table} "):
            m = _CUBE_GRAIN.search(sql)
            return f"upsert {table}, cube {m.group(1)} grain {m.group(2)}" if m else f"upsert {table}"
    return " ".join(sql.split()[:3])[:48]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--chunk", type=int, default=20_000)
    p.add_argument("--data", type=Path, default=ROOT / "bench-results" / "data" / "dossiers-1M.ndjson")
    args = p.parse_args(argv)
    if not args.data.exists():
        raise SystemExit(
            f"{args.data} is missing: run `make bench ARGS='--sizes 1000000'` once to generate it"
        )
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/profile.db"
        env = dict(os.environ, DATABASE_URL=url)
        subprocess.run([str(VENV_BIN / "tthc-metrics"), "migrate"], env=env, check=True, capture_output=True)
        engine = make_engine(url)
        spent: dict[str, float] = defaultdict(float)
        rows: dict[str, int] = defaultdict(int)

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn: Any, _cur: Any, _sql: str, _params: Any, _ctx: Any, _many: bool) -> None:
            conn.info["t0"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn: Any, cur: Any, sql: str, _params: Any, _ctx: Any, _many: bool) -> None:
            name = _statement(sql)
            spent[name] += time.perf_counter() - conn.info["t0"]
            rows[name] += max(cur.rowcount, 0)

        with engine.connect() as conn:
            registry = current_registry(conn, communes_of(40).keys(), NOW)
        with args.data.open("rb") as f:
            records = [orjson.loads(line) for line in islice(f, args.records)]
        principal = Principal(ADMIN_TOKEN_ID, frozenset(SCOPES), None)
        prepare_s = write_s = 0.0
        for start in range(0, len(records), args.chunk):
            items = list(enumerate(records[start : start + args.chunk], start))
            t0 = time.perf_counter()
            prepared = prepare_chunk(items, registry, engine.dialect.name)
            t1 = time.perf_counter()
            write_chunk(engine, prepared, principal)
            t2 = time.perf_counter()
            prepare_s += t1 - t0
            write_s += t2 - t1
        n = len(records)
        traced = sum(spent.values())
        print(f"{n:,} records in chunks of {args.chunk:,} (SQLite, one thread, not overlapped)")
        print(f"  validation and row building: {prepare_s / n * 1e6:5.1f} µs/record")
        print(f"  writer (SQL, commit, Python): {write_s / n * 1e6:5.1f} µs/record")
        print(f"    of which traced statements: {traced / n * 1e6:5.1f} µs/record; the rest: Python, commit")
        print(f"  bound for two overlapped threads: {n / max(prepare_s, write_s):,.0f} records/s")
        print()
        print("| statement | µs/record | share of writer | rows/record |")
        print("|---|---|---|---|")
        for name, s in sorted(spent.items(), key=lambda kv: -kv[1]):
            if s / n * 1e6 < 0.05:
                continue
            print(f"| {name} | {s / n * 1e6:.1f} | {s / write_s:.0%} | {rows[name] / n:.2f} |")
        engine.dispose()


if __name__ == "__main__":
    main()
