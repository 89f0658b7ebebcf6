"""The quality of the feed, as pure rules: a rejected record's reasons as bounded keys, and the warnings
an accepted version carries (docs/API.md, "The quality of the feed"). No database, no web.

A rejection is kept as (field, rule, type): the error's location with list positions written `*` and
any name the record schema does not know written `(unknown field)` (an unknown field's name is the
sender's text, never a key), the error's message as the rule (the service's own words, which never
quote a value) and its type.

A warning is a question a careful reader would ask of an accepted version. `warnings` lists those a
version carries, judged at the instant it was accepted (`stored_at`); `bases` lists what it counts in
for the shares (a dossier `received`, `finished`, `resolved`). Ingest counts a warning (or base) for a
version only when the version it replaces did not carry it (`new_marks`): each dossier counts once per
warning however often the source sends it, again only after a version without it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time
from typing import Any

from app.core.calendar import WorkingCalendar
from app.core.index_derive import CatalogueEntry, add_months, boundary_day, catalogue_deadline
from app.core.timeutil import VN_OFFSET, local_date
from app.core.vocabulary import CLOSED_STATUSES, FINISHED_STATUSES, OPEN_STATUSES

UNKNOWN_AGENCY = "unknown"  # the agency of a rejected record whose agency_code is not a registered one
UNKNOWN_FIELD = "(unknown field)"
MAX_FIELD = 100
MAX_RULE = 200
MAX_TYPE = 64
MAX_CODE = 64

# The kinds of counts: a rejected record (one per record), a reason of one (one per distinct reason of
# a record), a warning of an accepted version, a base of the warnings' shares.
RECORDS, REJECTED, WARNING, BASE = "records", "rejected", "warning", "base"

# The warnings, each with the field it questions and the base its share is taken of.
FINISHED_WITHOUT_DEADLINE = "finished_without_deadline"
RESOLVED_OUTSIDE_HOURS = "resolved_outside_hours"
RESOLVED_ON_DAY_OFF = "resolved_on_day_off"
DEADLINE_BELOW_LEGAL = "deadline_below_legal"
DEADLINE_OVER_TWICE_LEGAL = "deadline_over_twice_legal"
OPEN_OVER_A_YEAR = "open_over_a_year"
SUPPLEMENT_WITHOUT_HISTORY = "supplement_without_history"

RECEIVED, FINISHED, RESOLVED = "received", "finished", "resolved"


@dataclass(frozen=True, slots=True)
class WarningRule:
    code: str
    field: str
    base: str
    # Flagged for a unit only when its share of the base exceeds the configured threshold (the
    # resolution-time warnings: a few resolutions at 17:30 are ordinary); the others at any count.
    by_share: bool
    description: str


WARNING_RULES: tuple[WarningRule, ...] = (
    WarningRule(
        FINISHED_WITHOUT_DEADLINE,
        "due_at",
        FINISHED,
        False,
        "finished (resolved, returned or rejected) with no due_at",
    ),
    WarningRule(
        RESOLVED_OUTSIDE_HOURS,
        "resolved_at",
        RESOLVED,
        True,
        "resolved_at on a working day but outside the working hours",
    ),
    WarningRule(
        RESOLVED_ON_DAY_OFF,
        "resolved_at",
        RESOLVED,
        True,
        "resolved_at on a day that is not a working day (weekend, public holiday, the province's day off)",
    ),
    WarningRule(
        DEADLINE_BELOW_LEGAL,
        "due_at",
        RECEIVED,
        False,
        "due_at falls on a day before the procedure's legal deadline from the catalogue",
    ),
    WarningRule(
        DEADLINE_OVER_TWICE_LEGAL,
        "due_at",
        RECEIVED,
        False,
        "due_at falls after the deadline of twice the procedure's legal duration",
    ),
    WarningRule(
        OPEN_OVER_A_YEAR, "received_at", RECEIVED, False, "still open more than a year after received_at"
    ),
    WarningRule(
        SUPPLEMENT_WITHOUT_HISTORY,
        "supplements",
        RECEIVED,
        False,
        "status supplement_requested with no supplement request in `supplements`",
    ),
)
RULES_BY_CODE = {r.code: r for r in WARNING_RULES}
BASES: tuple[str, ...] = (RECEIVED, FINISHED, RESOLVED)


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """The local working hours: a resolution at `start` or `end` is inside them."""

    start: time = time(7, 30)
    end: time = time(17, 0)

    def inside(self, local: datetime) -> bool:
        """Whether a local wall-clock instant lies within the hours (both ends inside)."""
        # Compared as tuples: cheaper than building a time, as ingest does it once a resolved record.
        at = (local.hour, local.minute, local.second, local.microsecond)
        s, e = self.start, self.end
        return (
            (s.hour, s.minute, s.second, s.microsecond) <= at <= (e.hour, e.minute, e.second, e.microsecond)
        )


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """What ingest needs of the feed's settings: the working hours, and the latest codes kept per key."""

    hours: WorkingHours = WorkingHours()
    examples: int = 10


def parse_hours(text: str) -> WorkingHours:
    """ "07:30-17:00" as WorkingHours (the setting's pattern is checked by the settings)."""
    start, end = text.split("-")
    return WorkingHours(time.fromisoformat(start), time.fromisoformat(end))


# --- rejections -----------------------------------------------------------------------------------


