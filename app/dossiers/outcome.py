"""A dossier's outcome at an instant (contract §4.1), in Python and as SQL conditions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, not_, or_

from app.core.counters import FinishClass
from app.core.vocabulary import CLOSED_STATUSES, FINISHED_STATUSES
from app.models import Dossier

FINISH_NAMES = {FinishClass.EARLY: "early", FinishClass.ON_TIME: "on_time", FinishClass.LATE: "late"}


def outcome_at(row: Any, instant: datetime) -> str | None:
    """early / on_time / late / withdrawn once closed before `instant`, else pending or pending_overdue;
    None when the dossier had not been received by then."""
    if row.received_at >= instant:
        return None
    if row.resolved_at is not None and row.resolved_at < instant and row.status in CLOSED_STATUSES:
        if row.status == "withdrawn":
            return "withdrawn"
        return FINISH_NAMES[FinishClass(row.finish_class)]
    if row.due_at is not None and row.due_at < instant:
        return "pending_overdue"
    return "pending"


def outcome_condition(outcome: str, instant: datetime) -> ColumnElement[bool]:
    """The SQL condition of one outcome at `instant` (the dossier being received by then)."""
    d = Dossier
    closed = and_(d.resolved_at.is_not(None), d.resolved_at < instant, d.status.in_(CLOSED_STATUSES))
    if outcome == "withdrawn":
        return and_(closed, d.status == "withdrawn")
    if outcome in ("early", "on_time", "late"):
        cls = {"early": FinishClass.EARLY, "on_time": FinishClass.ON_TIME, "late": FinishClass.LATE}[outcome]
        return and_(closed, d.status.in_(FINISHED_STATUSES), d.finish_class == int(cls))
    overdue = and_(d.due_at.is_not(None), d.due_at < instant)
    if outcome == "pending_overdue":
        return and_(not_(closed), overdue)
    return and_(not_(closed), or_(d.due_at.is_(None), d.due_at >= instant))
