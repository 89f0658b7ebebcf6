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

from sqlalchemy import Connection, Table, bindparam, insert, text

from app.models.base import UTCDateTime
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
    """Append changes given as rows (a deletion); an ingest chunk's go through `record_staged`."""
    rows: list[dict[str, Any]] = [{"code": c, "kind": CREATED, "changed_at": now, **_EMPTY} for c in created]
    for kind, versions in ((UPDATED, replaced), (DELETED, deleted)):
        for v in versions:
            row = {"code": v["code"], "kind": kind, "changed_at": now, "stored_at": v["stored_at"]}
            row.update({f: v[f] for f in VERSION_FIELDS})
            rows.append(row)
    if rows:
        conn.execute(insert(history_table), rows)


# Run before the staged rows replace the stored ones: a staged code with no stored row is a creation,
# one with a stored row an update whose replaced version is copied here. One statement in the store,
# nothing per row in Python.
_FROM_STAGED = (
    f"INSERT INTO dossier_history (code, kind, changed_at, stored_at, {', '.join(VERSION_FIELDS)}) "
    f"SELECT n.code, CASE WHEN d.code IS NULL THEN {CREATED} ELSE {UPDATED} END, :now, d.stored_at, "
    + ", ".join(f"d.{f}" for f in VERSION_FIELDS)
    + " FROM {staged} AS n LEFT JOIN dossiers AS d ON d.code = n.code ORDER BY n.code"
)


def record_staged(conn: Connection, staged: str, now: datetime) -> None:
    """Append the changes of the rows staged in the table `staged`, before they are upserted."""
    sql = text(_FROM_STAGED.replace("{staged}", staged)).bindparams(bindparam("now", type_=UTCDateTime()))
    conn.execute(sql, {"now": now})
