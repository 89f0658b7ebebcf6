"""Ingestion over HTTP: the NDJSON file streamed as one POST /v1/dossiers, while the server's process
tree (and PostgreSQL's, when it is the store) is watched for memory and CPU."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import BENCH_TOKEN, load_average, log, machine_cpu
from benchmarks.server import Sampler, Server, cpu_seconds, process_tree

BLOCK = 1 << 20


def stream_file(base_url: str, path: Path, progress_every: float = 15.0) -> tuple[dict[str, Any], float]:
    """POST the file as one streamed NDJSON request; (the server's report, seconds)."""
    total = path.stat().st_size
    started = time.perf_counter()

    def body() -> Iterator[bytes]:
        sent, last = 0, started
        with path.open("rb") as fh:
            while block := fh.read(BLOCK):
                sent += len(block)
                now = time.perf_counter()
                if now - last >= progress_every:
                    last = now
                    rate = sent / (now - started)
                    log(
                        f"  sent {sent / 1e6:,.0f}/{total / 1e6:,.0f} MB ({100 * sent / total:.0f}%), "
                        f"{rate / 1e6:.1f} MB/s, ETA {(total - sent) / rate:,.0f}s"
                    )
                yield block

    headers = {"Content-Type": "application/x-ndjson", "Authorization": f"Bearer {BENCH_TOKEN}"}
    with httpx.Client(timeout=None) as client:
        resp = client.post(base_url + "/v1/dossiers", content=body(), headers=headers)
    seconds = time.perf_counter() - started
    if resp.status_code != 200:
        raise RuntimeError(f"the import was refused: {resp.status_code} {resp.text[:500]}")
    report: dict[str, Any] = resp.json()
    return report, seconds


def run_import(server: Server, path: Path, records: int, db_pid: int | None) -> dict[str, Any]:
    """Import the file through the server; records/s, peak RSS and CPU use of the server (and database)."""
    rss_before = server.rss_kb()
    load_before = load_average()
    busy0, total0 = machine_cpu()
    client0 = cpu_seconds([os.getpid()])
    cpu0 = cpu_seconds(server.pids())
    db_cpu0 = cpu_seconds(process_tree(db_pid)) if db_pid else None
    with Sampler(server.proc.pid) as sampler:
        report, seconds = stream_file(server.base_url, path)
    cpu1 = cpu_seconds(server.pids())
    busy1, total1 = machine_cpu()
    client1 = cpu_seconds([os.getpid()])
    db_cpu1 = cpu_seconds(process_tree(db_pid)) if db_pid else None
    hwm = server.hwm_kb()
    errors = report.pop("errors", [])
    if report.get("created") != records or report.get("rejected"):
        log(f"  WARNING: the import did not create every record: {report}; first errors {errors[:3]}")
    out: dict[str, Any] = {
        "records": records,
        "seconds": round(seconds, 2),
        "records_per_s": round(report.get("received", 0) / seconds, 1),
        "report": report,
        "first_errors": errors[:5],
        "rss_before_mb": round(rss_before / 1024, 1),
        "peak_rss_mb": round(sampler.peak_rss_kb / 1024, 1),
        "peak_hwm_mb": round(max(hwm.values(), default=0) / 1024, 1),
        "rss_samples": sampler.samples,
        "server_cpu_s": round(cpu1 - cpu0, 1),
        "server_cpu_share": round((cpu1 - cpu0) / seconds, 2),
    }
    db = 0.0
    if db_cpu0 is not None and db_cpu1 is not None:
        db = db_cpu1 - db_cpu0
        out["db_cpu_s"] = round(db, 1)
        out["db_cpu_share"] = round(db / seconds, 2)
    # The machine's busy CPU beyond the server, the database and this client: other work that
    # competed for the 2 cores during the import.
    busy = busy1 - busy0
    out["client_cpu_share"] = round((client1 - client0) / seconds, 2)
    out["machine_busy_cores"] = round(busy / seconds, 2)
    out["other_cpu_share"] = round(max(0.0, busy - (cpu1 - cpu0) - db - (client1 - client0)) / seconds, 2)
    out["load_average_before"] = load_before
    del total0, total1
    return out
