"""Closed periods of the periodic report (chốt số liệu) and their restatements (contract §4)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from app.api.auth import AdminDep, ReadDep
from app.api.cache import Rendered
from app.api.deps import (
    AGENCY_FILTER,
    CHANNEL_FILTER,
    COMMUNE_FILTER,
    PROCEDURE_FILTER,
    SECTOR_FILTER,
    FiltersDep,
    SessionDep,
)
from app.api.openapi_docs import problem_responses
from app.api.reads import ReadPlan, etag_of, guarded_read, reject_unknown_params
from app.api.state import state_of
from app.core.jsonutil import dumps
from app.core.vocabulary import DIMENSIONS, Channel
from app.dossiers.schemas import AgencyParam, CommuneParam, ProcedureParam, SectorParam
from app.metrics.guard import Cancel
from app.metrics.reads import FILTERS_422, MAX_VALUES, READ_503, read_context
from app.reports.closings import (
    MAX_CLOSING_BYTES,
    MAX_CLOSINGS_PER_PERIOD,
    MAX_DOSSIERS_LISTED,
    MAX_DOSSIERS_PER_FIGURE,
    MAX_PAGE,
    Scope,
    close_period,
    list_closings,
    restatement,
)
from app.reports.filing import FILED_FORMATS, PERIOD_PATTERN, parse_period
from app.reports.schemas import Basis, ReportUnit

router = APIRouter(prefix="/v1/reports/dossier-processing", tags=["reports"])

PERIOD_DESCRIPTION = (
    "The period: a month YYYY-MM, a quarter YYYY-Qn, a half year YYYY-H1 or YYYY-H2, or a year YYYY, "
    "as the report takes it."
)
FORMATS_TEXT = ", ".join(f"{f} ({d})" if d else f for f, d in FILED_FORMATS)


class ClosingIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"period": "2025-Q3", "basis": "reporting", "unit": "agency"}]},
    )

    period: Annotated[str, Field(pattern=PERIOD_PATTERN, description=PERIOD_DESCRIPTION)]
    basis: Annotated[Basis, Field(description="reporting (default) or calendar, as the report takes it.")] = (
        "reporting"
    )
    unit: Annotated[ReportUnit, Field(description="agency (default), commune or sector, as the report.")] = (
        "agency"
    )
    agency: Annotated[list[AgencyParam] | None, Field(max_length=MAX_VALUES, description=AGENCY_FILTER)] = (
        None
    )
    commune: Annotated[
        list[CommuneParam] | None, Field(max_length=MAX_VALUES, description=COMMUNE_FILTER)
    ] = None
    sector: Annotated[list[SectorParam] | None, Field(max_length=MAX_VALUES, description=SECTOR_FILTER)] = (
        None
    )
    procedure: Annotated[
        list[ProcedureParam] | None, Field(max_length=MAX_VALUES, description=PROCEDURE_FILTER)
    ] = None
    channel: Annotated[list[Channel] | None, Field(max_length=3, description=CHANNEL_FILTER)] = None


class ClosingFile(BaseModel):
    format: str
    dialect: str | None = Field(description="the CSV dialect; null for the format's only one")
    bytes: int


class ClosingOut(BaseModel):
    id: int
    period: str
    basis: Basis
    unit: ReportUnit
    filters: dict[str, list[str]] = Field(description="the checked filters (values sorted); {} for none")
    closed_at: str = Field(description="when it was closed (Vietnam time)")
    closed_by: str | None = Field(description="the id of the admin token that closed it")
    data_version: int = Field(description="the data version the report was computed at")
    size: int = Field(description="bytes of its files together")
    files: list[ClosingFile]
    superseded_by: int | None = Field(
        description="the next closing of the same parameters; null for the latest"
    )


class Classification(BaseModel):
    agency: str | None = Field(None, description="its unit key, with unit=agency")
    commune: str | None = Field(None, description="its unit key, with unit=commune")
    sector: str | None = Field(None, description="its unit key, with unit=sector")
    outcome_at_start: str | None = Field(description="at the period's start; null: not received yet")
    outcome_at_end: str | None = Field(description="at the period's end; null: not received yet")
    counts: list[str] = Field(description="the report's counts it adds 1 to")


class VersionOut(BaseModel):
    agency_code: str | None
    commune_code: str | None
    sector: str | None
    procedure_code: str | None
    channel: str | None
    status: str | None
    received_at: str | None
    due_at: str | None
    resolved_at: str | None
    finish_class: int | None
    stored_at: str | None = Field(description="when this version arrived (Vietnam time)")
    classification: Classification | None = Field(
        description="how the report counts it; null outside the filters"
    )


class RestatedDossier(BaseModel):
    code: str
    change: Literal["created", "updated", "deleted"]
    changes: int = Field(description="its changes since the closing")
    first_change_at: str
    last_change_at: str
    filed: VersionOut | None = Field(description="the version the closing counted; null: created since")
    current: VersionOut | None = Field(description="the version stored now; null: deleted since")


class RestatedFigure(BaseModel):
    row: dict[str, str] = Field(description='the row: its unit key, {"level": …} or {"row": "totals"}')
    count: str
    filed: int
    current: int
    dossiers_total: int
    dossiers: list[str] = Field(description="the codes of the dossiers that moved it, at most the limit")
    reference: list[str] = Field(description="the agencies whose change of level moved it")


class ReferenceChange(BaseModel):
    agency: str
    filed_name: str | None
    current_name: str | None
    filed_level: str | None
    current_level: str | None


class RestatementLimits(BaseModel):
    dossiers_per_figure: int
    dossiers_listed: int


class RestatementOut(BaseModel):
    closing: ClosingOut
    period: str
    basis: Basis
    from_: str = Field(alias="from")
    to: str
    unit: ReportUnit
    filters: dict[str, list[str]]
    data_as_of: str | None
    figures: list[RestatedFigure]
    dossiers: list[RestatedDossier]
    reference: list[ReferenceChange]
    limits: RestatementLimits


class ClosingPage(BaseModel):
    items: list[ClosingOut]
    next_before: int | None = Field(description="pass as `before` for the next page; null on the last")


@router.post(
    "/closings",
    operation_id="close_dossier_processing_report",
    status_code=201,
    response_model=ClosingOut,
    summary="Close (chốt) an ended period: file the report as it stands (admin)",
    description=(
        "Admin only. The report of the body's period, basis, unit and filters is computed in one "
        "consistent snapshot (while no dossier is written) and its bytes are stored in every format "
        f"({FORMATS_TEXT}), with the closing token and the instant. They are exactly the bytes "
        "GET /v1/reports/dossier-processing answered at that moment, and are served again with "
        "`as_filed=true`. A closing is never changed: closing the same parameters again supersedes it, "
        f"and both stay listed. At most {MAX_CLOSINGS_PER_PERIOD} closings per period and basis "
        f"(all units and filters); a closing keeps at most {MAX_CLOSING_BYTES} bytes."
    ),
    responses={
        **problem_responses(
            400,
            401,
            403,
            409,
            413,
            415,
            422,
            descriptions={
                409: "The period has not ended (it runs until today or later), or it has "
                f"{MAX_CLOSINGS_PER_PERIOD} closings already.",
                413: "The body is larger than 64 KiB, or the report's files above the bytes a closing keeps.",
                422: FILTERS_422 + "; or the period does not exist.",
            },
        ),
    },
)
async def post_closing(request: Request, admin: AdminDep, body: ClosingIn) -> ClosingOut:
    state = state_of(request)
    period = parse_period(body.period, body.basis, where="body")
    raw = {dim: getattr(body, dim) for dim in DIMENSIONS}
    listed = await run_in_threadpool(
        lambda: close_period(
            state.engine,
            period=period,
            basis=body.basis,
            unit=body.unit,
            raw_filters=raw,
            settings=state.settings,
            now=state.clock(),
            by=admin.token_id,
        )
    )
    request.state.audit_counts = {"closing": listed["id"]}
    return ClosingOut.model_validate(listed)


@router.get(
    "/closings",
    operation_id="list_dossier_processing_closings",
    response_model=ClosingPage,
    summary="The closed periods, newest first",
    description=(
        "Every closing (superseded ones too, each naming the closing that superseded it), newest "
        f"first, at most `limit` (default 50, at most {MAX_PAGE}) per page."
    ),
    responses=problem_responses(401, 403, 422),
)
def get_closings(
    request: Request,
    session: SessionDep,
    _reader: ReadDep,
    period: Annotated[
        str | None,
        Query(
            pattern=PERIOD_PATTERN,
            description="Only closings of this period (YYYY-MM, YYYY-Qn, YYYY-H1|H2 or YYYY).",
        ),
    ] = None,
    basis: Annotated[
        Basis | None, Query(description="Only closings of this basis: reporting or calendar.")
    ] = None,
    unit: Annotated[
        ReportUnit | None, Query(description="Only closings of this unit: agency, commune or sector.")
    ] = None,
    before: Annotated[
        int | None,
        Query(ge=1, description="Only closings with a smaller id (the previous page's next_before)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Page size, 1 to {MAX_PAGE}.")] = 50,
) -> ClosingPage:
    reject_unknown_params(request, ("period", "basis", "unit", "before", "limit"))
    items, next_before = list_closings(
        session.connection(), period=period, basis=basis, unit=unit, before=before, limit=limit
    )
    return ClosingPage(items=[ClosingOut.model_validate(i) for i in items], next_before=next_before)


RESTATEMENT_PARAMS = ("unit", "period", "basis", "closing_id", *DIMENSIONS)


@router.get(
    "/restatements",
    operation_id="get_dossier_processing_restatements",
    summary="What changed since a period was closed: each figure that differs, and why",
    description=(
        "For the latest closing of the period, basis, unit and filters (or `closing_id`): each figure "
        "(row, count) whose value now differs from the filed one, with the filed and current values; "
        "the dossiers created, updated or deleted after the closing that moved it, each with its filed "
        "and current version, their classification (unit key, outcome at the period's start and end, "
        "the report's counts it adds to) and when its changes arrived; and the agencies renamed or "
        "moved to another level since (the names and levels the closing used are kept with it). The "
        "figures come from the report computed now against the filed JSON. For the form's columns "
        "(received, online, carried over, finished early / on time / late, withdrawn, pending, overdue) "
        "the dossiers listed are exactly those whose classification put them in or out of the figure; "
        "for the other counts, those whose classification changed and that count under the count's "
        f"basis in that row, filed or now. Each figure lists at most {MAX_DOSSIERS_PER_FIGURE} dossiers "
        f"(by code; `dossiers_total` counts them all), a restatement at most {MAX_DOSSIERS_LISTED}. "
        "Only the changes after the closing are read."
    ),
    responses={
        200: {
            "description": "The figures that differ, and why",
            "model": RestatementOut,
        },
        **problem_responses(
            401,
            403,
            404,
            422,
            503,
            descriptions={
                404: "The parameters have no closing, or `closing_id` names none.",
                422: FILTERS_422 + "; or the period does not exist, or `closing_id` is of other parameters.",
                503: READ_503,
            },
        ),
    },
)
async def get_restatements(
    request: Request,
    _reader: ReadDep,
    period: Annotated[
        str, Query(pattern=PERIOD_PATTERN, description=PERIOD_DESCRIPTION, examples=["2025-Q3"])
    ],
    unit: Annotated[
        ReportUnit, Query(description="agency (default), commune or sector, as closed.")
    ] = "agency",
    basis: Annotated[Basis, Query(description="reporting (default) or calendar, as closed.")] = "reporting",
    closing_id: Annotated[
        int | None,
        Query(ge=1, description="This closing instead of the latest (it must be of these parameters)."),
    ] = None,
    *,
    filters: FiltersDep,
) -> Response:
    reject_unknown_params(request, RESTATEMENT_PARAMS)
    p = parse_period(period, basis)
    state = state_of(request)
    now = state.clock()
    raw = filters.values

    def plan(conn: Connection) -> ReadPlan[dict[str, list[str]]]:
        version, _, checked = read_context(conn, state.settings.province_code, state.names_memo, raw)
        # Reads the changes after the closing, however many: a heavy read (a slot, the deadline).
        return ReadPlan(version, cacheable=False, heavy=True, context=checked)

    def render_restatement(
        conn: Connection, cancel: Cancel, plan_: ReadPlan[dict[str, list[str]]]
    ) -> Rendered:
        doc: dict[str, Any] = restatement(
            conn,
            scope=Scope(p, basis, unit, plan_.context),
            closing_id=closing_id,
            province_code=state.settings.province_code,
            now=now,
            check=cancel.check,
        )
        body = dumps(doc)
        return Rendered(body, "application/json", etag_of(body))

    return await guarded_read(request, plan, render_restatement)
