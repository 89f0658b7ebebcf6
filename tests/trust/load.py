"""A seeded, bounded hostile load on the real server (2 worker processes), with its verdicts.

At once, for `seconds`: readers asking the widest metrics the row limit allows (every day of a year
per agency, per procedure, per sector and channel; each request a different range, so no cached
answer serves it), readers asking metrics far above the row limit, one NDJSON ingest stream of
`ingest_records` new dossiers, and `/healthz` + `/readyz` probes every `probe_every` seconds.

What must hold (`LoadResult.violations`):
- probes answer 200 within `probe_timeout`, every one;
- the ingest answers 200 and every record of the stream is stored;
- a heavy read answers 200, or 503 with `Retry-After` (the service shedding load: no free heavy-read
  slot, no free pooled connection, or past the read deadline) — never another 5xx, nor a 422;
- an oversized read answers 422 (refused before computing);
- nothing times out or loses its connection.

`make test` runs it on 5,000 dossiers for a few seconds (tests/trust/test_load.py); `make fuzz`
runs `python -m tests.trust.load` on 150,000 dossiers for a minute, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from app.demo import generate_demo, write_ndjson
from app.store.engine import normalise_url
from tests.conftest import ROOT
from tests.trust.live import LiveServer, _env

# Demo dossiers are received in this year; the ingest stream's codes (seed 7: DEMO007-…) differ
# from the seeded ones (seed 2025: DEMO025-…).
YEAR = 2025
INGEST_SEED = 7

# Heavy: every day of (most of) the year per agency (146 registered), per procedure (91 in the demo
# catalogue), per sector (14) and channel (3). Each stays under 100,000 rows however the row limit
# counts them (days x values present of each dimension), so none may be refused as oversized.
HEAVY_GROUPS = (("day", "agency"), ("day", "procedure"), ("day", "sector", "channel"))
# Oversized: ten years of days per agency, procedure, ward and channel: millions of possible rows.
OVERSIZED_GROUPS = ("day", "agency", "procedure", "commune", "channel")


@dataclass
class LoadPlan:
    seconds: float = 10.0
    heavy_readers: int = 20
    oversized_readers: int = 2
    ingest_records: int = 3000
    probe_every: float = 0.2
    probe_timeout: float = 10.0
    # A heavy read may run up to the read deadline (TTHC_READ_TIMEOUT, 30 s) before its 503.
    read_timeout: float = 60.0
    ingest_timeout: float = 120.0


@dataclass
class Sample:
    kind: str
    status: int | None
    seconds: float
    retry_after: str | None = None
    error: str | None = None


@dataclass
class LoadResult:
    samples: list[Sample] = field(default_factory=list)
    ingest: dict[str, Any] | None = None
    stored: int = 0
    expected: int = 0
    peak_rss_kib: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)

    def of(self, kind: str) -> list[Sample]:
        return [s for s in self.samples if s.kind == kind]

    def p99(self, kind: str) -> float:
        times = sorted(s.seconds for s in self.of(kind))
        return times[max(0, math.ceil(0.99 * len(times)) - 1)] if times else float("nan")

    def violations(self) -> list[str]:
        out: list[str] = []
        for s in self.samples:
            what = f"{s.kind}: {s.status or s.error} after {s.seconds:.1f} s"
            if s.error is not None:
                out.append(f"{what} (no answer)")
            elif s.kind in {"healthz", "readyz"} and s.status != 200:
                out.append(what)
            elif s.kind == "heavy" and s.status == 503 and not s.retry_after:
                out.append(f"{what} without Retry-After")
            elif s.kind == "heavy" and s.status not in {200, 503}:
                out.append(what)
            elif s.kind == "oversized" and s.status != 422:
                out.append(f"{what}, not refused as oversized (422)")
            elif s.kind == "ingest" and s.status != 200:
                out.append(what)
        if self.stored != self.expected:
            out.append(f"ingest: {self.stored} of the stream's {self.expected} records stored")
        return out

    def summary(self) -> str:
        lines = []
        for kind in ("healthz", "readyz", "heavy", "oversized", "ingest"):
            samples = self.of(kind)
            statuses: dict[str, int] = {}
            for s in samples:
                key = str(s.status or s.error)
                statuses[key] = statuses.get(key, 0) + 1
            lines.append(
                f"  {kind:9s} {len(samples):5d} requests, p99 {self.p99(kind):7.3f} s, "
                f"max {max((s.seconds for s in samples), default=0):7.3f} s, statuses {statuses}"
            )
        rss = ", ".join(f"{pid}: {kib / 1024:.0f} MiB" for pid, kib in self.peak_rss_kib.items())
        lines.append(f"  peak RSS {sum(self.peak_rss_kib.values()) / 1024:.0f} MiB in all ({rss})")
        lines.append(f"  ingest: {self.stored} of {self.expected} stored; report {self.ingest}")
        return "\n".join(lines)


def seed(db_url: str, dossiers: int) -> None:
    """The project's demo generator, loaded straight into the database (`tthc-metrics demo-data`)."""
    subprocess.run(
        [sys.executable, "-m", "app.cli", "demo-data", "--dossiers", str(dossiers), "--year", str(YEAR)],
        cwd=ROOT,
        env=_env(db_url),
        check=True,
        capture_output=True,
        timeout=3600,
    )


def server_pids(master: int) -> list[int]:
    """The server's process and its children (uvicorn's workers), from /proc."""
    pids = [master]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The parent's pid is the 2nd field after the parenthesised command name.
        if int(stat.rsplit(")", 1)[1].split()[1]) == master:
            pids.append(int(entry.name))
    return pids


