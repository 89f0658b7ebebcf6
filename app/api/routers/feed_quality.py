"""The quality of the feed (docs/API.md): what the records sent get wrong, for the integration engineer."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from app.api.auth import get_principal
from app.api.deps import SessionDep
from app.api.openapi_docs import problem_responses
from app.api.reads import reject_unknown_params
from app.api.state import state_of
from app.core.access import Principal
from app.core.errors import Forbidden, Unauthorized, ValidationFailed
from app.core.jsonutil import dumps
from app.core.timeutil import local_date
from app.dossiers.schemas import AgencyParam, IsoDate
from app.feedquality.service import Scope, feed_quality

router = APIRouter(tags=["feed-quality"])

DEFAULT_DAYS = 30  # the range when `from` is absent: the 30 days ending with `to`
MAX_DAYS = 366  # the longest range one request reads
MAX_AGENCIES = 100
FEED_SCOPES = ("read", "ingest")  # or admin, which holds every scope


def feed_reader(principal: Principal = Depends(get_principal)) -> Principal:
    """A token is always needed (the answer names tokens and dossier codes), with `read`, `ingest`
    or `admin`; a token limited to agencies sees only theirs."""
    if principal.token_id is None:
        raise Unauthorized(
            "The quality of the feed needs a bearer token with the 'read', 'ingest' or 'admin' scope."
        )
    if not any(principal.has(s) for s in FEED_SCOPES):
        raise Forbidden("The token lacks the 'read', 'ingest' or 'admin' scope.")
    return principal


class RuleCount(BaseModel):
    field: str = Field(
        description="the record's field, list positions as `*` (e.g. `supplements.*.requested_at`); "
        "`(unknown field)` for a field the record schema does not have; empty for the whole record"
    )
    rule: str = Field(description="the rule the record broke, as the ingest report words it")
    type: str = Field(
        description="the error's type, as in the ingest report (e.g. `value_error`, `forbidden`)"
    )
    count: int = Field(description="rejected records with this reason (a record counts once per reason)")


class UnitCount(BaseModel):
    agency_code: str = Field(description="a registered agency, or `unknown`")
    count: int


class DayCount(BaseModel):
    day: date = Field(description="the local (Vietnam) day the records were received")
    count: int


class TokenCount(BaseModel):
    token_id: str | None = Field(
        description="the token that sent them; null: the command line's direct import"
    )
    count: int


class Rejected(BaseModel):
    total: int = Field(description="rejected records in the range (each counted once, by day)")
    by_rule: list[RuleCount] = Field(description="most frequent first; at most 500")
    by_unit: list[UnitCount] = Field(description="rejected records per agency, most first")
    by_day: list[DayCount] = Field(description="days with rejected records, oldest first")
    by_token: list[TokenCount] = Field(description="rejected records per token, most first; at most 500")


class WarningUnit(BaseModel):
    agency_code: str
    count: int = Field(description="dossiers of the unit counted with the warning in the range")
    base_count: int = Field(description="the unit's dossiers counted in the warning's base in the range")
    share: float | None = Field(description="count / base_count, 4 decimals; null when base_count is 0")
    flagged: bool = Field(
        description="for the resolution-time warnings: share above `threshold` (or no base); else count > 0"
    )


class WarningCount(BaseModel):
    rule: str = Field(description="the warning's code")
    field: str = Field(description="the field it questions")
    description: str
    base: Literal["received", "finished", "resolved"] = Field(
        description="what the share is taken of: dossiers received (new to the service), newly finished, "
        "or newly resolved (closed with resolved_at)"
    )
    count: int
    base_count: int
    share: float | None
    threshold: float | None = Field(
        description="TTHC_FEED_QUALITY_SHARE for the resolution-time warnings; null for the others"
    )
    flagged_units: int = Field(description="units flagged for this warning")
    by_unit: list[WarningUnit] = Field(description="units with a count, by agency code")


class ExampleCode(BaseModel):
    code: str = Field(description="the dossier's code (never a value of the field in question)")
    token_id: str | None
    day: date
    seen_at: str = Field(description="when it was last received, +07:00")


class ExampleGroup(BaseModel):
    agency_code: str
    kind: Literal["rejected", "warning"]
    field: str
    rule: str
    type: str = Field(description="the error's type; `warning` for a warning")
    codes: list[ExampleCode] = Field(
        description="the latest codes (at most TTHC_FEED_QUALITY_EXAMPLES per key), newest first"
    )


class FeedQuality(BaseModel):
    from_: date = Field(alias="from", description="the first local day, inclusive")
    to: date = Field(description="the last local day, inclusive")
    rejected: Rejected
    warnings: list[WarningCount] = Field(description="every warning, in a fixed order, counted or not")
    examples: list[ExampleGroup] = Field(
        description="per agency and reason (or warning) seen in the range, by agency, kind, field, rule and "
        "type; at most 500 groups"
    )
    truncated: list[str] = Field(description="the lists cut short at their cap (e.g. `rejected.by_rule`)")


def _problem(field: str, msg: str) -> ValidationFailed:
    return ValidationFailed(
        msg[0].upper() + msg[1:] + ".", errors=[{"loc": ["query", field], "msg": msg, "type": "value_error"}]
    )


@router.get(
    "/v1/feed-quality",
    operation_id="get_feed_quality",
    response_model=FeedQuality,
    summary="What the feed gets wrong: rejected records' reasons, accepted ones' warnings, per unit and day",
    description=(
        "For the integration engineer. Every rejected record of POST /v1/dossiers (JSON or NDJSON), PUT "
        "/v1/dossiers/{code} and the portal import is counted per reason (field, rule, type — never the "
        "value), token, agency (a registered one, else `unknown`) and local day; accepted records are "
        "counted for the warnings a careful reader would question, each dossier once per warning (again "
        "only after a version without it), with the latest dossier codes per reason and agency. Counts "
        "are kept TTHC_FEED_QUALITY_DAYS days. Needs a token with `read`, `ingest` or `admin`, even when "
        "reads are open; a token limited to agencies sees only those (never `unknown`). The answer is "
        "bounded: at most 366 days, and every list capped (`truncated` names those cut)."
    ),
    responses=problem_responses(
        401,
        403,
        422,
        descriptions={
            403: "The token lacks the scope, or `agency` names an agency the token is not limited to.",
            422: "A parameter is malformed or unknown, `from` is after `to`, or the range is longer "
            "than 366 days.",
        },
    ),
)
async def get_feed_quality(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(feed_reader)],
    from_: Annotated[
        IsoDate | None,
        Query(
            alias="from",
            description="The first local day, inclusive (YYYY-MM-DD); absent: 29 days before `to`. The "
            "range is at most 366 days.",
        ),
    ] = None,
    to: Annotated[
        IsoDate | None,
        Query(description="The last local day, inclusive (YYYY-MM-DD), not before `from`; absent: today."),
    ] = None,
    agency: Annotated[
        list[AgencyParam] | None,
        Query(
            max_length=MAX_AGENCIES,
            description="Only this agency's counts: a registered agency's code, or `unknown` for rejected "
            "records without one. Repeat for several (at most 100); absent: every agency the token may see.",
        ),
    ] = None,
    token: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9A-Za-z_-]{1,32}$",
            description="Only what this token sent: its id (as GET /v1/tokens lists it); absent: all tokens.",
        ),
    ] = None,
) -> Response:
    reject_unknown_params(request, ("from", "to", "agency", "token"))
    state = state_of(request)
    end = to if to is not None else local_date(state.clock())
    start = from_ if from_ is not None else end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise _problem("from", "from is after to")
    if (end - start).days + 1 > MAX_DAYS:
        raise _problem("from", f"the range is longer than {MAX_DAYS} days")
    visible: set[str] | None = None if principal.agencies is None else set(principal.agencies)
    if agency is not None:
        asked = set(agency)
        if visible is not None and not asked <= visible:
            raise Forbidden(
                "The token may not read the feed's quality of agency "
                + ", ".join(sorted(asked - visible))
                + "."
            )
        visible = asked
    scope = Scope(visible, token)
    threshold = state.settings.feed_quality_share

    def read() -> bytes:
        return dumps(feed_quality(session.connection(), start, end, scope, threshold))

    body = await run_in_threadpool(read)
    return Response(body, media_type="application/json", headers={"Cache-Control": "private, no-store"})
