"""The national index on a database already loaded: its rollup rows, and the server-side time of
uncached `/v1/index?period=2025-Q3&unit=agency|commune` (the app in this process, a response cache that
never answers, as benchmarks/queries.py's inprocess_latency measures it).

    .venv/bin/python -m benchmarks.index_latency --database-url sqlite:///bench-results/sqlite-10M.db

For a database too large to load through `make bench` in the time at hand (10M dossiers on SQLite:
`tthc-metrics migrate` and `tthc-metrics demo-data --dossiers 10000000 --year 2025` on DATABASE_URL).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from app.store.engine import make_engine
from benchmarks.common import load_average, log
from benchmarks.queries import QUERIES, inprocess_latency

INDEX_QUERIES = tuple(q for q in QUERIES if q.path == "/v1/index")


def sizes(database_url: str) -> dict[str, Any]:
    """Dossiers, rollup rows, and the index rollup rows per cube and grain."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:

            def one(sql: str) -> int:
                return int(conn.execute(text(sql)).scalar_one())

            return {
                "dossiers": one("SELECT count(*) FROM dossiers"),
                "rollup_rows": one("SELECT count(*) FROM rollups"),
                "index_rollup_rows": one("SELECT count(*) FROM index_rollups"),
                "index_rollup_rows_by_cube_grain": {
                    f"cube {c} grain {g}": int(n)
                    for c, g, n in conn.execute(
                        text("SELECT cube, grain, count(*) FROM index_rollups GROUP BY cube, grain")
                    )
                },
                "agencies_by_level": {
                    str(level): int(n)
                    for level, n in conn.execute(text("SELECT level, count(*) FROM agencies GROUP BY level"))
                },
            }
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.index_latency", description=__doc__)
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), required=False)
    p.add_argument("--runs", type=int, default=60, help="requests per query (after one warm-up)")
    p.add_argument("--out", type=Path, default=None, help="write the figures here as JSON")
    args = p.parse_args(argv)
    if not args.database_url:
        p.error("--database-url (or DATABASE_URL) is required")
    started = datetime.now(UTC)
    load_before = load_average()
    log(f"sizes of {args.database_url}")
    result: dict[str, Any] = {"database_url": args.database_url, "started_at": started.isoformat()}
    result |= sizes(args.database_url)
    log(
        f"  {result['dossiers']:,} dossiers, {result['rollup_rows']:,} rollup rows, "
        f"{result['index_rollup_rows']:,} index rollup rows"
    )
    log(f"server-side time of the index, {args.runs} uncached requests per query")
    result["latency"] = inprocess_latency(args.database_url, args.runs, INDEX_QUERIES)
    result["load_average"] = {"before": load_before, "after": load_average()}
    text_ = json.dumps(result, indent=2)
    print(text_)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text_ + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
