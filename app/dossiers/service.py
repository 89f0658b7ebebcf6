"""Ingestion: per-record validation, the token's right to write, ordered upserts, rollup upkeep.

A chunk of records is handled in one transaction: stored versions are read (and, on PostgreSQL,
the chunk's codes are locked in a fixed order), each record is judged in order against the newest
version seen so far (so a later line of the same body sees an earlier one), the final versions
are written, and the rollups receive the stored versions' contributions negated and the new ones.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal, cast

import orjson
from pydantic import TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from sqlalchemy import (
    ARRAY,
    Connection,
    Date,
    Engine,
    Select,
    String,
    Table,
    and_,
    any_,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from app.core.access import Principal
from app.core.counters import finish_class
from app.core.feed_rules import (
    MARKS,
    RULES_BY_CODE,
    UNKNOWN_AGENCY,
    WARNING,
    FeedConfig,
    agency_key,
    mark_names,
    marks,
    new_marks,
)
from app.core.index_derive import derive
from app.core.supplements import dump_supplements
from app.core.timeutil import VN_OFFSET, local_date, start_of_day, utcnow
from app.core.vocabulary import CLOSED_STATUSES, DIMENSION_COLUMNS
from app.dossiers.history import record_changes, record_staged
from app.dossiers.outcome import outcome_condition
from app.dossiers.schemas import DossierIn, SupplementIn
from app.dossiers.validation import Errors, Registry, record_code, supplements_of, validate_record
from app.feedquality.store import ChunkQuality, record_chunk
from app.models import DataState, Dossier, Procedure
from app.models.base import UTCDateTime
from app.models.tables import DEADLINE
from app.reference.index_inputs import IndexInputs, current_inputs, inputs_at, lock_reference, reference_revs
from app.store.dialect import dialect_of
from app.store.index_rollups import IndexRollupWriter
from app.store.rollups import RollupWriter
from app.store.uow import run_write, write_transaction

Result = Literal["created", "updated", "unchanged", "stale"]
RECORD_FIELDS = tuple(DossierIn.model_fields)
dossiers_table = cast(Table, Dossier.__table__)


def row_from_record(d: DossierIn, stored_at: datetime) -> dict[str, Any]:
    """The dossiers-table row of a valid record, with its derived local dates and finish class."""
    row: dict[str, Any] = d.__dict__.copy()  # the validated fields, timestamps aware in UTC
    row["received_date"] = (d.received_at + VN_OFFSET).date()
    closed = d.status in CLOSED_STATUSES and d.resolved_at is not None
    row["close_date"] = (d.resolved_at + VN_OFFSET).date() if closed and d.resolved_at else None
    row["due_date"] = (d.due_at + VN_OFFSET).date() if d.due_at is not None else None
    # Finished and withdrawn dossiers alike end at resolved_at, early, on time or late (§4.1).
    row["finish_class"] = int(finish_class(d.resolved_at, d.due_at)) if closed and d.resolved_at else None
    row["stored_at"] = stored_at
    # The canonical text (instants in UTC; None for [], null or absent): content comparison and the
    # stored column see one value however the record wrote it.
    row["supplements"] = dump_supplements(supplements_of(d))
    row.update(_UNDERIVED)
    return row


def with_index(row: dict[str, Any], inputs: IndexInputs) -> dict[str, Any]:
    """`row` with its national-index columns derived from the record, the catalogue and the calendar."""
    derived = derive(row, inputs.catalogue.get(row["procedure_code"]), inputs.calendar)
    deadline = derived["idx_deadline_at"]
    if derived["idx_end_at"] is not None and deadline is not None:
        # While it was in processing it was late after its deadline: the state counts of earlier
        # periods judge it so (app.core.index_counters: due_ until the day it ended).
        derived["idx_late_at"] = deadline
        derived["idx_late_date"] = max(local_date(deadline), row["received_date"])
    row.update(derived)
    row["idx_rev"] = inputs.rev
    return row


# Until with_index() derives them (it needs the catalogue and the calendar).
_UNDERIVED: dict[str, Any] = {
    "idx_end_at": None,
    "idx_end_date": None,
    "idx_class": 0,
    "idx_deadline_at": None,
    "idx_late_at": None,
    "idx_late_date": None,
    "idx_work_days": None,
    "idx_catalogued": False,
    "idx_eligible": False,
    "idx_full_online": False,
    "idx_electronic": False,
    "idx_digitised": False,
    "idx_rev": -1,
}


def content(row: dict[str, Any]) -> tuple[Any, ...]:
    """A record's fields after normalisation, for telling `unchanged` from `conflict`."""
    return tuple(row[f] for f in RECORD_FIELDS)


