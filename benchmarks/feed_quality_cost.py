"""What counting the feed's quality costs an import: the demo's records imported twice (the second time
every record changed and one in 20 made invalid), with the feed's quality counted and with its three
steps replaced by no-ops (the warnings of each version while it is validated, `marks`; the writer's
comparison with the version replaced, `new_marks`; the chunk's upsert, `record_chunk`), in-process
through the ingest's chunk writer on fresh SQLite files (or the DATABASE_URL given).

    .venv/bin/python -m benchmarks.feed_quality_cost [records] [repeats] [database-url-template]

Prints seconds per import for each mode (the best of `repeats`) and the time of the three steps.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

import app.dossiers.service as ingest
from app.core.communes import communes_of
from app.demo import generate_demo
from benchmarks.history_cost import NOW, PRINCIPAL, _chunks, _fresh

MODES = ("without", "with")
STEPS = ("marks", "new_marks", "record_chunk")


def _import(engine: Engine, records: list[dict[str, Any]], now: datetime) -> tuple[float, int]:
    with engine.connect() as conn:
        registry = ingest.current_registry(conn, set(communes_of(40)), now)
    started = time.perf_counter()
    rejected = 0
    for items in _chunks(records):
        verdicts = ingest.process_chunk(engine, items, PRINCIPAL, registry)
        rejected += sum(1 for v in verdicts if v.result is None)
    return time.perf_counter() - started, rejected


def _broken(r: dict[str, Any]) -> dict[str, Any]:
    """The record with its due_at a day before its received_at: rejected."""
    received = datetime.fromisoformat(r["received_at"])
    return {**r, "due_at": (received - timedelta(days=1)).isoformat()}


def run(records: int, repeats: int, url_template: str | None) -> None:
    first = list(generate_demo(records, year=2025, now=NOW))
    second = [
        {**r, "updated_at": (datetime.fromisoformat(r["updated_at"]) + timedelta(hours=1)).isoformat()}
        for r in first
    ]
    second = [_broken(r) if i % 20 == 0 else r for i, r in enumerate(second)]
    originals: dict[str, Callable[..., Any]] = {name: getattr(ingest, name) for name in STEPS}
    spent = dict.fromkeys(STEPS, 0.0)

    def timed(name: str) -> Callable[..., Any]:
        def step(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return originals[name](*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - started

        return step

    noop: dict[str, Callable[..., Any]] = {
        "marks": lambda *a, **k: 0,
        "new_marks": lambda *a, **k: 0,
        "record_chunk": lambda *a, **k: None,
    }
    best: dict[str, list[float]] = {}
    for rep in range(repeats):
        for mode in MODES:
            for name in STEPS:
                setattr(ingest, name, timed(name) if mode == "with" else noop[name])
            _, engine = _fresh(url_template, f"feed-{mode}-{rep}")
            for name in STEPS:
                spent[name] = 0.0
            t1, _ = _import(engine, first, NOW)
            s1 = dict(spent)
            t2, rejected = _import(engine, second, NOW + timedelta(hours=2))
            s2 = {k: spent[k] - s1[k] for k in STEPS}
            print(
                f"{mode} feed quality, run {rep + 1}: first import {t1:.1f} s, second {t2:.1f} s", flush=True
            )
            if mode == "with":
                steps1 = ", ".join(f"{k} {v:.2f} s" for k, v in s1.items())
                steps2 = ", ".join(f"{k} {v:.2f} s" for k, v in s2.items())
                print(f"  of which: first {steps1}; second {steps2}; {rejected} rejected", flush=True)
                with engine.connect() as conn:
                    rows = conn.scalar(text("SELECT count(*) FROM feed_quality_counts"))
                    examples = conn.scalar(text("SELECT count(*) FROM feed_quality_examples"))
                print(f"  rows: {rows} counts, {examples} examples", flush=True)
            prev = best.get(mode)
            best[mode] = [min(prev[0], t1), min(prev[1], t2)] if prev else [t1, t2]
            engine.dispose()
    for name in STEPS:
        setattr(ingest, name, originals[name])
    print(f"records: {records}; best of {repeats}")
    for mode, (t1, t2) in best.items():
        print(f"  {mode} feed quality: first import {t1:.1f} s ({records / t1:,.0f}/s), second {t2:.1f} s")


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    run(n, reps, sys.argv[3] if len(sys.argv) > 3 else None)
