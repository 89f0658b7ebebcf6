"""`tthc-metrics jobs run`: one tick of the job runner (the daily webhook digests, their deliveries and
retries, pruning) on DATABASE_URL, for deployments that run it from cron or a systemd timer (every
minute, say) with TTHC_JOBS_IN_SERVER=false. It takes the same lease as the server's workers, so it
may also run beside them: whoever holds the lease works, the others return at once."""

from __future__ import annotations

import argparse
from typing import Any

from app.config import get_settings


def cmd_jobs_run(_args: argparse.Namespace) -> int:
    from app.core.timeutil import utcnow
    from app.store.engine import make_engine
    from app.webhooks.jobs import JobRunner

    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        report = JobRunner(engine, settings, utcnow).tick()
    finally:
        engine.dispose()
    if not report.ran:
        print("another runner holds the jobs' lease; nothing done")
        return 0
    pruned = ", ".join(f"{name} {n}" for name, n in report.pruned.items())
    print(
        f"{report.queued} digests queued, {report.delivered} delivered, {report.failed_attempts} "
        f"attempts failed (to be retried), {report.gave_up} given up; pruned: {pruned}"
    )
    return 0


def register(sub: Any) -> None:
    jobs = sub.add_parser(
        "jobs", help="run the background jobs once (webhook digests, pruning)", description=__doc__
    )
    actions = jobs.add_subparsers(dest="action", required=True)
    p = actions.add_parser("run", help="one tick: queue due digests, deliver due ones, prune")
    p.set_defaults(func=cmd_jobs_run)
