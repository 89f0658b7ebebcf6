"""`tthc-metrics import` and `tthc-metrics demo-data`: bulk loading with progress and a summary."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} records"),
        TextColumn("{task.fields[rate]:,.0f} rec/s"),
        TimeRemainingColumn(),
        console=console,
    )


def summarise(totals: dict[str, Any], seconds: float) -> None:
    """A summary a person can act on: the counts, the rate, the first errors."""
    rate = totals["received"] / seconds if seconds > 0 else 0.0
    console.print(
        f"received {totals['received']:,}  created {totals['created']:,}  updated {totals['updated']:,}  "
        f"unchanged {totals['unchanged']:,}  stale {totals['stale']:,}  rejected {totals['rejected']:,}  "
        f"in {seconds:.1f}s ({rate:,.0f} records/s)"
    )
    for e in totals["errors"][:10]:
        what = "; ".join(f"{'.'.join(str(p) for p in x['loc']) or 'record'}: {x['msg']}" for x in e["errors"])
        console.print(f"  line {e['index']} ({e['code'] or 'no code'}): {what}")
    if len(totals["errors"]) > 10:
        console.print(f"  … and {len(totals['errors']) - 10:,} more rejected records")


def _lines(path: Path, size: int) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while True:
            block = fh.read(size)
            if not block:
                return
            yield block


def import_over_http(path: Path, url: str, token: str | None) -> dict[str, Any]:
    """Stream the file as one NDJSON request; the server commits it chunk by chunk."""
    import httpx

    total = path.stat().st_size
    headers = {"Content-Type": "application/x-ndjson"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    progress = Progress(
        TextColumn("[bold]uploading"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[records]:,} records, {task.fields[rate]:,.0f} rec/s"),
        TimeRemainingColumn(),
        console=console,
    )
    started = time.perf_counter()
    with progress:
        task = progress.add_task("uploading", total=total, records=0, rate=0.0)

        def body() -> Iterator[bytes]:
            # The server reads the stream only as fast as it stores it, so lines sent per second
            # is the import's rate (within one chunk).
            sent = 0
            for block in _lines(path, 1 << 20):
                sent += block.count(b"\n")
                elapsed = max(time.perf_counter() - started, 1e-6)
                progress.update(task, advance=len(block), records=sent, rate=sent / elapsed)
                yield block

        with httpx.Client(timeout=None) as client:
            resp = client.post(url.rstrip("/") + "/v1/dossiers", content=body(), headers=headers)
    if resp.status_code != 200:
        raise SystemExit(f"the server refused the import: {resp.status_code} {resp.text[:500]}")
    result: dict[str, Any] = resp.json()
    return result


def import_into_database(path: Path, chunk: int) -> dict[str, Any]:
    """Read the file and ingest it straight into the configured database, chunk by chunk."""
    from app.api.auth import ADMIN_TOKEN_ID
    from app.config import get_settings
    from app.core.access import SCOPES, Principal
    from app.core.communes import communes_of
    from app.dossiers.service import IngestTotals, Verdict, current_registry, process_chunk
    from app.store.engine import make_engine

    settings = get_settings()
    engine = make_engine(settings.database_url)
    principal = Principal(ADMIN_TOKEN_ID, frozenset(SCOPES), None)
    totals = IngestTotals()
    started = time.perf_counter()
    try:
        with engine.connect() as conn:
            registry = current_registry(conn, communes_of(settings.province_code).keys())
        with _progress() as progress, path.open("rb") as fh:
            task = progress.add_task("importing", total=None, rate=0.0)
            items: list[tuple[int, Any]] = []
            for index, line in enumerate(fh):
                if not line.strip():
                    continue
                try:
                    items.append((index, orjson.loads(line)))
                except orjson.JSONDecodeError:
                    totals.add(
                        [
                            Verdict(
                                index,
                                None,
                                None,
                                [{"loc": [], "msg": "the line is not valid JSON", "type": "json_invalid"}],
                            )
                        ]
                    )
                if len(items) >= chunk:
                    totals.add(process_chunk(engine, items, principal, registry))
                    items = []
                    progress.update(
                        task,
                        completed=totals.received,
                        rate=totals.received / (time.perf_counter() - started),
                    )
            if items:
                totals.add(process_chunk(engine, items, principal, registry))
            progress.update(task, completed=totals.received)
    finally:
        engine.dispose()
    return totals.as_dict()


def cmd_import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.exists():
        console.print(f"[red]no such file: {path}")
        return 2
    started = time.perf_counter()
    totals = (
        import_over_http(path, args.url, args.token) if args.url else import_into_database(path, args.chunk)
    )
    summarise(totals, time.perf_counter() - started)
    return 0 if totals["rejected"] == 0 else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from app.demo import generate_demo, write_ndjson

    records = generate_demo(args.dossiers, seed=args.seed, year=args.year)
    if args.out:
        count = write_ndjson(records, Path(args.out))
        console.print(f"wrote {count:,} dossiers to {args.out}")
        return 0
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.ndjson"
        write_ndjson(records, path)
        started = time.perf_counter()
        totals = (
            import_over_http(path, args.url, args.token) if args.url else import_into_database(path, 5000)
        )
        summarise(totals, time.perf_counter() - started)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("import", help="stream an NDJSON file of dossiers into the service or the database")
    p.add_argument("file")
    p.add_argument("--url", help="the service's base URL; without it, records go straight into DATABASE_URL")
    p.add_argument("--token", help="bearer token with the ingest scope (for --url)")
    p.add_argument("--chunk", type=int, default=5000)
    p.set_defaults(func=cmd_import)
    p = sub.add_parser(
        "demo-data", help="generate a realistic dataset for the configured province and load it"
    )
    p.add_argument("--dossiers", type=int, default=20000)
    p.add_argument("--seed", type=int, default=2025)
    p.add_argument(
        "--year", type=int, default=None, help="year the dossiers are received in (default: last 12 months)"
    )
    p.add_argument("--out", help="write NDJSON here instead of loading it")
    p.add_argument("--url", help="load through the service at this URL instead of the database")
    p.add_argument("--token")
    p.set_defaults(func=cmd_demo)
