"""Reading request bodies: media types, size limits, the idle timeout, the registry a body is judged by.

Shared by every operation that reads a body of its own (the dossier and portal ingest endpoints).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from app.api.state import state_of
from app.core.communes import communes_of
from app.core.errors import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE, PayloadTooLarge, RequestTimeout
from app.dossiers.service import current_registry
from app.dossiers.stream import BOM
from app.dossiers.validation import Registry

MAX_JSON_BYTES = 10 * 1024 * 1024
JSON_TYPES = {"application/json"}


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


# The 408 of every operation that reads a body of its own (the pieces stopped coming).
REQUEST_TIMEOUT_RESPONSE: dict[int | str, dict[str, Any]] = {
    408: {
        "description": "The body stopped arriving: no piece of it came for longer than the upload idle "
        "timeout (TTHC_UPLOAD_IDLE_TIMEOUT, 30 s by default). A slow upload that keeps moving is never "
        "cut. Chunks of an NDJSON stream already stored stay stored.",
        "content": {
            PROBLEM_MEDIA_TYPE: {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "example": {
                    "type": PROBLEM_TYPE_BASE + "request-timeout",
                    "title": "Request timeout",
                    "status": 408,
                    "detail": "No part of the body arrived for 30 seconds.",
                },
            }
        },
    }
}


async def body_pieces(request: Request) -> AsyncIterator[bytes]:
    """The body's pieces as they arrive; 408 when none comes for the upload idle timeout.

    The timeout runs between pieces, not over the whole body: a slow import that keeps moving is fine.
    """
    timeout: float = state_of(request).settings.upload_idle_timeout
    pieces = request.stream().__aiter__()
    while True:
        try:
            piece = await asyncio.wait_for(pieces.__anext__(), timeout)
        except StopAsyncIteration:
            return
        except TimeoutError as exc:
            raise RequestTimeout(f"No part of the body arrived for {timeout:g} seconds.") from exc
        yield piece


async def read_body_limited(request: Request, limit: int) -> bytes:
    """The whole body without a leading UTF-8 BOM, refusing it as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes; send NDJSON for large imports.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in body_pieces(request):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body is larger than {limit} bytes; send NDJSON for large imports.")
        chunks.append(chunk)
    body = b"".join(chunks)
    return body[len(BOM) :] if body.startswith(BOM) else body


def registry_for(request: Request, engine: Engine) -> Registry:
    """Registered agencies and the province's wards (a database read: call it in a worker thread)."""
    settings = state_of(request).settings
    with engine.connect() as conn:
        return current_registry(
            conn, communes_of(settings.province_code).keys(), state_of(request).clock(), settings.feed_config
        )


async def load_registry(request: Request, engine: Engine) -> Registry:
    """registry_for off the event loop."""
    return await run_in_threadpool(registry_for, request, engine)


def at_clock(request: Request, registry: Registry) -> Registry:
    """The registry judged against the clock now: each chunk reads it (a long stream outlives it)."""
    now: datetime = state_of(request).clock()
    return replace(registry, now=now)
