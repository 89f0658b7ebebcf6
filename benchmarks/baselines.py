"""Baselines: the same aggregates computed without rollups, by a plain SQL GROUP BY over the dossiers
table of the same database, and by DuckDB over the same records (loaded once from the NDJSON file).

Each baseline is one SQL statement of conditional sums over the dossier rows, using the local dates
the service derives at ingest (received_date, close_date, due_date, finish_class):
- not bucketed by time (totals, agency × sector, the report by agency): every count of contract §4.2,
  the states (carried over, pending, overdue) included, in one scan;
- bucketed by month (commune × month): the received- and finish-based counts per month only; the
  per-month states are left out, so this baseline does less work than the service and the speed-up
  printed for it is understated.
The results are compared with the service's responses (see compare()), so a baseline is known to
compute the same figures, not merely something of the same size.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text

from app.store.engine import make_engine
from benchmarks.common import log, summary_ms

Rows = dict[tuple[Any, ...], dict[str, int]]
FINISHED = "('resolved', 'returned', 'rejected')"


@dataclass(frozen=True, slots=True)
class Aggregate:
    key: str  # the service query it mirrors
    dims: tuple[str, ...]  # dossier columns grouped by
    start: date
    end: date
    monthly: bool = False


AGGREGATES = (
    Aggregate("totals_year", (), date(2025, 1, 1), date(2025, 12, 31)),
    Aggregate("commune_month_year", ("commune_code",), date(2025, 1, 1), date(2025, 12, 31), monthly=True),
    Aggregate("agency_sector_q3", ("agency_code", "sector"), date(2025, 7, 1), date(2025, 9, 30)),
    # The periodic report for 2025-Q3 under the reporting cut-off: 15 June to 14 September.
    Aggregate("report_agency_q3", ("agency_code",), date(2025, 6, 15), date(2025, 9, 14)),
)


class Dialect:
    def __init__(self, name: str) -> None:
        self.name = name

    def b(self, column: str) -> str:
        return f"{column} = 1" if self.name == "sqlite" else column

    def d(self, value: date) -> str:
        return f"'{value.isoformat()}'" if self.name == "sqlite" else f"DATE '{value.isoformat()}'"

    def month(self, column: str) -> str:
        if self.name == "sqlite":
            return f"substr({column}, 1, 7)"
        if self.name == "postgresql":
            return f"to_char({column}, 'YYYY-MM')"
        return f"strftime({column}, '%Y-%m')"


def _sum(cond: str) -> str:
    return f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)"


def received_sums(dl: Dialect, within: str) -> dict[str, str]:
    return {
        "received": _sum(within),
        "received_online": _sum(f"{within} AND channel = 'online'"),
        "received_full_online": _sum(f"{within} AND channel = 'online' AND online_level = 'full'"),
        "fee_required": _sum(f"{within} AND {dl.b('fee_required')}"),
        "paid_online": _sum(f"{within} AND {dl.b('paid_online')}"),
        "digitised_intake": _sum(f"{within} AND {dl.b('digitised_intake')}"),
        "reused_digital_data": _sum(f"{within} AND {dl.b('reused_digital_data')}"),
    }


def finish_sums(dl: Dialect, within: str) -> dict[str, str]:
    fin = f"{within} AND status IN {FINISHED}"
    return {
        "finished": _sum(fin),
        "finished_early": _sum(f"{fin} AND finish_class = 1"),
        "finished_on_time": _sum(f"{fin} AND finish_class = 2"),
        "finished_late": _sum(f"{fin} AND finish_class = 3"),
        "digitised_result": _sum(f"{fin} AND {dl.b('digitised_result')}"),
        "rated": _sum(f"{fin} AND rating IS NOT NULL"),
        "satisfied": _sum(f"{fin} AND rating IN ('very_satisfied', 'satisfied')"),
        "withdrawn": _sum(f"{within} AND status = 'withdrawn'"),
    }


def sql_for(agg: Aggregate, dl: Dialect) -> str:
    s, e = dl.d(agg.start), dl.d(agg.end)
    dims = list(agg.dims)
    if agg.monthly:
        rec = received_sums(dl, "1 = 1")
        fin = finish_sums(dl, "1 = 1")
        names = [*rec, *fin]
        dim_sql = "".join(f"{c}, " for c in dims)
        rec_cols = ", ".join([*(f"{v} AS {k}" for k, v in rec.items()), *(f"0 AS {k}" for k in fin)])
        fin_cols = ", ".join([*(f"0 AS {k}" for k in rec), *(f"{v} AS {k}" for k, v in fin.items())])
        group = ", ".join([*dims, "m"])
        return (
            f"SELECT {dim_sql}m, {', '.join(f'SUM({n})' for n in names)} FROM ("
            f"SELECT {dim_sql}{dl.month('received_date')} AS m, {rec_cols} FROM dossiers "
            f"WHERE received_date BETWEEN {s} AND {e} GROUP BY {group} "
            f"UNION ALL "
            f"SELECT {dim_sql}{dl.month('close_date')} AS m, {fin_cols} FROM dossiers "
            f"WHERE close_date BETWEEN {s} AND {e} GROUP BY {group}"
            f") AS u GROUP BY {group}"
        )
    pending_end = f"received_date <= {e} AND (close_date IS NULL OR close_date > {e})"
    overdue_end = f"{pending_end} AND due_date <= {e}"
    sums = {
        **received_sums(dl, f"received_date BETWEEN {s} AND {e}"),
        **finish_sums(dl, f"close_date BETWEEN {s} AND {e}"),
        "carried_over": _sum(f"received_date < {s} AND (close_date IS NULL OR close_date >= {s})"),
        "pending": _sum(pending_end),
        "pending_overdue": _sum(overdue_end),
        "late_apologised": _sum(
            f"((close_date BETWEEN {s} AND {e} AND status IN {FINISHED} AND finish_class = 3) "
            f"OR ({overdue_end})) AND {dl.b('apology_issued')}"
        ),
    }
    cols = ", ".join([*dims, *(f"{v} AS {k}" for k, v in sums.items())])
    group = f" GROUP BY {', '.join(dims)}" if dims else ""
    return f"SELECT {cols} FROM dossiers WHERE received_date <= {e}{group}"


def count_names(agg: Aggregate) -> list[str]:
    dl = Dialect("sqlite")
    names = [*received_sums(dl, "x"), *finish_sums(dl, "x")]
    if not agg.monthly:
        names += ["carried_over", "pending", "pending_overdue", "late_apologised"]
    return names


def _rows(agg: Aggregate, raw: Sequence[Sequence[Any]]) -> Rows:
    n = len(agg.dims) + (1 if agg.monthly else 0)
    names = count_names(agg)
    out: Rows = {}
    for r in raw:
        key = tuple(r[:n])
        out[key] = {name: int(v or 0) for name, v in zip(names, r[n:], strict=True)}
    return out


def _time(
    run: Callable[[], Sequence[Sequence[Any]]], runs: int
) -> tuple[list[float], Sequence[Sequence[Any]]]:
    times, result = [], []
    for _ in range(runs):
        t = time.perf_counter()
        result = list(run())
        times.append(time.perf_counter() - t)
    return times, result


def sql_baselines(database_url: str, dialect: str, runs: int) -> tuple[dict[str, Any], dict[str, Rows]]:
    """The plain GROUP BY over the dossiers table in the service's own database."""
    engine = make_engine(database_url)
    out: dict[str, Any] = {}
    results: dict[str, Rows] = {}
    try:
        with engine.connect() as conn:
            for agg in AGGREGATES:
                sql = sql_for(agg, Dialect(dialect))

                def query(sql: str = sql) -> list[tuple[Any, ...]]:
                    return [tuple(r) for r in conn.execute(text(sql))]

                times, raw = _time(query, runs)
                conn.rollback()
                results[agg.key] = _rows(agg, raw)
                out[agg.key] = summary_ms(times) | {"rows": len(raw)}
                log(f"  SQL GROUP BY {agg.key}: p50 {out[agg.key]['p50']:,.0f} ms over {runs} runs")
    finally:
        engine.dispose()
    return out, results


