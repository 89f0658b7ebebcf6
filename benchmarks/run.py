"""The benchmark of issue 5: ingestion, query latency beside SQL GROUP BY and DuckDB baselines, and
throughput, for SQLite and PostgreSQL at the sizes given. `make bench ARGS="--sizes 100000,1000000"`.

For each store and size: a fresh database, the real server (`tthc-metrics serve`, 1 worker) importing
the cached NDJSON file over HTTP; then a freshly started server for latency (cold, uncached, cached),
the app in-process for the server-side time, the baselines on the same database and on DuckDB, and a
server with --workers N under wrk. Figures go to the console and to --out as JSON and Markdown.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from app.store.engine import make_engine
from benchmarks import baselines, data, ingest, profile, queries, report, server, throughput
from benchmarks.common import ROOT, count_rows, human_count, load_average, log, machine_cpu
from benchmarks.stores import PostgresStore, SqliteStore, Store


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    p.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--sizes", default="100000,1000000", help="dossier counts, comma-separated")
    p.add_argument("--runs", type=int, default=50, help="latency repetitions per query and kind")
    p.add_argument("--baseline-runs", type=int, default=3)
    p.add_argument("--workers", type=int, default=2, help="server workers under wrk")
    p.add_argument("--wrk-seconds", type=int, default=10)
    p.add_argument("--wrk-threads", type=int, default=1)
    p.add_argument("--wrk-connections", type=int, default=16)
    p.add_argument("--out", type=Path, default=None, help="where results.json and results.md go")
    p.add_argument(
        "--cache-dir", type=Path, default=ROOT / "bench-results", help="datasets, databases, DuckDB files"
    )
    p.add_argument("--skip-load", action="store_true", help="reuse the database already loaded for a size")
    p.add_argument("--gen-procs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--duckdb-threads", type=int, default=os.cpu_count() or 1)
    p.add_argument(
        "--phases",
        default="latency,baselines,throughput",
        help="after the load: any of latency, baselines, throughput (comma-separated; empty for none)",
    )
    p.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="also import N records into a scratch database per store under py-spy, and summarise",
    )
    args = p.parse_args(argv)
    args.size_list = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    args.phase_set = {s.strip() for s in args.phases.split(",") if s.strip()}
    unknown = args.phase_set - {"latency", "baselines", "throughput"}
    if unknown:
        p.error(f"unknown phases: {', '.join(sorted(unknown))}")
    if args.out is None:
        args.out = args.cache_dir / f"run-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"
    return args


def _run(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "?"


def machine() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    with contextlib.suppress(OSError, ValueError):
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    import duckdb

    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": _run(["bash", "-c", "ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1"]) or "?",
        "duckdb": duckdb.__version__,
        "wrk": _run(["bash", "-c", "wrk -v 2>&1 | head -1"]) or "not installed",
    }


def _stores(choice: str, cache_dir: Path) -> list[Store]:
    out: list[Store] = []
    if choice in ("sqlite", "both"):
        out.append(SqliteStore(cache_dir / "db"))
    if choice in ("postgresql", "both"):
        out.append(PostgresStore(cache_dir / "pg"))
    return out


def _rollup_rows(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM rollups")).scalar_one())
    finally:
        engine.dispose()


class Phase:
    """Notes the machine's load during a phase: work of other processes on the 2 cores skews figures."""

    def __init__(self, run: dict[str, Any], name: str) -> None:
        self.run, self.name = run, name

    def __enter__(self) -> Phase:
        self.load = load_average()
        self.busy0, self.t0 = machine_cpu()[0], time.monotonic()
        if self.load > 1.0:
            log(f"  note: load average {self.load:.1f} at the start of {self.name}: other work is running")
        return self

    def __exit__(self, *exc: object) -> None:
        seconds = max(time.monotonic() - self.t0, 1e-9)
        self.run.setdefault("machine", {})[self.name] = {
            "load_average_start": self.load,
            "busy_cores": round((machine_cpu()[0] - self.busy0) / seconds, 2),
            "seconds": round(seconds, 1),
        }