@dataclass(slots=True)
class Verdict:
    index: int
    code: str | None
    result: Result | None = None
    errors: Errors = field(default_factory=list)
    # The agency the record is counted under in the feed's quality: its agency_code when registered,
    # else `unknown` (never a rejected record's own text).
    agency: str = UNKNOWN_AGENCY


# The report lists this many rejected records in full (the lowest indexes); the others are counted.
MAX_LISTED_ERRORS = 1000
# A record lists at most this many errors; one more entry says how many were left out. Only unknown
# fields (or the portal's long lists) can make more, and each would otherwise cost memory until the end.
MAX_RECORD_ERRORS = 100
# errors_summary keeps this many (loc, type) pairs; past that a new pair is counted under loc [].
MAX_SUMMARY_ENTRIES = 1000

log = logging.getLogger("tthc.ingest")


def capped(errors: Errors) -> Errors:
    """A record's errors, at most MAX_RECORD_ERRORS of them and then one saying how many more."""
    if len(errors) <= MAX_RECORD_ERRORS or (
        len(errors) == MAX_RECORD_ERRORS + 1 and errors[-1].get("type") == "too_many_errors"
    ):
        return errors
    more = len(errors) - MAX_RECORD_ERRORS
    return [
        *errors[:MAX_RECORD_ERRORS],
        {"loc": [], "msg": f"{more} more errors of this record are not listed", "type": "too_many_errors"},
    ]


@dataclass(slots=True)
class IngestTotals:
    """The counts of a request and its rejected records, in memory bounded whatever their number.

    The first MAX_LISTED_ERRORS rejected records (lowest indexes) are kept whole; every error of the
    others is counted per (loc, type) in `summary`.
    """

    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    rejected: int = 0
    # A max-heap on index (negated) of the listed records: the one to leave out first is on top.
    _listed: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    omitted: int = 0
    summary: dict[tuple[tuple[str | int, ...], str], int] = field(default_factory=dict)

    def add(self, verdicts: Sequence[Verdict]) -> None:
        for v in verdicts:
            self.received += 1
            if v.result is None:
                self.rejected += 1
                self._reject({"index": v.index, "code": v.code, "errors": capped(v.errors)})
            else:
                setattr(self, v.result, getattr(self, v.result) + 1)

    def _reject(self, entry: dict[str, Any]) -> None:
        if len(self._listed) < MAX_LISTED_ERRORS:
            heapq.heappush(self._listed, (-entry["index"], entry))
            return
        if entry["index"] < -self._listed[0][0]:
            # Records mostly arrive in index order; one that does not takes the place of the highest.
            entry = heapq.heappushpop(self._listed, (-entry["index"], entry))[1]
        self.omitted += 1
        for e in entry["errors"]:
            key = (tuple(e.get("loc", ())), str(e.get("type", "")))
            if key not in self.summary and len(self.summary) >= MAX_SUMMARY_ENTRIES:
                key = ((), key[1])
            self.summary[key] = self.summary.get(key, 0) + 1

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The listed rejected records, by index."""
        return [entry for _, entry in sorted(self._listed, key=lambda pair: -pair[0])]

    def errors_summary(self) -> list[dict[str, Any]]:
        """The omitted records' errors counted per (loc, type), most frequent first."""
        ordered = sorted(self.summary.items(), key=lambda kv: (-kv[1], [str(p) for p in kv[0][0]], kv[0][1]))
        return [{"loc": list(loc), "type": kind, "count": n} for (loc, kind), n in ordered]

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.counts(),
            "errors": self.errors,
            "errors_omitted": self.omitted,
            "errors_summary": self.errors_summary(),
        }

    def counts(self) -> dict[str, int]:
        return {
            "received": self.received,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "stale": self.stale,
            "rejected": self.rejected,
        }


