"""Dossier endpoints (contract §3): ingest (JSON array or NDJSON stream), upsert one, read, list, delete."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session

from app.api import exports
from app.api.auth import AdminDep, IngestDep, ReadDep
from app.api.bodies import (
    JSON_TYPES,
    MAX_JSON_BYTES,
    REQUEST_TIMEOUT_RESPONSE,
    at_clock,
    body_pieces,
    load_registry,
    media_type,
    read_body_limited,
)
from app.api.deps import (
    AGENCY_FILTER,
    CHANNEL_FILTER,
    COMMUNE_FILTER,
    PROCEDURE_FILTER,
    SECTOR_FILTER,
    SessionDep,
)
from app.api.observability import ObservedTotals
from app.api.openapi_docs import problem_responses
from app.api.reads import reject_unknown_params
from app.api.state import state_of
from app.core.calendar import WorkingCalendar
from app.core.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    UnsupportedMediaType,
    ValidationFailed,
)
from app.core.jsonutil import dumps
from app.core.timeutil import end_of_day, local_date
from app.core.vocabulary import CODE_PATTERN, Channel, Outcome
from app.dossiers.drilldown import dossier_out, drill_item, export_fields, export_line
from app.dossiers.schemas import (
    EXAMPLE_RECORD,
    AgencyParam,
    CommuneParam,
    DossierLossOut,
    DossierOut,
    DossierPage,
    DrilldownOut,
    IngestReport,
    IsoDate,
    ProcedureParam,
    PutResult,
    SectorParam,
)
from app.dossiers.service import (
    Verdict,
    delete_dossier,
    dossier_rows,
    drilldown,
    drilldown_batches,
    drilldown_query,
    process_chunk,
)
from app.dossiers.stream import MAX_LINE_BYTES, ingest_ndjson
from app.index.counts import IndexPeriod, index_period
from app.index.losses import loss_condition, reason
from app.metrics.reads import unit_names
from app.models import Dossier
from app.reference.index_inputs import current_inputs
from app.reports import table
from app.reports.table import XLSX_MEDIA_TYPE
from app.store import repository

router = APIRouter(prefix="/v1/dossiers", tags=["dossiers"])

DossierCode = Annotated[
    str,
    Path(
        pattern=CODE_PATTERN,
        description="The dossier's code (mã hồ sơ), its key: 1-64 of A-Z a-z 0-9 . _ -.",
    ),
]

MAX_RECORDS = 5000
# Not application/json-seq (RFC 7464): its records start with a record separator, not at a line start.
NDJSON_TYPES = {"application/x-ndjson", "application/ndjson", "application/jsonl"}

INGEST_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_RECORDS,
                "items": {"$ref": "#/components/schemas/DossierIn"},
            },
            "example": [EXAMPLE_RECORD],
        },
        "application/x-ndjson": {
            "schema": {
                "type": "string",
                "description": "One DossierIn JSON object per line, any number of lines.",
            },
            "example": orjson.dumps(EXAMPLE_RECORD).decode() + "\n",
        },
    },
}


# Rules of contract §2 that a JSON Schema cannot state: a schema-valid record can still break them.
RECORD_RULES_422 = (
    "The record is invalid; `errors` names each field. Besides a missing, malformed or unknown field, "
    "a schema-valid record is refused when: due_at, resolved_at or returned_at is out of order; an "
    "open status has resolved_at, or a finished or withdrawn one lacks it; status returned lacks "
    "returned_at; paid_online is set without fee_required; online_level is set without channel "
    "online; digitised_result or rating is set on an unfinished dossier; received_at or updated_at "
    "is more than 5 minutes ahead of the server's clock; agency_code is not a registered agency; "
    "commune_code is not a ward of the configured province; or the body's code differs from the path."
)


@router.post(
    "",
    operation_id="ingest_dossiers",
    summary="Upsert a batch (JSON array) or a stream (NDJSON) of dossier records",
    description=(
        "A JSON array of 1 to 5,000 records (`application/json`, at most 10 MiB), or NDJSON "
        "(`application/x-ndjson`, one record a line, any number of lines; a line over 1 MiB is rejected as "
        "`too_long`, blank lines are skipped). Each "
        "record is an upsert keyed by `code`, judged on its own: validation, then the token's right to "
        "write its agency (for an update, the stored one too), then its version by `updated_at`: "
        "`created` (new code), `updated` (stored version older: the record is replaced whole), "
        "`unchanged` (same version and content), `stale` (stored version newer: ignored) or rejected "
        "(invalid, `forbidden`, or `conflict`: same version, other content). Records are committed in "
        "chunks as they arrive; valid records are stored even when others are rejected. The 200 report "
        "counts each verdict and lists the first 1,000 rejected records (`index` is 0-based: the "
        "position in the array or the line of the NDJSON body) with their errors; past that "
        "`errors_omitted` and `errors_summary` count the rest."
    ),
    response_model=IngestReport,
    openapi_extra={"requestBody": INGEST_BODY},
    responses={
        **problem_responses(
            400,
            401,
            403,
            413,
            415,
            422,
            descriptions={
                422: "The JSON body is not an array of 1 to 5,000 items. Records inside a valid body are "
                "never refused this way: each is judged on its own and an invalid one is listed under "
                "`errors` of the 200 report.",
            },
        ),
        **REQUEST_TIMEOUT_RESPONSE,
    },
)
async def ingest_dossiers(request: Request, principal: IngestDep) -> Response:
    engine: Engine = state_of(request).engine
    kind = media_type(request)
    totals = ObservedTotals()
    chunk_size: int = state_of(request).settings.ingest_chunk_size
    try:
        if kind in JSON_TYPES:
            body = await read_body_limited(request, MAX_JSON_BYTES)
            records = await run_in_threadpool(_json_array, body)
            del body
            registry = await load_registry(request, engine)
            for start in range(0, len(records), chunk_size):
                items = list(enumerate(records[start : start + chunk_size], start))
                chunk_registry = at_clock(request, registry)
                totals.add(await run_in_threadpool(process_chunk, engine, items, principal, chunk_registry))
        elif kind in NDJSON_TYPES:
            registry = await load_registry(request, engine)
            await ingest_ndjson(
                body_pieces(request),
                engine=engine,
                principal=principal,
                registry=registry,
                clock=state_of(request).clock,
                chunk_size=state_of(request).settings.ingest_chunk_size,
                chunk_bytes=state_of(request).settings.ingest_chunk_bytes,
                totals=totals,
            )
        else:
            raise UnsupportedMediaType(
                "Send application/json (an array of records) or application/x-ndjson (one record a line)."
            )
    finally:
        # Chunks already committed stay stored even when a later one fails; the audit trail says so.
        request.state.audit_counts = totals.counts()
    return Response(dumps(totals.as_dict()), media_type="application/json")


def _json_array(body: bytes) -> list[Any]:
    """The records of a JSON array body (parsed in a worker thread: 10 MB take a while)."""
    try:
        records = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("The body is not valid JSON; send a JSON array of records.") from exc
    if not isinstance(records, list):
        raise ValidationFailed(
            "The body must be a JSON array of records (or NDJSON).",
            errors=[{"loc": [], "msg": "must be an array", "type": "list_type"}],
        )
    if not 1 <= len(records) <= MAX_RECORDS:
        raise ValidationFailed(
            f"A JSON array carries 1 to {MAX_RECORDS} records; send NDJSON for more.",
            errors=[
                {
                    "loc": [],
                    "msg": f"must hold 1 to {MAX_RECORDS} records",
                    "type": "too_long" if records else "too_short",
                }
            ],
        )
    return records


@router.put(
    "/{code}",
    operation_id="put_dossier",
    summary="Create or replace one dossier",
    description=(
        "The body is one record (`application/json`, at most 1 MiB) whose `code`, if given, equals the "
        "path's. Judged as one record of POST /v1/dossiers: 201 when created; 200 when `updated`, "
        "`unchanged` or `stale` (the body says which, with the dossier now stored: for `stale`, the "
        "newer one kept); 403 when the token may not write its agency; 409 when a different record "
        "with the same `updated_at` is stored; 422 when invalid."
    ),
    response_model=PutResult,
    status_code=200,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/DossierIn"},
                    "example": EXAMPLE_RECORD,
                }
            },
        }
    },
    responses={
        201: {"description": "Created", "model": PutResult},
        **problem_responses(
            400,
            401,
            403,
            409,
            413,
            415,
            422,
            descriptions={422: RECORD_RULES_422},
        ),
        **REQUEST_TIMEOUT_RESPONSE,
    },
)
async def put_dossier(request: Request, principal: IngestDep, code: DossierCode) -> Response:
    if media_type(request) not in JSON_TYPES:
        raise UnsupportedMediaType("Send the record as application/json.")
    body = await read_body_limited(request, MAX_LINE_BYTES)
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("The body is not valid JSON; send one record as a JSON object.") from exc
    if isinstance(raw, dict) and "code" in raw and raw["code"] != code:
        raise ValidationFailed(
            "The record's code must equal the code in the path.",
            errors=[{"loc": ["code"], "msg": "must equal the path's code", "type": "value_error"}],
        )
    engine: Engine = state_of(request).engine
    registry = await load_registry(request, engine)
    verdict = (await run_in_threadpool(process_chunk, engine, [(0, raw)], principal, registry))[0]
    status = {"created": 201}.get(verdict.result or "", 200)
    request.state.audit_counts = _single_counts(verdict)
    if verdict.result is None:
        kinds = {e["type"] for e in verdict.errors}
        if "forbidden" in kinds:
            raise Forbidden("The token may not write dossiers of this agency.", errors=verdict.errors)
        if "conflict" in kinds:
            raise Conflict("A different record with the same updated_at is stored.", errors=verdict.errors)
        raise ValidationFailed(
            "The record is invalid: "
            + ", ".join(".".join(str(p) for p in e["loc"]) or "record" for e in verdict.errors),
            errors=verdict.errors,
        )
    row = await run_in_threadpool(_stored_row, engine, code)
    out = PutResult(result=verdict.result, dossier=dossier_out(row, state_of(request).clock()))
    return Response(out.model_dump_json(), status_code=status, media_type="application/json")


def _stored_row(engine: Engine, code: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(Dossier.__table__).where(Dossier.code == code)).one()


def _single_counts(v: Verdict) -> dict[str, int]:
    t = ObservedTotals()
    t.add([v])
    return t.counts()


@router.get(
    "/{code}",
    operation_id="get_dossier",
    summary="One stored dossier with its outcome now",
    description=(
        "The stored record (timestamps in Vietnam time, +07:00) and its `outcome` at the request's "
        "instant: early, on_time or late when finished, withdrawn, else pending or pending_overdue. "
        "404 when no dossier has the code."
    ),
    response_model=DossierOut,
    responses=problem_responses(401, 403, 404, 422),
)
def get_dossier(request: Request, session: SessionDep, _reader: ReadDep, code: DossierCode) -> DossierOut:
    row = session.execute(dossier_rows().where(Dossier.code == code)).first()
    if row is None:
        raise NotFound(f"No dossier has code {code}.")
    return dossier_out(row, state_of(request).clock())


@router.delete(
    "/{code}",
    operation_id="delete_dossier",
    status_code=204,
    summary="Remove a dossier entered in error, with its contribution to every figure",
    description=(
        "Admin only. The dossier and its contribution to every count are removed in one transaction; "
        "the figures' ETags change. 204 when removed, 404 when no dossier has the code."
    ),
    responses=problem_responses(401, 403, 404, 422),
)
def remove_dossier(request: Request, _admin: AdminDep, code: DossierCode) -> Response:
    found = delete_dossier(state_of(request).engine, code, state_of(request).clock())
    request.state.audit_counts = {"deleted": int(found)}
    if not found:
        raise NotFound(f"No dossier has code {code}.")
    return Response(status_code=204)


LIST_PARAMS = (
    "agency",
    "commune",
    "sector",
    "procedure",
    "channel",
    "outcome",
    "received_from",
    "received_to",
    "as_of",
    "resolved_from",
    "resolved_to",
    "due_from",
    "due_to",
    "limit",
    "cursor",
    "index_loss",
    "period",
    "format",
)
ListFormat = Literal["json", "csv", "xlsx"]


IndexLoss = Literal["2.1", "3.0", "3.6a", "4.1", "4.2", "4.3", "4.4", "4.5a", "5.4"]


def _index_loss(
    indicator: str | None,
    period: str | None,
    now: datetime,
    *others: Any,
) -> IndexPeriod | None:
    """The period of an `index_loss` query, or None without one; a 422 for what does not go with it."""
    if indicator is None:
        if period is not None:
            raise ValidationFailed(
                "period is only taken with index_loss.",
                errors=[{"loc": ["query", "period"], "msg": "only with index_loss", "type": "value_error"}],
            )
        return None
    if period is None:
        raise ValidationFailed(
            "index_loss needs period.",
            errors=[{"loc": ["query", "period"], "msg": "required with index_loss", "type": "missing"}],
        )
    names = (
        "as_of",
        "outcome",
        "received_from",
        "received_to",
        "resolved_from",
        "resolved_to",
        "due_from",
        "due_to",
    )
    for name, value in zip(names, others, strict=True):
        if value:
            raise ValidationFailed(
                f"{name} does not go with index_loss.",
                errors=[{"loc": ["query", name], "msg": "not with index_loss", "type": "value_error"}],
            )
    try:
        return index_period(period, now)
    except ValueError as exc:
        raise ValidationFailed(
            f"period: {exc}", errors=[{"loc": ["query", "period"], "msg": str(exc), "type": "value_error"}]
        ) from None


def _encode_cursor(code: str) -> str:
    return base64.urlsafe_b64encode(code.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    invalid = ValidationFailed(
        "The cursor is not one this service issued.",
        errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "value_error"}],
    )
    try:
        # validate=True: a cursor with stray characters is refused, not decoded into another position.
        code = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise invalid from exc
    if not re.fullmatch(CODE_PATTERN, code):
        raise invalid
    return code


RESOLVED = "finished or withdrawn (the local date of resolved_at)"
DATE_RANGE_TEXT = (
    "a local date YYYY-MM-DD, inclusive; absent: no bound. A `{to}` before `{frm}` is a 422 naming `{to}`."
)


def _date_param(what: str, bound: str, frm: str, to: str) -> Any:
    return Query(
        description=f"Only dossiers {what} {bound} this date: " + DATE_RANGE_TEXT.format(frm=frm, to=to)
    )


def _check_range(name: str, start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise ValidationFailed(
            f"{name}_to must not be before {name}_from.",
            errors=[
                {
                    "loc": ["query", f"{name}_to"],
                    "msg": f"must not be before {name}_from",
                    "type": "value_error",
                }
            ],
        )


@router.get(
    "",
    operation_id="list_dossiers",
    summary="Drill-down list of dossiers behind a figure (JSON pages, CSV or XLSX)",
    description=(
        "The dossiers received by the end of `as_of` (or now) that match every filter given, in "
        "ascending code, each with its outcome judged at that instant, its procedure's name (the "
        "catalogue's, else the record's), its agency's and ward's names, the deadline it is judged "
        "against (`due_at`, else the national deadline derived from the catalogue) and the working days "
        "overdue or early (working-day calendar: weekends, public holidays, the province's days off and "
        "make-up days); a page of `limit` dossiers and `next_cursor` (null on the last page). The "
        "filters are those of GET /v1/metrics plus `outcome` and the received, resolved and due dates, "
        "so the dossiers behind any figure can be listed. `format=csv` streams the whole filtered list "
        "(any size, one line per dossier, the JSON item's fields as columns); `format=xlsx` sends it as "
        f"a workbook, refused above {exports.XLSX_MAX_ROWS:,} dossiers; an export takes a heavy-read "
        "slot and takes neither `limit` nor `cursor`. Unknown parameters are a 422. See docs/API.md."
    ),
    response_model=DossierPage,
    responses={
        200: {
            "description": "A page of the list, or the whole list as CSV or XLSX",
            "content": {
                "application/json": {},
                "text/csv": {"schema": {"type": "string"}},
                XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **problem_responses(
            401,
            403,
            422,
            503,
            descriptions={
                422: "A parameter is malformed; or `cursor` is not one this service issued; or a `_to` "
                "date is before its `_from`; or `limit` or `cursor` came with an export; or an XLSX would "
                f"have more than {exports.XLSX_MAX_ROWS:,} rows (type too_large: ask for CSV, or narrow "
                "the filters).",
                503: "Every heavy-read slot stayed busy (an export takes one), or the export's first "
                "read did not end within the read timeout.",
            },
        ),
    },
)
async def list_dossiers(
    request: Request,
    session: SessionDep,
    _reader: ReadDep,
    agency: Annotated[list[AgencyParam] | None, Query(max_length=200, description=AGENCY_FILTER)] = None,
    commune: Annotated[list[CommuneParam] | None, Query(max_length=200, description=COMMUNE_FILTER)] = None,
    sector: Annotated[list[SectorParam] | None, Query(max_length=200, description=SECTOR_FILTER)] = None,
    procedure: Annotated[
        list[ProcedureParam] | None, Query(max_length=200, description=PROCEDURE_FILTER)
    ] = None,
    channel: Annotated[list[Channel] | None, Query(max_length=3, description=CHANNEL_FILTER)] = None,
    outcome: Annotated[
        list[Outcome] | None,
        Query(
            max_length=6,
            description="Only dossiers with this outcome, judged at the end of `as_of` (or now): early, "
            "on_time, late (finished), withdrawn, pending (open, within its deadline or with none), "
            "pending_overdue (open, past its deadline). Repeat for several (any matches); absent: all.",
        ),
    ] = None,
    received_from: Annotated[
        IsoDate | None,
        Query(
            description="Only dossiers received on or after this local date (YYYY-MM-DD); absent: no bound."
        ),
    ] = None,
    received_to: Annotated[
        IsoDate | None,
        Query(
            description="Only dossiers received on or before this local date (YYYY-MM-DD); absent: no bound."
        ),
    ] = None,
    resolved_from: Annotated[
        IsoDate | None,
        _date_param("finished or withdrawn (resolved_at)", "on or after", "resolved_from", "resolved_to"),
    ] = None,
    resolved_to: Annotated[
        IsoDate | None,
        _date_param("finished or withdrawn (resolved_at)", "on or before", "resolved_from", "resolved_to"),
    ] = None,
    due_from: Annotated[
        IsoDate | None,
        _date_param(
            "whose deadline (`deadline_at`; at 00:00, the end of the day before) falls",
            "on or after",
            "due_from",
            "due_to",
        ),
    ] = None,
    due_to: Annotated[
        IsoDate | None,
        _date_param(
            "whose deadline (`deadline_at`; at 00:00, the end of the day before) falls",
            "on or before",
            "due_from",
            "due_to",
        ),
    ] = None,
    as_of: Annotated[
        IsoDate | None,
        Query(
            description="Judge outcomes at the end of this local date (YYYY-MM-DD), and list only dossiers "
            "received by then. Absent, today or a later date: now, the request's instant."
        ),
    ] = None,
    limit: Annotated[
        int | None,
        Query(ge=1, le=1000, description="JSON only: dossiers on a page, 1 to 1,000; default 100."),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            max_length=200,
            description="JSON only: the `next_cursor` of the previous page, to read the next one (pages "
            "are in ascending dossier code); absent: the first page. A cursor not issued here is a 422.",
        ),
    ] = None,
    index_loss: Annotated[
        IndexLoss | None,
        Query(
            description="Only the dossiers that cost this national-index indicator points in `period`: "
            "the handled dossiers (ended in it, or in processing at its judging instant) that are not "
            "its successes (3.6a: received in it with a fee, not paid online), each with "
            "`index_reason`. Needs `period`; not with `as_of`, `outcome`, the received, resolved or "
            "due dates."
        ),
    ] = None,
    period: Annotated[
        str | None,
        Query(
            pattern=r"^\d{4}(-\d{2}|-Q[1-4])?$",
            description="With `index_loss`: the calendar month YYYY-MM, quarter YYYY-Qn or year YYYY.",
        ),
    ] = None,
    format: Annotated[
        ListFormat,
        Query(
            description="json (default): a page; csv (UTF-8 with a byte-order mark, streamed) or xlsx: "
            "the whole filtered list from its start, as an attachment, one line per dossier, the JSON "
            "item's fields as columns (booleans có/không, the supplement requests as JSON text)."
        ),
    ] = "json",
) -> Any:
    # A misspelt filter would otherwise widen the list silently.
    reject_unknown_params(request, LIST_PARAMS)
    state = state_of(request)
    now: datetime = state.clock()
    instant = end_of_day(as_of) if as_of is not None and as_of < local_date(now) else now
    _check_range("received", received_from, received_to)
    _check_range("resolved", resolved_from, resolved_to)
    _check_range("due", due_from, due_to)
    filters = {
        "agency": agency,
        "commune": commune,
        "sector": sector,
        "procedure": procedure,
        "channel": channel,
    }
    dates = (received_from, received_to, resolved_from, resolved_to, due_from, due_to)
    loss = _index_loss(index_loss, period, now, as_of, outcome, *dates)
    if loss is not None:
        instant = loss.judged_at
    if format != "json":
        for name, value in (("limit", limit), ("cursor", cursor)):
            if value is not None:
                raise ValidationFailed(
                    f"{name} is only taken with format=json (an export is the whole list).",
                    errors=[{"loc": ["query", name], "msg": "only with format=json", "type": "value_error"}],
                )
    query: dict[str, Any] = {
        "instant": instant,
        "filters": {k: v for k, v in filters.items() if v},
        "received": (received_from, received_to),
        "resolved": (resolved_from, resolved_to),
        "due": (due_from, due_to),
        "outcomes": sorted(set(outcome or ())),
        "conditions": [loss_condition(index_loss, loss)] if loss is not None and index_loss else [],
    }
    lost = index_loss if loss is not None else None
    if format != "json":
        return await _export(request, format, query, lost, loss, now)
    size = 100 if limit is None else limit
    after = _decode_cursor(cursor) if cursor is not None else None
    return await run_in_threadpool(_page, request, session, query, after, size, lost, loss)


def _context(conn: Connection, request: Request) -> tuple[dict[str, dict[str, str]], WorkingCalendar]:
    """The unit names (read once per data version) and the working-day calendar of a read."""
    settings = state_of(request).settings
    version, _ = repository.data_state(conn)
    names = unit_names(conn, settings.province_code, version, state_of(request).names_memo)
    return names, current_inputs(conn).calendar


def _reason(
    indicator: str | None, loss: IndexPeriod | None, calendar: WorkingCalendar
) -> Callable[[Any], str] | None:
    if indicator is None or loss is None:
        return None
    return lambda row: reason(indicator, row._mapping, loss, calendar) or ""


def _page(
    request: Request,
    session: Session,
    query: dict[str, Any],
    after: str | None,
    limit: int,
    indicator: str | None,
    loss: IndexPeriod | None,
) -> DossierPage:
    rows = drilldown(session, after=after, limit=limit + 1, **query)
    names, calendar = _context(session.connection(), request)
    why = _reason(indicator, loss, calendar)
    instant: datetime = query["instant"]
    items: list[DossierLossOut | DrilldownOut] = [
        drill_item(r, instant, names, calendar, why) for r in rows[:limit]
    ]
    next_cursor = _encode_cursor(rows[limit - 1].code) if len(rows) > limit else None
    return DossierPage(items=items, next_cursor=next_cursor)


async def _export(
    request: Request,
    fmt: str,
    query: dict[str, Any],
    indicator: str | None,
    loss: IndexPeriod | None,
    now: datetime,
) -> Response:
    """The whole filtered list as CSV or XLSX (app.api.exports), from one statement."""
    statement = drilldown_query(after=None, **query)
    instant: datetime = query["instant"]

    def prepare(conn: Connection) -> tuple[dict[str, dict[str, str]], WorkingCalendar]:
        if fmt == "xlsx":
            n = conn.execute(select(func.count()).select_from(statement.subquery())).scalar_one()
            exports.check_xlsx_rows(int(n))
        return _context(conn, request)

    names, calendar = await exports.prepared(request, prepare)
    why = _reason(indicator, loss, calendar)
    fields = export_fields(why is not None)

    def rows(conn: Connection) -> Iterator[list[Sequence[Any]]]:
        for part in drilldown_batches(conn, statement):
            yield [
                [table.cell(v) for v in export_line(drill_item(r, instant, names, calendar, why), fields)]
                for r in part
            ]

    name = f"ho-so_{now.strftime('%Y%m%d')}.{fmt}"
    return await exports.send(request, fmt, name, fields, rows, "ho-so")
