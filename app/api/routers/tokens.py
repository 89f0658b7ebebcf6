"""Token administration (contract §6) and the audit trail of writes."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import and_, func, or_, select

from app import tokens
from app.api.auth import AdminDep
from app.api.deps import SessionDep, WriteSessionDep
from app.api.openapi_docs import problem_responses
from app.api.state import state_of
from app.core.errors import ValidationFailed
from app.core.jsonutil import loads
from app.core.timeutil import to_local
from app.dossiers.schemas import IsoDate
from app.models import AuditEntry, RefusedRequests
from app.tokens import TOKEN_ID_PATTERN, TokenCreate, TokenInfo

router = APIRouter(tags=["access"])


class TokenCreated(BaseModel):
    id: str
    token: str = Field(description="the secret, shown this once only")


class AuditItem(BaseModel):
    id: int
    at: datetime
    token_id: str | None
    method: str
    path: str
    status_code: int
    counts: dict[str, int] | None
    duration_ms: float


class AuditPage(BaseModel):
    items: list[AuditItem]
    next_cursor: int | None = Field(description="pass as `before` for the next (older) page")
    total: int


class RefusedItem(BaseModel):
    token_id: str | None = Field(description="the token refused; null when no valid token was presented")
    day: date = Field(description="the local (Vietnam) day")
    status: int = Field(description="401 (no valid token) or 403 (the token lacks the right)")
    count: int


class RefusedPage(BaseModel):
    items: list[RefusedItem]
    next_cursor: str | None = Field(description="pass as `cursor` for the next (older) page")
    total: int = Field(description="rows matching the filters, over all pages")


@router.post(
    "/v1/tokens",
    operation_id="create_token",
    status_code=201,
    response_model=TokenCreated,
    summary="Create a token; its secret is returned once",
    description=(
        "Admin only. The body `{label, scopes, agencies, expires_at}`: scopes among ingest, read and "
        "admin (admin holds every scope); `agencies` limits which agencies' dossiers the token may "
        "write (null: all); `expires_at` a timestamp (null: never). The answer `{id, token}` carries "
        "the secret this once only: the service keeps only its SHA-256 digest. Send it as "
        "`Authorization: Bearer <token>`."
    ),
    responses=problem_responses(400, 401, 403, 413, 415, 422),
)
def create_token(
    request: Request, session: WriteSessionDep, _admin: AdminDep, body: TokenCreate
) -> TokenCreated:
    info, secret = tokens.create_token(session, body, state_of(request).clock())
    return TokenCreated(id=info.id, token=secret)


@router.get(
    "/v1/tokens",
    operation_id="list_tokens",
    response_model=list[TokenInfo],
    summary="List tokens (never their secrets)",
    description=(
        "Admin only. Every token ever created, revoked and expired ones included, oldest first, with its "
        "label, scopes, agencies, expiry, creation and revocation times (Vietnam time)."
    ),
    responses=problem_responses(401, 403),
)
def list_tokens(session: SessionDep, _admin: AdminDep) -> list[TokenInfo]:
    return tokens.list_tokens(session)


@router.delete(
    "/v1/tokens/{token_id}",
    operation_id="revoke_token",
    status_code=204,
    summary="Revoke a token at once",
    description=(
        "Admin only. The token is refused (401) from the next request on; revoking it again changes "
        "nothing. 204 when revoked, 404 when no token has the id. TTHC_ADMIN_TOKEN cannot be revoked "
        "here: unset it in the environment."
    ),
    responses=problem_responses(401, 403, 404, 422),
)
def revoke_token(
    request: Request,
    session: WriteSessionDep,
    _admin: AdminDep,
    token_id: Annotated[
        str,
        Path(
            pattern=TOKEN_ID_PATTERN,
            description="The token's id (16 hexadecimal digits), as POST and GET /v1/tokens give it.",
        ),
    ],
) -> Response:
    tokens.revoke_token(session, token_id, state_of(request).clock())
    return Response(status_code=204)


@router.get(
    "/v1/audit",
    operation_id="list_audit",
    response_model=AuditPage,
    summary="The audit trail of write requests, newest first",
    description=(
        "Admin only. One entry per write request (POST, PUT, PATCH, DELETE) made with a valid token and "
        "not refused with 401 or 403 (those are counted by GET /v1/audit/refused): when, the token, "
        "method, path, status, the records' counts of an ingest and the duration; never a record's "
        "values. Kept TTHC_AUDIT_RETENTION_DAYS days (0: forever). `total` counts every entry; pages go "
        "by `before`."
    ),
    responses=problem_responses(401, 403, 422),
)
def list_audit(
    session: SessionDep,
    _admin: AdminDep,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="Entries on a page, 1 to 1,000; default 100.")
    ] = 100,
    before: Annotated[
        # Bounded by the id column (a 32-bit integer), so a huge cursor is a 422, not a database error.
        int | None,
        Query(
            ge=1,
            le=2**31 - 1,
            description="Only entries older than this id: the previous page's `next_cursor`. Absent: the "
            "newest entries.",
        ),
    ] = None,
) -> AuditPage:
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if before is not None:
        q = q.where(AuditEntry.id < before)
    rows = list(session.scalars(q))
    total = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    items = [
        AuditItem(
            id=r.id,
            at=to_local(r.at),
            token_id=r.token_id,
            method=r.method,
            path=r.path,
            status_code=r.status_code,
            counts=loads(r.counts) if r.counts else None,
            duration_ms=round(r.duration_ms, 3),
        )
        for r in rows[:limit]
    ]
    return AuditPage(items=items, next_cursor=rows[limit - 1].id if len(rows) > limit else None, total=total)


_REFUSED_CURSOR = re.compile(r"^(\d{4}-\d{2}-\d{2})\|([0-9A-Za-z_-]{0,32})\|(401|403)$")


def _encode_refused_cursor(r: RefusedRequests) -> str:
    raw = f"{r.day.isoformat()}|{r.token_id}|{r.status_code}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_refused_cursor(cursor: str) -> tuple[date, str, int]:
    invalid = ValidationFailed(
        "The cursor is not one this service issued.",
        errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "value_error"}],
    )
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
        m = _REFUSED_CURSOR.fullmatch(raw)
        if m is None:
            raise invalid
        return date.fromisoformat(m.group(1)), m.group(2), int(m.group(3))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise invalid from exc


@router.get(
    "/v1/audit/refused",
    operation_id="list_refused_requests",
    response_model=RefusedPage,
    summary="Write requests refused with 401 or 403, counted per token, day and status; newest day first",
    description=(
        "Admin only. Refused write requests are not in the audit trail one by one (a flood of them would "
        "fill it): they are counted per token (null: no valid token), local day and status. Ordered by "
        "day, newest first, then token and status; `total` counts the rows matching `from`/`to`."
    ),
    responses=problem_responses(
        401,
        403,
        422,
        descriptions={
            422: "A parameter is malformed, `from` is after `to`, or `cursor` was not issued here."
        },
    ),
)
def list_refused_requests(
    request: Request,
    session: SessionDep,
    _admin: AdminDep,
    from_: Annotated[
        IsoDate | None,
        Query(alias="from", description="The first local day, inclusive (YYYY-MM-DD); absent: no bound."),
    ] = None,
    to: Annotated[
        IsoDate | None,
        Query(description="The last local day, inclusive (YYYY-MM-DD), not before `from`; absent: no bound."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Rows on a page, 1 to 1,000; default 100.")] = 100,
    cursor: Annotated[
        str | None,
        Query(
            max_length=200,
            description="The previous page's `next_cursor`; absent: the first page. One not issued here is "
            "a 422.",
        ),
    ] = None,
) -> RefusedPage:
    if from_ is not None and to is not None and from_ > to:
        raise ValidationFailed(
            "from is after to.",
            errors=[{"loc": ["query", "from"], "msg": "from is after to", "type": "value_error"}],
        )
    # This process's counts not yet written go first, so the answer includes every refusal it saw.
    state_of(request).refusals.flush_now(state_of(request).engine)
    r = RefusedRequests
    conds = []
    if from_ is not None:
        conds.append(r.day >= from_)
    if to is not None:
        conds.append(r.day <= to)
    total = session.scalar(select(func.count()).select_from(r).where(*conds)) or 0
    if cursor is not None:
        day, token_id, status = _decode_refused_cursor(cursor)
        # Newest day first, then token and status ascending: the rows after (day, token, status).
        conds.append(
            or_(
                r.day < day,
                and_(r.day == day, r.token_id > token_id),
                and_(r.day == day, r.token_id == token_id, r.status_code > status),
            )
        )
    q = select(r).where(*conds).order_by(r.day.desc(), r.token_id, r.status_code).limit(limit + 1)
    rows = list(session.scalars(q))
    items = [
        RefusedItem(token_id=x.token_id or None, day=x.day, status=x.status_code, count=x.count)
        for x in rows[:limit]
    ]
    next_cursor = _encode_refused_cursor(rows[limit - 1]) if len(rows) > limit else None
    return RefusedPage(items=items, next_cursor=next_cursor, total=total)
