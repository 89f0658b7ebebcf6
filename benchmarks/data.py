"""The synthetic dataset: demo-generator records received in 2025, judged from 2026-01-15, so every
period the benchmark asks about is past (and its responses cacheable).

A size is generated once and kept as NDJSON under the cache directory. Large sizes are cut into
shards of one million records, each generated with its own seed (its codes carry the seed, so they
never collide), in parallel processes; the shard layout depends on the size only, so a file is the
same whatever the number of processes. Sizes up to one million are exactly
`generate_demo(size, seed=2025, year=2025, now=2026-01-15)`.
"""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.demo import generate_demo, write_ndjson
from benchmarks.common import human_count, log

YEAR = 2025
NOW = datetime(2026, 1, 15, 5, 0, tzinfo=UTC)  # 12:00 in Vietnam
SEED = 2025
SHARD = 1_000_000


@dataclass(frozen=True, slots=True)
class Dataset:
    size: int
    path: Path
    bytes: int
    generated_seconds: float | None  # None when taken from the cache


def _shard(args: tuple[int, int, str]) -> tuple[int, float]:
    seed, count, out = args
    started = time.perf_counter()
    n = write_ndjson(generate_demo(count, seed=seed, year=YEAR, now=NOW), Path(out))
    return n, time.perf_counter() - started


def dataset(size: int, cache_dir: Path, procs: int) -> Dataset:
    """The NDJSON file of `size` records, generated now or taken from the cache."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"dossiers-{human_count(size)}.ndjson"
    marker = path.with_suffix(".json")
    if path.exists() and marker.exists():
        meta = json.loads(marker.read_text())
        if meta.get("records") == size and meta.get("bytes") == path.stat().st_size:
            log(f"dataset {human_count(size)}: cached {path} ({path.stat().st_size / 1e6:,.0f} MB)")
            return Dataset(size, path, path.stat().st_size, None)
    marker.unlink(missing_ok=True)
    shards = [(SEED + k, min(SHARD, size - k * SHARD)) for k in range((size + SHARD - 1) // SHARD)]
    log(
        f"dataset {human_count(size)}: generating {size:,} records in {len(shards)} shard(s), "
        f"{procs} process(es)"
    )
    started = time.perf_counter()
    if len(shards) == 1:
        written, _ = _shard((shards[0][0], shards[0][1], str(path)))
    else:
        parts = [path.with_name(f"{path.name}.part{k:03d}") for k in range(len(shards))]
        jobs = [(seed, count, str(p)) for (seed, count), p in zip(shards, parts, strict=True)]
        with ProcessPoolExecutor(max_workers=procs) as pool:
            written = sum(n for n, _ in pool.map(_shard, jobs))
        with path.open("wb") as out:
            for p in parts:
                with p.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 24)
                p.unlink()
    seconds = time.perf_counter() - started
    if written != size:
        raise RuntimeError(f"generated {written} records, expected {size}")
    nbytes = path.stat().st_size
    marker.write_text(
        json.dumps(
            {
                "records": size,
                "bytes": nbytes,
                "seconds": round(seconds, 1),
                "shards": [{"seed": s, "records": c} for s, c in shards],
                "year": YEAR,
                "now": NOW.isoformat(),
            },
            indent=2,
        )
    )
    log(
        f"dataset {human_count(size)}: {nbytes / 1e6:,.0f} MB in {seconds:.1f}s "
        f"({size / seconds:,.0f} records/s)"
    )
    return Dataset(size, path, nbytes, seconds)
