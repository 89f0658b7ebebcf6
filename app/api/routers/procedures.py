"""The procedure catalogue: per procedure code its name, sector, level, legal maximum duration and the
flags the national index reads; read by any reader, written by an administrator one entry at a time
or in bulk."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from app.api.auth import AdminDep, ReadDep
from app.api.bodies import JSON_TYPES, MAX_JSON_BYTES, REQUEST_TIMEOUT_RESPONSE, media_type, read_body_limited
from app.api.deps import SessionDep
from app.api.openapi_docs import problem_responses
from app.api.reads import reject_unknown_params
from app.api.state import state_of
from app.core.errors import BadRequest, NotFound, UnsupportedMediaType, ValidationFailed
from app.core.vocabulary import SECTOR_PATTERN, TEXT_PATTERN
from app.dossiers.reindex import after_entry_change, start_in_background
from app.dossiers.service import bump_data_version
from app.reference.index_inputs import reference_changed
from app.reference.procedures import (
    CODE_MAX,
    ENTRY_EXAMPLE,
    MAX_BULK,
    BulkReport,
    DurationUnit,
    Entry,
    Level,
    ProcedureIn,
    bulk_upsert,
    delete_one,
    get_one,
    list_entries,
    upsert_one,
)
from app.store.uow import write_transaction

router = APIRouter(prefix="/v1", tags=["reference"])

CodePath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=CODE_MAX,
        pattern=TEXT_PATTERN,
        description="The procedure's code (mã TTHC), 1-32 printable characters, as dossiers' "
        "`procedure_code`, e.g. 1.004227.",
        examples=["1.004227"],
    ),
]


class MaxDurationOut(BaseModel):
    value: int = Field(description="how many units")
    unit: DurationUnit = Field(description="working_days, days, hours or months")


class ProcedureOut(BaseModel):
    code: str = Field(description="the procedure's code (mã TTHC)", examples=["1.004227"])
    name: str = Field(description="the procedure's name")
    sector: str | None = Field(description="its sector slug (lĩnh vực), or null")
    level: Level = Field(description="province or commune")
    max_duration: MaxDurationOut | None = Field(description="the legal maximum processing time, or null")
    paper_result: bool = Field(description="the result must be issued on paper")
    fee: bool = Field(description="a fee or charge is due")
    full_online_eligible: bool = Field(description="eligible for full-online service")
    full_online_offered: bool = Field(description="offered as a full-online service")
    online_payment_integrated: bool = Field(description="online payment is integrated for it")


class ProcedurePage(BaseModel):
    items: list[ProcedureOut] = Field(description="the entries of this page, by ascending code")
    next_cursor: str | None = Field(
        description="pass as `cursor` to read the next page; null on the last page"
    )


class ProcedureRowError(BaseModel):
    index: int = Field(description="the item's 0-based position in the array")
    code: str | None = Field(description="the item's code when it could be read")
    field: str | None = Field(
        description="the field at fault, dotted (e.g. max_duration.unit); null: the item as a whole"
    )
    msg: str = Field(description="what is wrong")
    type: str = Field(description="the kind of error (e.g. missing, literal_error, duplicate)")


BULK_EXAMPLE: dict[str, Any] = {
    "received": 3,
    "created": 1,
    "updated": 1,
    "unchanged": 0,
    "rejected": 1,
    "errors": [
        {
            "index": 2,
            "code": "2.000123",
            "field": "level",
            "msg": "Input should be 'province' or 'commune'",
            "type": "literal_error",
        }
    ],
}


class ProcedureBulkReport(BaseModel):
    received: int = Field(description="items in the array")
    created: int = Field(description="entries added")
    updated: int = Field(description="entries changed")
    unchanged: int = Field(description="entries already stored as sent")
    rejected: int = Field(description="items refused, each listed under `errors`")
    index_job: int | None = Field(
        None,
        description="the background job re-deriving the national index of the stored dossiers "
        "(GET /v1/index/jobs/{id}); null when nothing changed or a job already running covers it",
    )
    errors: list[ProcedureRowError] = Field(description="every error of every rejected item, by index")

    model_config = {"json_schema_extra": {"examples": [BULK_EXAMPLE]}}


ENTRY_OUT: dict[str, Any] = {"code": "1.004227", **ENTRY_EXAMPLE}


def _example(description: str, example: Any) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"example": example}}}


def _out(e: Entry) -> ProcedureOut:
    duration = (
        MaxDurationOut(value=e.max_duration_value, unit=e.max_duration_unit)
        if e.max_duration_value is not None and e.max_duration_unit is not None
        else None
    )
    return ProcedureOut(
        code=e.code,
        name=e.name,
        sector=e.sector,
        level=e.level,
        max_duration=duration,
        paper_result=e.paper_result,
        fee=e.fee,
        full_online_eligible=e.full_online_eligible,
        full_online_offered=e.full_online_offered,
        online_payment_integrated=e.online_payment_integrated,
    )


LIST_PARAMS = ("sector", "level", "limit", "cursor")


@router.get(
    "/procedures",
    operation_id="list_procedures",
    response_model=ProcedurePage,
    summary="The procedure catalogue, a page at a time",
    description=(
        "The catalogue's entries by ascending code, filtered by sector and level; a page of `limit` "
        "entries and `next_cursor` (null on the last page). Unknown parameters are a 422."
    ),
    responses={
        200: _example("A page of entries", {"items": [ENTRY_OUT], "next_cursor": "1.004227"}),
        **problem_responses(401, 403, 422),
    },
)
def list_procedures(
    request: Request,
    session: SessionDep,
    _reader: ReadDep,
    sector: Annotated[
        str | None,
        Query(pattern=SECTOR_PATTERN, description="Only entries of this sector slug (e.g. xay_dung)."),
    ] = None,
    level: Annotated[
        Level | None, Query(description="Only entries of this level: province or commune.")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="Entries on a page, 1 to 1,000; default 100.")
    ] = 100,
    cursor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=CODE_MAX,
            pattern=TEXT_PATTERN,
            description="The `next_cursor` of the previous page (the last code it listed); absent: the "
            "first page.",
        ),
    ] = None,
) -> ProcedurePage:
    reject_unknown_params(request, LIST_PARAMS)
    rows = list_entries(session.connection(), sector=sector, level=level, after=cursor, limit=limit + 1)
    return ProcedurePage(
        items=[_out(e) for e in rows[:limit]],
        next_cursor=rows[limit - 1].code if len(rows) > limit else None,
    )


@router.get(
    "/procedures/{code}",
    operation_id="get_procedure",
    response_model=ProcedureOut,
    summary="One catalogue entry",
    description="The catalogue's entry for the procedure code; 404 when the catalogue has none.",
    responses={200: _example("The entry", ENTRY_OUT), **problem_responses(401, 403, 404, 422)},
)
def get_procedure(session: SessionDep, _reader: ReadDep, code: CodePath) -> ProcedureOut:
    entry = get_one(session.connection(), code)
    if entry is None:
        raise NotFound(f"The catalogue has no procedure {code}.")
    return _out(entry)


@router.put(
    "/procedures/{code}",
    operation_id="put_procedure",
    response_model=ProcedureOut,
    summary="Add or replace one catalogue entry (admin)",
    description=(
        "Admin only. The body replaces the whole entry (a field left out takes its default: null or "
        "false). 201 when added, 200 when it was already there (changed or not)."
    ),
    responses={
        200: _example("Replaced (or already as sent)", ENTRY_OUT),
        201: {"description": "Added", "model": ProcedureOut, **_example("Added", ENTRY_OUT)},
        **problem_responses(
            400,
            401,
            403,
            413,
            415,
            422,
            descriptions={422: "The body is invalid; `errors` names each field (`body.<field>`)."},
        ),
    },
)
def put_procedure(
    request: Request,
    _admin: AdminDep,
    code: CodePath,
    body: ProcedureIn,
    response: Response,
) -> ProcedureOut:
    entry = Entry.of(code, body)
    state = state_of(request)
    now = state.clock()
    with write_transaction(state.engine) as conn:
        result = upsert_one(conn, entry, now)
        rev = reference_changed(conn) if result != "unchanged" else None
        if rev is not None:
            bump_data_version(conn, now)
    if result == "created":
        response.status_code = 201
    if rev is not None:
        # The procedure's stored dossiers follow the new entry before the answer goes out.
        after_entry_change(state.engine, code, rev)
    request.state.audit_counts = {result: 1}
    return _out(entry)


@router.delete(
    "/procedures/{code}",
    operation_id="delete_procedure",
    status_code=204,
    summary="Remove one catalogue entry (admin)",
    description="Admin only. 204 when removed, 404 when the catalogue has no entry with the code.",
    responses=problem_responses(401, 403, 404, 422),
)
def delete_procedure(request: Request, _admin: AdminDep, code: CodePath) -> Response:
    state = state_of(request)
    with write_transaction(state.engine) as conn:
        found = delete_one(conn, code)
        rev = reference_changed(conn) if found else None
        if found:
            bump_data_version(conn, state.clock())
    request.state.audit_counts = {"deleted": int(found)}
    if rev is None:
        raise NotFound(f"The catalogue has no procedure {code}.")
    after_entry_change(state.engine, code, rev)
    return Response(status_code=204)


BULK_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "array",
                "maxItems": MAX_BULK,
                "items": {"$ref": "#/components/schemas/ProcedureEntryIn"},
            },
            "example": [{"code": "1.004227", **ENTRY_EXAMPLE}],
        }
    },
}


def _bulk(engine: Engine, body: bytes, now: datetime) -> BulkReport:
    try:
        items = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("The body is not valid JSON; send a JSON array of catalogue entries.") from exc
    if not isinstance(items, list) or len(items) > MAX_BULK:
        raise ValidationFailed(
            f"The body must be a JSON array of at most {MAX_BULK} entries.",
            errors=[
                {"loc": ["body"], "msg": f"not an array of at most {MAX_BULK} items", "type": "value_error"}
            ],
        )
    with write_transaction(engine) as conn:
        report = bulk_upsert(conn, items, now)
        if report.created or report.updated:
            reference_changed(conn)
            bump_data_version(conn, now)
    if report.created or report.updated:
        # Many procedures at once: every stored dossier is re-derived by a background job.
        report.index_job = start_in_background(engine, "catalogue changed in bulk", None)
    return report


@router.put(
    "/procedures",
    operation_id="put_procedures",
    response_model=ProcedureBulkReport,
    summary="Add or replace many catalogue entries (admin)",
    description=(
        "Admin only. A JSON array of up to 10,000 entries, each with its `code` (at most 10 MiB). Each "
        "item is judged on its own: a valid one is added or replaces the stored entry, an invalid one "
        "(or a code given again later in the array) is rejected and listed under `errors` with its "
        "0-based `index` and the `field` at fault; the valid ones are stored even when others are "
        "rejected. Entries not in the array are kept. The 200 report counts created, updated, "
        "unchanged and rejected items."
    ),
    openapi_extra={"requestBody": BULK_BODY},
    responses={
        200: _example("The report", BULK_EXAMPLE),
        **problem_responses(
            400,
            401,
            403,
            413,
            415,
            422,
            descriptions={
                422: "The body is not a JSON array of at most 10,000 items. Items inside a valid body "
                "are never refused this way: an invalid one is listed under `errors` of the 200 report."
            },
        ),
        **REQUEST_TIMEOUT_RESPONSE,
    },
)
async def put_procedures(request: Request, _admin: AdminDep) -> ProcedureBulkReport:
    if media_type(request) not in JSON_TYPES:
        raise UnsupportedMediaType("Send the body as application/json: a JSON array of catalogue entries.")
    body = await read_body_limited(request, MAX_JSON_BYTES)
    state = state_of(request)
    report = await run_in_threadpool(_bulk, state.engine, body, state.clock())
    request.state.audit_counts = {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": report.rejected,
    }
    return ProcedureBulkReport(
        received=report.received,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        rejected=report.rejected,
        index_job=report.index_job,
        errors=[
            ProcedureRowError(index=e.index, code=e.code, field=e.field, msg=e.msg, type=e.type)
            for e in report.errors
        ],
    )
