"""The dossiers' history: every change in commit order, the replaced versions' classifying fields.

Written in the transaction of the change (app/dossiers/service.py), read by restatements
(app/reports/closings.py) from a closing's mark on: a row per creation (no version fields), per
version an update replaced and per deleted version. Only the fields that classify a dossier for the
periodic report are kept (its unit keys and filters, channel, status, instants, finish class).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, insert

from app.models.tables import DossierHistory

CREATED, UPDATED, DELETED = 0, 1, 2
KIND_NAMES = {CREATED: "created", UPDATED: "updated", DELETED: "deleted"}
# The fields of a version a restatement classifies it by (with `code` and `stored_at`).
VERSION_FIELDS = (
    "agency_code",
    "commune_code",
    "sector",
    "procedure_code",
    "channel",
    "status",
    "received_at",
    "due_at",
    "resolved_at",
    "finish_class",
)
history_table = cast(Table, DossierHistory.__table__)
_EMPTY = dict.fromkeys(("stored_at", *VERSION_FIELDS))


def record_changes(
    conn: Connection,
    now: datetime,
    *,
    created: Iterable[str] = (),
    replaced: Iterable[Mapping[str, Any]] = (),
    deleted: Iterable[Mapping[str, Any]] = (),
) -> None:
    """Append the changes of one transaction: codes created, versions replaced, versions deleted."""
    rows: list[dict[str, Any]] = [{"code": c, "kind": CREATED, "changed_at": now, **_EMPTY} for c in created]
    for kind, versions in ((UPDATED, replaced), (DELETED, deleted)):
        for v in versions:
            row = {"code": v["code"], "kind": kind, "changed_at": now, "stored_at": v["stored_at"]}
            row.update({f: v[f] for f in VERSION_FIELDS})
            rows.append(row)
    if rows:
        conn.execute(insert(history_table), rows)
