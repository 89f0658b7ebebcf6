"""The periodic report, the scorecard and the year's targets (contract §4)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Connection

from app.api.auth import AdminDep, ReadDep
from app.api.cache import Rendered
from app.api.deps import FiltersDep, SessionDep, WriteSessionDep
from app.api.openapi_docs import problem_responses
from app.api.reads import ReadPlan, etag_of, guarded_read, reject_unknown_params, respond
from app.api.state import state_of
from app.core.errors import ValidationFailed
from app.core.jsonutil import dumps
from app.core.periods import year_range
from app.core.timeutil import local_date
from app.core.vocabulary import DIMENSIONS, TEXT_PATTERN
from app.dossiers.schemas import IsoDate
from app.dossiers.service import bump_data_version
from app.metrics.guard import Cancel
from app.metrics.reads import FILTERS_422, READ_503, check_range, read_context, unit_names
from app.reports import render, service
from app.reports.closings import Scope, filed_file
from app.reports.filing import PERIOD_PATTERN, Rendition, dialect_key, parse_period, render_document
from app.reports.form import letterhead
from app.reports.schemas import (
    Basis,
    ReportFormat,
    ReportResponse,
    ReportUnit,
    ScorecardResponse,
    ScorecardUnit,
    TargetOut,
    TargetsResponse,
)
from app.reports.service import Names
from app.reports.target_body import parse_thresholds
from app.reports.targets import (
    BY_NAME,
    COMPARATORS,
    SOURCE_MAX_CHARS,
    YearTargets,
    replace_targets,
    targets_for_year,
)
from app.store import repository

router = APIRouter(prefix="/v1", tags=["reports"])

REPORT_PARAMS = ("unit", "period", "basis", "format", "csv_dialect", "as_filed", "closing_id", *DIMENSIONS)
SCORECARD_PARAMS = ("unit", "year", "basis", "from", "to")
MIN_YEAR, MAX_YEAR = 2000, 2100


def _bad(loc: list[str | int], msg: str, kind: str = "value_error") -> ValidationFailed:
    where = ".".join(str(p) for p in loc[1:])
    return ValidationFailed(f"{where}: {msg}", errors=[{"loc": loc, "msg": msg, "type": kind}])


@router.get(
    "/reports/dossier-processing",
    operation_id="get_dossier_processing_report",
    response_model=ReportResponse,
    summary="The periodic report of dossier handling, one row per unit (JSON, CSV or XLSX)",
    description=(
        "Received (total, online, in person or by post), carried over, finished (total, early, on time, "
        "late), pending (total, within deadline, overdue) and the on-time and online rates per agency, "
        "commune or sector. The reporting basis cuts periods at the 14th (a month runs from the 15th of "
        "the month before); `basis=calendar` uses calendar periods. The JSON is /v1/metrics grouped by "
        "the unit over the period; CSV (UTF-8 with a byte-order mark) and XLSX carry the same figures "
        "as Biểu số 06/VPCP/KSTT (Circular 01/2020/TT-VPCP) under its Vietnamese headings and numbered "
        "columns; the XLSX is the form as filed (national header, reporting and receiving unit, period in "
        "words, signatures, A4 landscape one page wide). With `as_filed=true`, "
        "the bytes filed when the period was closed (POST …/closings), unchanged by later data."
    ),
    responses={
        200: {
            "description": "The report",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                render.XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        304: {"description": "Not modified"},
        **problem_responses(
            401,
            403,
            404,
            422,
            503,
            descriptions={
                503: READ_503,
                404: "With `as_filed=true`: the period, basis, unit and filters have no closing, or "
                "`closing_id` names none.",
                422: FILTERS_422 + "; or the period does not exist (a month 13, a year before the "
                "calendar's first), or its dates fall outside the calendar; or `csv_dialect` is given "
                "without format=csv; or `closing_id` is of other parameters, or given without "
                "`as_filed=true`.",
            },
        ),
    },
)
async def get_dossier_processing_report(
    request: Request,
    _reader: ReadDep,
    period: Annotated[
        str,
        Query(
            pattern=PERIOD_PATTERN,
            description="The period: a month YYYY-MM, a quarter YYYY-Qn, a half year YYYY-H1 or YYYY-H2, or "
            "a year YYYY. With basis=reporting its dates run from the 15th of the month before its first "
            "month to the 14th of its last (2025-09: 2025-08-15 to 2025-09-14).",
            examples=["2025-09"],
        ),
    ],
    unit: Annotated[
        ReportUnit,
        Query(
            description="One row per agency (default; every registered agency, with dossiers or not), per "
            "ward (commune: every ward of the configured province) or per sector (those with dossiers, and "
            "those named in the `sector` filter)."
        ),
    ] = "agency",
    basis: Annotated[
        Basis,
        Query(
            description="reporting (default): periods cut at the 14th, as the periodic report counts them; "
            "calendar: calendar months, quarters, halves and years."
        ),
    ] = "reporting",
    format: Annotated[
        ReportFormat,
        Query(
            description="json (default); csv (UTF-8 with a byte-order mark) or xlsx, sent as an attachment "
            "under the report form's Vietnamese headings with a totals row."
        ),
    ] = "json",
    csv_dialect: Annotated[
        render.CsvDialect | None,
        Query(
            description="Only with format=csv (otherwise 422): excel (default) separates cells with `,` "
            "and writes decimal points; excel-vi with `;` and decimal commas, for Excel set to Vietnamese."
        ),
    ] = None,
    as_filed: Annotated[
        bool,
        Query(
            description="true: the bytes filed by the latest closing of this period, basis, unit and "
            "filters (POST /v1/reports/dossier-processing/closings), exactly as filed; 404 when there "
            "is none. false (default): the report as the data stands."
        ),
    ] = False,
    closing_id: Annotated[
        int | None,
        Query(
            ge=1,
            description="With as_filed=true: this closing (an older, superseded one) instead of the latest; "
            "it must be of the same period, basis, unit and filters (422 otherwise).",
        ),
    ] = None,
    *,
    filters: FiltersDep,
) -> Response:
    reject_unknown_params(request, REPORT_PARAMS)
    if csv_dialect is not None and format != "csv":
        raise _bad(["query", "csv_dialect"], "csv_dialect applies to format=csv only")
    p = parse_period(period, basis)
    now = state_of(request).clock()
    raw = filters.values
    if closing_id is not None and not as_filed:
        raise _bad(["query", "closing_id"], "closing_id goes with as_filed=true")
    if as_filed:
        dialect = dialect_key(format, csv_dialect)
        return await _as_filed(request, Scope(p, basis, unit, {}), raw, closing_id, format, dialect)

    def plan(conn: Connection) -> ReadPlan[tuple[Names, dict[str, list[str]]]]:
        state = state_of(request)
        version, names, filters = read_context(conn, state.settings.province_code, state.names_memo, raw)
        # One row per unit of a registry (or sector): bounded by the reference data, never heavy. The XLSX
        # carries the day it is drawn up, so it is not kept: a kept one would show the day it was made.
        cacheable = p.end < local_date(now) and format != "xlsx"
        return ReadPlan(version, cacheable=cacheable, heavy=False, context=(names, filters))

    def render_report(
        conn: Connection, cancel: Cancel, plan_: ReadPlan[tuple[Names, dict[str, list[str]]]]
    ) -> Rendered:
        names, filters = plan_.context
        doc = service.report_document(
            conn, period=p, basis=basis, unit=unit, filters=filters, names=names, now=now, check=cancel.check
        )
        head = letterhead(
            state_of(request).settings,
            unit=unit,
            filters=filters,
            agency_names=names["agency"],
            today=local_date(now),
        )
        return _rendered(render_document(doc, filters, format, dialect_key(format, csv_dialect), head))

    return await guarded_read(request, plan, render_report)


def _rendered(r: Rendition) -> Rendered:
    if r.filename is None:
        return Rendered(r.body, r.media_type, etag_of(r.body))
    disposition = f'attachment; filename="{r.filename}"'
    return Rendered(r.body, r.media_type, etag_of(r.body), (("Content-Disposition", disposition),))


async def _as_filed(
    request: Request, scope: Scope, raw: dict[str, Any], closing_id: int | None, fmt: str, dialect: str
) -> Response:
    """The bytes a closing filed, as the report sends them (ETag, attachment name)."""
    state = state_of(request)

    def read() -> Rendered:
        with state.read_engine.connect() as conn:
            _, _, filters = read_context(conn, state.settings.province_code, state.names_memo, raw)
            _, filed = filed_file(conn, replace(scope, filters=filters), closing_id, fmt, dialect)
            return _rendered(filed)

    return respond(request, await run_in_threadpool(read), cached=False)


@router.get(
    "/scorecard",
    operation_id="get_scorecard",
    response_model=ScorecardResponse,
    summary="Every agency (or ward) against the year's targets, ranked",
    description=(
        "One row per registered agency (`unit=agency`) or per ward of the province (`unit=commune`), "
        "also those with no dossiers. Each of the six targets is judged: `passed` is null when the "
        "value is null (nothing to judge) and such a target counts as neither passed nor failed. "
        "Rank: targets passed (more first); among units with as many passed, targets failed (fewer "
        "first); then the on-time rate, then the online rate (descending, a null rate below any number), "
        "then the code; ranks run 1..n. `year` is the calendar year unless `basis=reporting` (15 December "
        "of the year before to 14 December); or give `from` and `to`, whose targets are those of the year "
        "of `to`. `targets_year` names that year and `target_set_year` the built-in target set it uses "
        "(its own, else the latest earlier one; before the first set, the first), as GET /v1/targets "
        "lists them."
    ),
    responses={
        304: {"description": "Not modified"},
        **problem_responses(
            401,
            403,
            422,
            503,
            descriptions={
                503: READ_503,
                422: "A parameter is unknown or malformed, or the parameters do not go together: "
                "`from` without `to` (or the reverse), `year` with `from`/`to`, `basis` with "
                "`from`/`to`, `to` before `from`, or a range of more than 30 years.",
            },
        ),
    },
)
async def get_scorecard(
    request: Request,
    _reader: ReadDep,
    unit: Annotated[
        ScorecardUnit,
        Query(
            description="agency (default): every registered agency; commune: every ward of the configured "
            "province."
        ),
    ] = "agency",
    year: Annotated[
        int | None,
        Query(
            ge=MIN_YEAR,
            le=MAX_YEAR,
            description="The year judged, 2000 to 2100; default the current year (Vietnam time). Not with "
            "`from`/`to`.",
        ),
    ] = None,
    basis: Annotated[
        Basis | None,
        Query(
            description="How `year` becomes dates: calendar (default) 1 January to 31 December; reporting "
            "15 December of the year before to 14 December. Only with `year`, not with `from`/`to`."
        ),
    ] = None,
    from_: Annotated[
        IsoDate | None,
        Query(
            alias="from",
            description="The first local date, inclusive (YYYY-MM-DD), instead of `year`; only with `to`.",
        ),
    ] = None,
    to: Annotated[
        IsoDate | None,
        Query(
            description="The last local date, inclusive (YYYY-MM-DD), only with `from`; the targets are "
            "those of its year."
        ),
    ] = None,
) -> Response:
    reject_unknown_params(request, SCORECARD_PARAMS)
    now = state_of(request).clock()
    if from_ is not None or to is not None:
        if from_ is None or to is None:
            missing = "from" if from_ is None else "to"
            raise _bad(["query", missing], "from and to go together", "missing")
        if year is not None:
            raise _bad(["query", "year"], "give either year or from/to, not both")
        if basis is not None:
            raise _bad(["query", "basis"], "basis applies to year only; from/to are dates already")
        check_range(from_, to, [])
        start, end, targets_year = from_, to, to.year
    else:
        year = year if year is not None else local_date(now).year
        basis = basis or "calendar"
        start, end = year_range(year, basis)
        targets_year = year
    settings = state_of(request).settings

    def plan(conn: Connection) -> ReadPlan[tuple[Names, YearTargets]]:
        version, _ = repository.data_state(conn)
        names = unit_names(conn, settings.province_code, version, state_of(request).names_memo)
        targets = targets_for_year(conn, targets_year)
        return ReadPlan(version, cacheable=end < local_date(now), heavy=False, context=(names, targets))

    def render_scorecard(
        conn: Connection, cancel: Cancel, plan_: ReadPlan[tuple[Names, YearTargets]]
    ) -> Rendered:
        names, targets = plan_.context
        doc = service.scorecard_document(
            conn,
            unit=unit,
            year=year,
            basis=basis,
            start=start,
            end=end,
            targets=targets,
            names=names,
            now=now,
            check=cancel.check,
        )
        body = dumps(doc)
        return Rendered(body, "application/json", etag_of(body))

    return await guarded_read(request, plan, render_scorecard)


def _targets_response(conn: Connection, year: int) -> TargetsResponse:
    year_targets = targets_for_year(conn, year)
    return TargetsResponse(
        year=year,
        target_set_year=year_targets.set_year,
        targets=[
            TargetOut(
                name=t.name,
                comparator=t.comparator,
                threshold=t.threshold,
                default=t.is_default,
                source=t.source,
                label_vi=BY_NAME[t.name].label_vi,
                description=BY_NAME[t.name].description,
            )
            for t in year_targets.targets
        ],
    )


@router.get(
    "/targets",
    operation_id="list_targets",
    response_model=TargetsResponse,
    summary="The year's six named targets, with their comparators, thresholds and sources",
    description=(
        "The year's targets rest on a built-in target set: the year's own, else the latest earlier one "
        "(a year before the first set uses the first); `target_set_year` names it. Each target has its "
        "comparator, threshold, `source`, Vietnamese label and description; `default` is false when an "
        "administrator's override for this very year replaces the built-in target (overrides are not "
        "inherited by later years). Unknown parameters are a 422."
    ),
    responses=problem_responses(401, 403, 422),
)
def list_targets(
    request: Request,
    session: SessionDep,
    _reader: ReadDep,
    year: Annotated[
        int | None,
        Query(
            ge=MIN_YEAR,
            le=MAX_YEAR,
            description="The year, 2000 to 2100; default the current year (Vietnam time).",
        ),
    ] = None,
) -> TargetsResponse:
    reject_unknown_params(request, ("year",))
    year = year if year is not None else local_date(state_of(request).clock()).year
    return _targets_response(session.connection(), year)


def _threshold_schema(kind: str) -> dict[str, Any]:
    """What `parse_thresholds` accepts for a target of this kind, so the document says it too."""
    if kind == "rate":
        return {"type": "number", "minimum": 0, "maximum": 1}
    return {"type": "integer", "minimum": 0, "exclusiveMaximum": 1_000_000_000}


def _target_entry_schema(name: str, kind: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "name": {"const": name},
            "threshold": _threshold_schema(kind),
            "comparator": {"anyOf": [{"enum": list(COMPARATORS)}, {"type": "null"}]},
            "source": {
                "anyOf": [
                    {"type": "string", "maxLength": SOURCE_MAX_CHARS, "pattern": TEXT_PATTERN},
                    {"type": "null"},
                ],
                "description": "where the threshold comes from; no control characters",
            },
        },
        "required": ["name", "threshold"],
        "additionalProperties": False,
    }


TARGETS_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {
                        "type": "array",
                        "description": "Each target at most once.",
                        "items": {"oneOf": [_target_entry_schema(d.name, d.kind) for d in BY_NAME.values()]},
                        "maxItems": len(BY_NAME),
                        # Each name at most once: a list may not set one target twice.
                        "allOf": [
                            {
                                "contains": {"properties": {"name": {"const": name}}},
                                "minContains": 0,
                                "maxContains": 1,
                            }
                            for name in BY_NAME
                        ],
                    },
                    {
                        "type": "object",
                        "properties": {d.name: _threshold_schema(d.kind) for d in BY_NAME.values()},
                        "additionalProperties": False,
                    },
                ]
            },
            "examples": {
                "list": {
                    "value": [
                        {
                            "name": "on_time",
                            "threshold": 0.97,
                            "comparator": ">=",
                            "source": "Công văn 123/UBND-KSTT ngày 2/3/2026",
                        },
                        {"name": "online", "threshold": 0.7},
                    ]
                },
                "map": {"value": {"on_time": 0.97, "online": 0.7}},
            },
        }
    },
}


@router.put(
    "/targets/{year}",
    operation_id="put_targets",
    response_model=TargetsResponse,
    summary="Set the year's targets (admin)",
    description=(
        "The body lists the year's overrides, as a list of `{name, threshold[, comparator][, source]}` "
        "or as a map name → threshold. A comparator left out is the one of the year's built-in set; "
        f"`source` (at most {SOURCE_MAX_CHARS} characters) says where the threshold comes from. The "
        "year's overrides become exactly these; targets left out use the year's built-in set, so an "
        "empty body restores it. Overrides apply to this year only. Figures that depend on targets "
        "change their ETag."
    ),
    responses=problem_responses(
        400,
        401,
        403,
        413,
        415,
        422,
        descriptions={
            422: "A threshold is out of its target's range, a comparator is not one of >=, > and =, "
            "a source is too long or has control characters, a target repeats, or a name is unknown."
        },
    ),
    openapi_extra={"requestBody": TARGETS_BODY},
)
def put_targets(
    request: Request,
    session: WriteSessionDep,
    _admin: AdminDep,
    year: Annotated[
        int, Path(ge=MIN_YEAR, le=MAX_YEAR, description="The year whose targets are set, 2000 to 2100.")
    ],
    body: Annotated[Any, Body()],
) -> TargetsResponse:
    thresholds = parse_thresholds(body)
    conn = session.connection()
    replace_targets(conn, year, thresholds)
    bump_data_version(conn, state_of(request).clock())
    return _targets_response(conn, year)
