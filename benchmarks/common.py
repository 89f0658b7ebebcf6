"""Small shared pieces of the benchmark: paths, the admin token, percentiles, logging."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
# A token for the benchmark's own throwaway servers only (loopback, fresh databases).
BENCH_TOKEN = "bench-admin-token-0123456789abcdef"

_T0 = time.monotonic()


def log(msg: str) -> None:
    """A progress line with the elapsed time, flushed at once (long runs are polled from a log file)."""
    elapsed = time.monotonic() - _T0
    print(f"[{elapsed:7.1f}s] {msg}", flush=True)


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])
    return (total - idle) / 100, total / 100


def load_average() -> float:
    """The machine's 1-minute load average: other work on the 2 cores disturbs every figure."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between the closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summary_ms(seconds: Sequence[float]) -> dict[str, float | int]:
    """p50/p95/min/max/mean in milliseconds of a list of durations in seconds."""
    ms = [s * 1000 for s in seconds]
    if not ms:
        return {"n": 0}
    return {
        "n": len(ms),
        "p50": round(percentile(ms, 50), 3),
        "p95": round(percentile(ms, 95), 3),
        "min": round(min(ms), 3),
        "max": round(max(ms), 3),
        "mean": round(sum(ms) / len(ms), 3),
    }


def human_count(n: int) -> str:
    """100k, 1M, 10M: the size labels used in file names and tables."""
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def count_rows(url: str, table: str) -> int | None:
    """Rows of a table; None when the commit's schema has no such table (index_rollups before 0005)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    except DBAPIError:
        return None
    finally:
        engine.dispose()
