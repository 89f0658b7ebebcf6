"""A dossier's supplement requests (yêu cầu bổ sung) as the national index reads them. Pure.

The record carries them as `[{"requested_at": …, "supplied_at": … | null}]`, ordered by
`requested_at`; the stored row keeps them as one canonical JSON text (instants in UTC, microseconds
only when present), or null when there are none, so that content comparison for unchanged/conflict
sees `[]`, an absent field and the same instants written with other offsets as one value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

# A record lists at most this many supplement requests (the portal's lists are short; this bounds a
# record's cost whatever it sends).
MAX_SUPPLEMENTS = 50


@dataclass(frozen=True, slots=True)
class Supplement:
    requested_at: datetime  # aware, UTC
    supplied_at: datetime | None  # aware, UTC; None while unanswered


def _instant(value: datetime) -> str:
    v = value.astimezone(UTC)
    text = v.strftime("%Y-%m-%dT%H:%M:%S")
    if v.microsecond:
        text += f".{v.microsecond:06d}"
    return text + "Z"


def dump_supplements(items: Sequence[Supplement]) -> str | None:
    """The canonical stored text of a list of requests; None for no requests."""
    if not items:
        return None
    return orjson.dumps(
        [
            {
                "requested_at": _instant(s.requested_at),
                "supplied_at": None if s.supplied_at is None else _instant(s.supplied_at),
            }
            for s in items
        ]
    ).decode()


def load_supplements(text: str | None) -> tuple[Supplement, ...]:
    """The requests of a stored canonical text (None or empty: none)."""
    if not text:
        return ()
    return tuple(
        Supplement(
            datetime.fromisoformat(item["requested_at"]),
            None if item["supplied_at"] is None else datetime.fromisoformat(item["supplied_at"]),
        )
        for item in orjson.loads(text)
    )


def supplement_errors(received_at: datetime, items: Sequence[Supplement]) -> list[tuple[int, str, str]]:
    """The rules of NATIONAL_INDEX.md over a record's requests: (index, field, message) per breach.

    Each request is at or after `received_at` and after the previous request; each supply is at or
    after its request; at most one request is unanswered, and it is the last.
    """
    out: list[tuple[int, str, str]] = []
    if len(items) > MAX_SUPPLEMENTS:
        return [(MAX_SUPPLEMENTS, "requested_at", f"at most {MAX_SUPPLEMENTS} supplement requests")]
    for i, s in enumerate(items):
        if s.requested_at < received_at:
            out.append((i, "requested_at", "a supplement request is before received_at"))
        if i and s.requested_at < items[i - 1].requested_at:
            out.append((i, "requested_at", "supplement requests are not ordered by requested_at"))
        if i and items[i - 1].supplied_at is None:
            out.append((i - 1, "supplied_at", "only the last supplement request may be unanswered"))
        if s.supplied_at is not None and s.supplied_at < s.requested_at:
            out.append((i, "supplied_at", "supplied_at is before its requested_at"))
        if i and items[i - 1].supplied_at is not None and s.requested_at < items[i - 1].supplied_at:  # type: ignore[operator]
            out.append((i, "requested_at", "a supplement request is before the previous one was answered"))
    return out
