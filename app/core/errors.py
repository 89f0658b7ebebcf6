"""One error hierarchy, rendered as application/problem+json (RFC 9457)."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("tthc.errors")

PROBLEM_TYPE_BASE = "https://tthc-metrics.local/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
# Seconds a client is asked to wait after a 503 for a busy connection pool.
POOL_RETRY_AFTER = 2


class AppError(Exception):
    """An error the client can act on; `slug` names its problem type."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers


class BadRequest(AppError):
    pass


class Unauthorized(AppError):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="tthc-metrics"'})


class Forbidden(AppError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(AppError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(AppError):
    status, slug, title = 409, "conflict", "Conflict"


class RequestTimeout(AppError):
    """The client stopped sending its body for longer than the upload idle timeout."""

    status, slug, title = 408, "request-timeout", "Request timeout"

    def __init__(self, detail: str) -> None:
        # The rest of the body will not be read: the connection cannot carry another request.
        super().__init__(detail, headers={"Connection": "close"})


class PayloadTooLarge(AppError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(AppError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class ValidationFailed(AppError):
    status, slug, title = 422, "validation-error", "Validation failed"


class ServiceUnavailable(AppError):
    status, slug, title = 503, "service-unavailable", "Service unavailable"


def clean_loc(loc: Any) -> list[str | int]:
    """A validation location as a plain list of field names (str) and positions (int), whatever
    sequence pydantic gave; every part kept, FastAPI's leading 'body' or 'query' included."""
    out: list[str | int] = [p if isinstance(p, int) else str(p) for p in loc]
    return out


def validation_errors(raw: list[Any]) -> list[dict[str, Any]]:
    """Pydantic errors as {loc, msg, type}, never echoing the submitted value."""
    return [
        {"loc": clean_loc(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in raw
    ]
