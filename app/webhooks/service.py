"""Webhook subscriptions and their deliveries: created with a secret shown once, listed, deleted; the
deliveries of one listed newest first. `POST/GET/DELETE /v1/webhooks` go through the functions here.

The secret must be read again to sign each digest, so unlike an API token's it cannot be kept as a
hash: it is stored as issued, in `webhook_subscriptions.secret`, readable only by whoever can read the
database (as are the dossiers) and never returned after its creation.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.core.communes import communes_of
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.jsonutil import dumps, loads
from app.core.timeutil import VN_TZ, to_local
from app.core.worklist import KINDS, Kind
from app.models import Agency, WebhookDelivery, WebhookSent, WebhookSubscription
from app.webhooks.digest import DigestScope
from app.webhooks.signing import new_webhook_secret
from app.webhooks.targets import MAX_URL_LENGTH, check_url

MAX_SUBSCRIPTIONS = 100
WEBHOOK_ID_PATTERN = r"^[0-9a-f]{16}$"
DeliveryStatus = Literal["pending", "delivered", "failed"]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://hooks.example.vn/tthc/so-xay-dung",
                    "label": "Sở Xây dựng: việc cần làm",
                    "kinds": ["overdue"],
                    "scope": {"agency": ["000.00.07.H41"]},
                }
            ]
        },
    )

    url: Annotated[str, Field(min_length=1, max_length=MAX_URL_LENGTH)] = Field(
        description="Where the digest is POSTed: http or https (see TTHC_WEBHOOK_ALLOWED_HOSTS)."
    )
    label: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")] | None = None
    kinds: Annotated[list[Kind], Field(min_length=1, max_length=len(KINDS))] = Field(
        description="The worklists the digest carries, each once."
    )
    scope: DigestScope = Field(default_factory=DigestScope)

    @field_validator("kinds")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("a kind is named twice")
        return v


class WebhookInfo(BaseModel):
    id: str
    url: str
    label: str | None
    kinds: list[Kind]
    scope: DigestScope
    created_at: datetime
    next_digest_at: datetime = Field(description="when the next digest is queued (Vietnam time)")


class WebhookCreated(WebhookInfo):
    secret: str = Field(description="the signing secret, shown this once only")


class DeliveryInfo(BaseModel):
    id: int = Field(description="also sent as the X-TTHC-Delivery header, the same on every attempt")
    day: date = Field(description="the local day of the digest")
    created_at: datetime
    status: DeliveryStatus = Field(
        description="pending (queued, or waiting for its next attempt), delivered, or failed (gave up "
        "after TTHC_WEBHOOK_MAX_ATTEMPTS; its dossiers are listed again in the next digest)"
    )
    attempts: int
    items: int = Field(description="dossiers in the digest, over its lists")
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None = Field(description="the receiver's HTTP status at the last attempt")
    last_error: str | None = Field(description="why the last attempt failed")
    delivered_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryInfo]
    next_cursor: int | None = Field(description="pass as `before` for the next (older) page")


def digest_time(settings: Settings) -> time:
    hours, minutes = settings.webhook_digest_time.split(":")
    return time(int(hours), int(minutes))


def digest_day(now: datetime, at: time) -> date:
    """The latest local day whose digest time is at or before `now`."""
    local = to_local(now)
    return local.date() if local.time() >= at else local.date() - timedelta(days=1)


def digest_instant(day: date, at: time) -> datetime:
    return datetime.combine(day, at, VN_TZ)


def _info(s: WebhookSubscription, at: time) -> WebhookInfo:
    return WebhookInfo(
        id=s.id,
        url=s.url,
        label=s.label,
        kinds=s.kinds.split(","),
        scope=DigestScope.model_validate(loads(s.scope)),
        created_at=to_local(s.created_at),
        next_digest_at=digest_instant(s.last_digest_day + timedelta(days=1), at),
    )


def _check_scope(session: Session, scope: DigestScope, province_code: int) -> None:
    errors = []
    if scope.agency:
        known = set(session.scalars(select(Agency.code).where(Agency.code.in_(scope.agency))))
        errors += [
            {"loc": ["body", "scope", "agency", i], "msg": "not a registered agency", "type": "value_error"}
            for i, code in enumerate(scope.agency)
            if code not in known
        ]
    if scope.commune:
        wards = communes_of(province_code)
        errors += [
            {
                "loc": ["body", "scope", "commune", i],
                "msg": "not a ward of the province",
                "type": "value_error",
            }
            for i, code in enumerate(scope.commune)
            if code not in wards
        ]
    if errors:
        raise ValidationFailed("The scope names unknown units.", errors=errors)


def create(session: Session, body: WebhookCreate, settings: Settings, now: datetime) -> WebhookCreated:
    """A new subscription; its first digest is queued at the next digest time after `now`."""
    check_url(body.url, settings.webhook_allowed_host_list, ["body", "url"])
    _check_scope(session, body.scope, settings.province_code)
    count = session.scalar(select(func.count()).select_from(WebhookSubscription)) or 0
    if count >= MAX_SUBSCRIPTIONS:
        raise Conflict(f"At most {MAX_SUBSCRIPTIONS} subscriptions; delete one first.")
    secret = new_webhook_secret()
    at = digest_time(settings)
    row = WebhookSubscription(
        id=secrets.token_hex(8),
        url=body.url,
        label=body.label,
        kinds=",".join(body.kinds),
        scope=dumps(body.scope.model_dump(exclude_none=True)).decode(),
        secret=secret,
        created_at=now,
        last_digest_day=digest_day(now, at),
    )
    session.add(row)
    session.flush()
    return WebhookCreated(**_info(row, at).model_dump(), secret=secret)


def list_all(session: Session, settings: Settings) -> list[WebhookInfo]:
    at = digest_time(settings)
    rows = session.scalars(
        select(WebhookSubscription).order_by(WebhookSubscription.created_at, WebhookSubscription.id)
    )
    return [_info(r, at) for r in rows]


def remove(session: Session, webhook_id: str) -> None:
    """The subscription, its deliveries (queued ones are not sent) and its record of what was sent."""
    if session.get(WebhookSubscription, webhook_id) is None:
        raise NotFound(f"No webhook has the id {webhook_id}.")
    session.execute(delete(WebhookSent).where(WebhookSent.subscription_id == webhook_id))
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.subscription_id == webhook_id))
    session.execute(delete(WebhookSubscription).where(WebhookSubscription.id == webhook_id))


def deliveries(session: Session, webhook_id: str, limit: int, before: int | None) -> DeliveryPage:
    if session.get(WebhookSubscription, webhook_id) is None:
        raise NotFound(f"No webhook has the id {webhook_id}.")
    d = WebhookDelivery
    q = (
        select(
            d.id,
            d.day,
            d.created_at,
            d.status,
            d.attempts,
            d.items,
            d.next_attempt_at,
            d.last_attempt_at,
            d.last_status_code,
            d.last_error,
            d.delivered_at,
        )
        .where(d.subscription_id == webhook_id)
        .order_by(d.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        q = q.where(d.id < before)
    rows = session.execute(q).all()

    def local(v: datetime | None) -> datetime | None:
        return to_local(v) if v is not None else None

    items = [
        DeliveryInfo(
            id=r.id,
            day=r.day,
            created_at=to_local(r.created_at),
            status=r.status,
            attempts=r.attempts,
            items=r.items,
            next_attempt_at=local(r.next_attempt_at),
            last_attempt_at=local(r.last_attempt_at),
            last_status_code=r.last_status_code,
            last_error=r.last_error,
            delivered_at=local(r.delivered_at),
        )
        for r in rows[:limit]
    ]
    return DeliveryPage(items=items, next_cursor=rows[limit - 1].id if len(rows) > limit else None)
