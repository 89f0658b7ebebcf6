"""The worklists on a database already loaded: the server-side time of uncached `GET /v1/worklists`
(the counts per unit and kind, for the dashboard) and of a first page of two lists, printed beside a
plain-query baseline, timed on a connection of its own.

    DATABASE_URL=sqlite:///bench-results/worklists-100k.db .venv/bin/tthc-metrics migrate
    DATABASE_URL=sqlite:///bench-results/worklists-100k.db .venv/bin/tthc-metrics demo-data --dossiers 100000
    .venv/bin/python -m benchmarks.worklists --database-url sqlite:///bench-results/worklists-100k.db

The baseline is the dossiers the summary read when it counted every kind from them: one plain
`SELECT count(*)` per statement, over the same rows through the same index (the open dossiers; the
unpaid ones received in the period, the closed ones without an electronic result and the late
unapologised ones closed in the period, each with its partial index's predicate, app.models.tables),
ungrouped, without the kinds' other conditions; timed as the four in a row. The summary now reads the
open and the late ones of these, and takes unpaid_online and no_electronic_result from the rollups'
sums (app.worklists.service), so it can take less than the baseline; `each` times the four apart.

The period of the period kinds (`--from`, `--to`) defaults to the 365 days up to the latest received
date in the database: the whole year of the demo data however long ago it was loaded (the largest
period a request may ask, so the summary's most expensive one).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, func, select, text

from app.models import Dossier
from app.models.tables import WL_LATE_UNAPOLOGISED, WL_NO_RESULT, WL_UNPAID
from app.store.engine import make_engine
from benchmarks.common import load_average, log, summary_ms
from benchmarks.queries import Query, inprocess_latency

OPEN_SQL = "SELECT count(*) FROM dossiers WHERE close_date IS NULL"


def sizes(conn: Connection) -> dict[str, int]:
    def one(sql: str) -> int:
        return int(conn.execute(text(sql)).scalar_one())

    return {
        "dossiers": one("SELECT count(*) FROM dossiers"),
        "open_dossiers": one(OPEN_SQL),
        "with_two_requests": one(
            "SELECT count(*) FROM dossiers WHERE close_date IS NULL "
            "AND supplements LIKE '%requested_at%requested_at%'"
        ),
    }


def latest_received(conn: Connection) -> date | None:
    found = conn.execute(select(func.max(Dossier.received_date))).scalar_one()
    return None if found is None else date.fromisoformat(str(found))


def baseline_counts(start: date, end: date) -> dict[str, ColumnElement[bool]]:
    """The rows each statement of the summary reads, as plain conditions (one count each)."""
    closed_in = and_(Dossier.close_date >= start, Dossier.close_date <= end)
    return {
        "open": Dossier.close_date.is_(None),
        "late_closed": and_(closed_in, WL_LATE_UNAPOLOGISED),
        "unpaid": and_(Dossier.received_date >= start, Dossier.received_date <= end, WL_UNPAID),
        "no_result": and_(closed_in, WL_NO_RESULT),
    }


def baseline(engine: Engine, runs: int, start: date, end: date) -> dict[str, Any]:
    """The plain counts' time, as the store answers them (one connection, statements only): each
    count, and the four in a row (the figure beside the summary)."""
    statements = {
        name: select(func.count()).select_from(Dossier).where(cond)
        for name, cond in baseline_counts(start, end).items()
    }
    with engine.connect() as conn:
        counts = {name: int(conn.execute(q).scalar_one()) for name, q in statements.items()}  # warm-up
        each: dict[str, list[float]] = {name: [] for name in statements}
        together: list[float] = []
        for _ in range(runs):
            first = time.perf_counter()
            for name, q in statements.items():
                started = time.perf_counter()
                conn.execute(q).scalar_one()
                each[name].append(time.perf_counter() - started)
            together.append(time.perf_counter() - first)
    return {
        "rows": counts,
        "all_four": summary_ms(together),
        "each": {name: summary_ms(took) for name, took in each.items()},
    }


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
    p = argparse.ArgumentParser(prog="python -m benchmarks.worklists", description=__doc__)
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), required=False)
    p.add_argument("--runs", type=int, default=40, help="requests per query (after one warm-up)")
    p.add_argument("--from", dest="start", type=date.fromisoformat, default=None)
    p.add_argument("--to", dest="end", type=date.fromisoformat, default=None)
    p.add_argument(
        "--only",
        nargs="+",
        default=None,
        help="time only these requests (summary_agency, summary_commune, overdue_page, unpaid_page)",
    )
    p.add_argument("--out", type=Path, default=None, help="write the figures here as JSON")
    args = p.parse_args(argv)
    if not args.database_url:
        p.error("--database-url (or DATABASE_URL) is required")
    if (args.start is None) != (args.end is None):
        p.error("--from and --to go together")
    result: dict[str, Any] = {
        "database_url": args.database_url,
        "started_at": datetime.now(UTC).isoformat(),
        "load_average": {"before": load_average()},
    }
    engine = make_engine(args.database_url)
    try:
        with engine.connect() as conn:
            result |= sizes(conn)
            latest = latest_received(conn) or datetime.now(UTC).date()
        start, end = (args.start, args.end) if args.start else (latest - timedelta(days=364), latest)
        result["period"] = [start.isoformat(), end.isoformat()]
        log(f"{result['dossiers']:,} dossiers, {result['open_dossiers']:,} open; period {start} to {end}")
        result["baseline"] = baseline(engine, args.runs, start, end)
    finally:
        engine.dispose()
    b = result["baseline"]["all_four"]
    log(
        f"  baseline (the four plain counts, rows {result['baseline']['rows']}): "
        f"p50 {b['p50']:.1f} / p95 {b['p95']:.1f} ms"
    )
    for name, s in result["baseline"]["each"].items():
        log(f"    {name}: p50 {s['p50']:.1f} / p95 {s['p95']:.1f} ms")
    chosen = [q for q in queries(start.isoformat(), end.isoformat()) if not args.only or q.key in args.only]
    result["latency"] = inprocess_latency(args.database_url, args.runs, chosen)
    result["load_average"]["after"] = load_average()
    for key in ("summary_agency", "summary_commune"):
        if key in result["latency"]:
            s = result["latency"][key]["server_side"]
            print(
                f"{key}: p50 {s['p50']:.1f} ms, p95 {s['p95']:.1f} ms; baseline (plain counts of the same "
                f"rows) p50 {b['p50']:.1f} ms, p95 {b['p95']:.1f} ms"
            )
    text_ = json.dumps(result, indent=2)
    print(text_)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text_ + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
