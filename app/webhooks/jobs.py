"""The job runner: queues the daily digests, delivers them with retries, prunes old rows.

One `tick` does everything that is due, under the lease "jobs" (app.webhooks.lease), so however many
server workers (or `tthc-metrics jobs run` from cron) tick at once, one of them works and the others
return at once. Each piece is also conditional in the database, so even two runners that both
believed they held the lease would not repeat it:

- **Digests.** A subscription's digest for local day D is queued once the digest time
  (TTHC_WEBHOOK_DIGEST_TIME) of D has passed. Its lists are read first, in a read-only snapshot
  (`read_snapshot`): at 10M dossiers one list takes seconds, and on SQLite a write transaction would
  make every ingest wait for them. Then one short write transaction moves its `last_digest_day` to D
  only if it was before D, drops the dossiers marked sent since the snapshot (`still_new`), stores
  the delivery (the body, exact bytes) and marks its dossiers sent (`webhook_sent`). A runner that
  was down for days queues one digest, for the latest day, not one per missed day. Everything queued
  is in the database: a restarted or another runner sends it.
- **Deliveries.** A pending delivery whose `next_attempt_at` has come is claimed by moving its
  attempt count on (only if still at the count read) and its next attempt to now + backoff, then
  POSTed, signed with the time of the attempt. 2xx: delivered. Anything else: retried at
  `TTHC_WEBHOOK_RETRY_SECONDS × 2^(attempt-1)` (at most RETRY_CAP) until TTHC_WEBHOOK_MAX_ATTEMPTS,
  then failed, and its dossiers' sent marks are removed, so the next digest lists them again. A
  runner that dies during a POST leaves the delivery to be tried again at its next attempt time.
- **Pruning.** Every hook of PRUNE_HOOKS runs, each in its own transactions: the audit trail's
  retention (TTHC_AUDIT_RETENTION_DAYS), finished deliveries older than TTHC_WEBHOOK_RETENTION_DAYS,
  the feed's quality counts older than TTHC_FEED_QUALITY_DAYS; other stores with a retention add
  their function to the list.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import Connection, Engine, Table, delete, select, update

from app.config import Settings
from app.core.jsonutil import dumps, loads
from app.core.timeutil import to_local
from app.core.worklist import Kind
from app.feedquality import store as feedquality_store
from app.models import WebhookDelivery, WebhookSent, WebhookSubscription
from app.refusals import prune_audit
from app.store.uow import read_snapshot, write_transaction
from app.webhooks import sender
from app.webhooks.digest import (
    Digest,
    DigestList,
    DigestScope,
    DigestSource,
    WorklistSource,
    new_items,
    still_new,
)
from app.webhooks.lease import Lease, hold_lease
from app.webhooks.service import digest_day, digest_time
from app.webhooks.signing import DELIVERY_HEADER, SIGNATURE_HEADER, signature
from app.webhooks.targets import TargetRefused, parse_target

log = logging.getLogger("tthc.jobs")

LEASE_NAME = "jobs"
DELIVERY_BATCH = 50  # deliveries attempted in one tick, at most
RETRY_CAP = timedelta(hours=6)
PRUNE_BATCH = 1000
PRUNE_BATCHES = 20  # batches of one hook in one tick, at most (the rest at the next tick)

_SUBS = cast(Table, WebhookSubscription.__table__)
_DELIVERIES = cast(Table, WebhookDelivery.__table__)
_SENT = cast(Table, WebhookSent.__table__)

# A prune hook deletes at most `batch` expired rows of one store in the caller's transaction and
# returns how many it deleted; the runner calls it again while it deletes a full batch.
PruneHook = Callable[[Connection, datetime, Settings, int], int]


def prune_audit_trail(conn: Connection, now: datetime, settings: Settings, batch: int) -> int:
    return prune_audit(conn, now, settings.audit_retention_days, batch)


def prune_deliveries(conn: Connection, now: datetime, settings: Settings, batch: int) -> int:
    """Delivered and failed deliveries created more than TTHC_WEBHOOK_RETENTION_DAYS ago (their
    dossiers' sent marks stay: a dossier is still never listed twice)."""
    cutoff = now - timedelta(days=settings.webhook_retention_days)
    old = (
        select(_DELIVERIES.c.id)
        .where(_DELIVERIES.c.status != "pending", _DELIVERIES.c.created_at < cutoff)
        .order_by(_DELIVERIES.c.id)
        .limit(batch)
    )
    return int(conn.execute(delete(_DELIVERIES).where(_DELIVERIES.c.id.in_(old))).rowcount)


def prune_feed_quality(conn: Connection, now: datetime, settings: Settings, batch: int) -> int:
    """The feed's quality counts and examples of days before the last TTHC_FEED_QUALITY_DAYS (few rows
    a day: deleted at once)."""
    return feedquality_store.prune(conn, now, settings.feed_quality_days)


PRUNE_HOOKS: list[tuple[str, PruneHook]] = [
    ("audit", prune_audit_trail),
    ("webhook_deliveries", prune_deliveries),
    ("feed_quality", prune_feed_quality),
]


def backoff(attempt: int, base: float) -> timedelta:
    """The wait after the `attempt`-th failed attempt (1-based): base, 2·base, 4·base, … at most RETRY_CAP."""
    return min(timedelta(seconds=base * 2 ** (attempt - 1)), RETRY_CAP)


@dataclass
class TickReport:
    ran: bool  # False: another runner held the lease
    queued: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    gave_up: int = 0
    pruned: dict[str, int] = field(default_factory=dict)


class JobRunner:
    """Ticks of the jobs for one store. `clock` is the service's clock (schedules, retries, retention);
    `signing_clock` gives the Unix time a signature carries (the receivers' clocks judge it)."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        clock: Callable[[], datetime],
        *,
        source: DigestSource | None = None,
        signing_clock: Callable[[], float] = time.time,
        prune_hooks: list[tuple[str, PruneHook]] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.source = source or WorklistSource(settings.province_code)
        self.signing_clock = signing_clock
        self.prune_hooks = PRUNE_HOOKS if prune_hooks is None else prune_hooks
        self.holder = uuid.uuid4().hex
        # Long enough for a tick's deliveries between two renewals (one POST), whatever the timeout.
        self.lease_ttl = timedelta(seconds=120 + 2 * settings.webhook_timeout)

    def tick(self) -> TickReport:
        now = self.clock()
        with hold_lease(self.engine, LEASE_NAME, self.holder, now, self.lease_ttl) as lease:
            if not lease.held:
                return TickReport(ran=False)
            report = TickReport(ran=True)
            report.queued = self.queue_digests(now)
            self.deliver(lease, report)
            report.pruned = self.prune(self.clock())
            return report

    # --- digests -------------------------------------------------------------------------------

    def queue_digests(self, now: datetime) -> int:
        day = digest_day(now, digest_time(self.settings))
        with self.engine.connect() as conn:
            due: list[str] = list(
                conn.scalars(select(_SUBS.c.id).where(_SUBS.c.last_digest_day < day).order_by(_SUBS.c.id))
            )
        queued = 0
        for sid in due:
            with read_snapshot(self.engine) as conn:
                digest = self._read_digest(conn, sid, day, now)
            if digest is None:
                continue
            with write_transaction(self.engine) as conn:
                queued += self._queue_one(conn, digest, now)
        return queued

    def _read_digest(self, conn: Connection, sid: str, day: date, now: datetime) -> Digest | None:
        """The subscription's digest for `day` as the snapshot `conn` sees it: its lists' dossiers not
        yet listed to it; None if it is gone or its digest of `day` is queued already."""
        sub = conn.execute(
            select(_SUBS.c.kinds, _SUBS.c.scope).where(_SUBS.c.id == sid, _SUBS.c.last_digest_day < day)
        ).first()
        if sub is None:
            return None
        scope = DigestScope.model_validate(loads(sub.scope))
        lists = []
        for kind in sub.kinds.split(","):
            if kind not in self.source.kinds:
                log.warning("subscription %s names the unknown kind %s; skipped", sid, kind)
                continue
            items, truncated = new_items(
                conn, self.source, sid, kind, scope, now, self.settings.webhook_max_items
            )
            lists.append(DigestList(kind=cast(Kind, kind), items=items, truncated=truncated))
        return Digest(subscription_id=sid, day=day, generated_at=to_local(now), scope=scope, lists=lists)

    def _queue_one(self, conn: Connection, digest: Digest, now: datetime) -> int:
        """Queue `digest` (read in a snapshot) in the write transaction `conn`, if its day is still due."""
        sid, day = digest.subscription_id, digest.day
        moved = conn.execute(
            update(_SUBS).where(_SUBS.c.id == sid, _SUBS.c.last_digest_day < day).values(last_digest_day=day)
        ).rowcount
        if moved != 1:
            return 0  # deleted, or queued by another runner since the snapshot
        # Dossiers marked sent since the snapshot (by another runner's digest of an earlier day, whose
        # clock lagged) are dropped here, in the transaction that writes the marks.
        for x in digest.lists:
            x.items = still_new(conn, sid, x.kind, x.items)
        body = dumps(digest.model_dump(mode="json", exclude_none=False))
        count = sum(len(x.items) for x in digest.lists)
        delivery_id = conn.execute(
            _DELIVERIES.insert()
            .values(
                subscription_id=sid,
                day=day,
                created_at=now,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                items=count,
                body=body,
            )
            .returning(_DELIVERIES.c.id)
        ).scalar_one()
        marks = [
            {"subscription_id": sid, "kind": x.kind, "code": i.code, "delivery_id": delivery_id}
            for x in digest.lists
            for i in x.items
        ]
        for start in range(0, len(marks), 1000):
            conn.execute(_SENT.insert(), marks[start : start + 1000])
        return 1

    # --- deliveries ----------------------------------------------------------------------------

    def deliver(self, lease: Lease, report: TickReport) -> None:
        now = self.clock()
        with self.engine.connect() as conn:
            due = conn.execute(
                select(_DELIVERIES.c.id, _DELIVERIES.c.attempts)
                .where(_DELIVERIES.c.status == "pending", _DELIVERIES.c.next_attempt_at <= now)
                .order_by(_DELIVERIES.c.next_attempt_at, _DELIVERIES.c.id)
                .limit(DELIVERY_BATCH)
            ).all()
        for delivery_id, attempts in due:
            lease.renew(self.clock())
            self._attempt(delivery_id, attempts, report)

    def _attempt(self, delivery_id: int, attempts: int, report: TickReport) -> None:
        s = self.settings
        attempt = attempts + 1
        now = self.clock()
        with write_transaction(self.engine) as conn:
            claimed = conn.execute(
                update(_DELIVERIES)
                .where(
                    _DELIVERIES.c.id == delivery_id,
                    _DELIVERIES.c.status == "pending",
                    _DELIVERIES.c.attempts == attempts,
                )
                .values(
                    attempts=attempt,
                    last_attempt_at=now,
                    next_attempt_at=now + backoff(attempt, s.webhook_retry_seconds),
                )
            ).rowcount
            if claimed != 1:
                return  # another runner took this attempt
            row = conn.execute(
                select(_DELIVERIES.c.body, _SUBS.c.url, _SUBS.c.secret)
                .select_from(_DELIVERIES.join(_SUBS, _SUBS.c.id == _DELIVERIES.c.subscription_id))
                .where(_DELIVERIES.c.id == delivery_id)
            ).first()
        if row is None:
            return  # its subscription was deleted meanwhile, and the delivery with it
        body = bytes(row.body)
        try:
            target = parse_target(row.url)
        except TargetRefused as exc:
            outcome = sender.Outcome(False, None, f"refused: {exc}")
        else:
            headers = {
                SIGNATURE_HEADER: signature(row.secret, int(self.signing_clock()), body),
                DELIVERY_HEADER: str(delivery_id),
            }
            outcome = sender.post(target, s.webhook_allowed_host_list, body, headers, s.webhook_timeout)
        done = self.clock()
        with write_transaction(self.engine) as conn:
            if outcome.ok:
                values: dict[str, object] = {
                    "status": "delivered",
                    "delivered_at": done,
                    "next_attempt_at": None,
                    "last_status_code": outcome.status,
                    "last_error": None,
                }
                report.delivered += 1
            elif attempt >= s.webhook_max_attempts:
                values = {
                    "status": "failed",
                    "next_attempt_at": None,
                    "last_status_code": outcome.status,
                    "last_error": outcome.error,
                }
                # Never delivered: its dossiers come again in the next digest.
                conn.execute(delete(_SENT).where(_SENT.c.delivery_id == delivery_id))
                report.gave_up += 1
            else:
                values = {"last_status_code": outcome.status, "last_error": outcome.error}
                report.failed_attempts += 1
            conn.execute(
                update(_DELIVERIES)
                .where(_DELIVERIES.c.id == delivery_id, _DELIVERIES.c.attempts == attempt)
                .values(**values)
            )
        if not outcome.ok:
            log.warning("webhook delivery %s attempt %s failed: %s", delivery_id, attempt, outcome.error)

    # --- pruning -------------------------------------------------------------------------------

    def prune(self, now: datetime) -> dict[str, int]:
        pruned: dict[str, int] = {}
        for name, hook in self.prune_hooks:
            total = 0
            for _ in range(PRUNE_BATCHES):
                with write_transaction(self.engine) as conn:
                    n = hook(conn, now, self.settings, PRUNE_BATCH)
                total += n
                if n < PRUNE_BATCH:
                    break
            pruned[name] = total
        return pruned


async def run_forever(runner: JobRunner, interval: float) -> None:
    """Tick every `interval` seconds (the first after one interval) until cancelled; a tick that fails
    is logged and the next one tried."""
    while True:
        await asyncio.sleep(interval)
        try:
            report = await asyncio.to_thread(runner.tick)
        except Exception:
            log.exception("the job runner's tick failed")
            continue
        if report.ran and (report.queued or report.delivered or report.failed_attempts or report.gave_up):
            log.info(
                "jobs: %d digests queued, %d delivered, %d attempts failed, %d given up",
                report.queued,
                report.delivered,
                report.failed_attempts,
                report.gave_up,
            )
