"""Bearer tokens: scopes (ingest, read, admin), optional agency limits, expiry (contract §6)."""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.api.state import state_of
from app.config import Settings
from app.core.access import ANONYMOUS, SCOPES, Principal
from app.core.errors import Forbidden, Unauthorized
from app.core.jsonutil import loads
from app.models import ApiToken
from app.store.uow import read_session
from app.tokens import hash_secret

ADMIN_TOKEN_ID = "env-admin"
_BEARER = re.compile(r"^[Bb][Ee][Aa][Rr][Ee][Rr] ([A-Za-z0-9._~+/=-]{1,512})$")


def _bearer(request: Request) -> str | None:
    values = request.headers.getlist("authorization")
    if not values:
        return None
    if len(values) > 1:
        raise Unauthorized("Send one Authorization header, as 'Bearer <token>'.")
    m = _BEARER.match(values[0])
    if m is None:
        raise Unauthorized("The Authorization header must be 'Bearer <token>'.")
    return m.group(1)


def resolve_principal(secret: str, settings: Settings, session: Session, now: datetime) -> Principal:
    """The principal of a presented secret, or 401 when it is unknown, revoked or expired at `now`."""
    admin = settings.admin_token
    # Digests of equal length, compared in constant time: the time taken reveals neither the admin
    # token's characters nor its length.
    if admin is not None and hmac.compare_digest(hash_secret(secret), hash_secret(admin)):
        return Principal(ADMIN_TOKEN_ID, frozenset(SCOPES), None)
    digest = hash_secret(secret)
    row = session.scalar(select(ApiToken).where(ApiToken.secret_hash == digest))
    if row is None or not hmac.compare_digest(row.secret_hash, digest):
        raise Unauthorized("The token is not valid.")
    if row.revoked_at is not None:
        raise Unauthorized("The token has been revoked.")
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthorized("The token has expired.")
    agencies = None if row.agencies is None else frozenset(loads(row.agencies))
    return Principal(row.id, frozenset(s for s in row.scopes.split(",") if s), agencies)


def get_principal(request: Request) -> Principal:
    secret = _bearer(request)
    if secret is None:
        return ANONYMOUS
    settings: Settings = state_of(request).settings
    # Its own short session: the request's session may be a writer's, and the lookup only reads.
    with read_session(state_of(request).engine) as session:
        # The app's clock, the same one that stamps created_at and revoked_at.
        principal = resolve_principal(secret, settings, session, state_of(request).clock())
    request.state.token_id = principal.token_id
    return principal


def require(scope: str) -> Callable[..., Principal]:
    """A dependency that demands a token with `scope` (admin holds every scope)."""

    def dependency(principal: Principal = Depends(get_principal)) -> Principal:
        if principal.token_id is None:
            raise Unauthorized(f"This operation needs a bearer token with the '{scope}' scope.")
        if not principal.has(scope):
            raise Forbidden(f"The token lacks the '{scope}' scope.")
        return principal

    dependency.__name__ = f"require_{scope}"
    return dependency


def read_access(request: Request, principal: Principal = Depends(get_principal)) -> Principal:
    """Reads are open unless TTHC_READ_REQUIRES_TOKEN is set; then a read (or admin) token is needed."""
    settings: Settings = state_of(request).settings
    if settings.read_requires_token:
        if principal.token_id is None:
            raise Unauthorized("Reading needs a bearer token with the 'read' scope.")
        if not principal.has("read"):
            raise Forbidden("The token lacks the 'read' scope.")
    return principal


AdminDep = Annotated[Principal, Depends(require("admin"))]
IngestDep = Annotated[Principal, Depends(require("ingest"))]
ReadDep = Annotated[Principal, Depends(read_access)]