DUCKDB_LOAD = """
CREATE MACRO local_date(t) AS CAST(make_timestamp(epoch_us(t) + 25200000000) AS DATE);
CREATE TABLE dossiers AS
SELECT code, procedure_code, sector, agency_code, commune_code, channel, online_level, status,
       fee_required, paid_online, digitised_intake, digitised_result, reused_digital_data,
       apology_issued, rating,
       local_date(received_at) AS received_date,
       CASE WHEN status IN ('resolved', 'returned', 'rejected', 'withdrawn') AND resolved_at IS NOT NULL
            THEN local_date(resolved_at) END AS close_date,
       local_date(due_at) AS due_date,
       CASE WHEN status IN ('resolved', 'returned', 'rejected') AND resolved_at IS NOT NULL THEN
            CASE WHEN due_at IS NULL THEN 2
                 WHEN resolved_at > due_at THEN 3
                 WHEN local_date(resolved_at) < local_date(due_at - INTERVAL 1 MICROSECOND) THEN 1
                 ELSE 2 END
       END AS finish_class
FROM read_json(?, format = 'newline_delimited', columns = {
    code: 'VARCHAR', procedure_code: 'VARCHAR', procedure_name: 'VARCHAR', sector: 'VARCHAR',
    agency_code: 'VARCHAR', commune_code: 'VARCHAR', channel: 'VARCHAR', online_level: 'VARCHAR',
    received_at: 'TIMESTAMPTZ', due_at: 'TIMESTAMPTZ', resolved_at: 'TIMESTAMPTZ',
    returned_at: 'TIMESTAMPTZ', status: 'VARCHAR', fee_required: 'BOOLEAN', paid_online: 'BOOLEAN',
    digitised_intake: 'BOOLEAN', digitised_result: 'BOOLEAN', reused_digital_data: 'BOOLEAN',
    apology_issued: 'BOOLEAN', rating: 'VARCHAR', updated_at: 'TIMESTAMPTZ'});
"""