def _judge(new: dict[str, Any], current: dict[str, Any] | None) -> Result | Literal["conflict"]:
    if current is None:
        return "created"
    if current["updated_at"] < new["updated_at"]:
        return "updated"
    if current["updated_at"] > new["updated_at"]:
        return "stale"
    return "unchanged" if content(current) == content(new) else "conflict"


_COLUMNS = tuple(c.name for c in dossiers_table.columns)

_INSTANTS = tuple(i for i, c in enumerate(dossiers_table.columns) if isinstance(c.type, UTCDateTime))
_DATES = tuple(i for i, c in enumerate(dossiers_table.columns) if isinstance(c.type, Date))


_SET = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "code")


def db_values(row: dict[str, Any], dialect: str) -> tuple[Any, ...]:
    """A row as the driver takes it, in table column order.

    On SQLite instants and dates become the text UTCDateTime and Date store, so the writer binds
    plain values; this runs while the previous chunk is written, off the writer's critical path.
    """
    return dialect_of(dialect).driver_values([row[c] for c in _COLUMNS], _INSTANTS, _DATES)


_STAGING_DDL = {
    # No declared types on SQLite: the values are kept exactly as bound.
    "sqlite": f"CREATE TEMP TABLE IF NOT EXISTS _dossiers_new ({', '.join(_COLUMNS)})",
    "postgresql": "CREATE TEMP TABLE IF NOT EXISTS _dossiers_new (LIKE dossiers INCLUDING DEFAULTS) "
    "ON COMMIT DELETE ROWS",
}


def _stage_dossiers(conn: Connection, values: list[tuple[Any, ...]], now: datetime) -> None:
    """Load the chunk's final rows into `_dossiers_new` and upsert them into `dossiers` from there.

    The rollup fold reads the same staging table, so each row is bound (or copied) only once.
    """
    dialect = dialect_of(conn)
    conn.exec_driver_sql(_STAGING_DDL[dialect.name])
    cols = ", ".join(_COLUMNS)
    dialect.insert_rows(conn, "_dossiers_new", _COLUMNS, values)
    record_staged(conn, "_dossiers_new", now)  # the history, while the replaced versions are stored
    source = dialect.upsert_select(f"SELECT {cols} FROM _dossiers_new")
    conn.exec_driver_sql(f"INSERT INTO dossiers ({cols}) {source} ON CONFLICT (code) DO UPDATE SET {_SET}")


def bump_data_version(conn: Connection, now: datetime) -> None:
    """Every write that can change a figure moves the version (ETags, caches); last, to lock briefly."""
    t = cast(Table, DataState.__table__)
    res = conn.execute(update(t).where(t.c.id == 1).values(version=t.c.version + 1, changed_at=now))
    if res.rowcount == 0:
        conn.execute(t.insert().values(id=1, version=1, changed_at=now))


# Completes a new row from the stored one before it is judged (for formats that omit some fields).
RowPrepare = Callable[[dict[str, Any], dict[str, Any] | None], dict[str, Any]]


def process_chunk(
    engine: Engine,
    items: Sequence[tuple[int, Any]],
    principal: Principal,
    registry: Registry,
    *,
    judge: Callable[[dict[str, Any], dict[str, Any] | None], Result | Literal["conflict"]] = _judge,
    prepare: RowPrepare | None = None,
) -> list[Verdict]:
    """Validate, authorise and upsert one chunk of raw records in one transaction."""
    prepared = prepare_chunk(items, registry, engine.dialect.name)
    return write_chunk(engine, prepared, principal, judge=judge, prepare=prepare)


