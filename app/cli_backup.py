"""`tthc-metrics backup` and `tthc-metrics restore`: a checked copy of the database, and putting one back."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.config import get_settings


def _size(n: int) -> str:
    return f"{n / 1_000_000:,.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def _fail(exc: Exception) -> int:
    from app.store.backup import ToolMissing

    print(f"tthc-metrics: {exc}", file=sys.stderr)
    if isinstance(exc, ToolMissing):
        for command in exc.commands:
            print(f"  {command}", file=sys.stderr)
        return 2
    return 1


def _database_error(exc: Exception) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = [line for line in str(orig).splitlines() if line.strip()]
    return f"the database could not be reached: {lines[0] if lines else type(orig).__name__}"


def cmd_backup(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import DBAPIError

    from app.store.backup import BackupError, backup

    try:
        done = backup(get_settings().database_url, Path(args.dest), overwrite=args.force)
    except BackupError as exc:
        return _fail(exc)
    except DBAPIError as exc:
        return _fail(BackupError(_database_error(exc)))
    print(
        f"backup written to {done.path}: {done.dossiers:,} dossiers, schema revision {done.revision}, "
        f"{_size(done.size)} in {done.seconds:.1f} s (integrity checked)"
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import DBAPIError

    from app.store.backup import BackupError, restore

    try:
        done = restore(get_settings().database_url, Path(args.src))
    except BackupError as exc:
        return _fail(exc)
    except DBAPIError as exc:
        return _fail(BackupError(_database_error(exc)))
    migrated = f", migrated from revision {done.migrated_from}" if done.migrated_from else ""
    print(
        f"restored {args.src}: {done.dossiers:,} dossiers, schema revision {done.revision}{migrated}, "
        f"in {done.seconds:.1f} s; run `tthc-metrics rollups verify` to check the figures"
    )
    return _rederive_if_behind()


def _rederive_if_behind() -> int:
    """A backup from before the national index (or taken during a re-derivation): derive it now."""
    from app.cli_index import run_rederive
    from app.dossiers.reindex import index_behind
    from app.store.engine import make_engine

    engine = make_engine(get_settings().database_url)
    try:
        with engine.connect() as conn:
            behind = index_behind(conn)
        return run_rederive(engine, "restore") if behind else 0
    finally:
        engine.dispose()


def register(sub: Any) -> None:
    p = sub.add_parser(
        "backup",
        help="write a consistent, checked copy of the database (SQLite: while the server runs; "
        "PostgreSQL: pg_dump -Fc)",
    )
    p.add_argument(
        "dest", help="the file to write, or a directory (the file is then named with the UTC time)"
    )
    p.add_argument("--force", action="store_true", help="replace DEST when it is an existing file")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser(
        "restore",
        help="replace the database with a backup, migrated to this release (stop the server first)",
    )
    p.add_argument("src", help="a file written by `tthc-metrics backup`")
    p.set_defaults(func=cmd_restore)
