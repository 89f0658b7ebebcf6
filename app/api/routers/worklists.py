"""GET /v1/worklists/{kind} (a worklist: JSON pages, CSV, XLSX) and GET /v1/worklists (counts per
unit and kind). The rule is app.core.worklist; the queries app.worklists.service."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import Connection

from app.api import exports
from app.api.auth import ReadDep
from app.api.cache import Rendered
from app.api.deps import AGENCY_FILTER, COMMUNE_FILTER, PROCEDURE_FILTER, SECTOR_FILTER
from app.api.openapi_docs import problem_responses
from app.api.reads import ReadPlan, etag_of, guarded_read, reject_unknown_params
from app.api.state import state_of
from app.core import worklist
from app.core.access import Principal
from app.core.errors import Forbidden, ValidationFailed
from app.core.jsonutil import dumps
from app.core.timeutil import to_local, to_utc
from app.core.vocabulary import CODE_PATTERN
from app.core.worklist import Kind, Window
from app.dossiers.schemas import AgencyParam, CommuneParam, IsoDate, ProcedureParam, SectorParam
from app.metrics.guard import Cancel
from app.metrics.reads import FILTERS_422, MAX_VALUES, READ_503, read_context
from app.reference.index_inputs import current_inputs
from app.worklists import render, service
from app.worklists.schemas import WorklistPage, WorklistSummary
from app.worklists.service import Filters, Names, Options, Position

router = APIRouter(prefix="/v1/worklists", tags=["worklists"])

FILTER_PARAMS = ("agency", "commune", "sector", "procedure", "from", "to", "due_within")
LIST_PARAMS = (*FILTER_PARAMS, "format", "limit", "cursor")
SUMMARY_PARAMS = (*FILTER_PARAMS, "unit")
# The largest worklist sent as XLSX (app.api.exports); CSV has no limit.
XLSX_MAX_ROWS = exports.XLSX_MAX_ROWS

WorklistFormat = Literal["json", "csv", "xlsx"]
SummaryUnit = Literal["agency", "commune"]

_KIND_TEXT = (
    "due_soon: open dossiers on the agency's clock due within `due_within` working days; overdue: open "
    "dossiers on the agency's clock past their deadline; late_without_apology: overdue dossiers and "
    "dossiers finished late in the period, without a letter of apology; supplement_repeated: open "
    "dossiers with more than one supplement request; unpaid_online: dossiers received in the period with "
    "a fee, not paid online; no_electronic_result: dossiers finished in the period without an electronic "
    "result, of procedures whose result is on paper (or not in the catalogue); awaiting_supplement: open "
    "dossiers waiting for the applicant's answer to their only supplement request."
)


def _bad(field: str, msg: str, kind: str = "value_error") -> ValidationFailed:
    return ValidationFailed(f"{field}: {msg}", errors=[{"loc": ["query", field], "msg": msg, "type": kind}])


class WorklistQuery:
    """The filters, the period and the due-soon horizon, shared by the lists and the summary."""

    def __init__(
        self,
        agency: Annotated[
            list[AgencyParam] | None,
            Query(
                max_length=MAX_VALUES,
                description=AGENCY_FILTER + " An unregistered code is a 422 (unknown_agency); a code "
                "outside the reader token's agencies a 403.",
            ),
        ] = None,
        commune: Annotated[
            list[CommuneParam] | None,
            Query(
                max_length=MAX_VALUES,
                description=COMMUNE_FILTER + " A code that is not a ward of the province is a 422.",
            ),
        ] = None,
        sector: Annotated[
            list[SectorParam] | None, Query(max_length=MAX_VALUES, description=SECTOR_FILTER)
        ] = None,
        procedure: Annotated[
            list[ProcedureParam] | None, Query(max_length=MAX_VALUES, description=PROCEDURE_FILTER)
        ] = None,
        period_from: Annotated[
            IsoDate | None,
            Query(
                alias="from",
                description="The period of late_without_apology (finished part), unpaid_online and "
                "no_electronic_result: its first local date (YYYY-MM-DD). Give `from` and `to` together, "
                "at most 366 days apart; absent: the current calendar year.",
            ),
        ] = None,
        period_to: Annotated[
            IsoDate | None,
            Query(alias="to", description="The period's last local date (YYYY-MM-DD), with `from`."),
        ] = None,
        due_within: Annotated[
            int,
            Query(
                ge=0,
                le=worklist.MAX_DUE_WITHIN,
                description="due_soon lists the dossiers with at most this many working days left "
                f"(0: due today), 0 to {worklist.MAX_DUE_WITHIN}; default {worklist.DEFAULT_DUE_WITHIN}.",
            ),
        ] = worklist.DEFAULT_DUE_WITHIN,
    ) -> None:
        self.raw: dict[str, list[str] | None] = {
            "agency": agency,
            "commune": commune,
            "sector": sector,
            "procedure": procedure,
        }
        self.period_from = period_from
        self.period_to = period_to
        self.due_within = due_within

    def period(self, now: datetime) -> Window:
        start, end = self.period_from, self.period_to
        if start is None and end is None:
            return worklist.default_period(now)
        if start is None:
            raise _bad("from", "required with to", "missing")
        if end is None:
            raise _bad("to", "required with from", "missing")
        if end < start:
            raise _bad("to", "must not be before from")
        if (end - start).days >= service.MAX_PERIOD_DAYS:
            raise _bad("to", f"the period covers at most {service.MAX_PERIOD_DAYS} days")
        return Window(start, end)


QueryDep = Annotated[WorklistQuery, Depends()]


@dataclass(frozen=True, slots=True)
class Context:
    filters: Filters
    options: Options
    names: Names


def _context(
    conn: Connection, request: Request, q: WorklistQuery, principal: Principal, now: datetime
) -> tuple[int, Context]:
    """The data version, the checked filters within the reader's agencies, the calendar and names."""
    state = state_of(request)
    period = q.period(now)
    version, names, checked = read_context(conn, state.settings.province_code, state.names_memo, q.raw)
    scope = principal.agencies
    if scope is not None:
        outside = sorted(set(checked.get("agency", ())) - scope)
        if outside:
            raise Forbidden(
                "The token may read only its own agencies' dossiers.",
                errors=[
                    {"loc": ["query", "agency"], "msg": "outside the token's agencies", "type": "forbidden"}
                ],
            )
    options = Options(now, period, q.due_within, current_inputs(conn).calendar)
    unit_names = Names(names["agency"], names["commune"], service.indicators_weighed(conn, options))
    return version, Context(Filters(checked, scope), options, unit_names)


