"""The national index (Decision 766/QĐ-TTg): scores per unit and period, the rule sets, the declared
indicators and the re-derivation jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Connection, select

from app.api.auth import AdminDep, ReadDep
from app.api.bodies import JSON_TYPES, REQUEST_TIMEOUT_RESPONSE, media_type, read_body_limited
from app.api.cache import Rendered
from app.api.deps import SessionDep
from app.api.openapi_docs import problem_responses
from app.api.reads import ReadPlan, etag_of, guarded_read, reject_unknown_params
from app.api.state import state_of
from app.core.errors import BadRequest, NotFound, UnsupportedMediaType, ValidationFailed
from app.core.jsonutil import dumps
from app.core.timeutil import to_local
from app.dossiers.reindex import get_job, latest_jobs, launch, start_job
from app.dossiers.service import bump_data_version
from app.index import declared as declared_values
from app.index import render
from app.index.counts import index_period
from app.index.schemas import (
    DECLARED_EXAMPLE,
    RULE_SET_EXAMPLE,
    DeclaredList,
    DeclaredStored,
    IndexResponse,
    JobList,
    JobOut,
    RuleSetList,
    RuleSetOut,
)
from app.index.service import NoRuleSet, index_table
from app.metrics.guard import Cancel
from app.metrics.reads import READ_503
from app.models import Agency, DataState
from app.reference.rule_sets import KnownRuleSet, add_rule_set, list_rule_sets
from app.store.uow import write_transaction

router = APIRouter(prefix="/v1", tags=["index"])

IndexUnit = Literal["province", "agency", "commune"]
IndexFormat = Literal["json", "csv", "xlsx"]
INDEX_PARAMS = ("period", "unit", "format")
PERIOD_DESCRIPTION = (
    "A calendar month YYYY-MM, quarter YYYY-Qn or year YYYY. Open dossiers are judged at the end of its "
    "last day, or now while it is in progress; it is scored with the rule set in force on its first day."
)


def _bad(loc: list[str | int], msg: str) -> ValidationFailed:
    return ValidationFailed(
        f"{'.'.join(map(str, loc))}: {msg}", errors=[{"loc": loc, "msg": msg, "type": "value_error"}]
    )


def _version(conn: Connection) -> tuple[int, datetime | None]:
    row = conn.execute(select(DataState.version, DataState.changed_at).where(DataState.id == 1)).first()
    return (int(row[0]), row[1]) if row is not None else (0, None)


@router.get(
    "/index",
    operation_id="get_index",
    summary="The national index per unit for a period (JSON, CSV or XLSX)",
    description=(
        "Decision 766's score of the province (`unit=province`), its departments (`unit=agency`) or its "
        "communes' People's Committees (`unit=commune`), each ranked within its level: every indicator "
        "with its numerator, denominator, ratio and points (unrounded and rounded to 2 decimals), its "
        "source (`computed` from the dossiers, `declared`, or `missing` when a declared value is absent), "
        "the six groups, the total (the sum of the rounded points), `reachable` (the total plus the "
        "points of missing indicators) and the rank (total descending, ties by code). `counts` holds "
        "the idx21_ counts behind the computed indicators. `derivation_behind` is true while stored "
        "dossiers are being re-derived after a catalogue or calendar change. See docs/INDEX.md."
    ),
    responses={
        200: {
            "description": "The index",
            "model": IndexResponse,
            "content": {
                "application/json": {},
                "text/csv": {"schema": {"type": "string"}},
                render.XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        304: {"description": "Not modified"},
        **problem_responses(
            401,
            403,
            422,
            503,
            descriptions={
                503: READ_503,
                422: "A parameter is unknown or malformed, or the period has not begun.",
            },
        ),
    },
)
async def get_index(
    request: Request,
    _reader: ReadDep,
    period: Annotated[
        str, Query(pattern=r"^\d{4}(-\d{2}|-Q[1-4])?$", description=PERIOD_DESCRIPTION, examples=["2025-Q3"])
    ],
    unit: Annotated[
        IndexUnit,
        Query(
            description="province: the province as a whole; agency (default): every provincial department; "
            "commune: every commune's People's Committee (agencies of level commune)."
        ),
    ] = "agency",
    format: Annotated[
        IndexFormat,
        Query(
            description="json (default); csv (UTF-8 with a byte-order mark, a line per unit and indicator) "
            "or "
            "xlsx (a sheet of totals and groups, a sheet of indicators), sent as an attachment."
        ),
    ] = "json",
) -> Response:
    reject_unknown_params(request, INDEX_PARAMS)
    state = state_of(request)
    now = state.clock()
    try:
        p = index_period(period, now)
    except ValueError as exc:
        raise _bad(["query", "period"], str(exc)) from None

    def plan(conn: Connection) -> ReadPlan[datetime | None]:
        version, changed_at = _version(conn)
        return ReadPlan(version, cacheable=not p.in_progress, heavy=False, context=changed_at)

    def render_index(conn: Connection, cancel: Cancel, plan_: ReadPlan[datetime | None]) -> Rendered:
        try:
            table = index_table(conn, p, unit, state.settings.province_code)
        except NoRuleSet as exc:
            raise _bad(["query", "period"], str(exc)) from None
        doc = render.document(table, plan_.context)
        if format == "json":
            body = dumps(doc)
            return Rendered(body, "application/json", etag_of(body))
        if format == "csv":
            body, media = render.to_csv(doc), render.CSV_MEDIA_TYPE
        else:
            body, media = render.to_xlsx(doc), render.XLSX_MEDIA_TYPE
        name = f"chi-so-766-{unit}-{p.label}.{format}"
        return Rendered(
            body, media, etag_of(body), (("Content-Disposition", f'attachment; filename="{name}"'),)
        )

    return await guarded_read(request, plan, render_index)


def _rule_set_out(known: KnownRuleSet) -> dict[str, Any]:
    return {
        **known.rule_set.model_dump(mode="json"),
        "shipped": known.shipped,
        "created_at": known.created_at.isoformat() if known.created_at else None,
        "created_by": known.created_by,
    }


@router.get(
    "/index/rule-sets",
    operation_id="list_index_rule_sets",
    response_model=RuleSetList,
    summary="The national index's rule sets",
    description=(
        "Every rule set: those shipped with the service (`766-2022`) and those an administrator added, "
        "each with its groups and indicators (code, group, label, maximum points, saturation, numerator "
        "and denominator counts, source, provisional, recorded variants). A period is scored with the "
        "set whose `effective_from` is the latest on or before its first day."
    ),
    responses={
        200: {"description": "Every rule set"},
        **problem_responses(401, 403),
    },
)
def get_rule_sets(session: SessionDep, _reader: ReadDep) -> dict[str, Any]:
    return {"items": [_rule_set_out(k) for k in list_rule_sets(session.connection())]}


@router.put(
    "/index/rule-sets/{rule_set_id}",
    operation_id="put_index_rule_set",
    status_code=201,
    response_model=RuleSetOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/RuleSet"},
                    "example": RULE_SET_EXAMPLE,
                }
            },
        }
    },
    summary="Add a rule set (admin)",
    description=(
        "Admin only. Adds a rule set under a new id (a rule set is never changed: a new weighting is a "
        "new set with its own `effective_from`). The body is a rule set as GET /v1/index/rule-sets lists "
        "them; its `id` must equal the path's. 409 when the id exists; 422 naming the field at fault."
    ),
    responses={
        201: {"description": "Added"},
        **problem_responses(400, 401, 403, 409, 413, 415, 422),
    },
)
async def put_rule_set(
    request: Request,
    admin: AdminDep,
    rule_set_id: Annotated[
        str, Path(pattern=r"^[A-Za-z0-9._-]{1,32}$", description="the new rule set's id, e.g. 766-2026")
    ],
) -> dict[str, Any]:
    body = await _json_body(request)
    if not isinstance(body, dict) or body.get("id") != rule_set_id:
        raise _bad(["body", "id"], "the body is a rule set object whose id equals the path's")
    state = state_of(request)

    def work() -> KnownRuleSet:
        now = state.clock()
        with write_transaction(state.engine) as conn:
            rs = add_rule_set(conn, body, admin.token_id, now)
            bump_data_version(conn, now)
            return KnownRuleSet(rs, False, now, admin.token_id)

    known = await run_in_threadpool(work)
    request.state.audit_counts = {"created": 1}
    return _rule_set_out(known)


# A thousand declared values, or a rule set, are a few hundred kilobytes at most.
MAX_INDEX_BODY = 1024 * 1024


async def _json_body(request: Request) -> Any:
    if media_type(request) not in JSON_TYPES:
        raise UnsupportedMediaType("Send the body as application/json.")
    raw = await read_body_limited(request, MAX_INDEX_BODY)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("The body is not valid JSON.") from exc


def _declared_out(r: declared_values.DeclaredRow) -> dict[str, Any]:
    province = r.unit == declared_values.PROVINCE
    return {
        "period": r.period,
        "unit": "province" if province else "agency",
        "code": None if province else r.unit,
        "indicator": r.indicator,
        "numerator": r.value.numerator,
        "denominator": r.value.denominator,
        "ratio": r.value.ratio,
        "set_at": to_local(r.set_at).isoformat(),
        "set_by": r.set_by,
    }


@router.get(
    "/index/declared",
    operation_id="list_index_declared",
    response_model=DeclaredList,
    summary="The declared indicators",
    description=(
        "Every declared value, with who set it (the token's id) and when, by period, unit and indicator. "
        "A quarter or year without its own value is scored with the sums of its months' numerators and "
        "denominators when every month has them; a unit without its own value of a province-wide "
        "indicator (1.1–1.3) takes the province's."
    ),
    responses={
        200: {"description": "The declared values"},
        **problem_responses(401, 403, 422),
    },
)
def get_declared(
    request: Request,
    session: SessionDep,
    _reader: ReadDep,
    period: Annotated[
        str | None,
        Query(
            pattern=declared_values.PERIOD_PATTERN, description="Only this period (YYYY-MM, YYYY-Qn or YYYY)."
        ),
    ] = None,
    code: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Za-z0-9._-]{1,64}$",
            description="Only this agency's values; `province` for the province's.",
        ),
    ] = None,
) -> dict[str, Any]:
    reject_unknown_params(request, ("period", "code"))
    rows = declared_values.list_rows(session.connection(), period=period, unit=code)
    return {"items": [_declared_out(r) for r in rows]}


@router.put(
    "/index/declared",
    operation_id="put_index_declared",
    response_model=DeclaredStored,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "maxItems": declared_values.MAX_ITEMS,
                        "items": {"$ref": "#/components/schemas/DeclaredIn"},
                    },
                    "example": [{k: v for k, v in DECLARED_EXAMPLE.items() if k not in ("set_at", "set_by")}],
                }
            },
        }
    },
    summary="Declare indicator values (admin)",
    description=(
        "Admin only. A JSON array of up to 1,000 values, each `{period, unit, code, indicator, numerator, "
        "denominator}` or with `ratio` (0–1) instead of the two numbers; `unit` is `province` (no code) or "
        "`agency` (a registered agency's `code`); `indicator` is a declared indicator of the rule set in "
        "force for the period. A value replaces the one stored for the same period, unit and indicator. "
        "All or nothing: any invalid item is a 422 naming `body.<i>.<field>`, and nothing is stored."
    ),
    responses={
        200: {"description": "Stored"},
        **problem_responses(400, 401, 403, 413, 415, 422),
        **REQUEST_TIMEOUT_RESPONSE,
    },
)
async def put_declared(request: Request, admin: AdminDep) -> dict[str, Any]:
    body = await _json_body(request)
    if not isinstance(body, list) or len(body) > declared_values.MAX_ITEMS:
        raise _bad(["body"], f"a JSON array of at most {declared_values.MAX_ITEMS} items")
    state = state_of(request)

    def work() -> None:
        now = state.clock()
        with write_transaction(state.engine) as conn:
            agencies = set(conn.scalars(select(Agency.code)))
            scopes = {
                i.code: i.declared_scope or "unit"
                for k in list_rule_sets(conn)
                for i in k.rule_set.indicators
                if i.source == "declared"
            }
            rows = declared_values.check_items(body, scopes, agencies)
            declared_values.store(conn, rows, now, admin.token_id)
            bump_data_version(conn, now)

    await run_in_threadpool(work)
    request.state.audit_counts = {"declared": len(body)}
    return {"stored": len(body)}


def _job_out(job: dict[str, Any]) -> dict[str, Any]:
    return {
        **job,
        "started_at": job["started_at"].isoformat() if job["started_at"] else None,
        "finished_at": job["finished_at"].isoformat() if job["finished_at"] else None,
    }


@router.post(
    "/index/jobs",
    operation_id="start_index_job",
    status_code=202,
    response_model=JobOut,
    summary="Re-derive the index of every stored dossier (admin)",
    description=(
        "Admin only. Starts a background job that re-derives rule 2.1 and the catalogue's flags for every "
        "stored dossier with today's catalogue and calendar, chunk by chunk beside ingest, and answers 202 "
        "with the job and its `Location`. 409 while another job runs (never two at once). A calendar "
        "change or a catalogue file starts one by itself."
    ),
    responses={202: {"description": "Started"}, **problem_responses(401, 403, 409)},
)
def post_job(request: Request, admin: AdminDep, response: Response) -> dict[str, Any]:
    state = state_of(request)
    job_id = start_job(state.engine, "requested", admin.token_id)
    launch(state.engine, job_id)
    response.headers["Location"] = f"/v1/index/jobs/{job_id}"
    request.state.audit_counts = {"started": 1}
    with state.engine.connect() as conn:
        job = get_job(conn, job_id)
    assert job is not None
    return _job_out(job)


@router.get(
    "/index/jobs",
    operation_id="list_index_jobs",
    response_model=JobList,
    summary="The latest re-derivation jobs",
    description="The 20 latest jobs, newest first, each with its state (running, done, failed) and progress.",
    responses={200: {"description": "The latest jobs"}, **problem_responses(401, 403)},
)
def get_jobs(session: SessionDep, _reader: ReadDep) -> dict[str, Any]:
    return {"items": [_job_out(j) for j in latest_jobs(session.connection())]}


@router.get(
    "/index/jobs/{job_id}",
    operation_id="get_index_job",
    response_model=JobOut,
    summary="One re-derivation job and its progress",
    description="The job's state and progress: `done` of `total` dossiers seen, `changed` re-derived.",
    responses={200: {"description": "The job"}, **problem_responses(401, 403, 404, 422)},
)
def get_one_job(
    session: SessionDep,
    _reader: ReadDep,
    job_id: Annotated[
        int, Path(ge=1, description="The re-derivation job's id, as POST /v1/index/jobs answered it.")
    ],
) -> dict[str, Any]:
    job = get_job(session.connection(), job_id)
    if job is None:
        raise NotFound(f"No re-derivation job {job_id}.")
    return _job_out(job)