def rejection_key(error: Mapping[str, Any], known_fields: Collection[str]) -> tuple[str, str, str]:
    """(field, rule, type) of one error of a rejected record, each bounded in length and in kind."""
    parts: list[str] = []
    for part in error.get("loc") or ():
        if isinstance(part, int):
            parts.append("*")
        elif isinstance(part, str) and part in known_fields:
            parts.append(part)
        else:
            parts = [UNKNOWN_FIELD]
            break
    kind = str(error.get("type") or "")[:MAX_TYPE]
    rule = str(error.get("msg") or "")
    if kind == "too_many_errors":
        rule = "more errors of the record were not listed"  # its own message counts them
    return ".".join(parts)[:MAX_FIELD], rule[:MAX_RULE], kind


def rejection_keys(
    errors: Iterable[Mapping[str, Any]], known_fields: Collection[str]
) -> set[tuple[str, str, str]]:
    """The distinct keys of a rejected record's errors (a record counts once per key)."""
    return {rejection_key(e, known_fields) for e in errors}


def agency_key(agency_code: Any, registered: Collection[str]) -> str:
    """The agency a rejected record is counted under: its agency_code if registered, else `unknown`."""
    return agency_code if isinstance(agency_code, str) and agency_code in registered else UNKNOWN_AGENCY


# --- warnings on accepted versions -------------------------------------------------------------------


def warnings(
    row: Mapping[str, Any],
    entry: CatalogueEntry | None,
    calendar: WorkingCalendar,
    hours: WorkingHours,
) -> set[str]:
    """The warnings a version carries, judged at the instant it was accepted (row["stored_at"])."""
    found: set[str] = set()
    status = row["status"]
    received_at: datetime = row["received_at"]
    due_at: datetime | None = row.get("due_at")
    resolved_at: datetime | None = row.get("resolved_at")
    if status in FINISHED_STATUSES and due_at is None:
        found.add(FINISHED_WITHOUT_DEADLINE)
    if status in CLOSED_STATUSES and resolved_at is not None:
        local = resolved_at.astimezone(UTC).replace(tzinfo=None) + VN_OFFSET  # the wall clock in Vietnam
        if not calendar.is_working_day(local.date()):
            found.add(RESOLVED_ON_DAY_OFF)
        elif not hours.inside(local):
            found.add(RESOLVED_OUTSIDE_HOURS)
    if due_at is not None and entry is not None:
        legal = catalogue_deadline(received_at, entry, calendar)
        if legal is not None and entry.max_duration_value is not None:
            if boundary_day(due_at) < boundary_day(legal):
                found.add(DEADLINE_BELOW_LEGAL)
            twice = catalogue_deadline(
                received_at, replace(entry, max_duration_value=2 * entry.max_duration_value), calendar
            )
            if twice is not None and boundary_day(due_at) > boundary_day(twice):
                found.add(DEADLINE_OVER_TWICE_LEGAL)
    if status in OPEN_STATUSES:
        stored_at: datetime = row["stored_at"]
        if add_months(local_date(received_at), 12) < local_date(stored_at):
            found.add(OPEN_OVER_A_YEAR)
    if status == "supplement_requested" and not _has_supplements(row.get("supplements")):
        found.add(SUPPLEMENT_WITHOUT_HISTORY)
    return found


def bases(row: Mapping[str, Any]) -> set[str]:
    """What a version counts in for the warnings' shares."""
    found = {RECEIVED}
    if row["status"] in FINISHED_STATUSES:
        found.add(FINISHED)
    if row["status"] in CLOSED_STATUSES and row.get("resolved_at") is not None:
        found.add(RESOLVED)
    return found


def _has_supplements(value: Any) -> bool:
    # The stored canonical text ("" or None for none) or a sequence of requests.
    return bool(value) and value != "[]"


# Every warning and base as one bit of an int: a version's marks cost one small int, not a set.
MARK_NAMES: tuple[tuple[str, str], ...] = (
    *((WARNING, r.code) for r in WARNING_RULES),
    *((BASE, b) for b in BASES),
)
_BIT = {mark: 1 << i for i, mark in enumerate(MARK_NAMES)}


def marks(
    row: Mapping[str, Any], entry: CatalogueEntry | None, calendar: WorkingCalendar, hours: WorkingHours
) -> int:
    """The bits of every warning and base a version carries (see MARK_NAMES)."""
    mask = 0
    for w in warnings(row, entry, calendar, hours):
        mask |= _BIT[(WARNING, w)]
    for b in bases(row):
        mask |= _BIT[(BASE, b)]
    return mask


def mark_names(mask: int) -> list[tuple[str, str]]:
    """(kind, code) of each bit set in `mask`."""
    return [mark for mark, bit in _BIT.items() if mask & bit]


# The key of a row (the ingest's dict of a version) holding its marks computed while it was validated.
MARKS = "_feed_marks"


def new_marks(
    new: Mapping[str, Any],
    old: Mapping[str, Any] | None,
    catalogue: Mapping[str, CatalogueEntry],
    calendar: WorkingCalendar,
    hours: WorkingHours,
) -> int:
    """The warnings and bases (bits, see MARK_NAMES) the accepted version `new` carries and the
    version it replaces (`old`, None for a new dossier) did not: what ingest adds to the day's
    counts. `new[MARKS]`, when set, are the new version's marks computed beforehand (ingest does it
    while validating, off the writer)."""
    found: int | None = new.get(MARKS)
    if found is None:
        found = marks(new, catalogue.get(new["procedure_code"]), calendar, hours)
    if old is not None and found:
        before = old.get(MARKS)  # set when `old` is an earlier line of the same chunk
        if before is None:
            before = marks(old, catalogue.get(old["procedure_code"]), calendar, hours)
        return found & ~before
    return found
