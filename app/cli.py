"""The `tthc-metrics` command: serve, migrate, import, demo-data, rollups verify/rebuild, index rederive,
jobs run."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.config import get_settings

if TYPE_CHECKING:
    from sqlalchemy import Connection


def cmd_migrate(_args: argparse.Namespace) -> int:
    """Apply the migrations and load the reference data (idempotent)."""
    from app.dossiers.reindex import index_behind
    from app.integrations.dvcqg.sectors import load_sector_seed
    from app.migrate import upgrade
    from app.reference.agencies import load_seed
    from app.store.engine import make_engine
    from app.store.uow import write_session

    settings = get_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with write_session(engine) as session:
            added = load_seed(session, settings.province_code, settings.agency_seed, settings.unit_suffix)
            mapped = load_sector_seed(session, settings.sector_seed)
        print(f"database at head; {added} agencies and {mapped} sector mappings added from the seeds")
        with engine.connect() as conn:
            behind = index_behind(conn)
        if behind:
            # Dossiers stored before the national index (or by a job that stopped): derive them now.
            from app.cli_index import run_rederive

            return run_rederive(engine, "migrate")
    finally:
        engine.dispose()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from app.cli_index import warn_if_behind
    from app.cli_tokens import warn_without_tokens
    from app.server import serve

    host = args.host or os.environ.get("HOST", "127.0.0.1")
    port = int(args.port or os.environ.get("PORT", "8000"))
    warn_without_tokens(get_settings())
    warn_if_behind(get_settings().database_url)
    serve(host, port, args.workers, get_settings())
    return 0


def cmd_rollups(args: argparse.Namespace) -> int:
    from app.store import index_rollups, rollups
    from app.store.engine import make_engine
    from app.store.uow import write_transaction

    engine = make_engine(get_settings().database_url)
    try:
        with write_transaction(engine) as conn:
            if args.action == "rebuild":
                rollups.rebuild(conn)
                index_rollups.rebuild(conn)
                from app.core.timeutil import utcnow
                from app.dossiers.service import bump_data_version

                bump_data_version(conn, utcnow())
                print("rollups rebuilt from the stored dossiers")
                return 0
            count, rows = rollups.verify(conn)
            index_count, index_rows = index_rollups.verify(conn)
            count, rows = count + index_count, rows + [{"table": "index_rollups", **r} for r in index_rows]
            _record_verify(conn, count)
    finally:
        engine.dispose()
    if count == 0:
        print("rollups match a recomputation from the stored dossiers")
        return 0
    print(f"{count} rollup rows differ from a recomputation; first ones:")
    for r in rows:
        print("  ", r)
    print("run `tthc-metrics rollups rebuild` to recompute them")
    return 1


def _record_verify(conn: Connection, differences: int) -> None:
    """When the rollups were last verified and how many rows differed (read by GET /metrics)."""
    from sqlalchemy import update

    from app.core.timeutil import utcnow
    from app.models import DataState

    values = {"rollups_verified_at": utcnow(), "rollups_verify_differences": differences}
    conn.execute(update(DataState).where(DataState.id == 1).values(**values))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tthc-metrics", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("migrate", help="apply migrations and load reference data")
    p.set_defaults(func=cmd_migrate)
    p = sub.add_parser("serve", help="serve the API (HOST/PORT from the environment)")
    p.add_argument("--host")
    p.add_argument("--port")
    p.add_argument("--workers", type=int, default=1)
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("rollups", help="verify or rebuild the rollups")
    p.add_argument("action", choices=["verify", "rebuild"])
    p.set_defaults(func=cmd_rollups)
    from app import cli_backup, cli_import, cli_index, cli_jobs, cli_procedures, cli_tokens

    cli_import.register(sub)
    cli_index.register(sub)
    cli_tokens.register(sub)
    cli_backup.register(sub)
    cli_procedures.register(sub)
    cli_jobs.register(sub)
    args = parser.parse_args(argv)
    if (bad := settings_errors()) is not None:
        print(bad, file=sys.stderr)
        return 2
    result: int = args.func(args)
    return result


def settings_errors() -> str | None:
    """The settings' faults as one line naming each variable (never its value), or None."""
    from pydantic import ValidationError

    try:
        get_settings()
    except ValidationError as exc:
        faults = [
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors(include_url=False, include_input=False)
        ]
        return "tthc-metrics: invalid setting " + "; invalid setting ".join(faults)
    return None


if __name__ == "__main__":
    sys.exit(main())
