"""Two commits compared on the same data: `make bench-compare BASE=<rev> ARGS="--size 100000"`.

The base commit (default HEAD~1) is checked out in a git worktree of its own, cached under
`bench-results/trees/<hash>` with a venv synced from *its* uv.lock; the new side is this checkout
(the working tree as it is, uncommitted changes included) unless `--new <rev>` names another commit.
The NDJSON file is generated once. Then, for each round (at least 3), each side in turn, old first in
odd rounds and new first in even ones (so that drift of the machine cancels out):

- a fresh database migrated by the side's own `tthc-metrics migrate` (the schemas of two commits may
  differ), the side's own server (`tthc-metrics serve`, 1 worker) importing the file over HTTP as one
  streamed NDJSON request: records/s, the server's peak RSS and CPU time;
- `ANALYZE`, then a freshly started server of the side answering the dashboard queries of
  benchmarks/queries.py over HTTP: cold, uncached p50/p95 (the data version moved before every request)
  and cached p50, and the server's RSS afterwards.

Printed: the median of each figure over the rounds for old and new, the change, and ✗ where new is worse
than old by more than --threshold percent (10); then one line "WORSE > 10%: …". Results go to --out as
results.json (every round's figures) and results.md. The exit status is 0 whatever the figures say:
the comparison is a report; only a failure to build or run a side is an error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from benchmarks import data, ingest, queries, server
from benchmarks.baselines import Rows, service_rows
from benchmarks.baselines import compare as compare_rows
from benchmarks.common import ROOT, VENV_BIN, count_rows, human_count, load_average, log
from benchmarks.report import table
from benchmarks.stores import PostgresStore, SqliteStore, Store

MIN_ROUNDS = 3


@dataclass(frozen=True, slots=True)
class Side:
    """One of the two commits: where its checkout and its venv are."""

    name: str  # "old" or "new"
    rev: str  # as given on the command line
    commit: str  # the full hash, "+dirty" for a working tree with uncommitted changes
    subject: str
    root: Path
    bin_dir: Path


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    label: str
    path: tuple[str, ...]  # where the figure is in a measurement
    lower_is_better: bool
    checked: bool  # held to the 10% rule; the others are recorded for information
    digits: int = 1


def _metrics() -> list[Metric]:
    out = [
        Metric("ingest_rps", "ingest, records/s", ("load", "records_per_s"), False, True, 0),
        Metric("ingest_peak_rss_mb", "ingest, server peak RSS MB", ("load", "peak_rss_mb"), True, True, 0),
    ]
    for q in queries.QUERIES:
        for pct in ("p50", "p95"):
            out.append(
                Metric(
                    f"{q.key}_uncached_{pct}",
                    f"{q.label}: uncached {pct} ms",
                    ("latency", q.key, "uncached", pct),
                    True,
                    True,
                    2,
                )
            )
    out += [
        Metric("serve_rss_mb", "server RSS after the queries MB", ("serve_rss_mb",), True, True, 0),
        Metric("db_mb", "database size MB", ("db_mb",), True, True, 1),
        # Recorded, not held to the rule: the same figure as records/s, CPU time (less disturbed by
        # other work than wall time, but not what the rule is about), single samples, sub-millisecond
        # figures dominated by the client and loopback, and counts.
        Metric("ingest_s", "ingest, seconds", ("load", "seconds"), True, False, 2),
        Metric("ingest_server_cpu_s", "ingest, server CPU seconds", ("load", "server_cpu_s"), True, False, 1),
    ]
    for q in queries.QUERIES:
        out.append(
            Metric(f"{q.key}_cold", f"{q.label}: cold ms", ("latency", q.key, "cold_ms"), True, False, 1)
        )
        out.append(
            Metric(
                f"{q.key}_cached_p50",
                f"{q.label}: cached p50 ms",
                ("latency", q.key, "cached", "p50"),
                True,
                False,
                2,
            )
        )
    out.append(Metric("rollup_rows", "rollup rows", ("rollup_rows",), True, False, 0))
    out.append(Metric("index_rollup_rows", "index rollup rows", ("index_rollup_rows",), True, False, 0))
    return out


METRICS = _metrics()


# --- the two checkouts ------------------------------------------------------------------------------


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(
        ["git", "-C", str(cwd), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def resolve(rev: str) -> str:
    """The full hash of a revision, or SystemExit with the reason."""
    proc = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise SystemExit(f"bench-compare: {rev!r} is not a commit of {ROOT}")
    return proc.stdout.strip()


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for key in ("PYTHONPATH", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"):
        env.pop(key, None)
    return env


def _tree_is_at(tree: Path, sha: str) -> bool:
    if not (tree / ".git").exists():
        return False
    try:
        return git("rev-parse", "HEAD", cwd=tree) == sha and not git(
            "status", "--porcelain", "--untracked-files=no", cwd=tree
        )
    except subprocess.CalledProcessError:
        return False


def remove_tree(tree: Path) -> None:
    proc = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True, check=False
    )
    if proc.returncode != 0 and tree.exists():
        shutil.rmtree(tree)
    git("worktree", "prune")


def _lock_stamp(tree: Path) -> str:
    h = hashlib.sha256()
    for name in ("pyproject.toml", "uv.lock"):
        h.update((tree / name).read_bytes())
    return h.hexdigest()


def _sync_venv(tree: Path) -> None:
    """The checkout's own venv from its own uv.lock (`uv sync --locked`, as its Makefile does), with
    this checkout's uv; runtime dependencies only (the server is all that runs there)."""
    venv = tree / ".venv"
    marker = venv / ".bench-synced"
    stamp = _lock_stamp(tree)
    if marker.exists() and marker.read_text() == stamp and (venv / "bin" / "tthc-metrics").exists():
        return
    uv = VENV_BIN / "uv"
    if not uv.exists():
        uv = Path(shutil.which("uv") or "uv")
    python = getattr(sys, "_base_executable", sys.executable)
    log(f"  uv sync --locked into {venv}")
    env = {**_clean_env(), "UV_PROJECT_ENVIRONMENT": str(venv)}
    subprocess.run(
        [str(uv), "sync", "--locked", "--no-dev", "--python", str(python), "--quiet"],
        cwd=tree,
        env=env,
        check=True,
    )
    marker.write_text(stamp)


