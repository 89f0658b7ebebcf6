"""Liveness and readiness (contract §7)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from app.errors import ServiceUnavailable
from app.openapi_docs import problem_responses

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    database: str
    revision: str


@router.get("/healthz", operation_id="healthz", response_model=Health, summary="The process is up")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    operation_id="readyz",
    response_model=Ready,
    summary="The database is reachable and its schema at the migrations' head",
    responses=problem_responses(503),
)
def readyz(request: Request) -> JSONResponse:
    engine = request.app.state.engine
    head: str = request.app.state.alembic_head
    try:
        with engine.connect() as conn:
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as exc:
        raise ServiceUnavailable("The database is not reachable or not migrated.") from exc
    if current != head:
        raise ServiceUnavailable(
            f"The database schema is at {current}, not at the head {head}; run the migrations."
        )
    return JSONResponse(Ready(status="ok", database=engine.dialect.name, revision=head).model_dump())
