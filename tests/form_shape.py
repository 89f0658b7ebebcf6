"""The report document in the shape the form renders (docs/REPORTS.md, "The form"), from today's document.

The form needs counts beside today's (`received_total`, `closed`, `closed_early`, `closed_on_time`,
`closed_late`), each agency row's `level` and the document's `subtotals` per level. Until the report
service emits them, `with_form_shape` adds them: received_total = received + carried_over, closed =
finished + withdrawn, closed_early/on_time/late = finished_early/on_time/late (withdrawn dossiers are
not classified here, so (5) = (6) + (7) + (8) holds only without withdrawals). Every key is added only
where it is missing, so once the service emits the real ones this changes nothing; then delete it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from sqlalchemy import Connection, text

from app.core.calculator import rates
from app.core.definitions import COUNT_NAMES
from app.reports import service

LEVEL_NAMES = {"province": "Cấp tỉnh", "commune": "Cấp xã"}


def with_form_counts(counts: Mapping[str, int]) -> dict[str, int]:
    out = dict(counts)
    out.setdefault("received_total", counts["received"] + counts["carried_over"])
    out.setdefault("closed", counts["finished"] + counts["withdrawn"])
    for k in ("early", "on_time", "late"):
        out.setdefault(f"closed_{k}", counts[f"finished_{k}"])
    return out


def with_form_shape(doc: dict[str, Any], levels: Mapping[str, str]) -> dict[str, Any]:
    """`doc` with the form counts in every counts object and, for unit=agency, the rows' levels (from
    `levels`, agency code -> level) ordered province first and one subtotal per level."""
    out = dict(doc)
    out["rows"] = [dict(r, counts=with_form_counts(r["counts"])) for r in doc["rows"]]
    out["totals"] = dict(doc["totals"], counts=with_form_counts(doc["totals"]["counts"]))
    if "subtotals" in doc:
        return out
    if doc["unit"] != "agency":
        out["subtotals"] = []
        return out
    rows = [dict(r, level=levels[r["agency"]]) for r in out["rows"]]
    order = list(LEVEL_NAMES)
    rows.sort(key=lambda r: order.index(r["level"]))  # stable: each level keeps the document's order
    out["rows"] = rows
    subtotals = []
    for level, name in LEVEL_NAMES.items():
        mine = [r["counts"] for r in rows if r["level"] == level]
        if not mine:
            continue
        summed = {k: sum(c[k] for c in mine) for k in mine[0]}
        base = {k: summed[k] for k in COUNT_NAMES}
        subtotals.append({"level": level, "level_name": name, "counts": summed, "rates": rates(base)})
    out["subtotals"] = subtotals
    return out


def agency_levels(conn: Connection) -> dict[str, str]:
    return {code: level for code, level in conn.execute(text("SELECT code, level FROM agencies"))}


def shape_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the report service's documents form-shaped (a no-op once it emits the shape itself)."""
    real: Callable[..., dict[str, Any]] = service.report_document

    def report_document(conn: Connection, **kw: Any) -> dict[str, Any]:
        return with_form_shape(real(conn, **kw), agency_levels(conn))

    monkeypatch.setattr(service, "report_document", report_document)
