"""Early warning: webhook subscriptions (admin) and their deliveries; the digest in the OpenAPI document."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response
from fastapi import Header as HeaderParam

from app.api.auth import AdminDep
from app.api.deps import SessionDep, WriteSessionDep
from app.api.openapi_docs import problem_responses
from app.api.state import state_of
from app.webhooks import service
from app.webhooks.digest import Digest
from app.webhooks.service import (
    WEBHOOK_ID_PATTERN,
    DeliveryPage,
    WebhookCreate,
    WebhookCreated,
    WebhookInfo,
)

router = APIRouter(tags=["webhooks"])

WebhookId = Annotated[
    str,
    Path(
        pattern=WEBHOOK_ID_PATTERN,
        description="The subscription's id (16 hexadecimal digits), as POST and GET /v1/webhooks give it.",
    ),
]


@router.post(
    "/v1/webhooks",
    operation_id="create_webhook",
    status_code=201,
    response_model=WebhookCreated,
    summary="Subscribe a URL to the daily digest; its signing secret is returned once",
    description=(
        "Admin only. The body `{url, label, kinds, scope}`: the URL (http or https; internal addresses "
        "are refused unless TTHC_WEBHOOK_ALLOWED_HOSTS names the host), the worklists the digest "
        "carries, and the scope (`agency`, `commune`, `sector`: lists of codes, each narrowing; absent: "
        "all). Once a day at TTHC_WEBHOOK_DIGEST_TIME (Vietnam time) the service POSTs the digest "
        "(the `tthc-digest` webhook of this document) signed with `X-TTHC-Signature`. The answer "
        "carries `secret`, the signing key, this once only. At most 100 subscriptions (409)."
    ),
    responses=problem_responses(400, 401, 403, 409, 413, 415, 422),
)
def create_webhook(
    request: Request, session: WriteSessionDep, _admin: AdminDep, body: WebhookCreate
) -> WebhookCreated:
    st = state_of(request)
    return service.create(session, body, st.settings, st.clock())


@router.get(
    "/v1/webhooks",
    operation_id="list_webhooks",
    response_model=list[WebhookInfo],
    summary="List webhook subscriptions (never their secrets)",
    description="Admin only. Every subscription, oldest first, with when its next digest is queued.",
    responses=problem_responses(401, 403),
)
def list_webhooks(request: Request, session: SessionDep, _admin: AdminDep) -> list[WebhookInfo]:
    return service.list_all(session, state_of(request).settings)


@router.delete(
    "/v1/webhooks/{webhook_id}",
    operation_id="delete_webhook",
    status_code=204,
    summary="Delete a webhook subscription",
    description=(
        "Admin only. The subscription goes with its deliveries (a queued one is not sent) and its "
        "record of the dossiers sent. 204 when deleted, 404 when no subscription has the id."
    ),
    responses=problem_responses(401, 403, 404, 422),
)
def delete_webhook(session: WriteSessionDep, _admin: AdminDep, webhook_id: WebhookId) -> Response:
    service.remove(session, webhook_id)
    return Response(status_code=204)


@router.get(
    "/v1/webhooks/{webhook_id}/deliveries",
    operation_id="list_webhook_deliveries",
    response_model=DeliveryPage,
    summary="A subscription's deliveries and failures, newest first",
    description=(
        "Admin only. One entry per digest: pending (queued or waiting to be retried), delivered, or "
        "failed after TTHC_WEBHOOK_MAX_ATTEMPTS attempts, with the attempts made, the receiver's last "
        "status and error. Finished entries are kept TTHC_WEBHOOK_RETENTION_DAYS days. Pages go by "
        "`before`."
    ),
    responses=problem_responses(401, 403, 404, 422),
)
def list_webhook_deliveries(
    session: SessionDep,
    _admin: AdminDep,
    webhook_id: WebhookId,
    limit: Annotated[
        int, Query(ge=1, le=500, description="Deliveries on a page, 1 to 500; default 50.")
    ] = 50,
    before: Annotated[
        int | None,
        Query(
            ge=1,
            le=2**31 - 1,
            description="Only deliveries older than this id: the previous page's `next_cursor`. Absent: "
            "the newest.",
        ),
    ] = None,
) -> DeliveryPage:
    return service.deliveries(session, webhook_id, limit, before)


def install_digest_webhook(app: FastAPI) -> None:
    """The digest the service sends, as an OpenAPI webhook (what a receiver implements)."""

    @app.webhooks.post(
        "tthc-digest",
        operation_id="receive_digest",
        tags=["webhooks"],
        summary="The daily digest, POSTed to each subscription's URL",
        description=(
            "Sent once a day per subscription at TTHC_WEBHOOK_DIGEST_TIME: for each subscribed kind, "
            "the dossiers newly on that worklist within the scope (a dossier is listed to a "
            "subscription at most once per kind). Verify `X-TTHC-Signature` over the exact bytes "
            "received and refuse a timestamp older than five minutes; answer 2xx to acknowledge. "
            "Anything else (or no answer within TTHC_WEBHOOK_TIMEOUT) is retried with backoff."
        ),
        status_code=204,
        responses={204: {"description": "Received: any 2xx answer acknowledges the digest."}},
    )
    def receive_digest(
        body: Digest,
        x_tthc_signature: Annotated[
            str,
            HeaderParam(
                description='`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`, the '
                "secret being the one POST /v1/webhooks returned."
            ),
        ],
        x_tthc_delivery: Annotated[
            str,
            HeaderParam(description="The delivery's id, the same on every attempt: deduplicate by it."),
        ],
    ) -> None:
        """Never served: documents what the service sends."""