def bench_one(store: Store, ds: data.Dataset, args: argparse.Namespace) -> dict[str, Any]:
    """Every figure for one store and size."""
    label = human_count(ds.size)
    url = store.url(label)
    logs = args.out / "logs"
    run: dict[str, Any] = {"store": store.name, "size": ds.size, "label": label}
    run["dataset"] = {
        "path": str(ds.path),
        "mb": round(ds.bytes / 1e6, 1),
        "generated_s": ds.generated_seconds,
    }

    log(f"== {store.name} {label}: load")
    existing = store.dossier_count(label) if args.skip_load else None
    sidecar = args.cache_dir / "db" / f"{store.name}-{label}.load.json"
    if args.skip_load and existing == ds.size:
        earlier = json.loads(sidecar.read_text()) if sidecar.exists() else {}
        run["load"] = {"skipped": True, **earlier.get("load", {}), "from_run": earlier.get("run")}
        if "analyze_s" in earlier:
            run["analyze_s"] = earlier["analyze_s"]
        log(f"  reusing the loaded database ({existing:,} dossiers); load figures of {earlier.get('run')}")
    else:
        if args.skip_load:
            log(f"  --skip-load: the database holds {existing} dossiers, not {ds.size:,}; loading it")
        store.fresh(label)
        srv = server.start(url, 1, logs / f"{store.name}-{label}-ingest.log")
        try:
            log(f"  importing {ds.size:,} records ({ds.bytes / 1e6:,.0f} MB) over HTTP")
            run["load"] = ingest.run_import(srv, ds.path, ds.size, store.db_pid())
        finally:
            srv.stop()
        ld = run["load"]
        log(
            f"  imported in {ld['seconds']:,.1f}s: {ld['records_per_s']:,.0f} records/s, "
            f"peak RSS {ld['peak_rss_mb']:,.0f} MB, server CPU {ld['server_cpu_share']:.2f} cores"
            + (f", PostgreSQL CPU {ld['db_cpu_share']:.2f} cores" if "db_cpu_share" in ld else "")
        )
        started = time.perf_counter()
        store.analyze(label)
        run["analyze_s"] = round(time.perf_counter() - started, 2)
        sidecar.parent.mkdir(parents=True, exist_ok=True)
        sidecar.write_text(
            json.dumps({"run": str(args.out), "load": run["load"], "analyze_s": run["analyze_s"]}, indent=2)
        )
    run["db_mb"] = round(store.db_bytes(label) / 1e6, 1)
    run["rollup_rows"] = _rollup_rows(url)
    run["index_rollup_rows"] = count_rows(url, "index_rollups")
    log(
        f"  database {run['db_mb']:,.0f} MB, {run['rollup_rows']:,} rollup rows, "
        f"{run['index_rollup_rows'] or 0:,} index rollup rows"
    )

    bodies: dict[str, Any] = {}
    if "latency" in args.phase_set:
        log(f"== {store.name} {label}: latency over HTTP (fresh server, 1 worker)")
        srv = server.start(url, 1, logs / f"{store.name}-{label}-latency.log")
        try:
            with Phase(run, "latency"):
                with ds.path.open("rb") as fh:
                    bump_record = json.loads(fh.readline())
                run["latency"], bodies = queries.http_latency(srv.base_url, args.runs, bump_record)
            run["serve_rss_mb"] = round(srv.rss_kb() / 1024, 1)
        finally:
            srv.stop()
        log(f"== {store.name} {label}: server-side time (app in-process, no response cache)")
        with Phase(run, "server_side"):
            inproc = queries.inprocess_latency(url, args.runs)
        for key, value in inproc.items():
            if value.get("available"):
                run["latency"].setdefault(key, {}).update(server_side=value["server_side"])

    if "baselines" in args.phase_set:
        log(f"== {store.name} {label}: baselines")
        dialect = "sqlite" if store.name == "sqlite" else "postgresql"
        duck_path = args.cache_dir / "duckdb" / f"dossiers-{label}.duckdb"
        with Phase(run, "baselines"):
            sql, sql_rows = baselines.sql_baselines(url, dialect, args.baseline_runs)
            duck, duck_rows = baselines.duckdb_baselines(
                ds.path,
                duck_path,
                ds.size,
                args.baseline_runs,
                reuse=args.skip_load,
                threads=args.duckdb_threads,
            )
        run["baselines"] = {"sql": sql, "duckdb": duck}
        run["checks"] = {}
        by_key = {q.key: q for q in queries.QUERIES}
        for key, body in bodies.items():
            if key not in sql_rows:  # no baseline for this query (the national index)
                continue
            mine = baselines.service_rows(body, by_key[key].group_by)
            run["checks"][key] = {
                "sql": baselines.compare(mine, sql_rows[key]),
                "duckdb": baselines.compare(mine, duck_rows[key]),
            }
            for name, c in run["checks"][key].items():
                if c["differences"]:
                    log(
                        f"  WARNING {key}: service and {name} baseline differ in {c['differences']} counts: "
                        f"{c['first'][:2]}"
                    )

    if "throughput" in args.phase_set:
        log(f"== {store.name} {label}: throughput (wrk, {args.workers} workers)")
        srv = server.start(url, args.workers, logs / f"{store.name}-{label}-wrk.log")
        try:
            with Phase(run, "throughput"):
                run["throughput"] = throughput.run_wrk(
                    srv.base_url, args.wrk_seconds, args.wrk_threads, args.wrk_connections, args.workers
                )
        finally:
            srv.stop()
    return run


