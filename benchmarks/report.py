"""The run's figures as tables (console and Markdown), the growth across sizes, and the targets of
issue 5 checked against what was measured."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from benchmarks.profile import profile_text
from benchmarks.queries import QUERIES

TARGET_INGEST = {"sqlite": 20_000, "postgresql": 10_000}
TARGET_RSS_MB = 400
TARGET_P95_MS = 50
# The national index for every unit of a quarter (issue 15): p95 ≤ 100 ms at 10M on SQLite.
TARGET_P95_MS_BY_QUERY = {"index_agency_q3": 100, "index_commune_q3": 100}
TARGET_SPEEDUP = 20
TARGET_RPS = 1_000


def _f(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, int | float):
        return f"{value:,.{digits}f}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table (also readable on a console)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    return "\n".join([line, sep, *body])


def _speedup(baseline: dict[str, Any] | None, service_ms: float | None) -> str:
    if not baseline or not service_ms or "p50" not in baseline:
        return "–"
    x = baseline["p50"] / service_ms
    return f"{x:,.1f}×" if x < 10 else f"{x:,.0f}×"


def ingest_table(runs: Sequence[dict[str, Any]]) -> str:
    rows = []
    for r in runs:
        ld = r.get("load") or {}
        if ld.get("skipped") and "seconds" not in ld:
            rows.append([r["store"], r["label"], "reused (--skip-load)", *["–"] * 8])
            continue
        rows.append(
            [
                r["store"],
                r["label"] + (" (loaded by an earlier run)" if ld.get("skipped") else ""),
                _f(ld.get("seconds"), 1),
                _f(ld.get("records_per_s"), 0),
                _f(ld.get("peak_rss_mb"), 0),
                _f(ld.get("server_cpu_share"), 2),
                _f(ld.get("db_cpu_share"), 2),
                _f(ld.get("other_cpu_share"), 2),
                _f(r.get("db_mb"), 0),
                _f(r.get("rollup_rows"), 0),
                _f(r.get("analyze_s"), 1),
            ]
        )
    return table(
        [
            "store",
            "dossiers",
            "import s",
            "records/s",
            "peak RSS MB",
            "server CPU (cores)",
            "PostgreSQL CPU (cores)",
            "other processes' CPU (cores)",
            "DB size MB",
            "rollup rows",
            "ANALYZE s",
        ],
        rows,
    )


def latency_table(run: dict[str, Any]) -> str:
    rows = []
    lat = run.get("latency", {})
    base = run.get("baselines", {})
    checks = run.get("checks", {})
    for q in QUERIES:
        m = lat.get(q.key, {})
        sql = base.get("sql", {}).get(q.key)
        duck = base.get("duckdb", {}).get(q.key)
        if not m.get("available"):
            rows.append(
                [
                    q.label,
                    "not available yet (404)" if m else "–",
                    "–",
                    "–",
                    "–",
                    _f(sql and sql.get("p50"), 0),
                    "–",
                    _f(duck and duck.get("p50"), 1),
                    "–",
                    "–",
                ]
            )
            continue
        unc = m.get("uncached", {})
        srv = m.get("server_side", {})
        hit = m.get("cached", {})
        check = checks.get(q.key, {})
        diffs = [c.get("differences") for c in check.values() if c]
        rows.append(
            [
                q.label,
                _f(m.get("cold_ms"), 1),
                f"{_f(unc.get('p50'))} / {_f(unc.get('p95'))}",
                f"{_f(srv.get('p50'))} / {_f(srv.get('p95'))}",
                f"{_f(hit.get('p50'), 2)} / {_f(hit.get('p95'), 2)}",
                _f(sql and sql.get("p50"), 0),
                _speedup(sql, unc.get("p95")),
                _f(duck and duck.get("p50"), 1),
                _speedup(duck, unc.get("p95")),
                ("same figures" if diffs and not any(diffs) else f"{sum(d or 0 for d in diffs)} differ")
                if diffs
                else "–",
            ]
        )
    return table(
        [
            "query",
            "cold ms",
            "uncached p50 / p95 ms (HTTP)",
            "server-side p50 / p95 ms",
            "cached p50 / p95 ms (HTTP)",
            "SQL GROUP BY p50 ms",
            "× SQL",
            "DuckDB p50 ms",
            "× DuckDB",
            "vs baselines",
        ],
        rows,
    )


def throughput_table(runs: Sequence[dict[str, Any]]) -> str:
    rows = []
    for r in runs:
        t = r.get("throughput")
        if not t:
            continue
        cells = [r["store"], r["label"], str(t["workers"])]
        for key in ("totals_year", "commune_month_year", "totals_year_304"):
            x = t.get(key, {})
            cells.append(
                f"{_f(x.get('requests_per_s'), 0)} (p99 {_f(x.get('latency_p99_ms'), 1)} ms, "
                f"{x.get('x_cache_or_status', '?')})"
            )
        rows.append(cells)
    return table(
        [
            "store",
            "dossiers",
            "workers",
            "totals 2025 req/s",
            "commune × month req/s",
            "totals 2025, If-None-Match → 304 req/s",
        ],
        rows,
    )


def _metric(run: dict[str, Any], path: Sequence[str]) -> float | None:
    cur: Any = run
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return None
        cur = cur[p]
    return float(cur) if isinstance(cur, int | float) else None


GROWTH_METRICS: list[tuple[str, tuple[str, ...]]] = [
    ("ingest records/s", ("load", "records_per_s")),
    ("ingest peak RSS MB", ("load", "peak_rss_mb")),
    *((f"{q.label}: uncached p95 ms", ("latency", q.key, "uncached", "p95")) for q in QUERIES),
    *((f"{q.label}: server-side p95 ms", ("latency", q.key, "server_side", "p95")) for q in QUERIES),
    *((f"{q.label}: cached p95 ms", ("latency", q.key, "cached", "p95")) for q in QUERIES),
    *((f"{q.label}: SQL GROUP BY p50 ms", ("baselines", "sql", q.key, "p50")) for q in QUERIES),
    *((f"{q.label}: DuckDB p50 ms", ("baselines", "duckdb", q.key, "p50")) for q in QUERIES),
    ("wrk totals req/s", ("throughput", "totals_year", "requests_per_s")),
    ("wrk commune × month req/s", ("throughput", "commune_month_year", "requests_per_s")),
    ("wrk 304 req/s", ("throughput", "totals_year_304", "requests_per_s")),
]


def growth_table(runs: Sequence[dict[str, Any]], store: str) -> str:
    mine = sorted((r for r in runs if r["store"] == store), key=lambda r: r["size"])
    if len(mine) < 2:
        return ""
    rows = []
    for name, path in GROWTH_METRICS:
        values = [_metric(r, path) for r in mine]
        if all(v is None for v in values):
            continue
        first, last = values[0], values[-1]
        ratio = f"{last / first:.2f}×" if first and last is not None else "–"
        rows.append([name, *(_f(v, 1) for v in values), ratio])
    return table(["figure", *(r["label"] for r in mine), f"{mine[-1]['label']} ÷ {mine[0]['label']}"], rows)


def targets(runs: Sequence[dict[str, Any]]) -> list[str]:
    """Each target of issue 5 against the measured figures (at the sizes that were run)."""
    out = []
    for r in runs:
        tag = f"{r['store']} {r['label']}"
        ld = r.get("load") or {}
        if "records_per_s" in ld:
            goal = TARGET_INGEST[r["store"]]
            ok = ld["records_per_s"] >= goal
            out.append(f"{tag}: ingest {ld['records_per_s']:,.0f} records/s (target ≥ {goal:,}) {_pf(ok)}")
            ok = ld["peak_rss_mb"] <= TARGET_RSS_MB
            out.append(
                f"{tag}: import peak RSS {ld['peak_rss_mb']:,.0f} MB (target ≤ {TARGET_RSS_MB}) {_pf(ok)}"
            )
        for q in QUERIES:
            m = r.get("latency", {}).get(q.key, {})
            if not m.get("available"):
                continue
            p95 = m.get("server_side", {}).get("p95")
            if p95 is not None:
                target = TARGET_P95_MS_BY_QUERY.get(q.key, TARGET_P95_MS)
                out.append(
                    f"{tag}: {q.label} server-side uncached p95 {p95:.1f} ms (target ≤ {target}) "
                    f"{_pf(p95 <= target)}"
                )
            sql = r.get("baselines", {}).get("sql", {}).get(q.key, {})
            unc = m.get("uncached", {}).get("p95")
            if sql.get("p50") and unc:
                x = sql["p50"] / unc
                verdict = _pf(x >= TARGET_SPEEDUP) if r["size"] >= 10_000_000 else "(target applies at 10M)"
                out.append(
                    f"{tag}: {q.label} {x:,.1f}× faster than SQL GROUP BY (uncached p95 over HTTP; "
                    f"target ≥ {TARGET_SPEEDUP}× at 10M) {verdict}"
                )
        rps = _metric(r, ("throughput", "totals_year", "requests_per_s"))
        if rps is not None:
            out.append(
                f"{tag}: totals 2025 {rps:,.0f} req/s (target ≥ {TARGET_RPS:,}) {_pf(rps >= TARGET_RPS)}"
            )
    return out


def _pf(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def markdown(result: dict[str, Any]) -> str:
    runs = result["runs"]
    parts = [
        "# tthc-metrics benchmark",
        "",
        f"Started {result['started_at']}, commit `{result['git_commit']}`, command `{result['command']}`.",
        "",
        "## Machine",
        "",
        *(f"- {k}: {v}" for k, v in result["machine"].items()),
        "",
        "## Ingestion over HTTP (one streamed NDJSON request, 1 worker, fresh database)",
        "",
        ingest_table(runs),
        "",
    ]
    for r in runs:
        parts += [
            f"## Latency: {r['store']}, {r['label']} dossiers ({result['args']['runs']} runs; "
            f"baselines {result['args']['baseline_runs']} runs)",
            "",
            latency_table(r),
            "",
            "Machine during these phases (other sessions share the 2 cores): "
            + "; ".join(
                f"{k}: load average {v['load_average_start']:.1f} at start, {v['busy_cores']:.2f} cores busy"
                for k, v in r.get("machine", {}).items()
            ),
            "",
        ]
    parts += [
        "cold: the first request after the server started (X-Cache: miss). uncached: each request after an "
        "admin write that moves the data version (X-Cache: miss), so the figures are computed from the "
        "rollups. server-side: the app in the benchmark's process, response cache disabled, timed inside "
        "the ASGI call (no HTTP). cached: repeated requests without If-None-Match (X-Cache: hit). "
        "× = baseline p50 ÷ service uncached p95 over HTTP (conservative). The commune × month baseline "
        "computes the received- and finish-based counts only (no per-month states): it does less work "
        "than the service. 'same figures': the service's counts equal both baselines' for every group.",
        "",
    ]
    tp = throughput_table(runs)
    if tp.count("\n") > 1:
        parts += ["## Throughput (wrk, loopback)", "", tp, ""]
    for store in dict.fromkeys(r["store"] for r in runs):
        g = growth_table(runs, store)
        if g:
            parts += [f"## Growth with size: {store}", "", g, ""]
    parts += ["## Targets (issue 5)", "", *(f"- {t}" for t in targets(runs)), ""]
    for p in result.get("profiles", []):
        parts += [
            f"## Ingestion profile: {p['store']}, {p['label']} dossiers "
            f"({p['import']['records_per_s']:,.0f} records/s under py-spy)",
            "",
            "```",
            profile_text(p["summary"]),
            "```",
            "",
        ]
    return "\n".join(parts)
