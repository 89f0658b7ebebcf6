"""GET /v1/metrics and GET /v1/metrics/definitions (contract §4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import Connection, select

from app.auth import ReadDep
from app.db import read_engine
from app.dossiers.schemas import AgencyParam, Channel, CommuneParam, IsoDate, ProcedureParam, SectorParam
from app.errors import ValidationFailed
from app.jsonutil import dumps
from app.metrics import repository, service
from app.metrics.definitions import COUNTS, RATES
from app.metrics.http import Rendered, cached_response, etag_of, reject_unknown_params
from app.metrics.schemas import DefinitionsResponse, GroupKey, MetricsResponse
from app.models import Agency
from app.openapi_docs import problem_responses
from app.reference.communes import communes_of
from app.timeutil import local_date, to_local

router = APIRouter(prefix="/v1", tags=["metrics"])

DIMENSIONS = ("agency", "commune", "sector", "procedure", "channel")
METRIC_PARAMS = ("from", "to", "group_by", *DIMENSIONS)
MAX_DAY_BUCKETS = 3700
MAX_VALUES = 500


FILTERS_422 = (
    "A parameter is unknown or malformed, or an `agency` or `commune` value is not a registered agency "
    "or a ward of the configured province"
)


def _bad(field: str, msg: str, kind: str = "value_error") -> ValidationFailed:
    return ValidationFailed(f"{field}: {msg}", errors=[{"loc": ["query", field], "msg": msg, "type": kind}])


def unit_names(
    conn: Connection, province_code: int, version: int | None = None, memo: dict[str, Any] | None = None
) -> dict[str, dict[str, str]]:
    """Agency and ward names by code; with a memo, read once per data version (a rename moves it)."""
    if memo is not None and version is not None and memo.get("version") == version:
        cached: dict[str, dict[str, str]] = memo["names"]
        return cached
    agencies = {code: name for code, name in conn.execute(select(Agency.code, Agency.name))}
    communes = {c.code: c.name for c in communes_of(province_code).values()}
    names = {"agency": agencies, "commune": communes}
    if memo is not None and version is not None:
        memo.clear()
        memo.update(version=version, names=names)
    return names


def check_filters(
    request: Request, names: dict[str, dict[str, str]], raw: Mapping[str, Sequence[str] | None]
) -> dict[str, list[str]]:
    """Filters with values that exist: an unknown agency or ward is a 422 (the parameters' schemas
    already refused malformed values, and channels outside the enum)."""
    out: dict[str, list[str]] = {}
    for dim, values in raw.items():
        if not values:
            continue
        if len(values) > MAX_VALUES:
            raise _bad(dim, f"at most {MAX_VALUES} values")
        for v in values:
            if dim == "agency" and v not in names["agency"]:
                raise _bad(dim, "not a registered agency", "unknown_agency")
            if dim == "commune" and v not in names["commune"]:
                raise _bad(dim, "not a ward of the configured province", "unknown_commune")
        out[dim] = sorted(set(values))
    return out


def read_context(
    request: Request, conn: Connection, raw_filters: dict[str, Any]
) -> tuple[int, dict[str, dict[str, str]], dict[str, list[str]]]:
    """The data version, the unit names (read once per version) and the checked filters of a read."""
    version, _ = repository.data_state(conn)
    names = unit_names(conn, request.app.state.settings.province_code, version, request.app.state.names_memo)
    return version, names, check_filters(request, names, raw_filters)


def check_range(start: date, end: date, group_by: list[str]) -> None:
    if end < start:
        raise _bad("to", "must not be before from")
    if (end - start).days > 366 * 30:
        raise _bad("to", "the range covers at most 30 years")
    if "day" in group_by and (end - start).days + 1 > MAX_DAY_BUCKETS:
        raise _bad("group_by", f"group_by=day covers at most {MAX_DAY_BUCKETS} days")
    if len(set(group_by)) != len(group_by):
        raise _bad("group_by", "each group key at most once")


def metrics_document(
    conn: Connection,
    request: Request,
    start: date,
    end: date,
    group_by: list[str],
    filters: dict[str, list[str]],
    names: dict[str, dict[str, str]],
) -> dict[str, Any]:
    now = request.app.state.clock()
    result = service.compute(conn, start=start, end=end, group_by=group_by, filters=filters, now=now)
    _, changed = repository.data_state(conn)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "group_by": group_by,
        "data_as_of": to_local(changed).isoformat() if changed else None,
        "rows": [service.row_json(r, names) for r in result.rows],
        "totals": {"counts": result.totals_counts, "rates": result.totals_rates},
    }


@router.get(
    "/metrics",
    operation_id="get_metrics",
    response_model=MetricsResponse,
    summary="Every count and rate per group and time bucket, with totals",
    responses={
        304: {"description": "Not modified"},
        **problem_responses(
            401,
            403,
            422,
            descriptions={
                422: FILTERS_422 + "; or `to` is before `from`, the range passes 30 years (3,700 days "
                "with group_by=day), or a group key repeats."
            },
        ),
    },
)
def get_metrics(
    request: Request,
    _reader: ReadDep,
    from_: Annotated[IsoDate, Query(alias="from", description="first day, inclusive (local date)")],
    to: Annotated[IsoDate, Query(description="last day, inclusive (local date)")],
    group_by: Annotated[list[GroupKey] | None, Query(max_length=9)] = None,
    agency: Annotated[list[AgencyParam] | None, Query(max_length=MAX_VALUES)] = None,
    commune: Annotated[list[CommuneParam] | None, Query(max_length=MAX_VALUES)] = None,
    sector: Annotated[list[SectorParam] | None, Query(max_length=MAX_VALUES)] = None,
    procedure: Annotated[list[ProcedureParam] | None, Query(max_length=MAX_VALUES)] = None,
    channel: Annotated[list[Channel] | None, Query(max_length=3)] = None,
) -> Response:
    reject_unknown_params(request, METRIC_PARAMS)
    groups: list[str] = list(group_by or [])
    check_range(from_, to, groups)
    engine = read_engine(request)
    with engine.connect() as conn:
        version, names, filters = read_context(
            request,
            conn,
            {
                "agency": agency,
                "commune": commune,
                "sector": sector,
                "procedure": procedure,
                "channel": channel,
            },
        )
        today = local_date(request.app.state.clock())

        def render() -> Rendered:
            body = dumps(metrics_document(conn, request, from_, to, groups, filters, names))
            return Rendered(body, "application/json", etag_of(body))

        return cached_response(request, version, cacheable=to < today, render=render)


@router.get(
    "/metrics/definitions",
    operation_id="get_metric_definitions",
    response_model=DefinitionsResponse,
    summary="The catalogue of every count and rate",
    responses=problem_responses(401, 403),
)
def get_definitions(_reader: ReadDep) -> DefinitionsResponse:
    return DefinitionsResponse.model_validate(
        {"counts": [asdict(d) for d in COUNTS], "rates": [asdict(d) for d in RATES]}
    )
