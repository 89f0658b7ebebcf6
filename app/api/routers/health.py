"""Liveness and readiness (contract §7)."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Engine, text

from app.api.openapi_docs import problem_responses
from app.api.state import state_of
from app.core.errors import ServiceUnavailable

router = APIRouter(tags=["health"])

# A probe stuck on a dead connection is abandoned after its budget; a second thread lets the next one
# run (and meet the probe pool's timeout) instead of queueing behind it.
PROBE_THREADS = 2


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    database: str
    revision: str


@router.get(
    "/healthz",
    operation_id="healthz",
    response_model=Health,
    summary="The process is up",
    description='Liveness: 200 `{"status": "ok"}` whenever the process answers; it reads no database.',
)
async def healthz() -> Health:
    # On the event loop itself: no database, no thread, so it answers while every thread is busy.
    return Health(status="ok")


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        current: str | None = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return current


def _probe_limiter(state: Any) -> anyio.CapacityLimiter:
    """Threads of the probe's own: /readyz never queues behind requests holding the shared pool's."""
    limiter: anyio.CapacityLimiter | None = getattr(state, "probe_limiter", None)
    if limiter is None:
        limiter = state.probe_limiter = anyio.CapacityLimiter(PROBE_THREADS)
    return limiter


@router.get(
    "/readyz",
    operation_id="readyz",
    response_model=Ready,
    summary="The database is reachable and its schema at the migrations' head",
    description=(
        "Readiness: 200 with the database's kind and the schema revision when the database answers "
        "within TTHC_READY_TIMEOUT (+1 s) and its schema is at the migrations' head; else 503 saying "
        "which (run `tthc-metrics migrate` for a schema behind)."
    ),
    responses=problem_responses(503),
)
async def readyz(request: Request) -> JSONResponse:
    state = state_of(request)
    # Its own one-connection engine with short timeouts (app.store.engine.make_probe_engine); the request
    # engine when the lifespan has not run (tests) or the database is in memory.
    engine: Engine = state.probe_engine
    head: str = state.alembic_head
    budget: float = state.settings.ready_timeout + 1.0
    try:
        with anyio.fail_after(budget):
            current = await anyio.to_thread.run_sync(
                _revision, engine, limiter=_probe_limiter(state), abandon_on_cancel=True
            )
    except TimeoutError as exc:
        raise ServiceUnavailable(f"The database did not answer within {budget:g} s.") from exc
    except Exception as exc:
        raise ServiceUnavailable("The database is not reachable or not migrated.") from exc
    if current != head:
        raise ServiceUnavailable(
            f"The database schema is at {current}, not at the head {head}; run the migrations."
        )
    return JSONResponse(Ready(status="ok", database=engine.dialect.name, revision=head).model_dump())
