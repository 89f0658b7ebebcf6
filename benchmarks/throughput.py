"""Throughput with wrk (bounded in time, loopback only) against a warm server with N workers."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import httpx

from benchmarks.common import log
from benchmarks.queries import QUERIES

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", value)
    return round(float(m.group(1)) * _UNITS[m.group(2)], 3) if m else float("nan")


def parse_wrk(output: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if m := re.search(r"Requests/sec:\s+([\d.]+)", output):
        out["requests_per_s"] = float(m.group(1))
    if m := re.search(r"(\d+) requests in ([\d.]+\w+)", output):
        out["requests"] = int(m.group(1))
    for pct in ("50", "90", "99"):
        if m := re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", output, re.M):
            out[f"latency_p{pct}_ms"] = _ms(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    out["non_2xx_3xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: (.*)", output)
    out["socket_errors"] = m.group(1).strip() if m else None
    return out


def run_wrk(
    base_url: str, seconds: int, threads: int, connections: int, workers: int
) -> dict[str, Any] | None:
    """requests/s for the year's totals, commune × month, and the 304 (ETag) path of the totals."""
    wrk = shutil.which("wrk")
    if wrk is None:
        log("  wrk is not installed (apt-get install -y wrk): throughput not measured")
        return None
    by_key = {q.key: q for q in QUERIES}
    totals, commune = by_key["totals_year"], by_key["commune_month_year"]
    # Warm every worker's response cache: many short connections, spread over the workers.
    etag = ""
    for q in (totals, commune):
        for _ in range(8 * workers):
            resp = httpx.get(base_url + q.url, timeout=60)
            resp.raise_for_status()
            if q is totals:
                etag = resp.headers["etag"]
    check = httpx.get(base_url + totals.url, headers={"If-None-Match": etag}, timeout=60)
    cases = [
        ("totals_year", totals.url, [], resp_cache(base_url, totals.url)),
        ("commune_month_year", commune.url, [], resp_cache(base_url, commune.url)),
        ("totals_year_304", totals.url, [f"If-None-Match: {etag}"], f"{check.status_code}"),
    ]
    out: dict[str, Any] = {
        "seconds": seconds,
        "threads": threads,
        "connections": connections,
        "workers": workers,
    }
    for key, url, headers, cache in cases:
        cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
        for h in headers:
            cmd += ["-H", h]
        proc = subprocess.run(
            [*cmd, base_url + url], capture_output=True, text=True, timeout=seconds + 60, check=False
        )
        res = parse_wrk(proc.stdout)
        res["x_cache_or_status"] = cache
        out[key] = res
        log(
            f"  wrk {key}: {res.get('requests_per_s', float('nan')):,.0f} req/s, "
            f"p50 {res.get('latency_p50_ms')} ms, p99 {res.get('latency_p99_ms')} ms "
            f"(non-2xx/3xx {res['non_2xx_3xx']}, {cache})"
        )
    return out


def resp_cache(base_url: str, url: str) -> str:
    value: str = httpx.get(base_url + url, timeout=60).headers.get("x-cache", "?")
    return value
