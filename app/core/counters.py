"""The additive daily counters kept in the rollups, and how each dossier version contributes to them.

Pure: no database and no web imports. Every count of contract §4.2 is a sum of these counters:
flows over a period, and states (pending, overdue) as prefix sums up to a date.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import IntEnum

from app.core.timeutil import local_date

# Keyed by the local date of received_at.
RECEIVED_COUNTERS = (
    "received",
    "received_online",
    "received_full_online",
    "fee_required",
    "paid_online",
    "digitised_intake",
    "reused_digital_data",
)
# Keyed by the local date of resolved_at (finished or withdrawn dossiers).
FINISH_COUNTERS = (
    "finished",
    "finished_early",
    "finished_on_time",
    "finished_late",
    "finished_late_apologised",
    "digitised_result",
    "rated",
    "satisfied",
    "withdrawn",
    "closed",
)
# Dossiers whose due date passes before the day they close (or that are still open), keyed by the
# local date of due_at; and those of them that closed, keyed by the close date.
DUE_COUNTERS = ("due", "due_apology")
DUE_CLOSED_COUNTERS = ("due_closed", "due_closed_apology")
# Withdrawn dossiers by how they ended against their deadline (§4.1, the rule of finished ones),
# keyed by the close date like `withdrawn`: the periodic report's closed early / on time / late.
# Last, in the order migration 0007 added them to the rollups.
WITHDRAWN_CLASS_COUNTERS = ("withdrawn_early", "withdrawn_on_time", "withdrawn_late")

COUNTERS: tuple[str, ...] = (
    RECEIVED_COUNTERS + FINISH_COUNTERS + DUE_COUNTERS + DUE_CLOSED_COUNTERS + WITHDRAWN_CLASS_COUNTERS
)
# The counters whose running sums give the states at the end of a day.
STATE_COUNTERS = ("received", "closed", "due", "due_closed", "due_apology", "due_closed_apology")


class FinishClass(IntEnum):
    """How a finished or withdrawn dossier ended against its deadline (contract §4.1)."""

    EARLY = 1
    ON_TIME = 2
    LATE = 3


def deadline_day(due_at: datetime) -> date:
    """The local date a deadline falls on; a deadline at 00:00 is the end of the day before.

    A due date written as a bare date D means the instant D+1 00:00 (end of D); the applicant's
    appointment day is still D, so a dossier resolved on D is on time, not early.
    """
    return local_date(due_at - timedelta(microseconds=1))


def finish_class(resolved_at: datetime, due_at: datetime | None) -> FinishClass:
    """early / on time / late for a dossier that ended at `resolved_at`, finished or withdrawn (§4.1)."""
    if due_at is None:
        return FinishClass.ON_TIME
    if resolved_at > due_at:
        return FinishClass.LATE
    if local_date(resolved_at) < deadline_day(due_at):
        return FinishClass.EARLY
    return FinishClass.ON_TIME
