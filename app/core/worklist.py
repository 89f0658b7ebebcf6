"""What to do today: the worklists' rule per dossier (pure: no database, no web).

One rule, used by the lists, their counts and (later) the webhook digest and the drill-down:

- a dossier's **deadline** is `due_at`, or, when it has none, the national deadline derived from the
  procedure catalogue (`idx_deadline_at`, app.core.index_derive: the legal maximum counted from the
  day after receipt, moved by the working days its answered supplement requests covered);
- **whose clock runs**: an open dossier whose only supplement request is unanswered waits for the
  applicant (`applicant`: the national index's end of processing is that request, `idx_end_at`); any
  other open dossier is on the agency's clock (`agency`); a closed one on nobody's (None). With two or
  more requests the national index counts it late from the second one, so it stays the agency's;
- **working days** come from the working-day calendar (weekends, public holidays, the province's days
  off and make-up days): `working_days_left` = the working days after today up to the deadline's day
  (0: due today); `working_days_late` = the working days after the deadline's day up to today (0: the
  deadline passed earlier today), or, for a finished dossier, up to the day it was resolved.

The kinds (docs/API.md, "Worklists"):
- `due_soon`: open, agency's clock, deadline not yet passed and at most N working days left;
- `overdue`: open, agency's clock, deadline passed (`deadline < now`, as contract §4.1 judges "now");
- `late_without_apology`: without `apology_issued`, overdue, or finished (resolved, returned,
  rejected) in the period after its deadline;
- `supplement_repeated`: open with more than one supplement request;
- `unpaid_online`: received in the period with `fee_required` and not `paid_online`;
- `no_electronic_result`: finished in the period without `digitised_result`, of a procedure whose
  result is on paper, or one the catalogue does not know;
- `awaiting_supplement`: open, on the applicant's clock (never due_soon or overdue).

`due_soon_window` and `period` give the instants and dates the SQL queries compare with, so the
queries and `kinds_of` (the per-dossier rule the tests check the queries against) cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, get_args

from app.core.calendar import WorkingCalendar
from app.core.definitions import RATES
from app.core.index_derive import boundary_day, supplements_of
from app.core.timeutil import local_date, start_of_day
from app.core.vocabulary import CLOSED_STATUSES, FINISHED_STATUSES, OPEN_STATUSES

Kind = Literal[
    "due_soon",
    "overdue",
    "late_without_apology",
    "supplement_repeated",
    "unpaid_online",
    "no_electronic_result",
    "awaiting_supplement",
]
KINDS: tuple[Kind, ...] = get_args(Kind)  # in the order above
# The kinds judged over the chosen period (the others are states of open dossiers, taken now).
PERIOD_KINDS: frozenset[str] = frozenset({"late_without_apology", "unpaid_online", "no_electronic_result"})
# The kinds whose dossiers run late on the agency's clock: an apology is owed before the deadline passes.
APOLOGY_KINDS: frozenset[str] = frozenset({"due_soon", "overdue", "late_without_apology"})
# The kinds of open dossiers only (the summary counts them in one pass over the open dossiers).
OPEN_KINDS: tuple[Kind, ...] = ("due_soon", "overdue", "supplement_repeated", "awaiting_supplement")

Clock = Literal["agency", "applicant"]
DeadlineSource = Literal["due_at", "catalogue"]

DEFAULT_DUE_WITHIN = 2
MAX_DUE_WITHIN = 60

# The counts a dossier of each kind keeps out of a figure's numerator: the contract's counts (§4.2)
# and the national index's idx21_ counts. The rates and the indicators it weighs on are derived from
# these: the rates whose numerator holds one of the counts (app.core.definitions), the indicators
# whose numerator is one of the idx21_ counts (the rule set in force).
WITHHELD_COUNTS: Mapping[str, tuple[str, ...]] = {
    "due_soon": ("finished_on_time", "late_apologised", "idx21_on_time", "idx21_satisfied"),
    "overdue": ("finished_on_time", "late_apologised", "idx21_on_time", "idx21_satisfied"),
    "late_without_apology": ("late_apologised",),
    "supplement_repeated": ("idx21_on_time", "idx21_satisfied"),
    "unpaid_online": ("paid_online", "idx21_paid_online"),
    "no_electronic_result": ("digitised_result", "idx21_electronic", "idx21_digitised"),
    "awaiting_supplement": (),
}


def rates_weighed(kind: str) -> tuple[str, ...]:
    """The rates (contract §4.3) a dossier of this kind weighs on, in the catalogue's order."""
    withheld = set(WITHHELD_COUNTS[kind])
    return tuple(r.name for r in RATES if any(t.count in withheld for t in r.numerator_terms or ()))


@dataclass(frozen=True, slots=True)
class Window:
    """The chosen period of the period kinds (local dates, both inclusive) and the due-soon horizon."""

    start: date
    end: date


def default_period(now: datetime) -> Window:
    """The current calendar year, 1 January to 31 December."""
    year = local_date(now).year
    return Window(date(year, 1, 1), date(year, 12, 31))


def deadline_of(row: Mapping[str, Any]) -> datetime | None:
    """`due_at`, else the national deadline derived from the catalogue (None: neither)."""
    due: datetime | None = row.get("due_at")
    if due is not None:
        return due
    derived: datetime | None = row.get("idx_deadline_at")
    return derived


def deadline_source(row: Mapping[str, Any]) -> DeadlineSource | None:
    if row.get("due_at") is not None:
        return "due_at"
    return "catalogue" if row.get("idx_deadline_at") is not None else None