def _check_imports(side: Side) -> None:
    """The side's interpreter must import the side's own `app` (the editable install of its checkout)."""
    found = subprocess.run(
        [str(side.bin_dir / "python"), "-c", "import app; print(app.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=side.root,
        env=_clean_env(),
    ).stdout.strip()
    if not Path(found).resolve().is_relative_to(side.root.resolve()):
        raise SystemExit(f"bench-compare: the {side.name} venv imports {found}, not {side.root}/app")


def checkout(rev: str, name: str, trees: Path) -> Side:
    """A git worktree of the commit with a synced venv, reused when cached at the same commit."""
    sha = resolve(rev)
    tree = trees / sha[:12]
    git("worktree", "prune")
    if tree.exists() and not _tree_is_at(tree, sha):
        log(f"{name}: {tree} is not a clean checkout of {sha[:12]}; recreating it")
        remove_tree(tree)
    if not tree.exists():
        trees.mkdir(parents=True, exist_ok=True)
        log(f"{name}: git worktree of {sha[:12]} at {tree}")
        git("worktree", "add", "--detach", str(tree), sha)
    else:
        log(f"{name}: cached worktree of {sha[:12]} at {tree}")
    _sync_venv(tree)
    side = Side(name, rev, sha, git("log", "-1", "--format=%s", sha), tree, tree / ".venv" / "bin")
    _check_imports(side)
    return side


def this_checkout() -> Side:
    sha = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    side = Side(
        "new",
        "working tree",
        sha + ("+dirty" if dirty else ""),
        git("log", "-1", "--format=%s", sha),
        ROOT,
        VENV_BIN,
    )
    _check_imports(side)
    return side


# --- one measurement --------------------------------------------------------------------------------


def _rollup_rows(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM rollups")).scalar_one())
    finally:
        engine.dispose()


def measure(
    side: Side, store: Store, ds: data.Dataset, args: argparse.Namespace, round_no: int, bump: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Rows]]:
    """One side, one round: a fresh database it migrates, its import, its query latencies."""
    label = f"cmp-{side.name}"
    url = store.url(label)
    logs = args.out / "logs"
    started = time.perf_counter()
    m: dict[str, Any] = {"side": side.name, "round": round_no, "load_average_before": load_average()}
    phases: dict[str, float] = {}
    t = time.perf_counter()
    store.fresh(label, side.bin_dir)
    phases["migrate_s"] = time.perf_counter() - t
    t = time.perf_counter()
    srv = server.start(
        url, 1, logs / f"round{round_no}-{side.name}-ingest.log", bin_dir=side.bin_dir, cwd=side.root
    )
    phases["start_s"] = time.perf_counter() - t
    try:
        m["load"] = ingest.run_import(srv, ds.path, ds.size, store.db_pid())
    finally:
        srv.stop()
    t = time.perf_counter()
    store.analyze(label)
    m["analyze_s"] = round(time.perf_counter() - t, 2)
    m["db_mb"] = round(store.db_bytes(label) / 1e6, 1)
    m["rollup_rows"] = _rollup_rows(url)
    m["index_rollup_rows"] = count_rows(url, "index_rollups")
    t = time.perf_counter()
    srv = server.start(
        url, 1, logs / f"round{round_no}-{side.name}-latency.log", bin_dir=side.bin_dir, cwd=side.root
    )
    phases["start_s"] += time.perf_counter() - t
    t = time.perf_counter()
    try:
        m["latency"], bodies = queries.http_latency(srv.base_url, args.runs, bump)
        m["serve_rss_mb"] = round(srv.rss_kb() / 1024, 1)
    finally:
        srv.stop()
    phases["latency_s"] = time.perf_counter() - t
    m["seconds"] = round(time.perf_counter() - started, 1)
    m["phases"] = {k: round(v, 1) for k, v in phases.items()}
    ld = m["load"]
    log(
        f"  {side.name}: {ld['records_per_s']:,.0f} records/s, peak RSS {ld['peak_rss_mb']:,.0f} MB, "
        f"other processes {ld['other_cpu_share']:.2f} cores; {m['seconds']:.0f}s in all "
        f"(migrate {phases['migrate_s']:.0f}s, server start-ups {phases['start_s']:.0f}s, "
        f"import {ld['seconds']:.0f}s, queries {phases['latency_s']:.0f}s)"
    )
    by_key = {q.key: q for q in queries.QUERIES}
    return m, {key: service_rows(body, by_key[key].group_by) for key, body in bodies.items()}


# --- the comparison ---------------------------------------------------------------------------------


def value(m: dict[str, Any], path: Sequence[str]) -> float | None:
    cur: Any = m
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return None
        cur = cur[p]
    if isinstance(cur, bool) or not isinstance(cur, int | float) or math.isnan(cur):
        return None
    return float(cur)


def change_pct(old: float | None, new: float | None) -> float | None:
    if old is None or new is None or old == 0:
        return None
    return (new - old) / old * 100


def summarise(
    measurements: Sequence[dict[str, Any]], threshold: float, metrics: Sequence[Metric] = METRICS
) -> list[dict[str, Any]]:
    """Per metric: every round's figure for old and new, their medians, the change, and whether new is
    worse than old by more than the threshold (in the metric's bad direction)."""
    out = []
    for metric in metrics:
        values: dict[str, list[float]] = {"old": [], "new": []}
        for m in measurements:
            v = value(m, metric.path)
            if v is not None:
                values[m["side"]].append(v)
        old = statistics.median(values["old"]) if values["old"] else None
        new = statistics.median(values["new"]) if values["new"] else None
        change = change_pct(old, new)
        worse_by = None if change is None else (change if metric.lower_is_better else -change)
        out.append(
            {
                "metric": metric.key,
                "label": metric.label,
                "checked": metric.checked,
                "lower_is_better": metric.lower_is_better,
                "digits": metric.digits,
                "old": values["old"],
                "new": values["new"],
                "old_median": old,
                "new_median": new,
                "change_pct": None if change is None else round(change, 1),
                "worse": bool(metric.checked and worse_by is not None and worse_by > threshold),
                "better": bool(worse_by is not None and worse_by < -threshold),
            }
        )
    return out


def _num(v: float | None, digits: int) -> str:
    return "–" if v is None else f"{v:,.{digits}f}"


def _range(values: Sequence[float], digits: int) -> str:
    if not values:
        return "–"
    return f"{min(values):,.{digits}f}–{max(values):,.{digits}f}"


def comparison_table(rows: Sequence[dict[str, Any]], checked: bool) -> str:
    body = []
    for r in rows:
        if r["checked"] != checked:
            continue
        d = r["digits"]
        ch = r["change_pct"]
        body.append(
            [
                r["label"] + ("" if r["lower_is_better"] else " (higher is better)"),
                _num(r["old_median"], d),
                _num(r["new_median"], d),
                "–" if ch is None else f"{ch:+.1f}%",
                _range(r["old"], d),
                _range(r["new"], d),
                "✗" if r["worse"] else ("better" if r["better"] else ""),
            ]
        )
    return table(["metric", "old median", "new median", "change", "old range", "new range", "flag"], body)


def worse_line(rows: Sequence[dict[str, Any]], threshold: float) -> str:
    offenders = [f"{r['label']} ({r['change_pct']:+.1f}%)" for r in rows if r["worse"]]
    return f"WORSE > {threshold:g}%: " + ("; ".join(offenders) if offenders else "none")


def figures_check(old: dict[str, Rows], new: dict[str, Rows]) -> dict[str, Any]:
    """Whether both commits gave the same counts for each query (on the same data they should, unless
    the change meant to alter a figure)."""
    out: dict[str, Any] = {}
    for q in queries.QUERIES:
        if q.key in old and q.key in new:
            out[q.key] = compare_rows(new[q.key], old[q.key])
        else:
            out[q.key] = {"available": {"old": q.key in old, "new": q.key in new}}
    return out


def markdown(result: dict[str, Any]) -> str:
    s = result["sides"]
    old, new = s["old"], s["new"]
    rows = result["summary"]
    lines = [
        f"# Comparison: {old['commit'][:12]} → {new['commit'][:12]}",
        "",
        f"- old: `{old['commit'][:12]}` ({old['rev']}) {old['subject']}",
        f"- new: `{new['commit'][:12]}` ({new['rev']}) {new['subject']}",
        f"- {result['store']}, {human_count(result['size'])} dossiers, {result['rounds']} rounds "
        f"(old and new alternately, the first of each round alternating), {result['runs']} requests "
        f"per query and kind; medians over the rounds",
        f"- started {result['started_at']}, {result['wall_s']:,.0f} s in all; load average before the "
        f"measurements {result['load']['min']:.1f}–{result['load']['max']:.1f} (2 cores: above ~1 "
        f"other work competed), other processes' CPU during the imports "
        f"{result['load']['other_cpu_min']:.2f}–{result['load']['other_cpu_max']:.2f} cores",
        "",
        comparison_table(rows, True),
        "",
        worse_line(rows, result["threshold"]),
        "",
        "Recorded, not held to the rule:",
        "",
        comparison_table(rows, False),
        "",
        "Same figures from both commits: "
        + (
            "yes, every query"
            if all(c.get("differences") == 0 for c in result["figures"].values())
            else json.dumps(result["figures"], default=str)
        ),
        "",
    ]
    return "\n".join(lines)


# --- the command ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__)
    p.add_argument("--base", default="HEAD~1", help="the old commit (any git revision; default HEAD~1)")
    p.add_argument(
        "--new",
        default=None,
        help="the new commit (default: this checkout as it is, uncommitted changes too)",
    )
    p.add_argument("--size", "--sizes", dest="size", default="100000", help="dossiers (one size)")
    p.add_argument("--rounds", type=int, default=MIN_ROUNDS, help=f"rounds of old and new (≥ {MIN_ROUNDS})")
    p.add_argument("--runs", type=int, default=50, help="requests per query and kind in each round")
    p.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--threshold", type=float, default=10.0, help="percent worse that is flagged")
    p.add_argument("--out", type=Path, default=None, help="where results.json, results.md and logs go")
    p.add_argument("--cache-dir", type=Path, default=ROOT / "bench-results")
    p.add_argument("--gen-procs", type=int, default=os.cpu_count() or 1)
    p.add_argument(
        "--remove-trees",
        action="store_true",
        help="remove the worktrees (and their venvs) afterwards instead of keeping them for the next run",
    )
    args = p.parse_args(argv)
    if "," in args.size:
        p.error("--size takes one size (the comparison runs one size; run it again for another)")
    args.size = int(args.size.replace("_", ""))
    if args.rounds < MIN_ROUNDS:
        p.error(f"--rounds must be at least {MIN_ROUNDS}")
    if args.out is None:
        args.out = args.cache_dir / f"compare-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"
    return args


def round_order(round_no: int, old: Side, new: Side) -> tuple[Side, Side]:
    """Old first in odd rounds, new first in even ones."""
    return (old, new) if round_no % 2 == 1 else (new, old)


def save(result: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=2, default=str))
    if "summary" in result:
        (out / "results.md").write_text(markdown(result))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    log(f"results go to {args.out}")
    trees = args.cache_dir / "trees"
    old = checkout(args.base, "old", trees)
    new = checkout(args.new, "new", trees) if args.new else this_checkout()
    log(f"old: {old.commit[:12]} {old.subject[:70]}")
    log(f"new: {new.commit[:12]} {new.subject[:70]}")
    prepared_s = time.monotonic() - t0
    ds = data.dataset(args.size, args.cache_dir / "data", args.gen_procs)
    with ds.path.open("rb") as fh:
        bump = json.loads(fh.readline())
    store: Store = (
        SqliteStore(args.cache_dir / "db") if args.store == "sqlite" else PostgresStore(args.cache_dir / "pg")
    )
    result: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.compare " + " ".join(sys.argv[1:] if argv is None else argv),
        "sides": {s.name: {k: str(v) for k, v in asdict(s).items()} for s in (old, new)},
        "store": args.store,
        "size": args.size,
        "rounds": args.rounds,
        "runs": args.runs,
        "threshold": args.threshold,
        "prepare_s": round(prepared_s, 1),
        "measurements": [],
    }
    rows: dict[str, dict[str, Rows]] = {}
    store.start()
    try:
        for r in range(1, args.rounds + 1):
            for side in round_order(r, old, new):
                log(f"== round {r}/{args.rounds}: {side.name} ({side.commit[:12]})")
                m, side_rows = measure(side, store, ds, args, r, bump)
                rows.setdefault(side.name, side_rows)
                result["measurements"].append(m)
                save(result, args.out)
        for side in (old, new):
            store.drop(f"cmp-{side.name}")
    finally:
        store.stop()
        if args.remove_trees:
            for side in (old, new):
                if side.root != ROOT:
                    remove_tree(side.root)
    ms = result["measurements"]
    loads = [m["load_average_before"] for m in ms]
    others = [m["load"]["other_cpu_share"] for m in ms]
    result["load"] = {
        "min": min(loads),
        "max": max(loads),
        "other_cpu_min": min(others),
        "other_cpu_max": max(others),
    }
    result["figures"] = figures_check(rows.get("old", {}), rows.get("new", {}))
    result["summary"] = summarise(ms, args.threshold)
    result["wall_s"] = round(time.monotonic() - t0, 1)
    save(result, args.out)

    summary = result["summary"]
    print()
    print(
        f"old {old.commit[:12]} → new {new.commit[:12]}: {args.store}, {human_count(args.size)} dossiers, "
        f"{args.rounds} rounds, medians"
    )
    print(comparison_table(summary, True))
    print("\nRecorded, not held to the rule:")
    print(comparison_table(summary, False))
    diff = {k: c for k, c in result["figures"].items() if c.get("differences") != 0}
    if diff:
        print(f"\nNOTE: the two commits' figures differ: {json.dumps(diff, default=str)[:600]}")
    if result["load"]["max"] > 1.5 or result["load"]["other_cpu_max"] > 0.3:
        print(
            f"\nNOTE: other work ran during the comparison (load average up to {result['load']['max']:.1f}, "
            f"other processes up to {result['load']['other_cpu_max']:.2f} cores during imports)"
        )
    print(f"\n{worse_line(summary, args.threshold)}")
    print(
        f"\n{result['wall_s']:,.0f} s in all; written: {args.out / 'results.json'}, {args.out / 'results.md'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
