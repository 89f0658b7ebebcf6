"""`tthc-metrics procedures load FILE`: the procedure catalogue loaded from a JSON array or a CSV file
with a header row, on DATABASE_URL directly; the same rules as bulk `PUT /v1/procedures`
(app/reference/procedures.py). Each row is judged on its own: its errors are printed with the line it
starts on, counted from 1 as editors show it, and the good rows are stored. The exit status is 1 when
any row was rejected or the file could not be read."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.cli_tokens import PROG, _engine, _guarded


def _fail(message: str) -> int:
    print(f"{PROG} procedures load: {message}", file=sys.stderr)
    return 1


def cmd_load(args: argparse.Namespace) -> int:
    from app.cli_index import run_rederive
    from app.core.timeutil import utcnow
    from app.dossiers.service import bump_data_version
    from app.reference.index_inputs import reference_changed
    from app.reference.procedures import FileError, bulk_upsert, read_file
    from app.store.uow import write_transaction

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        return _fail(f"{path}: cannot be read ({reason})")
    try:
        rows = read_file(text)
    except FileError as exc:
        return _fail(f"{path}:{exc.line}: {exc.reason}")
    lines = [line for line, _ in rows]
    now = utcnow()
    with _engine() as engine:
        with write_transaction(engine) as conn:
            report = bulk_upsert(conn, [item for _, item in rows], now, lambda i: f"line {lines[i]}")
            if report.created or report.updated:
                reference_changed(conn)
                bump_data_version(conn, now)
        rederived = (
            run_rederive(engine, "catalogue file", quiet=True) if report.created or report.updated else 0
        )
    for e in report.errors:
        where = f"{path}:{lines[e.index]}"
        what = f"{e.field}: {e.msg}" if e.field else e.msg
        print(f"{PROG} procedures load: {where}: {what}", file=sys.stderr)
    print(
        f"{report.received} rows: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.rejected} rejected"
    )
    return 1 if report.rejected or rederived else 0


def register(sub: Any) -> None:
    procedures = sub.add_parser(
        "procedures",
        help="load the procedure catalogue from a JSON or CSV file (on DATABASE_URL directly)",
        description=__doc__,
    )
    actions = procedures.add_subparsers(dest="action", required=True)
    p = actions.add_parser(
        "load",
        help="add or replace catalogue entries from FILE, keeping the good rows",
        description="FILE is a JSON array of entries as bulk PUT /v1/procedures takes them, or CSV with a "
        "header row naming its columns: code, name, sector, level, max_duration_value, "
        "max_duration_unit, paper_result, fee, full_online_eligible, full_online_offered, "
        "online_payment_integrated (flags true/false/1/0; an empty cell is the default). Entries not in "
        "the file are kept.",
    )
    p.add_argument("file", metavar="FILE", help="a .json or .csv file (UTF-8)")
    p.set_defaults(func=_guarded(cmd_load))
