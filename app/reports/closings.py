"""Closed periods (chốt số liệu): the periodic report filed in every format, listed, served as filed,
and restated against what the data says now.

A closing is computed in one snapshot while the writers of dossiers are held off (the exclusive
reference lock every ingest chunk and deletion takes shared), so the history mark it keeps is exact:
every change of a dossier after it has a `dossier_history` id above the mark. A restatement reads only
those rows (and the current versions of their dossiers), classifies each dossier's filed and current
version with the rules the drill-down judges outcomes by (app/dossiers/outcome.py), and attributes
them to the figures that differ between the filed JSON document and the report computed now.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Engine, Table, and_, func, insert, select

from app.config import Settings
from app.core.counters import FinishClass
from app.core.definitions import COUNTS
from app.core.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from app.core.jsonutil import loads
from app.core.periods import ReportPeriod
from app.core.timeutil import end_of_day, local_date, start_of_day, to_local
from app.core.vocabulary import DIMENSION_COLUMNS
from app.dossiers.history import KIND_NAMES, VERSION_FIELDS, history_table
from app.dossiers.outcome import FINISH_NAMES, outcome_at
from app.metrics.reads import check_filters, unit_names
from app.models import Agency, Dossier
from app.models.tables import ReportClosing, ReportClosingFile
from app.reference.index_inputs import lock_reference
from app.reports import service
from app.reports.filing import FILED_FORMATS, Rendition, render_document
from app.reports.form import letterhead
from app.store import repository
from app.store.uow import snapshot_read, write_transaction

# Bounds: a closing's files together (the report has a row per registered unit, so far below this);
# closings per period and basis over every unit and filter (a new closing beyond it is a 409); a page
# of the list; the dossiers listed under one figure of a restatement (each figure counts them all),
# and the dossiers listed over every figure of one restatement.
MAX_CLOSING_BYTES = 16 * 1024 * 1024
MAX_CLOSINGS_PER_PERIOD = 100
MAX_PAGE = 100
MAX_DOSSIERS_PER_FIGURE = 100
MAX_DOSSIERS_LISTED = 20_000
_BATCH = 500

closings_table = cast(Table, ReportClosing.__table__)
files_table = cast(Table, ReportClosingFile.__table__)
dossiers_table = cast(Table, Dossier.__table__)
agencies_table = cast(Table, Agency.__table__)


def canonical_filters(filters: Mapping[str, Sequence[str]]) -> str:
    """The checked filters as one text: dimensions by name, values sorted, empty ones left out."""
    clean = {k: sorted(set(v)) for k, v in filters.items() if v}
    return orjson.dumps(clean, option=orjson.OPT_SORT_KEYS).decode()


def reference_of(conn: Connection) -> dict[str, list[str]]:
    """Every agency's [name, level]: what a report's names and levels come from."""
    return {
        code: [name, level]
        for code, name, level in conn.execute(select(Agency.code, Agency.name, Agency.level))
    }


@dataclass(frozen=True, slots=True)
class Scope:
    """What a report is of: the period, basis, unit and the checked filters."""

    period: ReportPeriod
    basis: str
    unit: str
    filters: dict[str, list[str]]

    @property
    def filters_text(self) -> str:
        return canonical_filters(self.filters)


def _where(scope: Scope) -> Any:
    t = closings_table
    return and_(
        t.c.period == scope.period.label,
        t.c.basis == scope.basis,
        t.c.unit == scope.unit,
        t.c.filters == scope.filters_text,
    )


def body_filters(
    names: dict[str, dict[str, str]], raw: Mapping[str, Sequence[str] | None]
) -> dict[str, list[str]]:
    """check_filters for a request body: the same checks, the errors located in the body."""
    try:
        return check_filters(names, raw)
    except ValidationFailed as exc:
        errors = [{**e, "loc": ["body", *e["loc"][1:]]} for e in exc.errors or []]
        raise ValidationFailed(str(exc.detail).replace("query.", ""), errors=errors) from None


def close_period(
    engine: Engine,
    *,
    period: ReportPeriod,
    basis: str,
    unit: str,
    raw_filters: Mapping[str, Sequence[str] | None],
    settings: Settings,
    now: datetime,
    by: str | None,
    formats: Sequence[tuple[str, str]] = FILED_FORMATS,
) -> dict[str, Any]:
    """File the report of an ended period in every format; the new closing as listed."""
    if period.end >= local_date(now):
        raise Conflict(
            f"period: {period.label} ({basis}) runs until {period.end.isoformat()} and has not ended; "
            "only an ended period can be closed."
        )
    # The snapshot's connection is taken before the lock (its snapshot at its first read, after it), so
    # writers queued on the lock, each holding a pooled connection, cannot leave the closing without one.
    with write_transaction(engine) as conn, snapshot_read(engine, conn) as snap:
        # Held until the closing is stored: no dossier is written meanwhile (each writer takes it shared).
        lock_reference(conn, exclusive=True)
        mark = int(conn.scalar(select(func.coalesce(func.max(history_table.c.id), 0))) or 0)
        version, _ = repository.data_state(snap)
        names = unit_names(snap, settings.province_code)
        scope = Scope(period, basis, unit, body_filters(names, raw_filters))
        doc = service.report_document(
            snap, period=period, basis=basis, unit=unit, filters=scope.filters, names=names, now=now
        )
        reference = reference_of(snap)
        # Dated the day it is filed, as the live XLSX of that moment is.
        head = letterhead(
            settings, unit=unit, filters=scope.filters, agency_names=names["agency"], today=local_date(now)
        )
        files = [
            (fmt, dialect, render_document(doc, scope.filters, fmt, dialect, head))
            for fmt, dialect in formats
        ]
        size = sum(len(r.body) for _, _, r in files)
        if size > MAX_CLOSING_BYTES:
            raise PayloadTooLarge(
                f"The report's files take {size} bytes, above the {MAX_CLOSING_BYTES} a closing keeps."
            )
        t = closings_table
        existing = conn.scalar(
            select(func.count()).select_from(t).where(t.c.period == period.label, t.c.basis == basis)
        )
        if int(existing or 0) >= MAX_CLOSINGS_PER_PERIOD:
            raise Conflict(
                f"period: {period.label} ({basis}) has {MAX_CLOSINGS_PER_PERIOD} closings already, "
                "the most kept."
            )
        values = {
            "period": period.label,
            "basis": basis,
            "unit": unit,
            "filters": scope.filters_text,
            "closed_at": now,
            "closed_by": by,
            "data_version": version,
            "history_mark": mark,
            "reference": orjson.dumps(reference, option=orjson.OPT_SORT_KEYS).decode(),
            "size": size,
        }
        closing_id = int(conn.execute(insert(t).values(**values).returning(t.c.id)).scalar_one())
        conn.execute(
            insert(files_table),
            [
                {
                    "closing_id": closing_id,
                    "format": fmt,
                    "dialect": dialect,
                    "media_type": r.media_type,
                    "filename": r.filename,
                    "body": r.body,
                }
                for fmt, dialect, r in files
            ],
        )
        row = conn.execute(select(t).where(t.c.id == closing_id)).one()
        return _listed(conn, row)


def _listed(conn: Connection, row: Any) -> dict[str, Any]:
    """A closing as the list shows it: its parameters, who closed it and when, its files, and the
    closing of the same parameters that superseded it (null for the latest)."""
    t = closings_table
    later = conn.scalar(
        select(func.min(t.c.id)).where(
            t.c.period == row.period,
            t.c.basis == row.basis,
            t.c.unit == row.unit,
            t.c.filters == row.filters,
            t.c.id > row.id,
        )
    )
    files = conn.execute(
        select(files_table.c.format, files_table.c.dialect, func.length(files_table.c.body))
        .where(files_table.c.closing_id == row.id)
        .order_by(files_table.c.format, files_table.c.dialect)
    ).all()
    return {
        "id": row.id,
        "period": row.period,
        "basis": row.basis,
        "unit": row.unit,
        "filters": loads(row.filters),
        "closed_at": to_local(row.closed_at).isoformat(),
        "closed_by": row.closed_by,
        "data_version": row.data_version,
        "size": row.size,
        "files": [{"format": f, "dialect": d or None, "bytes": int(n)} for f, d, n in files],
        "superseded_by": later,
    }


def list_closings(
    conn: Connection,
    *,
    period: str | None,
    basis: str | None,
    unit: str | None,
    before: int | None,
    limit: int,
) -> tuple[list[dict[str, Any]], int | None]:
    """Closings newest first, at most `limit` (<= MAX_PAGE); the id to pass as `before` for the next page."""
    t = closings_table
    conds = []
    if period is not None:
        conds.append(t.c.period == period)
    if basis is not None:
        conds.append(t.c.basis == basis)
    if unit is not None:
        conds.append(t.c.unit == unit)
    if before is not None:
        conds.append(t.c.id < before)
    limit = min(limit, MAX_PAGE)
    rows = conn.execute(select(t).where(and_(True, *conds)).order_by(t.c.id.desc()).limit(limit + 1)).all()
    items = [_listed(conn, r) for r in rows[:limit]]
    return items, (rows[limit - 1].id if len(rows) > limit else None)


def find_closing(conn: Connection, scope: Scope, closing_id: int | None) -> Any:
    """The latest closing of the scope, or the one named (a 422 when it is of other parameters); a
    404 when there is none."""
    t = closings_table
    if closing_id is not None:
        row = conn.execute(select(t).where(t.c.id == closing_id)).first()
        if row is None:
            raise NotFound(f"closing_id: no closing has id {closing_id}.")
        if (row.period, row.basis, row.unit, row.filters) != (
            scope.period.label,
            scope.basis,
            scope.unit,
            scope.filters_text,
        ):
            msg = (
                f"closing {closing_id} is of period {row.period}, basis {row.basis}, unit {row.unit} and "
                f"filters {row.filters}, not of the parameters given"
            )
            raise ValidationFailed(
                f"closing_id: {msg}.",
                errors=[{"loc": ["query", "closing_id"], "msg": msg, "type": "closing_mismatch"}],
            )
        return row
    row = conn.execute(select(t).where(_where(scope)).order_by(t.c.id.desc()).limit(1)).first()
    if row is None:
        raise NotFound(
            f"period: {scope.period.label} ({scope.basis}, unit {scope.unit}, filters "
            f"{scope.filters_text}) has not been closed."
        )
    return row


def filed_file(
    conn: Connection, scope: Scope, closing_id: int | None, fmt: str, dialect: str = ""
) -> tuple[int, Rendition]:
    """(closing id, its bytes in the format and dialect) of the latest closing or the one named."""
    row = find_closing(conn, scope, closing_id)
    f = files_table
    found = conn.execute(
        select(f.c.body, f.c.media_type, f.c.filename).where(
            f.c.closing_id == row.id, f.c.format == fmt, f.c.dialect == dialect
        )
    ).first()
    if found is None:
        shown = f"{fmt} ({dialect})" if dialect else fmt
        raise NotFound(f"format: closing {row.id} was filed before {shown} existed; it has no such file.")
    return int(row.id), Rendition(bytes(found.body), found.media_type, found.filename)


# ---- restatements ------------------------------------------------------------------------------------

PENDING = ("pending", "pending_overdue")
ENDED = ("early", "on_time", "late", "withdrawn")
# The counts a version's classification names exactly; any other count of the catalogue is attributed
# by its basis (received in the period, finished or withdrawn in it, pending at its end).
CLASSIFIED = (
    "received_total",
    "received",
    "received_online",
    "carried_over",
    "finished",
    "finished_early",
    "finished_on_time",
    "finished_late",
    "withdrawn",
    "withdrawn_early",
    "withdrawn_on_time",
    "withdrawn_late",
    "closed",
    "closed_early",
    "closed_on_time",
    "closed_late",
    "pending",
    "pending_overdue",
)
_BASIS = {d.name: d.basis for d in COUNTS}
_BASIS_MEMBER = {"received": ("received",), "finished": ("finished", "withdrawn"), "state": ("pending",)}


@dataclass(frozen=True, slots=True)
class Classified:
    """A version as the report counts it: its unit key, its outcomes at the period's start and end
    (None: not received yet), and the counts of CLASSIFIED it adds 1 to."""

    key: str | None
    agency: str
    at_start: str | None
    at_end: str | None
    counts: frozenset[str]

    def as_json(self, unit: str) -> dict[str, Any]:
        return {
            unit: self.key,
            "outcome_at_start": self.at_start,
            "outcome_at_end": self.at_end,
            "counts": sorted(self.counts),
        }


def classify(version: Any, scope: Scope) -> Classified | None:
    """How the report counts one version; None when it is outside the filters (in no row)."""
    if version is None:
        return None
    for dim, values in scope.filters.items():
        if getattr(version, DIMENSION_COLUMNS[dim]) not in values:
            return None
    at_start = outcome_at(version, start_of_day(scope.period.start))
    at_end = outcome_at(version, end_of_day(scope.period.end))
    counts: set[str] = set()
    if at_start is None and at_end is not None:
        counts.add("received")
        if version.channel == "online":
            counts.add("received_online")
    if at_start in PENDING:
        counts.add("carried_over")
    if counts & {"received", "carried_over"}:
        counts.add("received_total")
    if at_end in ENDED and at_start not in ENDED:
        # The form's closed: finished or withdrawn, each early / on time / late by its end (§4.1).
        ended = FINISH_NAMES[FinishClass(version.finish_class)]
        kind = "withdrawn" if at_end == "withdrawn" else "finished"
        counts.update((kind, f"{kind}_{ended}", "closed", f"closed_{ended}"))
    if at_end in PENDING:
        counts.add("pending")
        if at_end == "pending_overdue":
            counts.add("pending_overdue")
    key = getattr(version, DIMENSION_COLUMNS[scope.unit])
    return Classified(key, version.agency_code, at_start, at_end, frozenset(counts))


def _identity(row: Mapping[str, Any], unit: str) -> dict[str, Any]:
    """What names a row of the document: its unit key, else its scalar fields other than names."""
    if row.get(unit) is not None:
        return {unit: row[unit]}
    return {
        k: v
        for k, v in row.items()
        if k not in ("counts", "rates") and not k.endswith("name") and not isinstance(v, (dict, list))
    }


def figures_of(doc: Mapping[str, Any]) -> dict[str, tuple[dict[str, Any], dict[str, int]]]:
    """Every object of the document with counts, by a key: the rows (by identity) and the totals."""
    unit = str(doc["unit"])
    out: dict[str, tuple[dict[str, Any], dict[str, int]]] = {}
    for name, value in doc.items():
        if isinstance(value, dict) and isinstance(value.get("counts"), dict):
            out[name] = ({"row": name}, value["counts"])
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict) and isinstance(item.get("counts"), dict):
                    ident = _identity(item, unit)
                    key = name + ":" + orjson.dumps(ident, option=orjson.OPT_SORT_KEYS).decode()
                    out[key] = (ident, item["counts"])
    return out


@dataclass(slots=True)
class _Figure:
    row: dict[str, Any]
    count: str
    filed: int
    current: int
    dossiers: list[str] = field(default_factory=list)
    total: int = 0
    reference: list[str] = field(default_factory=list)


def _differences(filed: Mapping[str, Any], current: Mapping[str, Any]) -> list[_Figure]:
    before, after = figures_of(filed), figures_of(current)
    names = [c for c in COUNT_ORDER if _has(before, c) and _has(after, c)]
    out = []
    for key in sorted(set(before) | set(after)):
        row = (after.get(key) or before[key])[0]
        b = before.get(key, (row, {}))[1]
        a = after.get(key, (row, {}))[1]
        for c in names:
            if b.get(c, 0) != a.get(c, 0):
                out.append(_Figure(row, c, int(b.get(c, 0)), int(a.get(c, 0))))
    return out


def _has(figs: Mapping[str, tuple[dict[str, Any], dict[str, int]]], count: str) -> bool:
    return any(count in counts for _, counts in figs.values()) or not figs


COUNT_ORDER = tuple(d.name for d in COUNTS)


def _in_row(
    cls: Classified | None, row: Mapping[str, Any], unit: str, levels: Mapping[str, list[str]]
) -> bool:
    if cls is None:
        return False
    for k, v in row.items():
        if k == "row":
            continue  # the totals: every counted version
        if k == unit:
            if cls.key != v:
                return False
        elif k == "level":
            level = levels.get(cls.agency)
            if level is None or level[1] != v:
                return False
        else:
            return False
    return True


def _in_count(cls: Classified, count: str) -> bool | None:
    """Whether the version adds to the count; None when only its basis is known (a candidate)."""
    if count in CLASSIFIED:
        return count in cls.counts
    return None


def _moved(
    fig: _Figure,
    f: Classified | None,
    c: Classified | None,
    unit: str,
    refs: tuple[Mapping[str, list[str]], Mapping[str, list[str]]],
) -> bool:
    fin = _in_row(f, fig.row, unit, refs[0])
    cin = _in_row(c, fig.row, unit, refs[1])
    if fig.count in CLASSIFIED:
        return (fin and f is not None and fig.count in f.counts) != (
            cin and c is not None and fig.count in c.counts
        )
    members = _BASIS_MEMBER.get(_BASIS.get(fig.count, ""), ())
    fm = fin and f is not None and any(m in f.counts for m in members)
    cm = cin and c is not None and any(m in c.counts for m in members)
    return fm or cm


def _version_json(v: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in VERSION_FIELDS:
        value = getattr(v, f)
        out[f] = to_local(value).isoformat() if isinstance(value, datetime) else value
    out["stored_at"] = to_local(v.stored_at).isoformat() if v.stored_at is not None else None
    return out


def _changes(conn: Connection, mark: int) -> Iterator[list[Any]]:
    """The dossiers changed after the mark, by code, in batches: each with its first change after the
    mark (whose version is the filed one, unless it is a creation), how many changes and when."""
    h = history_table
    g = (
        select(
            h.c.code,
            func.min(h.c.id).label("first_id"),
            func.count().label("n"),
            func.min(h.c.changed_at).label("first_at"),
            func.max(h.c.changed_at).label("last_at"),
        )
        .where(h.c.id > mark)
        .group_by(h.c.code)
        .subquery()
    )
    first = h.alias("first")
    q = (
        select(g.c.code, g.c.n, g.c.first_at, g.c.last_at, first)
        .join_from(g, first, first.c.id == g.c.first_id)
        .order_by(g.c.code)
    )
    batch: list[Any] = []
    for r in conn.execution_options(stream_results=True, yield_per=_BATCH).execute(q):
        batch.append(r)
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def restatement(
    conn: Connection,
    *,
    scope: Scope,
    closing_id: int | None,
    province_code: int,
    now: datetime,
    check: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """Each figure of the closing that differs now, the dossiers that moved it and the reference
    changes (agency names and levels) since; see the module's docstring."""
    row = find_closing(conn, scope, closing_id)
    body = conn.scalar(
        select(files_table.c.body).where(
            files_table.c.closing_id == row.id, files_table.c.format == "json", files_table.c.dialect == ""
        )
    )
    if body is None:
        raise NotFound(f"closing {row.id} has no JSON file.")
    filed_doc = loads(bytes(body))
    names = unit_names(conn, province_code)
    current_doc = service.report_document(
        conn,
        period=scope.period,
        basis=scope.basis,
        unit=scope.unit,
        filters=scope.filters,
        names=names,
        now=now,
        check=check,
    )
    figures = _differences(filed_doc, current_doc)
    filed_ref: dict[str, list[str]] = loads(row.reference)
    current_ref = reference_of(conn)
    reference = []
    for code in sorted(set(filed_ref) | set(current_ref)):
        fr, cr = filed_ref.get(code), current_ref.get(code)
        if fr != cr:
            reference.append(
                {
                    "agency": code,
                    "filed_name": fr[0] if fr else None,
                    "current_name": cr[0] if cr else None,
                    "filed_level": fr[1] if fr else None,
                    "current_level": cr[1] if cr else None,
                }
            )
    for fig in figures:
        for ref in reference:
            level_moved = ref["filed_level"] != ref["current_level"]
            # A rename moves no count; a change of level moves the agency's dossiers between the
            # rows of levels (the subtotals), which name it as the cause.
            if level_moved and fig.row.get("level") in (ref["filed_level"], ref["current_level"]):
                fig.reference.append(code_of(ref))
    described: dict[str, dict[str, Any]] = {}
    listed = 0
    if figures:
        refs = (filed_ref, current_ref)
        for batch in _changes(conn, int(row.history_mark)):
            check()
            codes = [r.code for r in batch]
            current = {
                d.code: d
                for d in conn.execute(
                    select(
                        dossiers_table.c.code,
                        dossiers_table.c.stored_at,
                        *(dossiers_table.c[f] for f in VERSION_FIELDS),
                    ).where(dossiers_table.c.code.in_(codes))
                )
            }
            for r in batch:
                filed_v = None if KIND_NAMES[r.kind] == "created" else r
                cur_v = current.get(r.code)
                f, c = classify(filed_v, scope), classify(cur_v, scope)
                if f == c:
                    continue  # counted the same way filed and now (or in no row either time)
                for fig in figures:
                    if not _moved(fig, f, c, scope.unit, refs):
                        continue
                    fig.total += 1
                    if len(fig.dossiers) < MAX_DOSSIERS_PER_FIGURE and listed < MAX_DOSSIERS_LISTED:
                        fig.dossiers.append(r.code)
                        listed += 1
                        if r.code not in described:
                            described[r.code] = _described(r, filed_v, cur_v, f, c, scope.unit)
    return {
        "closing": _listed(conn, row),
        "period": scope.period.label,
        "basis": scope.basis,
        "from": scope.period.start.isoformat(),
        "to": scope.period.end.isoformat(),
        "unit": scope.unit,
        "filters": scope.filters,
        "data_as_of": current_doc.get("data_as_of"),
        "figures": [
            {
                "row": fig.row,
                "count": fig.count,
                "filed": fig.filed,
                "current": fig.current,
                "dossiers_total": fig.total,
                "dossiers": fig.dossiers,
                "reference": fig.reference,
            }
            for fig in figures
        ],
        "dossiers": [described[c] for c in sorted(described)],
        "reference": reference,
        "limits": {"dossiers_per_figure": MAX_DOSSIERS_PER_FIGURE, "dossiers_listed": MAX_DOSSIERS_LISTED},
    }


def code_of(ref: Mapping[str, Any]) -> str:
    return str(ref["agency"])


def _described(
    change: Any, filed_v: Any, cur_v: Any, f: Classified | None, c: Classified | None, unit: str
) -> dict[str, Any]:
    if filed_v is None:
        kind = "created"
    elif cur_v is None:
        kind = "deleted"
    else:
        kind = "updated"
    return {
        "code": change.code,
        "change": kind,
        "changes": int(change.n),
        "first_change_at": to_local(change.first_at).isoformat(),
        "last_change_at": to_local(change.last_at).isoformat(),
        "filed": None
        if filed_v is None
        else {**_version_json(filed_v), "classification": f and f.as_json(unit)},
        "current": None
        if cur_v is None
        else {**_version_json(cur_v), "classification": c and c.as_json(unit)},
    }
