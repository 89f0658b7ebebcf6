"""The worklists on a database already loaded: the server-side time of uncached `GET /v1/worklists`
(the counts per unit and kind, for the dashboard) and of a first page of two lists, printed beside a
plain-query baseline: one `SELECT count(*)` over the open dossiers, timed on a connection of its own.

    DATABASE_URL=sqlite:///bench-results/worklists-100k.db .venv/bin/tthc-metrics migrate
    DATABASE_URL=sqlite:///bench-results/worklists-100k.db .venv/bin/tthc-metrics demo-data --dossiers 100000
    .venv/bin/python -m benchmarks.worklists --database-url sqlite:///bench-results/worklists-100k.db

The demo data are received over the last 12 months, so the period of the period kinds is those months
(`--from`, `--to`; default: the 365 days up to today).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from app.core.timeutil import local_date
from app.store.engine import make_engine
from benchmarks.common import load_average, log, summary_ms
from benchmarks.queries import Query, inprocess_latency

BASELINE_SQL = "SELECT count(*) FROM dossiers WHERE close_date IS NULL"


def sizes(database_url: str) -> dict[str, int]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:

            def one(sql: str) -> int:
                return int(conn.execute(text(sql)).scalar_one())

            return {
                "dossiers": one("SELECT count(*) FROM dossiers"),
                "open_dossiers": one(BASELINE_SQL),
                "with_two_requests": one(
                    "SELECT count(*) FROM dossiers WHERE close_date IS NULL "
                    "AND supplements LIKE '%requested_at%requested_at%'"
                ),
            }
    finally:
        engine.dispose()


def baseline(database_url: str, runs: int) -> dict[str, Any]:
    """The plain query's time, as the store answers it (one connection, statement only)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            conn.execute(text(BASELINE_SQL)).scalar_one()
            took = []
            for _ in range(runs):
                started = time.perf_counter()
                conn.execute(text(BASELINE_SQL)).scalar_one()
                took.append(time.perf_counter() - started)
        return summary_ms(took)
    finally:
        engine.dispose()


def queries(start: str, end: str) -> tuple[Query, ...]:
    period = (("from", start), ("to", end))
    return (
        Query("summary_agency", "GET /v1/worklists (unit=agency)", "/v1/worklists", period, ()),
        Query(
            "summary_commune",
            "GET /v1/worklists (unit=commune)",
            "/v1/worklists",
            (*period, ("unit", "commune")),
            (),
        ),
        Query("overdue_page", "GET /v1/worklists/overdue (100)", "/v1/worklists/overdue", period, ()),
        Query(
            "unpaid_page",
            "GET /v1/worklists/unpaid_online (100)",
            "/v1/worklists/unpaid_online",
            period,
            (),
        ),
    )


def main(argv: Sequence[str] | None = None) -> int:
    today = local_date(datetime.now(UTC))
    p = argparse.ArgumentParser(prog="python -m benchmarks.worklists", description=__doc__)
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), required=False)
    p.add_argument("--runs", type=int, default=40, help="requests per query (after one warm-up)")
    p.add_argument("--from", dest="start", default=(today - timedelta(days=364)).isoformat())
    p.add_argument("--to", dest="end", default=today.isoformat())
    p.add_argument("--out", type=Path, default=None, help="write the figures here as JSON")
    args = p.parse_args(argv)
    if not args.database_url:
        p.error("--database-url (or DATABASE_URL) is required")
    result: dict[str, Any] = {
        "database_url": args.database_url,
        "started_at": datetime.now(UTC).isoformat(),
        "period": [args.start, args.end],
        "load_average": {"before": load_average()},
    }
    result |= sizes(args.database_url)
    log(f"{result['dossiers']:,} dossiers, {result['open_dossiers']:,} open")
    result["baseline_open_count"] = baseline(args.database_url, args.runs)
    b = result["baseline_open_count"]
    log(f"  baseline {BASELINE_SQL}: p50 {b['p50']:.1f} / p95 {b['p95']:.1f} ms")
    result["latency"] = inprocess_latency(args.database_url, args.runs, queries(args.start, args.end))
    result["load_average"]["after"] = load_average()
    summary = result["latency"]["summary_agency"]["server_side"]
    print(
        f"summary p50 {summary['p50']:.1f} ms, p95 {summary['p95']:.1f} ms; "
        f"baseline (count of open dossiers) p50 {b['p50']:.1f} ms, p95 {b['p95']:.1f} ms"
    )
    text_ = json.dumps(result, indent=2)
    print(text_)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text_ + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
