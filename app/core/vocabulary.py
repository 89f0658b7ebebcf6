"""The record's vocabulary, written once: channels, statuses, ratings, the shapes of codes, the
dimensions figures are grouped by and the dossier columns they come from. Pure."""

from __future__ import annotations

from typing import Literal, get_args

Channel = Literal["online", "in_person", "postal"]
OnlineLevel = Literal["full", "partial"]
Status = Literal["processing", "supplement_requested", "resolved", "returned", "rejected", "withdrawn"]
Rating = Literal["very_satisfied", "satisfied", "neutral", "dissatisfied"]
Outcome = Literal["early", "on_time", "late", "pending", "pending_overdue", "withdrawn"]

CHANNELS: tuple[str, ...] = get_args(Channel)
STATUSES: tuple[str, ...] = get_args(Status)
OPEN_STATUSES = frozenset({"processing", "supplement_requested"})
FINISHED_STATUSES = frozenset({"resolved", "returned", "rejected"})
WITHDRAWN = "withdrawn"
CLOSED_STATUSES = FINISHED_STATUSES | {WITHDRAWN}
# In the order the rollup SQL lists them (tests/golden).
SATISFIED_RATINGS: tuple[str, ...] = ("very_satisfied", "satisfied")

# A dossier code (mã hồ sơ), and other codes of the same shape (agency, portal sector codes).
CODE_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
# A sector slug (lĩnh vực), e.g. dat_dai.
SECTOR_PATTERN = r"^[a-z0-9_]{1,64}$"
# Printable text without control characters, for codes that are not constrained further.
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
# A 2025 official ward code.
COMMUNE_PATTERN = r"^[0-9]{5}$"

# The dimensions figures are grouped and filtered by, and the dossier column each comes from.
DIMENSION_COLUMNS: dict[str, str] = {
    "agency": "agency_code",
    "commune": "commune_code",
    "sector": "sector",
    "procedure": "procedure_code",
    "channel": "channel",
}
DIMENSIONS: tuple[str, ...] = tuple(DIMENSION_COLUMNS)

assert set(STATUSES) == OPEN_STATUSES | CLOSED_STATUSES and not OPEN_STATUSES & CLOSED_STATUSES
assert set(SATISFIED_RATINGS) <= set(get_args(Rating))
