"""A dossier as GET /v1/dossiers shows it (the JSON item, and the line of its CSV and XLSX exports):
the stored record in Vietnam time, its outcome at the judging instant, its procedure's and units'
names, the deadline it is judged against and the working days overdue or early
(app.core.worklist.overdue_or_early)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from app.core import worklist
from app.core.calendar import WorkingCalendar
from app.core.supplements import load_supplements
from app.core.timeutil import to_local
from app.dossiers.outcome import outcome_at
from app.dossiers.schemas import DossierIn, DossierLossOut, DossierOut, DrilldownOut, SupplementOut

# The record's fields served as stored; the instants and the supplement requests are converted.
_PLAIN_FIELDS = tuple(f for f in DossierIn.model_fields if not f.endswith("_at") and f != "supplements")


def dossier_out(row: Any, instant: datetime) -> DossierOut:
    """A stored dossier (a row of app.dossiers.service.dossier_rows) with its outcome at `instant`."""
    return DossierOut(**_record(row, instant))


def _record(row: Any, instant: datetime) -> dict[str, Any]:
    return {
        **{f: getattr(row, f) for f in _PLAIN_FIELDS},
        "supplements": [
            SupplementOut(
                requested_at=to_local(s.requested_at),
                supplied_at=to_local(s.supplied_at) if s.supplied_at else None,
            )
            for s in load_supplements(row.supplements)
        ],
        "received_at": to_local(row.received_at),
        "due_at": to_local(row.due_at) if row.due_at else None,
        "resolved_at": to_local(row.resolved_at) if row.resolved_at else None,
        "returned_at": to_local(row.returned_at) if row.returned_at else None,
        "updated_at": to_local(row.updated_at),
        "outcome": outcome_at(row, instant),
    }


def drill_item(
    row: Any,
    instant: datetime,
    names: Mapping[str, Mapping[str, str]],
    calendar: WorkingCalendar,
    index_reason: Callable[[Any], str] | None = None,
) -> DrilldownOut:
    """A listed dossier judged at `instant`; `names` holds the agencies' and wards' names by code
    (app.metrics.reads.unit_names); with `index_reason`, the dossier as `index_loss` lists it."""
    fields = row._mapping
    deadline = worklist.deadline_of(fields)
    overdue, early = worklist.overdue_or_early(fields, instant, calendar)
    commune = row.commune_code
    extra = {
        "agency_name": names["agency"].get(row.agency_code),
        "commune_name": None if commune is None else names["commune"].get(commune),
        "deadline_at": None if deadline is None else to_local(deadline),
        "deadline_source": worklist.deadline_source(fields),
        "working_days_overdue": overdue,
        "working_days_early": early,
    }
    if index_reason is not None:
        return DossierLossOut(**_record(row, instant), **extra, index_reason=index_reason(row))
    return DrilldownOut(**_record(row, instant), **extra)


def export_fields(index_loss: bool) -> tuple[str, ...]:
    """The columns of an export, the JSON item's fields in its order (the headings are their names)."""
    fields = tuple(DrilldownOut.model_fields)
    return (*fields, "index_reason") if index_loss else fields


def export_line(item: DrilldownOut, fields: Sequence[str]) -> list[Any]:
    """An item's values in the export's columns: its JSON values, the supplement requests as their
    JSON text (null when there are none)."""
    doc = item.model_dump(mode="json")
    supplements = doc["supplements"]
    doc["supplements"] = orjson.dumps(supplements).decode() if supplements else None
    return [doc[f] for f in fields]