# --- the cursor: the last (deadline, code) of a page and the kind, opaque -------------------------


def encode_cursor(kind: str, pos: Position) -> str:
    deadline = None if pos.deadline is None else to_utc(pos.deadline).isoformat()
    raw = orjson.dumps([kind, deadline, pos.code])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> Position:
    invalid = _bad("cursor", "not a cursor this service issued for this list", "invalid_cursor")
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        got_kind, deadline, code = orjson.loads(raw)
        if got_kind != kind or not isinstance(code, str) or not re.fullmatch(CODE_PATTERN, code):
            raise invalid
        if deadline is None:
            return Position(None, code)
        instant = datetime.fromisoformat(deadline)
        if instant.tzinfo is None:
            raise invalid
        return Position(to_utc(instant), code)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise invalid from exc


def _head(kind: str, o: Options) -> dict[str, Any]:
    return {
        "kind": kind,
        "as_of": to_local(o.now).isoformat(),
        "from": o.period.start.isoformat(),
        "to": o.period.end.isoformat(),
        "due_within": o.due_within,
    }


KindParam = Annotated[Kind, Path(description="The worklist. " + _KIND_TEXT)]


@router.get(
    "/{kind}",
    operation_id="get_worklist",
    summary="A worklist: the dossiers to act on today (JSON pages, CSV or XLSX)",
    description=(
        "The dossiers of one kind, in order of deadline (dossiers without one last), then code, each with "
        "its procedure's and unit's names, its deadline (`due_at`, else the national deadline derived "
        "from the catalogue), the working days left or late (working-day calendar: weekends, public "
        "holidays, the province's days off and make-up days), whose clock runs, the apology flags and "
        "the figures it weighs on. " + _KIND_TEXT + " JSON comes in pages of `limit` with `next_cursor`: "
        "a dossier whose deadline and membership do not change between two pages is listed exactly once. "
        "`format=csv` streams the whole list (any size); `format=xlsx` sends it as a workbook, refused "
        f"above {XLSX_MAX_ROWS:,} dossiers. A token limited to agencies reads only theirs. See docs/API.md."
    ),
    responses={
        200: {
            "description": "The worklist",
            "model": WorklistPage,
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
                403: "The token lacks the read scope, or an `agency` is outside the token's agencies.",
                422: FILTERS_422 + "; or `cursor` was not issued for this list; or `limit` or `cursor` "
                "came with an export; or the period is malformed; or an XLSX would have more than "
                f"{XLSX_MAX_ROWS:,} rows (type too_large: ask for CSV, or narrow the filters).",
                503: READ_503 + " Or every heavy-read slot stayed busy (an export takes one, and so "
                "does a JSON page of a period kind: late_without_apology, unpaid_online, "
                "no_electronic_result).",
            },
        ),
    },
)
async def get_worklist(
    request: Request,
    principal: ReadDep,
    kind: KindParam,
    q: QueryDep,
    format: Annotated[
        WorklistFormat,
        Query(
            description="json (default): a page; csv (UTF-8 with a byte-order mark, streamed) or xlsx: "
            "the whole list from its start, as an attachment, one line per dossier."
        ),
    ] = "json",
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=service.MAX_LIMIT,
            description=f"JSON only: dossiers on a page, 1 to {service.MAX_LIMIT}; default "
            f"{service.DEFAULT_LIMIT}.",
        ),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            max_length=400,
            description="JSON only: the `next_cursor` of the previous page of the same list; absent: the "
            "first page. A cursor not issued for this list is a 422.",
        ),
    ] = None,
) -> Response:
    reject_unknown_params(request, LIST_PARAMS)
    state = state_of(request)
    now = state.clock()
    if format != "json":
        for name, value in (("limit", limit), ("cursor", cursor)):
            if value is not None:
                raise _bad(name, "only with format=json (an export is the whole list)")
        return await _export(request, principal, kind, q, format, now)
    after = None if cursor is None else decode_cursor(kind, cursor)
    size = service.DEFAULT_LIMIT if limit is None else limit

    def plan(conn: Connection) -> ReadPlan[Context]:
        version, ctx = _context(conn, request, q, principal, now)
        # A page of a period kind sorts the period's candidates by deadline (about 9 s for
        # unpaid_online over a year at 10M dossiers, docs/PERFORMANCE.md): a heavy read. A page of the
        # open dossiers' kinds reads the small open share and waits for no slot.
        return ReadPlan(version, cacheable=False, heavy=kind in worklist.PERIOD_KINDS, context=ctx)

    def render_page(conn: Connection, cancel: Cancel, p: ReadPlan[Context]) -> Rendered:
        c = p.context
        page = service.items(conn, kind, c.filters, c.options, c.names, after=after, limit=size)
        doc = {
            **_head(kind, c.options),
            "items": page.items,
            "next_cursor": None if page.after is None else encode_cursor(kind, page.after),
        }
        body = dumps(doc)
        return Rendered(body, "application/json", etag_of(body))

    return await guarded_read(request, plan, render_page)