def clock_of(row: Mapping[str, Any]) -> Clock | None:
    """Whose clock runs for the dossier now (None when it is closed)."""
    if row["status"] not in OPEN_STATUSES:
        return None
    return "applicant" if row.get("idx_end_at") is not None else "agency"


def supplement_requests(row: Mapping[str, Any]) -> int:
    return len(supplements_of(row))


def due_soon_window(now: datetime, within: int, calendar: WorkingCalendar) -> tuple[datetime, datetime]:
    """(now, horizon): a deadline in (now, horizon] has at most `within` working days left. The horizon
    is the start of the (within + 1)-th working day after today, so a deadline on a day off right after
    the `within`-th working day (a Saturday, a holiday) counts as that many days left, as it should."""
    today = local_date(now)
    return now, start_of_day(calendar.add_working_days(today, within + 1))


def working_days_left(deadline: datetime, now: datetime, calendar: WorkingCalendar) -> int:
    """The working days after today up to the deadline's day (0: due today)."""
    return calendar.working_days_between(local_date(now), boundary_day(deadline))


def working_days_late(deadline: datetime, until: datetime, calendar: WorkingCalendar) -> int:
    """The working days after the deadline's day up to the local day of `until` (0: late by less than a
    working day)."""
    return max(0, calendar.working_days_between(boundary_day(deadline), local_date(until)))


def _finished_late(row: Mapping[str, Any], deadline: datetime | None) -> bool:
    resolved: datetime | None = row.get("resolved_at")
    return (
        row["status"] in FINISHED_STATUSES
        and deadline is not None
        and resolved is not None
        and resolved > deadline
    )


def kinds_of(
    row: Mapping[str, Any],
    now: datetime,
    period: Window,
    within: int,
    calendar: WorkingCalendar,
    paper_result: bool | None,
) -> set[Kind]:
    """The kinds a dossier belongs to now. `row` holds the stored columns; `paper_result` is its
    procedure's catalogue flag (None: not in the catalogue)."""
    out: set[Kind] = set()
    deadline = deadline_of(row)
    clock = clock_of(row)
    apology = bool(row.get("apology_issued"))
    overdue = clock == "agency" and deadline is not None and deadline < now
    if clock == "applicant":
        out.add("awaiting_supplement")
    if clock == "agency" and deadline is not None:
        lo, hi = due_soon_window(now, within, calendar)
        if lo <= deadline <= hi and not deadline < now:
            out.add("due_soon")
    if overdue:
        out.add("overdue")
    if clock is not None and supplement_requests(row) > 1:
        out.add("supplement_repeated")
    resolved: datetime | None = row.get("resolved_at")
    in_period = resolved is not None and period.start <= local_date(resolved) <= period.end
    if not apology and (overdue or (in_period and _finished_late(row, deadline))):
        out.add("late_without_apology")
    received: datetime = row["received_at"]
    if (
        period.start <= local_date(received) <= period.end
        and row.get("fee_required")
        and not row.get("paid_online")
    ):
        out.add("unpaid_online")
    if (
        row["status"] in FINISHED_STATUSES
        and in_period
        and not row.get("digitised_result")
        and paper_result is not False
    ):
        out.add("no_electronic_result")
    return out


@dataclass(frozen=True, slots=True)
class Judged:
    """What a list shows of a dossier besides its stored fields."""

    deadline: datetime | None
    deadline_source: DeadlineSource | None
    clock: Clock | None
    working_days_left: int | None
    working_days_late: int | None
    supplement_requests: int
    apology_owed: bool


def judge(row: Mapping[str, Any], kind: str, now: datetime, calendar: WorkingCalendar) -> Judged:
    """The deadline, whose clock runs, the working days left (before the deadline) or late (after it:
    up to today while open, up to the day it was resolved when finished) of a dossier listed as
    `kind`. Left and late are None without a deadline and while the applicant holds the dossier."""
    deadline = deadline_of(row)
    clock = clock_of(row)
    left: int | None = None
    late: int | None = None
    if deadline is not None and clock == "agency":
        if deadline < now:
            late = working_days_late(deadline, now, calendar)
        else:
            left = working_days_left(deadline, now, calendar)
    elif deadline is not None and clock is None and _finished_late(row, deadline):
        late = working_days_late(deadline, row["resolved_at"], calendar)
    owed = kind in APOLOGY_KINDS and not row.get("apology_issued")
    return Judged(deadline, deadline_source(row), clock, left, late, supplement_requests(row), owed)


def overdue_or_early(
    row: Mapping[str, Any], instant: datetime, calendar: WorkingCalendar
) -> tuple[int | None, int | None]:
    """(working days overdue, working days early) of a dossier judged at `instant`, against its
    deadline (`deadline_of`), as the drill-down shows it:
    - finished by `instant` after its deadline: overdue = the working days after the deadline's day up
      to the day it was resolved (0: late by less than a working day); early is None;
    - finished by its deadline: early = the working days after the day it was resolved up to the
      deadline's day (0: on the deadline's day); overdue is None;
    - open at `instant` (or finished later) and past its deadline: overdue = the working days after the
      deadline's day up to the day of `instant`; early is None;
    - open within its deadline, withdrawn, or without a deadline: both None."""
    deadline = deadline_of(row)
    if deadline is None:
        return None, None
    resolved: datetime | None = row.get("resolved_at")
    if resolved is not None and resolved < instant and row["status"] in CLOSED_STATUSES:
        if row["status"] not in FINISHED_STATUSES:
            return None, None
        if resolved > deadline:
            return working_days_late(deadline, resolved, calendar), None
        return None, working_days_left(deadline, resolved, calendar)
    if deadline < instant:
        return working_days_late(deadline, instant, calendar), None
    return None, None
