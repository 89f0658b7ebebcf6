"""`tthc-metrics index rederive`: re-derive the national index of every stored dossier with today's
procedure catalogue and working-day calendar, on DATABASE_URL directly, as the admin endpoint's
background job does (never two at once: a job running in the server makes this exit 1)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from app.cli_tokens import PROG, _engine, _guarded

if TYPE_CHECKING:
    from sqlalchemy import Engine


def run_rederive(engine: Engine, reason: str, *, quiet: bool = False) -> int:
    """Start a job and run it here to its end, its progress on stderr; the exit status."""
    from app.core.errors import Conflict
    from app.dossiers.reindex import get_job, run_job, start_job

    try:
        job_id = start_job(engine, reason, None)
    except Conflict as exc:
        print(f"{PROG} index rederive: {exc.detail}", file=sys.stderr)
        return 1
    run_job(engine, job_id)
    with engine.connect() as conn:
        job = get_job(conn, job_id)
    assert job is not None
    if job["state"] != "done":
        print(f"{PROG} index rederive: job {job_id} {job['state']}: {job['error']}", file=sys.stderr)
        return 1
    if not quiet:
        print(
            f"national index re-derived: {job['done']} dossiers seen, {job['changed']} changed (job {job_id})"
        )
    return 0


def warn_if_behind(database_url: str) -> str | None:
    """At start-up: the warning when stored dossiers do not follow the catalogue and calendar (a
    re-derivation stopped before its end). A database that cannot be asked gets none here."""
    from sqlalchemy.exc import SQLAlchemyError

    from app.dossiers.reindex import index_behind
    from app.store.engine import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            if not index_behind(conn):
                return None
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()
    line = (
        f"{PROG}: warning: the national index of some stored dossiers does not follow the catalogue and "
        f"calendar; run `{PROG} index rederive`, or POST /v1/index/jobs"
    )
    print(line, file=sys.stderr, flush=True)
    return line


def cmd_rederive(_args: argparse.Namespace) -> int:
    with _engine() as engine:
        return run_rederive(engine, "command line")


def register(sub: Any) -> None:
    index = sub.add_parser(
        "index", help="the national index: re-derive every stored dossier", description=__doc__
    )
    actions = index.add_subparsers(dest="action", required=True)
    p = actions.add_parser(
        "rederive",
        help="re-derive rule 2.1 and the catalogue's flags of every stored dossier",
        description="Every stored dossier's national-index columns are derived again with the stored "
        "catalogue and calendar, chunk by chunk, each chunk's rollup contributions replaced in the same "
        "transaction; safe beside a running server and ingest.",
    )
    p.set_defaults(func=_guarded(cmd_rederive))
