"""GET /v1/metrics and GET /v1/metrics/definitions (contract §4)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import Connection

from app.api.auth import ReadDep
from app.api.cache import Rendered
from app.api.deps import FiltersDep
from app.api.openapi_docs import problem_responses
from app.api.reads import ReadPlan, etag_of, guarded_read, reject_unknown_params
from app.api.state import state_of
from app.core.definitions import COUNTS, INDEX_COUNTS, RATES
from app.core.errors import ValidationFailed
from app.core.jsonutil import dumps
from app.core.periods import TIME_UNITS, buckets
from app.core.timeutil import local_date, to_local
from app.core.vocabulary import DIMENSIONS
from app.dossiers.schemas import IsoDate
from app.metrics import service
from app.metrics.guard import Cancel
from app.metrics.reads import FILTERS_422, READ_503, BoundMemo, check_range, read_context
from app.metrics.schemas import DefinitionsResponse, GroupKey, MetricsResponse
from app.store import repository

router = APIRouter(prefix="/v1", tags=["metrics"])

METRIC_PARAMS = ("from", "to", "group_by", *DIMENSIONS)
# Group keys whose reads are heavy whatever their bound: many buckets, or many keys per bucket.
HEAVY_GROUPS = frozenset({"day", "procedure"})
# Bodies smaller than this are sent (and cached) as one piece.
_JOIN_BELOW = 1 << 20


@dataclass(frozen=True, slots=True)
class MetricsQuery:
    start: date
    end: date
    group_by: list[str]
    filters: dict[str, list[str]]
    names: dict[str, dict[str, str]]


# Channels a dossier can have (contract §2).
_CHANNELS = 3


def _registry_bound(dim: str, q: MetricsQuery) -> int | None:
    """How many values `dim` can take in an answer, from the registries and filters; None if unknown."""
    if dim in q.filters:
        return len(q.filters[dim])
    if dim == "agency":
        return len(q.names["agency"])
    if dim == "commune":
        return len(q.names["commune"]) + 1  # and the dossiers without a commune
    if dim == "channel":
        return _CHANNELS
    return None


def row_bound(conn: Connection, q: MetricsQuery, small: int, memo: BoundMemo) -> tuple[int, int, int]:
    """(bound, time buckets, keys): an upper bound on the rows of the answer, known before computing.

    First from the registries (agencies, wards, channels, the filters' values): when that bound is
    already `small` no query is needed. Else the distinct keys present up to the range's end are
    counted in rollup_keys, memoised until the keys change.
    """
    time_keys = [g for g in q.group_by if g in TIME_UNITS]
    dims = [g for g in q.group_by if g not in TIME_UNITS]
    finest = min(time_keys, key=TIME_UNITS.index) if time_keys else None
    n_buckets = len(buckets(finest, q.start, q.end))
    known = [_registry_bound(d, q) for d in dims]
    if all(k is not None for k in known):
        keys = 1
        for k in known:
            keys *= k or 0
        if n_buckets * keys <= small:
            return n_buckets * keys, n_buckets, keys
    version = repository.keys_version(conn)
    memo_key = (tuple(dims), tuple(sorted((d, tuple(v)) for d, v in q.filters.items())), q.end)
    cached = memo.get(version, memo_key)
    if cached is None:
        cached = repository.key_bound(conn, dims, q.filters, q.end)
        memo.put(version, memo_key, cached)
    return n_buckets * cached, n_buckets, cached


def too_large(bound: int, n_buckets: int, keys: int, limit: int) -> ValidationFailed:
    msg = (
        f"the answer could have up to {bound:,} rows ({n_buckets:,} time buckets x {keys:,} keys present "
        f"in the range: an upper bound), above the limit of {limit:,} rows"
    )
    return ValidationFailed(
        f"{msg[0].upper()}{msg[1:]}. Narrow the query: a shorter range, a coarser time unit (month "
        "instead of day), fewer group keys, or filters on agency, commune, sector, procedure or channel.",
        errors=[{"loc": ["query", "group_by"], "msg": msg, "type": "too_large"}],
    )


# Rows written per piece of a streamed body.
_ROWS_PER_PIECE = 512


def metrics_body(
    conn: Connection, q: MetricsQuery, now: datetime, check: Callable[[], None]
) -> tuple[bytes, ...]:
    """The document of contract §4 in pieces, written row by row from the compact rows."""
    result = service.compute(
        conn, start=q.start, end=q.end, group_by=q.group_by, filters=q.filters, now=now, check=check
    )
    _, changed = repository.data_state(conn)
    head = {
        "from": q.start.isoformat(),
        "to": q.end.isoformat(),
        "group_by": q.group_by,
        "data_as_of": to_local(changed).isoformat() if changed else None,
    }
    out = [dumps(head)[:-1] + b',"rows":[']
    rows = result.rows
    for start in range(0, len(rows), _ROWS_PER_PIECE):
        check()
        piece = b",".join(dumps(service.row_json(r, q.names)) for r in rows[start : start + _ROWS_PER_PIECE])
        out.append(piece if start == 0 else b"," + piece)
    out.append(b'],"totals":' + dumps({"counts": result.totals_counts, "rates": result.totals_rates}) + b"}")
    return tuple(out)


@router.get(
    "/metrics",
    operation_id="get_metrics",
    response_model=MetricsResponse,
    summary="Every count and rate per group and time bucket, with totals",
    description=(
        "The dossiers matching the filters over the local dates [`from`, `to`], grouped by the keys of "
        "`group_by` in the order given: one row per time bucket and combination of the other keys with "
        "any count above zero, ordered by the keys ascending, nulls last (dossiers without a commune or "
        "sector form their own row with that key null). Time "
        "buckets are calendar days, months (YYYY-MM), quarters (YYYY-Qn) or years (YYYY), the first and "
        "last cut to the range. Every row and `totals` carry every count and every rate of "
        "GET /v1/metrics/definitions. Received- and finish-based counts add up across buckets; state "
        "counts (carried_over, pending, pending_overdue) are taken at each bucket's edges, or now for a "
        "bucket not yet ended. Answers carry an ETag and honour If-None-Match (304)."
    ),
    responses={
        304: {"description": "Not modified"},
        **problem_responses(
            401,
            403,
            422,
            503,
            descriptions={
                422: FILTERS_422 + "; or `to` is before `from`, the range passes 30 years (3,700 days "
                "with group_by=day), or a group key repeats; or the answer could pass the row limit "
                "(TTHC_METRICS_MAX_ROWS, default 100,000): time buckets x the keys present in the range, "
                "an upper bound decided before computing (error type `too_large`).",
                503: READ_503 + " Or it is heavy (grouped by day or procedure, or a large row bound) and "
                "no slot for heavy reads freed up within 2 s.",
            },
        ),
    },
)
async def get_metrics(
    request: Request,
    _reader: ReadDep,
    from_: Annotated[
        IsoDate,
        Query(alias="from", description="The first day, inclusive: a local (Vietnam) date, YYYY-MM-DD."),
    ],
    to: Annotated[
        IsoDate,
        Query(
            description="The last day, inclusive: a local date, YYYY-MM-DD, not before `from`, at most 30 "
            "years after it (3,700 days with group_by=day)."
        ),
    ],
    group_by: Annotated[
        list[GroupKey] | None,
        Query(
            max_length=9,
            description="A key to group rows by; repeat for several, each at most once, in the order the "
            "rows' keys should have: agency, commune, sector, procedure, channel, or a time unit (day, "
            "month, quarter, year). Absent: one row for the whole range, equal to the totals.",
        ),
    ] = None,
    *,
    filters: FiltersDep,
) -> Response:
    reject_unknown_params(request, METRIC_PARAMS)
    groups: list[str] = list(group_by or [])
    check_range(from_, to, groups)
    settings = state_of(request).settings
    now = state_of(request).clock()
    raw = filters.values

    def plan(conn: Connection) -> ReadPlan[MetricsQuery]:
        state = state_of(request)
        version, names, filters = read_context(conn, state.settings.province_code, state.names_memo, raw)
        q = MetricsQuery(from_, to, groups, filters, names)
        small = min(settings.heavy_read_rows, settings.metrics_max_rows)
        bound, n_buckets, keys = row_bound(conn, q, small, state_of(request).bound_memo)
        if bound > settings.metrics_max_rows:
            raise too_large(bound, n_buckets, keys, settings.metrics_max_rows)
        heavy = bound > settings.heavy_read_rows or bool(HEAVY_GROUPS & set(groups))
        return ReadPlan(version, cacheable=to < local_date(now), heavy=heavy, context=q)

    def render(conn: Connection, cancel: Cancel, p: ReadPlan[MetricsQuery]) -> Rendered:
        body = metrics_body(conn, p.context, now, cancel.check)
        if sum(len(piece) for piece in body) <= _JOIN_BELOW:
            joined = b"".join(body)
            return Rendered(joined, "application/json", etag_of(joined))
        return Rendered(body, "application/json", etag_of(body))

    return await guarded_read(request, plan, render)


@router.get(
    "/metrics/definitions",
    operation_id="get_metric_definitions",
    response_model=DefinitionsResponse,
    summary="The catalogue of every count and rate",
    description=(
        "Each count and each rate with its Vietnamese label, its description and, for a rate, the counts "
        "summed in its numerator and denominator. A rate is a fraction in [0, 1], unrounded, and null "
        "when its denominator is 0. The list the metrics, the report and the scorecard answer with."
    ),
    responses=problem_responses(401, 403),
)
def get_definitions(_reader: ReadDep) -> DefinitionsResponse:
    return DefinitionsResponse.model_validate(
        {
            "counts": [asdict(d) for d in COUNTS],
            "rates": [asdict(d) for d in RATES],
            "index_counts": [asdict(d) for d in INDEX_COUNTS],
        }
    )