async def _export(
    request: Request, principal: Principal, kind: Kind, q: WorklistQuery, fmt: str, now: datetime
) -> Response:
    """The whole list as CSV or XLSX (app.api.exports), from one statement (app.worklists.service.batches)."""

    def prepare(conn: Connection) -> Context:
        _, ctx = _context(conn, request, q, principal, now)
        if fmt == "xlsx":
            exports.check_xlsx_rows(service.count(conn, kind, ctx.filters, ctx.options), XLSX_MAX_ROWS)
        return ctx

    ctx: Context = await exports.prepared(request, prepare)

    def rows(conn: Connection) -> Iterator[list[Sequence[Any]]]:
        for part in service.batches(conn, kind, ctx.filters, ctx.options, ctx.names):
            yield [render.line(i) for i in part]

    name = f"viec-can-lam_{kind}_{now.strftime('%Y%m%d')}.{fmt}"
    return await exports.send(request, fmt, name, render.HEADINGS, rows, kind)


@router.get(
    "",
    operation_id="get_worklist_summary",
    summary="How many dossiers each worklist holds, per unit (for the dashboard)",
    description=(
        "Per agency (`unit=agency`) or ward (`unit=commune`), the number of dossiers of every worklist "
        "kind, judged now with the same rule as GET /v1/worklists/{kind} and the same filters; units "
        "without any listed dossier are left out; `totals` adds up the rows. " + _KIND_TEXT
    ),
    response_model=WorklistSummary,
    responses={
        304: {"description": "Not modified"},
        **problem_responses(
            401,
            403,
            422,
            503,
            descriptions={
                403: "The token lacks the read scope, or an `agency` is outside the token's agencies.",
                422: FILTERS_422 + "; or the period is malformed.",
                503: READ_503 + " Or every heavy-read slot stayed busy.",
            },
        ),
    },
)
async def get_worklist_summary(
    request: Request,
    principal: ReadDep,
    q: QueryDep,
    unit: Annotated[
        SummaryUnit,
        Query(description="agency (default): a row per agency; commune: a row per ward (null: no ward)."),
    ] = "agency",
) -> Response:
    reject_unknown_params(request, SUMMARY_PARAMS)
    now = state_of(request).clock()

    def plan(conn: Connection) -> ReadPlan[Context]:
        version, ctx = _context(conn, request, q, principal, now)
        return ReadPlan(version, cacheable=False, heavy=True, context=ctx)

    def render_summary(conn: Connection, cancel: Cancel, p: ReadPlan[Context]) -> Rendered:
        c = p.context
        counts = service.summary(conn, unit, c.filters, c.options)
        names = c.names.agency if unit == "agency" else c.names.commune
        rows = []
        totals: dict[str, int] = dict.fromkeys(worklist.KINDS, 0)
        for code in sorted(counts, key=lambda k: (k is None, k or "")):
            rows.append(
                {
                    unit: code,
                    f"{unit}_name": None if code is None else names.get(code),
                    "counts": counts[code],
                }
            )
            for k, n in counts[code].items():
                totals[k] += n
        head = _head("", c.options)
        del head["kind"]
        body = dumps({"unit": unit, **head, "rows": rows, "totals": totals})
        return Rendered(body, "application/json", etag_of(body))

    return await guarded_read(request, plan, render_summary)
