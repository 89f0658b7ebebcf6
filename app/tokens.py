"""API tokens (contract §6): created with a secret shown once and stored as its SHA-256, listed without
secrets, revoked at once. `POST/GET/DELETE /v1/tokens` and `tthc-metrics tokens` both go through the
functions here, so a token made either way is the same token."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.core.errors import NotFound
from app.core.jsonutil import loads
from app.core.timeutil import to_local
from app.core.vocabulary import CODE_PATTERN
from app.dossiers.schemas import OptionalTimestamp
from app.models import ApiToken

Scope = Literal["ingest", "read", "admin"]
TOKEN_ID_PATTERN = r"^[0-9a-f]{16}$"


class TokenCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "label": "one-stop system of Sở Xây dựng",
                    "scopes": ["ingest"],
                    "agencies": ["000.00.07.H41"],
                    "expires_at": None,
                }
            ]
        },
    )

    label: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=3)]
    agencies: Annotated[list[Annotated[str, Field(pattern=CODE_PATTERN)]], Field(max_length=1000)] | None = (
        None
    )
    expires_at: OptionalTimestamp = None

    @field_validator("scopes")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return sorted(set(v))


class TokenInfo(BaseModel):
    id: str
    label: str
    scopes: list[Scope]
    agencies: list[str] | None
    expires_at: datetime | None
    created_at: datetime
    revoked_at: datetime | None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return "tthc_" + secrets.token_urlsafe(32)


def new_token_id() -> str:
    return secrets.token_hex(8)


def create_token(session: Session, body: TokenCreate, now: datetime) -> tuple[TokenInfo, str]:
    """A new token and its secret (the only time the secret exists outside the caller's hands)."""
    secret = new_secret()
    token = ApiToken(
        id=new_token_id(),
        label=body.label,
        secret_hash=hash_secret(secret),
        scopes=",".join(body.scopes),
        agencies=None if body.agencies is None else json.dumps(sorted(set(body.agencies))),
        expires_at=body.expires_at,
        created_at=now,
        revoked_at=None,
    )
    session.add(token)
    return token_info(token), secret


def token_info(t: ApiToken) -> TokenInfo:
    return TokenInfo(
        id=t.id,
        label=t.label,
        scopes=[s for s in t.scopes.split(",") if s],
        agencies=None if t.agencies is None else loads(t.agencies),
        expires_at=to_local(t.expires_at) if t.expires_at else None,
        created_at=to_local(t.created_at),
        revoked_at=to_local(t.revoked_at) if t.revoked_at else None,
    )


def list_tokens(session: Session) -> list[TokenInfo]:
    """Every token, oldest first; never a secret or its hash."""
    rows = session.scalars(select(ApiToken).order_by(ApiToken.created_at, ApiToken.id))
    return [token_info(t) for t in rows]


def revoke_token(session: Session, token_id: str, now: datetime) -> tuple[TokenInfo, bool]:
    """Revoke the token at `now`, and whether it was revoked now (a token already revoked keeps its
    first revocation time)."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"No token has id {token_id}.")
    newly = token.revoked_at is None
    if newly:
        token.revoked_at = now
    return token_info(token), newly


def usable_tokens(session: Session, now: datetime) -> int:
    """How many stored tokens are neither revoked nor expired at `now`."""
    q = (
        select(func.count())
        .select_from(ApiToken)
        .where(ApiToken.revoked_at.is_(None), or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now))
    )
    return session.scalar(q) or 0
