"""`tthc-metrics import` and `tthc-metrics demo-data`: bulk loading with progress and a summary."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import (
    BarColumn,
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
    """A summary a person can act on: the counts, the rate, the first errors, each on one line.

    A rejected record is named by its line in the file counted from 1, as editors show it (the API's
    `index` counts from 0).
    """
    rate = totals["received"] / seconds if seconds > 0 else 0.0
    _say(
        f"received {totals['received']:,}  created {totals['created']:,}  updated {totals['updated']:,}  "
        f"unchanged {totals['unchanged']:,}  stale {totals['stale']:,}  rejected {totals['rejected']:,}  "
        f"in {seconds:.1f}s ({rate:,.0f} records/s)"
    )
    for e in totals["errors"][:10]:
        what = "; ".join(f"{'.'.join(str(p) for p in x['loc']) or 'record'}: {x['msg']}" for x in e["errors"])
        _say(f"  line {e['index'] + 1} ({e['code'] or 'no code'}): {what}")
    if totals["rejected"] > 10:
        _say(f"  … and {totals['rejected'] - 10:,} more rejected records")


def _say(line: str) -> None:
    # Record values may hold brackets: no markup, and no wrapping, so a line stays one line.
    console.print(line, markup=False, highlight=False, soft_wrap=True)


class ImportFailed(Exception):
    """The import stopped: its one-line reason (what was committed before stays stored)."""


def _batches(path: Path, size: int) -> Iterator[tuple[int, bytes, int]]:
    """The file in pieces of `size` lines: (the first line's 0-based number, the bytes, lines)."""
    first = 0
    lines: list[bytes] = []
    with path.open("rb") as fh:
        for line in fh:
            lines.append(line)
            if len(lines) >= size:
                yield first, b"".join(lines), len(lines)
                first += len(lines)
                lines = []
    if lines:
        yield first, b"".join(lines), len(lines)


def _blocks(path: Path, size: int) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while block := fh.read(size):
            yield block


def count_lines(path: Path) -> int:
    """The file's lines (the last one counted without its newline too)."""
    count, last = 0, b"\n"
    for block in _blocks(path, 1 << 20):
        count += block.count(b"\n")
        last = block[-1:]
    return count + (last != b"\n")


def _merge(totals: dict[str, Any], report: dict[str, Any], first_line: int) -> None:
    """Add one request's report to the import's, its records' indexes made the file's."""
    for key in ("received", "created", "updated", "unchanged", "stale", "rejected", "errors_omitted"):
        totals[key] += report.get(key, 0)
    room = MAX_LISTED - len(totals["errors"])
    errors = [{**e, "index": e["index"] + first_line} for e in report.get("errors", [])]
    totals["errors"].extend(errors[:room])
    totals["errors_omitted"] += len(errors[room:])


def _refusal(resp: Any) -> str:
    """The server's reason for a refused request, from its problem document."""
    try:
        detail = resp.json().get("detail") or resp.json().get("title")
    except ValueError:
        detail = resp.text[:200]
    return f"{resp.status_code} {resp.reason_phrase}: {detail}"


MAX_LISTED = 1000


def import_over_http(path: Path, url: str, token: str | None, batch: int = 5000) -> dict[str, Any]:
    """Send the file as NDJSON requests of `batch` lines each, one after another.

    The service answers a request once every record of it is committed, so the bar advances by
    committed records after each answer: a true figure, where one streamed request would show only
    the bytes handed to the socket (the service reads them ahead of storing them). Sending again is
    safe: a record already stored is `unchanged`.
    """
    import httpx

    base = url.rstrip("/")
    headers = {"Content-Type": "application/x-ndjson"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    totals: dict[str, Any] = {
        **dict.fromkeys(("received", "created", "updated", "unchanged", "stale", "rejected"), 0),
        "errors": [],
        "errors_omitted": 0,
    }
    progress = Progress(
        TextColumn("[bold]importing"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} lines"),
        TextColumn("{task.fields[committed]:,} committed, {task.fields[rejected]:,} rejected"),
        TextColumn("{task.fields[rate]:,.0f} rec/s"),
        TimeRemainingColumn(),
        console=console,
    )
    started = time.perf_counter()
    task = progress.add_task("importing", total=count_lines(path), committed=0, rejected=0, rate=0.0)
    with httpx.Client(timeout=httpx.Timeout(10.0, read=None)) as client:
        try:
            for first, body, lines in _batches(path, batch):
                _merge(totals, _send(client, base, body, headers, token, totals), first)
                # Shown from the first answer on: a refused connection or token is then the one line.
                progress.start()
                committed = totals["received"] - totals["rejected"]
                rate = committed / max(time.perf_counter() - started, 1e-6)
                rejected = totals["rejected"]
                progress.update(task, advance=lines, committed=committed, rejected=rejected, rate=rate)
        finally:
            if progress.live.is_started:
                progress.stop()
    return totals


def _send(
    client: Any, base: str, body: bytes, headers: dict[str, str], token: str | None, totals: dict[str, Any]
) -> Any:
    """One request's report, or ImportFailed with the reason in one line."""
    import httpx

    try:
        resp = client.post(base + "/v1/dossiers", content=body, headers=headers)
    except httpx.ConnectError as exc:
        raise ImportFailed(f"cannot connect to {base} ({exc}): is the service running?") from exc
    except httpx.TransportError as exc:
        raise ImportFailed(f"the connection to {base} failed: {exc!r}{_so_far(totals)}") from exc
    if resp.status_code in (401, 403):
        where = "--token or TTHC_TOKEN" if token else "no token was given: set TTHC_TOKEN or --token"
        raise ImportFailed(
            f"the service refused the token ({_refusal(resp)}); it needs the ingest scope ({where})"
        )
    if resp.status_code != 200:
        raise ImportFailed(f"the service refused the import ({_refusal(resp)}){_so_far(totals)}")
    return resp.json()


def _so_far(totals: dict[str, Any]) -> str:
    committed = totals["received"] - totals["rejected"]
    return f"; the {committed:,} records sent before were committed" if committed else ""


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
            registry = current_registry(
                conn, communes_of(settings.province_code).keys(), feed=settings.feed_config
            )
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
    try:
        totals = (
            import_over_http(path, args.url, _token(args), args.chunk)
            if args.url
            else import_into_database(path, args.chunk)
        )
    except ImportFailed as exc:
        print(f"tthc-metrics: {exc}", file=sys.stderr)
        return 1
    summarise(totals, time.perf_counter() - started)
    return 0 if totals["rejected"] == 0 else 1


def _token(args: argparse.Namespace) -> str | None:
    token: str | None = args.token or os.environ.get("TTHC_TOKEN") or None
    return token


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate the demo and load it: the procedure catalogue first (so the dossiers are derived with
    it), then the dossiers, then the declared indicators of their periods."""
    from app.demo import DemoTally, demo_catalogue, demo_declared, generate_demo, write_ndjson

    records = generate_demo(args.dossiers, seed=args.seed, year=args.year)
    if args.out:
        count = write_ndjson(records, Path(args.out))
        console.print(f"wrote {count:,} dossiers to {args.out}")
        return 0
    import tempfile

    catalogue = demo_catalogue(args.seed)
    tally = DemoTally()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.ndjson"
        write_ndjson(tally.watch(records), path)
        declared = demo_declared(tally, seed=args.seed)
        started = time.perf_counter()
        try:
            if args.url:
                refused = _demo_over_http(path, args.url, _token(args), catalogue, declared, started)
            else:
                refused = None
                _demo_into_database(path, catalogue, declared, started)
        except ImportFailed as exc:
            print(f"tthc-metrics: {exc}", file=sys.stderr)
            return 1
    if refused:
        _say(
            "the catalogue and the declared values were not loaded: they need a token with the admin "
            f"scope ({refused})"
        )
    return 0


def _say_catalogue(received: int, created: int, updated: int, unchanged: int) -> None:
    counts = f"created {created:,}  updated {updated:,}  unchanged {unchanged:,}"
    _say(f"catalogue: {received:,} procedures  {counts}")


def _demo_into_database(
    path: Path, catalogue: list[dict[str, Any]], declared: list[dict[str, Any]], started: float
) -> None:
    """The catalogue, the dossiers and the declared values straight into DATABASE_URL, as `procedures
    load`, `import` and PUT /v1/index/declared store them."""
    from sqlalchemy import select

    from app.cli_index import run_rederive
    from app.config import get_settings
    from app.core.timeutil import utcnow
    from app.dossiers.service import bump_data_version
    from app.index.declared import check_items, store
    from app.models import Agency
    from app.reference.index_inputs import reference_changed
    from app.reference.procedures import bulk_upsert
    from app.reference.rule_sets import list_rule_sets
    from app.store.engine import make_engine
    from app.store.uow import write_transaction

    engine = make_engine(get_settings().database_url)
    try:
        now = utcnow()
        with write_transaction(engine) as conn:
            report = bulk_upsert(conn, catalogue, now)
            changed = bool(report.created or report.updated)
            if changed:
                reference_changed(conn)
                bump_data_version(conn, now)
        _say_catalogue(report.received, report.created, report.updated, report.unchanged)
        # Dossiers stored before (a second run) follow the changed catalogue, and the index is marked
        # current (on an empty database too).
        if changed and run_rederive(engine, "demo catalogue", quiet=True):
            raise ImportFailed("re-deriving the stored dossiers after the catalogue changed failed")
        summarise(import_into_database(path, 5000), time.perf_counter() - started)
        with write_transaction(engine) as conn:
            scopes = {
                i.code: i.declared_scope or "unit"
                for k in list_rule_sets(conn)
                for i in k.rule_set.indicators
                if i.source == "declared"
            }
            rows = check_items(declared, scopes, conn.scalars(select(Agency.code)))
            store(conn, rows, utcnow(), None)
            bump_data_version(conn, utcnow())
        _say(f"declared values: {len(rows):,} stored")
    finally:
        engine.dispose()


def _parts(items: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """`items` in bodies the service takes: at most 1,000 items, and within the size cap of small JSON
    bodies (which PUT /v1/index/declared is under) with room to spare."""
    from app.api.body_limit import SMALL_BODY_BYTES
    from app.index.declared import MAX_ITEMS

    part: list[dict[str, Any]] = []
    size = 2
    for item in items:
        n = len(orjson.dumps(item)) + 1
        if part and (len(part) == MAX_ITEMS or size + n > SMALL_BODY_BYTES - 4096):
            yield part
            part, size = [], 2
        part.append(item)
        size += n
    if part:
        yield part


class _AdminRefused(Exception):
    """The service refused an admin write (401/403): the reason."""


def _demo_over_http(
    path: Path,
    url: str,
    token: str | None,
    catalogue: list[dict[str, Any]],
    declared: list[dict[str, Any]],
    started: float,
) -> str | None:
    """The catalogue (PUT /v1/procedures), the dossiers, the declared values (PUT /v1/index/declared,
    in bodies of its size); the reason the admin writes were refused, if they were (the dossiers are loaded
    all the same)."""
    import httpx

    base = url.rstrip("/")
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    refused: str | None = None
    with httpx.Client(timeout=httpx.Timeout(10.0, read=None)) as client:

        def put(where: str, body: list[dict[str, Any]]) -> Any:
            try:
                resp = client.put(base + where, content=orjson.dumps(body), headers=headers)
            except httpx.ConnectError as exc:
                raise ImportFailed(f"cannot connect to {base} ({exc}): is the service running?") from exc
            except httpx.TransportError as exc:
                raise ImportFailed(f"the connection to {base} failed: {exc!r}") from exc
            if resp.status_code in (401, 403):
                raise _AdminRefused(_refusal(resp))
            if resp.status_code != 200:
                raise ImportFailed(f"the service refused PUT {where} ({_refusal(resp)})")
            return resp.json()

        try:
            report = put("/v1/procedures", catalogue)
        except _AdminRefused as exc:
            refused = str(exc)
        else:
            _say_catalogue(report["received"], report["created"], report["updated"], report["unchanged"])
        totals = import_over_http(path, url, token, 5000)
        summarise(totals, time.perf_counter() - started)
        if refused is None:
            try:
                stored = sum(put("/v1/index/declared", part)["stored"] for part in _parts(declared))
            except _AdminRefused as exc:
                refused = str(exc)
            else:
                _say(f"declared values: {stored:,} stored")
    return refused


TOKEN_HELP = (
    "bearer token with the ingest scope, for --url (default: $TTHC_TOKEN, which keeps it out of `ps` "
    "and the shell history, where a token given here is visible)"
)


def register(sub: Any) -> None:
    p = sub.add_parser("import", help="stream an NDJSON file of dossiers into the service or the database")
    p.add_argument("file")
    p.add_argument("--url", help="the service's base URL; without it, records go straight into DATABASE_URL")
    p.add_argument("--token", help=TOKEN_HELP)
    p.add_argument(
        "--chunk",
        type=int,
        default=5000,
        help="records per transaction, or per request with --url (the progress advances by each)",
    )
    p.set_defaults(func=cmd_import)
    p = sub.add_parser(
        "demo-data",
        help="generate a realistic dataset for the configured province and load it, with a procedure "
        "catalogue and declared values of the national index",
    )
    p.add_argument("--dossiers", type=int, default=20000)
    p.add_argument("--seed", type=int, default=2025)
    p.add_argument(
        "--year", type=int, default=None, help="year the dossiers are received in (default: last 12 months)"
    )
    p.add_argument("--out", help="write the dossiers as NDJSON here instead of loading anything")
    p.add_argument(
        "--url",
        help="load through the service at this URL instead of the database (the catalogue and the "
        "declared values need the admin scope)",
    )
    p.add_argument("--token", help=TOKEN_HELP)
    p.set_defaults(func=cmd_demo)