def profile_store(store: Store, ds: data.Dataset, args: argparse.Namespace) -> dict[str, Any]:
    label = f"profile-{human_count(ds.size)}"
    store.fresh(label)
    srv = server.start(store.url(label), 1, args.out / "logs" / f"{store.name}-{label}.log")
    try:
        log(f"== {store.name}: ingestion profile, {ds.size:,} records under py-spy")
        result = profile.profile_import(
            srv, ds.path, ds.size, args.out, f"{store.name}-{human_count(ds.size)}", store.db_pid()
        )
    finally:
        srv.stop()
    print(profile.profile_text(result["summary"]), flush=True)
    return {"store": store.name, "label": human_count(ds.size), **result}


def save(result: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=2, default=str))
    (out / "results.md").write_text(report.markdown(result))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    commit = _run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = _run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"])
    result: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": commit + ("+dirty" if dirty else ""),
        "command": "python -m benchmarks.run " + " ".join(sys.argv[1:] if argv is None else argv),
        "args": {k: v for k, v in vars(args).items() if k not in ("size_list", "phase_set")},
        "machine": machine(),
        "runs": [],
        "profiles": [],
    }
    log(f"results go to {args.out}")
    datasets = {n: data.dataset(n, args.cache_dir / "data", args.gen_procs) for n in args.size_list}
    result["datasets"] = {
        human_count(n): {"mb": round(d.bytes / 1e6, 1), "generated_s": d.generated_seconds}
        for n, d in datasets.items()
    }
    for store in _stores(args.store, args.cache_dir):
        store.start()
        result["machine"][f"{store.name} settings"] = ", ".join(
            f"{k}={v}" for k, v in store.settings().items()
        )
        try:
            for n in args.size_list:
                result["runs"].append(bench_one(store, datasets[n], args))
                save(result, args.out)
            if args.profile:
                ds = data.dataset(args.profile, args.cache_dir / "data", args.gen_procs)
                result["profiles"].append(profile_store(store, ds, args))
                save(result, args.out)
        finally:
            store.stop()
    save(result, args.out)
    runs = result["runs"]
    print()
    print(report.ingest_table(runs))
    for r in runs:
        print(f"\n{r['store']} {r['label']}:")
        print(report.latency_table(r))
    tp = report.throughput_table(runs)
    if tp.count("\n") > 1:
        print("\nThroughput (wrk):")
        print(tp)
    for store_name in dict.fromkeys(r["store"] for r in runs):
        g = report.growth_table(runs, store_name)
        if g:
            print(f"\nGrowth with size, {store_name}:")
            print(g)
    print("\nTargets (issue 5):")
    for t in report.targets(runs):
        print(f"  {t}")
    print(f"\nwritten: {args.out / 'results.json'}, {args.out / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