def duckdb_baselines(
    ndjson: Path, db_path: Path, records: int, runs: int, reuse: bool, threads: int
) -> tuple[dict[str, Any], dict[str, Rows]]:
    """DuckDB over the same records: loaded once into a DuckDB file (reused with --skip-load)."""
    import duckdb

    db_path.parent.mkdir(parents=True, exist_ok=True)
    load: dict[str, Any] = {"reused": False}
    if not reuse or not db_path.exists():
        db_path.unlink(missing_ok=True)
        con = duckdb.connect(str(db_path))
        con.execute(f"SET threads = {threads}")
        started = time.perf_counter()
        con.execute(DUCKDB_LOAD.split(";\n", 1)[0])
        con.execute(DUCKDB_LOAD.split(";\n", 1)[1], [str(ndjson)])
        con.execute("CHECKPOINT")
        load = {"reused": False, "seconds": round(time.perf_counter() - started, 2)}
        log(f"  DuckDB: loaded {records:,} records in {load['seconds']:.1f}s")
    else:
        con = duckdb.connect(str(db_path))
        con.execute(f"SET threads = {threads}")
        load = {"reused": True}
    try:
        row = con.execute("SELECT count(*) FROM dossiers").fetchone()
        if row is None or row[0] != records:
            raise RuntimeError(f"the DuckDB copy holds {row} records, expected {records}")
        out: dict[str, Any] = {"load": load, "threads": threads}
        results: dict[str, Rows] = {}
        for agg in AGGREGATES:
            sql = sql_for(agg, Dialect("duckdb"))

            def query(sql: str = sql) -> list[tuple[Any, ...]]:
                return con.execute(sql).fetchall()

            times, raw = _time(query, runs)
            results[agg.key] = _rows(agg, raw)
            out[agg.key] = summary_ms(times) | {"rows": len(raw)}
            log(f"  DuckDB {agg.key}: p50 {out[agg.key]['p50']:,.1f} ms over {runs} runs")
    finally:
        con.close()
    return out, results


def service_rows(body: dict[str, Any], group_by: Sequence[str]) -> Rows:
    """A service response's rows (or its totals, without group keys) keyed like a baseline's rows."""
    if not group_by:
        return {(): body["totals"]["counts"]}
    return {tuple(r[g] for g in group_by): r["counts"] for r in body["rows"]}


def compare(service: Rows, baseline: Rows) -> dict[str, Any]:
    """Differences between the service's counts and a baseline's, on the counts the baseline computes."""
    diffs: list[dict[str, Any]] = []
    for key in sorted(set(service) | set(baseline), key=repr):
        b = baseline.get(key)
        s = service.get(key)
        if b is None:
            if s is not None and any(s.values()):
                diffs.append({"key": list(key), "service": "row", "baseline": None})
            continue
        for name, value in b.items():
            got = (s or {}).get(name, 0)
            if got != value:
                diffs.append({"key": list(key), "count": name, "service": got, "baseline": value})
    return {"groups": len(baseline), "differences": len(diffs), "first": diffs[:5]}