def peak_rss_kib(pid: int) -> int:
    """The process's peak resident set (VmHWM), in KiB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def metrics_params(groups: tuple[str, ...], start: date, end: date) -> httpx.QueryParams:
    return httpx.QueryParams(
        [("from", start.isoformat()), ("to", end.isoformat()), *(("group_by", g) for g in groups)]
    )


def _timed(result: LoadResult, kind: str, call: Callable[[], httpx.Response]) -> httpx.Response | None:
    started = time.monotonic()
    try:
        r = call()
    except httpx.HTTPError as exc:
        result.add(Sample(kind, None, time.monotonic() - started, error=type(exc).__name__))
        return None
    result.add(Sample(kind, r.status_code, time.monotonic() - started, r.headers.get("Retry-After")))
    return r


def run_load(server: LiveServer, plan: LoadPlan, scratch: Path) -> LoadResult:
    result = LoadResult(expected=plan.ingest_records)
    stream = scratch / "ingest.ndjson"
    now = datetime(YEAR + 1, 1, 15, tzinfo=UTC)
    write_ndjson(generate_demo(plan.ingest_records, seed=INGEST_SEED, year=YEAR, now=now), stream)
    deadline = time.monotonic() + plan.seconds
    counter = iter(range(1_000_000))
    lock = threading.Lock()

    def next_offset() -> int:
        with lock:
            return next(counter)

    def heavy(index: int) -> None:
        with server.client(token=None, timeout=plan.read_timeout) as http:
            while time.monotonic() < deadline:
                n = next_offset()
                # A different first day each time: a new range, computed, never a cached answer.
                start = date(YEAR, 1, 1) + timedelta(days=n % 60)
                params = metrics_params(HEAVY_GROUPS[index % len(HEAVY_GROUPS)], start, date(YEAR, 12, 31))
                r = _timed(result, "heavy", partial(http.get, "/v1/metrics", params=params))
                if r is not None and r.status_code == 503:
                    # A shed client backs off as told (bounded, to keep the load on).
                    time.sleep(min(float(r.headers.get("Retry-After") or 1), 1.0))

    def oversized() -> None:
        with server.client(token=None, timeout=plan.read_timeout) as http:
            while time.monotonic() < deadline:
                start = date(YEAR - 9, 1, 1) + timedelta(days=next_offset() % 40)
                params = metrics_params(OVERSIZED_GROUPS, start, date(YEAR, 12, 31))
                _timed(result, "oversized", partial(http.get, "/v1/metrics", params=params))
                time.sleep(0.2)

    def probe(path: str, kind: str) -> None:
        with server.client(token=None, timeout=plan.probe_timeout) as http:
            while time.monotonic() < deadline:
                tick = time.monotonic()
                _timed(result, kind, lambda: http.get(path))
                time.sleep(max(0.0, plan.probe_every - (time.monotonic() - tick)))

    def ingest() -> None:
        time.sleep(min(1.0, plan.seconds / 4))  # into the thick of the reads

        def blocks() -> Any:
            with stream.open("rb") as fh:
                while block := fh.read(64 * 1024):
                    yield block

        with server.client(timeout=plan.ingest_timeout) as http:
            r = _timed(
                result,
                "ingest",
                lambda: http.post(
                    "/v1/dossiers", content=blocks(), headers={"Content-Type": "application/x-ndjson"}
                ),
            )
        if r is not None and r.status_code == 200:
            result.ingest = r.json()

    threads = [threading.Thread(target=heavy, args=(i,)) for i in range(plan.heavy_readers)]
    threads += [threading.Thread(target=oversized) for _ in range(plan.oversized_readers)]
    threads += [
        threading.Thread(target=probe, args=("/healthz", "healthz")),
        threading.Thread(target=probe, args=("/readyz", "readyz")),
        threading.Thread(target=ingest),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=plan.seconds + plan.ingest_timeout + plan.read_timeout)
    result.peak_rss_kib = {pid: peak_rss_kib(pid) for pid in server_pids(server.proc.pid)}
    engine = create_engine(normalise_url(server.db_url))
    try:
        with engine.connect() as conn:
            result.stored = int(
                conn.execute(
                    text("SELECT count(*) FROM dossiers WHERE code LIKE :p"),
                    {"p": f"DEMO{INGEST_SEED:03d}-%"},
                ).scalar_one()
            )
    finally:
        engine.dispose()
    return result


def main() -> int:
    """`make fuzz`: the same load, longer and larger, on SQLite and PostgreSQL (when available)."""
    import tempfile

    from tests.conftest import _pg_state, _postgres_base_url
    from tests.trust.live import fresh_database, start_server

    parser = argparse.ArgumentParser(description="hostile load on the real server, 2 workers")
    parser.add_argument("--dossiers", type=int, default=150_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--ingest", type=int, default=20_000)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    failed = 0
    with tempfile.TemporaryDirectory() as scratch:
        kinds: list[tuple[str, str | None]] = [("sqlite", None)]
        pg = None if args.sqlite_only else _postgres_base_url()
        if pg is not None:
            kinds.append(("postgresql", pg))
        for kind, base in kinds:
            for db in fresh_database(kind, base, Path(scratch)):
                started = time.monotonic()
                seed(db.url, args.dossiers)
                print(f"{kind}: {args.dossiers:,} dossiers seeded in {time.monotonic() - started:.0f} s")
                server = start_server(db.url, Path(scratch) / f"{kind}.log", workers=2)
                try:
                    plan = LoadPlan(seconds=args.seconds, ingest_records=args.ingest)
                    result = run_load(server, plan, Path(scratch))
                finally:
                    server.stop()
                print(f"{kind}:\n{result.summary()}")
                problems = result.violations()
                for p in problems[:50]:
                    print("  VIOLATION", p)
                failed |= bool(problems)
    if _pg_state["server"] is not None:
        _pg_state["server"].stop()
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
