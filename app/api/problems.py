"""Errors as HTTP answers: problem+json documents (RFC 9457) and the app's exception handlers."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.state import state_of
from app.core.errors import (
    POOL_RETRY_AFTER,
    PROBLEM_MEDIA_TYPE,
    PROBLEM_TYPE_BASE,
    AppError,
    validation_errors,
)
from app.core.jsonutil import dumps

log = logging.getLogger("tthc.errors")


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return Response(dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def allowed_methods(request: Request) -> list[str] | None:
    """Every method the served document lists for the request's path (None: an undocumented path)."""
    for pattern, methods in _documented_paths(request.app):
        if pattern.match(request.url.path):
            return methods
    return None


def _documented_paths(app: FastAPI) -> list[tuple[re.Pattern[str], list[str]]]:
    cached: list[tuple[re.Pattern[str], list[str]]] | None = state_of(app).documented_paths
    if cached is None:
        cached = []
        for path, ops in app.openapi().get("paths", {}).items():
            pattern = re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path)) + "$")
            methods = {m.upper() for m in ops}
            # Starlette answers HEAD wherever it answers GET.
            cached.append((pattern, sorted(methods | ({"HEAD"} if "GET" in methods else set()))))
        state_of(app).documented_paths = cached
    return cached


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_req: Request, exc: AppError) -> Response:
        return problem(exc.status, exc.slug, exc.title, exc.detail, errors=exc.errors, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_req: Request, exc: RequestValidationError) -> Response:
        errors = validation_errors(list(exc.errors()))
        where = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:5])
        return problem(
            422, "validation-error", "Validation failed", f"Invalid request: {where}", errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(req: Request, exc: StarletteHTTPException) -> Response:
        titles = {
            400: "Bad request",
            404: "Not found",
            405: "Method not allowed",
            406: "Not acceptable",
            413: "Payload too large",
        }
        slugs = {400: "bad-request", 404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}
        detail = exc.detail if isinstance(exc.detail, str) else "Request failed"
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            # FastAPI's words for a body it could not decode; say what to send instead.
            detail = "The body is not valid JSON (UTF-8); send a JSON object."
        headers = dict(getattr(exc, "headers", None) or {})
        allowed = allowed_methods(req) if exc.status_code == 405 else None
        if allowed is not None:
            # Starlette names only the first route's methods; a client needs every method of the path.
            headers["Allow"] = ", ".join(allowed)
        return problem(
            exc.status_code,
            slugs.get(exc.status_code, "http-error"),
            titles.get(exc.status_code, "HTTP error"),
            detail,
            headers=headers or None,
        )

    @app.exception_handler(PoolTimeoutError)
    async def _pool_timeout(_req: Request, _exc: PoolTimeoutError) -> Response:
        # Every pooled connection stayed busy for TTHC_POOL_TIMEOUT: shed the request, do not fail it.
        log.warning("no database connection became free within the pool timeout; answered 503")
        return problem(
            503,
            "service-unavailable",
            "Service unavailable",
            "The service is busy: no database connection became free in time. Retry later.",
            headers={"Retry-After": str(POOL_RETRY_AFTER)},
        )

    @app.exception_handler(Exception)
    async def _unexpected(_req: Request, exc: Exception) -> Response:
        log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
        return problem(
            500,
            "internal-error",
            "Internal server error",
            "The server failed to handle the request; it has been logged.",
        )