def drain(items: list[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    """The items in order, each dropped from the list as it is taken (the raw records of a chunk
    are freed while it is validated, not after: a chunk of 20,000 raw records is ~50 MB)."""
    items.reverse()
    while items:
        yield items.pop()


@dataclass(slots=True)
class PreparedChunk:
    """A chunk after validation: a verdict per record, and the rows of the valid ones.

    Each valid row comes with its driver values for `dialect` (None: computed when written).
    """

    verdicts: list[Verdict]
    valid: list[tuple[Verdict, dict[str, Any], tuple[Any, ...] | None]]
    now: datetime
    dialect: str | None = None
    inputs: IndexInputs | None = None  # the rows' national-index columns were derived with these
    registry: Registry | None = None  # what the records were validated against (the feed's settings)


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Stands in for a raw record that could not even be read (a broken or over-long NDJSON line)."""

    errors: Errors


UNREADABLE_RECORD = "the record could not be read"


def unreadable_errors(raw: Any) -> Errors:
    """The error of a record whose validation failed unexpectedly, naming the field when one is found.

    Each known field present is validated alone; the first that fails in the same unexpected way is
    the one named. The value itself is never echoed (nor the exception: it may quote it).
    """
    if isinstance(raw, dict):
        for name, value in raw.items():
            adapter = _FIELD_ADAPTERS.get(name) if isinstance(name, str) else None
            if adapter is None:
                continue
            try:
                adapter.validate_python(value)
            except ValidationError:
                continue
            except Exception:
                return [{"loc": [name], "msg": "the value could not be read", "type": "value_error"}]
    return [{"loc": [], "msg": UNREADABLE_RECORD, "type": "value_error"}]


def _field_adapter(info: FieldInfo) -> TypeAdapter[Any]:
    annotation: Any = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    return TypeAdapter(annotation)


_FIELD_ADAPTERS = {name: _field_adapter(info) for name, info in DossierIn.model_fields.items()}


def prepare_chunk(
    items: Iterable[tuple[int, Any]], registry: Registry, dialect: str | None = None
) -> PreparedChunk:
    """Validate records on their own (no database): this can run while the previous chunk is written.

    A record that fails in an unexpected way is rejected on its own, the failure logged: it never
    costs the chunk's other records.
    """
    verdicts: list[Verdict] = []
    valid: list[tuple[Verdict, dict[str, Any], tuple[Any, ...] | None]] = []
    now = registry.now
    for index, raw in items:
        if isinstance(raw, Unreadable):
            verdicts.append(Verdict(index, None, None, raw.errors))
            continue
        v = Verdict(index, None)
        verdicts.append(v)
        try:
            v.code = record_code(raw)
            if isinstance(raw, dict):
                v.agency = agency_key(raw.get("agency_code"), registry.agencies)
            record, errors = validate_record(raw, registry)
            if record is None:
                v.errors = capped(errors)
                continue
            v.code = record.code
            row = row_from_record(record, now)
            if registry.inputs is not None:
                with_index(row, registry.inputs)
                # The feed's quality marks of this version, here rather than in the writer (the
                # bottleneck); dropped there if the row is derived again.
                entry = registry.inputs.catalogue.get(row["procedure_code"])
                row[MARKS] = marks(row, entry, registry.inputs.calendar, registry.feed.hours)
            values = db_values(row, dialect) if dialect is not None and registry.inputs else None
        except Exception as exc:
            log.error("record %d could not be validated: %s", index, type(exc).__name__, exc_info=exc)
            v.errors = unreadable_errors(raw)
            continue
        valid.append((v, row, values))
    return PreparedChunk(verdicts, valid, now, dialect, registry.inputs, registry)


# The names a rejected record's error may carry in its location (any other is the sender's text).
KNOWN_FIELDS = frozenset(DossierIn.model_fields) | frozenset(SupplementIn.model_fields)


def write_chunk(
    engine: Engine,
    prepared: PreparedChunk,
    principal: Principal,
    *,
    judge: Callable[[dict[str, Any], dict[str, Any] | None], Result | Literal["conflict"]] = _judge,
    prepare: RowPrepare | None = None,
    known_fields: Collection[str] = KNOWN_FIELDS,
) -> list[Verdict]:
    """Authorise, judge and upsert a prepared chunk in one transaction (retried on a deadlock).

    Every rejected verdict of the chunk, those rejected before validation included (a format's own
    mapping), is counted for the feed's quality in that transaction; `known_fields` are the names
    its errors' locations may keep (by default the record schema's).
    """
    valid, verdicts, now = prepared.valid, prepared.verdicts, prepared.now
    feed = prepared.registry.feed if prepared.registry is not None else FeedConfig()
    if not valid:
        if verdicts:
            rejected = _rejections(verdicts, feed, known_fields)
            run_write(engine, lambda conn: record_chunk(conn, rejected, principal.token_id, now))
        return verdicts

    def attempt(conn: Connection) -> None:
        nonlocal valid
        if prepared.dialect != conn.dialect.name:
            valid = [(v, row, None) for v, row, _ in valid]
        accepted = _write_chunk(conn, valid, principal, now, judge, prepare, prepared.inputs, feed)
        quality = _rejections(verdicts, feed, known_fields)
        for agency, code, found in accepted:
            for kind, mark in mark_names(found):
                name = RULES_BY_CODE[mark].field if kind == WARNING else ""
                quality.add((agency, kind, name, mark, kind), code if kind == WARNING else None)
        record_chunk(conn, quality, principal.token_id, now)

    def forget_attempt() -> None:
        for v, _, _ in valid:
            v.result, v.errors = None, []

    run_write(engine, attempt, before_retry=forget_attempt)
    return verdicts


def _rejections(verdicts: Sequence[Verdict], feed: FeedConfig, known_fields: Collection[str]) -> ChunkQuality:
    """The feed's quality counts of a chunk's rejected records."""
    quality = ChunkQuality(feed.examples)
    for v in verdicts:
        if v.result is None and v.errors:
            quality.reject(v.agency, v.code, v.errors, known_fields)
    return quality


_JSON_ROWS = (
    f"SELECT json_group_array(json_array({', '.join(_COLUMNS)})) FROM dossiers "
    "WHERE code IN (SELECT value FROM json_each(?))"
)


def stored_rows(conn: Connection, codes: list[str]) -> dict[str, dict[str, Any]]:
    """The stored versions of `codes`, typed as a SELECT through the table's columns types them.

    On SQLite they come back as one JSON text from one statement step. Fetched row by row, each row
    would be a step, and every step hands the GIL back and forth with the validating thread (see
    insert_rows): a chunk of re-sent records would crawl.
    """
    if not dialect_of(conn).reads_rows_as_json:
        where = dossiers_table.c.code == any_(cast(Any, bindparam("codes", codes, type_=ARRAY(String))))
        return {r.code: dict(r._mapping) for r in conn.execute(select(dossiers_table).where(where))}
    found = conn.exec_driver_sql(_JSON_ROWS, (orjson.dumps(codes).decode(),)).scalar()
    dialect = conn.dialect
    processors = [
        c.type.dialect_impl(dialect).result_processor(dialect, None) for c in dossiers_table.columns
    ]
    stored: dict[str, dict[str, Any]] = {}
    for values in orjson.loads(found or "[]"):
        row = {
            name: value if process is None or value is None else process(value)
            for name, process, value in zip(_COLUMNS, processors, values, strict=True)
        }
        stored[str(row["code"])] = row
    return stored


def _write_chunk(
    conn: Connection,
    valid: list[tuple[Verdict, dict[str, Any], tuple[Any, ...] | None]],
    principal: Principal,
    now: datetime,
    judge: Callable[[dict[str, Any], dict[str, Any] | None], Result | Literal["conflict"]],
    prepare: RowPrepare | None = None,
    derived_with: IndexInputs | None = None,
    feed: FeedConfig | None = None,
) -> list[tuple[str, str, int]]:
    """Judge and upsert; returns (agency, code, warnings and bases new to the dossier) of each
    accepted version (created or updated), for the feed's quality."""
    # The reference lock first, then the codes' (as every writer takes them): the catalogue and the
    # calendar cannot change until this commits, and the rows follow the revision read here.
    lock_reference(conn, exclusive=False)
    inputs = inputs_at(conn, reference_revs(conn)[0])
    if derived_with is None or derived_with.rev != inputs.rev:
        valid = [(v, with_index(row, inputs), None) for v, row, _ in valid]
        for _, row, _ in valid:
            row.pop(MARKS, None)  # judged with other inputs
    codes = sorted({row["code"] for _, row, _ in valid})
    dialect_of(conn).lock_codes(conn, codes)
    stored = stored_rows(conn, codes)
    current: dict[str, dict[str, Any] | None] = dict.fromkeys(codes)
    current.update(stored)
    touched: dict[str, tuple[Any, ...] | None] = {}
    accepted: list[tuple[str, str, int]] = []
    hours = (feed or FeedConfig()).hours
    for v, row, values in valid:
        code = row["code"]
        cur = current[code]
        if not principal.may_write(row["agency_code"]) or (
            cur is not None and not principal.may_write(cur["agency_code"])
        ):
            v.errors = [
                {
                    "loc": ["agency_code"],
                    "msg": "the token may not write dossiers of this agency",
                    "type": "forbidden",
                }
            ]
            continue
        if prepare is not None and (completed := prepare(row, cur)) is not row:
            row, values = with_index(completed, inputs), None
            row.pop(MARKS, None)  # other content than was judged
        verdict = judge(row, cur)
        if verdict == "conflict":
            v.errors = [
                {
                    "loc": ["updated_at"],
                    "msg": "a different record with the same updated_at is stored",
                    "type": "conflict",
                }
            ]
            continue
        v.result = verdict
        if verdict in ("created", "updated"):
            found = new_marks(row, cur, inputs.catalogue, inputs.calendar, hours)
            if found:
                accepted.append((row["agency_code"], code, found))
            current[code] = row
            touched[code] = values
    if not touched:
        return accepted
    dialect = conn.dialect.name
    order = sorted(touched)
    finals: list[tuple[Any, ...]] = []
    for c in order:
        values = touched[c]
        if values is None:
            final = current[c]
            assert final is not None
            values = db_values(final, dialect)
        finals.append(values)
    _stage_dossiers(conn, finals, now)
    replaced = [stored[c] for c in order if c in stored]
    rollups = RollupWriter(conn)
    rollups.stage_rows(-1, replaced)
    rollups.stage_table("_dossiers_new", 1)
    rollups.fold()
    index = IndexRollupWriter(conn)
    index.stage_rows(-1, replaced)
    index.stage_table("_dossiers_new", 1)
    index.fold()
    conn.exec_driver_sql("DELETE FROM _dossiers_new")
    bump_data_version(conn, now)
    return accepted


def delete_dossier(engine: Engine, code: str, now: datetime) -> bool:
    """Remove a dossier and its contribution to every figure; False when unknown."""
    with write_transaction(engine) as conn:
        lock_reference(conn, exclusive=False)  # as every writer of dossiers: a closing waits for it
        dialect_of(conn).lock_codes(conn, [code])
        found = conn.execute(select(dossiers_table).where(dossiers_table.c.code == code)).first()
        if found is None:
            return False
        RollupWriter(conn).apply([dict(found._mapping)], [])
        IndexRollupWriter(conn).apply([dict(found._mapping)], [])
        record_changes(conn, now, deleted=[dict(found._mapping)])
        conn.execute(dossiers_table.delete().where(dossiers_table.c.code == bindparam("c")), {"c": code})
        bump_data_version(conn, now)
    return True


def current_registry(
    conn: Connection, communes: Collection[str], now: datetime | None = None, feed: FeedConfig | None = None
) -> Registry:
    from app.models import Agency

    agencies = set(conn.scalars(select(Agency.code)))
    return Registry(
        agencies=agencies,
        communes=set(communes),
        now=now or utcnow(),
        inputs=current_inputs(conn),
        feed=feed or FeedConfig(),
    )


def drilldown_query(
    *,
    instant: datetime,
    filters: Mapping[str, Sequence[str]],
    received: tuple[date | None, date | None],
    outcomes: Sequence[str],
    after: str | None,
    resolved: tuple[date | None, date | None] = (None, None),
    due: tuple[date | None, date | None] = (None, None),
    conditions: Sequence[Any] = (),
) -> Select[Any]:
    """The dossiers behind a figure (GET /v1/dossiers), in code order after `after`: received before
    `instant`, filtered by the dimensions, the received and resolved local dates, the local date of the
    deadline (due_at, else the catalogue's: app.models.tables.DEADLINE) and the outcomes judged at
    `instant`. Each bound is inclusive; a None bound is no bound."""
    d = Dossier
    conds: list[Any] = [d.received_at < instant]
    for dim, values in filters.items():
        conds.append(getattr(d, DIMENSION_COLUMNS[dim]).in_(values))
    for column, (start, end) in ((d.received_date, received), (d.close_date, resolved)):
        if start is not None:
            conds.append(column >= start)
        if end is not None:
            conds.append(column <= end)
    # The deadline's day from..to, its day as everywhere (app.core.counters.deadline_day): a deadline at
    # 00:00 is the end of the day before. So after the start of `from`, and no later than the start of
    # the day after `to` (instants, so that both stores compare them alike).
    if due[0] is not None:
        conds.append(start_of_day(due[0]) < DEADLINE)
    if due[1] is not None:
        conds.append(start_of_day(due[1] + timedelta(days=1)) >= DEADLINE)
    if outcomes:
        conds.append(or_(*(outcome_condition(o, instant) for o in outcomes)))
    if after is not None:
        conds.append(d.code > after)
    conds.extend(conditions)
    return dossier_rows().where(and_(*conds)).order_by(d.code)


def drilldown(session: Session, *, limit: int, **query: Any) -> list[Any]:
    """A page of `drilldown_query`: its first `limit` dossiers."""
    return list(session.execute(drilldown_query(**query).limit(limit)).all())


def drilldown_batches(conn: Connection, query: Select[Any], size: int = 2000) -> Iterator[Sequence[Any]]:
    """Every row of a drill-down query, `size` at a time, from one statement whose rows are fetched as
    they are consumed (a server-side cursor on PostgreSQL): a bounded memory however long the list."""
    result = conn.execute(query.execution_options(yield_per=size))
    try:
        yield from result.partitions(size)
    finally:
        result.close()


def dossier_rows() -> Select[Any]:
    """The stored dossiers as the drill-down shows them: every column, `procedure_name` the
    catalogue's name, else the record's; and `paper_result`, the catalogue's (null when the procedure
    is not in it), which an index loss's reason reads (app.core.index_derive.index_reason)."""
    procedures = cast(Table, Procedure.__table__)
    columns = [
        func.coalesce(procedures.c.name, c).label(c.name) if c.name == "procedure_name" else c
        for c in dossiers_table.columns
    ]
    joined = dossiers_table.outerjoin(procedures, procedures.c.code == dossiers_table.c.procedure_code)
    return select(*columns, procedures.c.paper_result.label("paper_result")).select_from(joined)
