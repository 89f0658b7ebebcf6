"""GET /metrics: the Prometheus text exposition of every worker process (docs/MONITORING.md).

Like the dashboard, it is not part of the API: it stays out of the OpenAPI document, which describes
the JSON API that integrators call; docs/MONITORING.md describes the series.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4 as EXPOSITION_TYPE

from app.api.auth import get_principal
from app.api.observability import exposition, verify_families
from app.api.state import state_of
from app.core.access import Principal
from app.core.errors import Forbidden, Unauthorized

router = APIRouter(tags=["health"], include_in_schema=False)


def metrics_access(request: Request, principal: Principal = Depends(get_principal)) -> Principal:
    """Open unless TTHC_METRICS_REQUIRE_TOKEN is set; then a token with the 'read' scope (or admin)."""
    if state_of(request).settings.metrics_require_token:
        if principal.token_id is None:
            raise Unauthorized("The metrics need a bearer token with the 'read' scope.")
        if not principal.has("read"):
            raise Forbidden("The token lacks the 'read' scope.")
    return principal


def _render(request: Request) -> bytes:
    state = state_of(request)
    return exposition(verify_families(state.probe_engine, state.clock()))


@router.get(
    "/metrics",
    operation_id="metrics_exposition",
    summary="Prometheus metrics of the service",
    description=(
        "The Prometheus text exposition (version 0.0.4) of every worker process of the server: HTTP "
        "requests and their latency by method, route template and status; ingested records by outcome "
        "and rejected records by error type; response cache hits and misses; database pool use; and "
        "the age and result of the last `tthc-metrics rollups verify`. Requests to /metrics are not "
        "counted. Open to all unless TTHC_METRICS_REQUIRE_TOKEN is set, then a token with the 'read' "
        "scope is needed. The series carry no secret and no record's values."
    ),
    response_class=Response,
)
async def metrics_exposition(
    request: Request, _reader: Annotated[Principal, Depends(metrics_access)]
) -> Response:
    body = await run_in_threadpool(_render, request)
    return Response(body, media_type=EXPOSITION_TYPE)
