"""A naive per-dossier computation of contract §4, independent of the rollups, for checking them."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from app.core.periods import buckets, label
from app.core.timeutil import end_of_day, local_date, to_utc
from app.dossiers.schemas import parse_due, parse_timestamp

FINISHED = {"resolved", "returned", "rejected"}
CLOSED = FINISHED | {"withdrawn"}


def _t(v: Any) -> datetime | None:
    return None if v is None else parse_timestamp(v)


def _deadline_day(due: datetime) -> date:
    return local_date(due - timedelta(microseconds=1))


def classify(r: dict[str, Any]) -> str:
    resolved, due = _t(r["resolved_at"]), parse_due(r.get("due_at"))
    assert resolved is not None
    if due is None:
        return "on_time"
    if resolved > due:
        return "late"
    if local_date(resolved) < _deadline_day(due):
        return "early"
    return "on_time"


def _state(records: list[dict[str, Any]], instant: datetime) -> tuple[int, int, int]:
    pending = overdue = overdue_apology = 0
    for r in records:
        if _t(r["received_at"]) >= instant:  # type: ignore[operator]
            continue
        resolved = _t(r.get("resolved_at"))
        if r["status"] in CLOSED and resolved is not None and resolved < instant:
            continue
        pending += 1
        due = parse_due(r.get("due_at"))
        if due is not None and due < instant:
            overdue += 1
            overdue_apology += bool(r.get("apology_issued"))
    return pending, overdue, overdue_apology


def naive_counts(records: list[dict[str, Any]], start: date, end: date, now: datetime) -> dict[str, int]:
    """Every count of §4.2 for [start, end], judged `now`."""
    today = local_date(now)

    def instant(day: date) -> datetime:
        return end_of_day(day) if day < today else to_utc(now)

    c: dict[str, int] = defaultdict(int)
    for r in records:
        rd = local_date(_t(r["received_at"]))  # type: ignore[arg-type]
        if start <= rd <= end:
            c["received"] += 1
            online = r["channel"] == "online"
            c["received_online"] += online
            c["received_full_online"] += online and r.get("online_level") == "full"
            c["fee_required"] += bool(r.get("fee_required"))
            c["paid_online"] += bool(r.get("paid_online"))
            c["digitised_intake"] += bool(r.get("digitised_intake"))
            c["reused_digital_data"] += bool(r.get("reused_digital_data"))
        resolved = _t(r.get("resolved_at"))
        if resolved is not None and r["status"] in CLOSED and start <= local_date(resolved) <= end:
            # Withdrawn or finished, the dossier's processing ended: the form counts it closed, by class.
            kind = classify(r)
            c["closed"] += 1
            c[f"closed_{kind}"] += 1
            if r["status"] == "withdrawn":
                c["withdrawn"] += 1
            else:
                c["finished"] += 1
                c[f"finished_{kind}"] += 1
                c["digitised_result"] += bool(r.get("digitised_result"))
                rating = r.get("rating")
                c["rated"] += rating is not None
                c["satisfied"] += rating in ("very_satisfied", "satisfied")
                if kind == "late" and r.get("apology_issued"):
                    c["late_apologised"] += 1
    c["carried_over"] = _state(records, instant(start - timedelta(days=1)))[0]
    pending, overdue, overdue_apology = _state(records, instant(end))
    c["pending"], c["pending_overdue"] = pending, overdue
    c["late_apologised"] += overdue_apology
    c["received_total"] = c["received"] + c["carried_over"]
    names = (
        "received",
        "received_online",
        "received_full_online",
        "fee_required",
        "paid_online",
        "digitised_intake",
        "reused_digital_data",
        "finished",
        "finished_early",
        "finished_on_time",
        "finished_late",
        "digitised_result",
        "rated",
        "satisfied",
        "withdrawn",
        "carried_over",
        "pending",
        "pending_overdue",
        "late_apologised",
        "received_total",
        "closed",
        "closed_early",
        "closed_on_time",
        "closed_late",
    )
    return {n: int(c[n]) for n in names}


def naive_rows(
    records: list[dict[str, Any]], start: date, end: date, now: datetime, dims: list[str], unit: str | None
) -> dict[tuple[Any, ...], dict[str, int]]:
    """Counts per (time label, dimension values), non-empty groups only (as the API lists them)."""
    field = {
        "agency": "agency_code",
        "commune": "commune_code",
        "sector": "sector",
        "procedure": "procedure_code",
        "channel": "channel",
    }
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[tuple(r.get(field[d]) for d in dims)].append(r)
    if not dims:
        groups.setdefault((), [])
    out: dict[tuple[Any, ...], dict[str, int]] = {}
    for b in buckets(unit, start, end):
        for key, recs in groups.items():
            counts = naive_counts(recs, b.start, b.end, now)
            if dims and not any(counts.values()):
                continue
            out[((label(unit, b.start),) if unit else ()) + key] = counts
    return out
