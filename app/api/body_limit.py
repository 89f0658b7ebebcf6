"""Request bodies of the operations that do not read their own: a size cap and the media type.

The ingestion endpoints stream and bound their bodies themselves (10 MB JSON, NDJSON line by line)
and answer a wrong media type with 415 themselves. Every other body is a small JSON document (an
agency, a sector, a token, the year's targets), which FastAPI would otherwise read whole into
memory however large, and answer in another media type with a puzzling 422 about the body.
"""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import problem

SMALL_BODY_BYTES = 64 * 1024
# (method, path) of the operations that bound their bodies themselves.
SELF_LIMITED = (
    ("POST", re.compile(r"^/v1/dossiers/?$")),
    ("PUT", re.compile(r"^/v1/dossiers/[^/]+$")),
    ("POST", re.compile(r"^/v1/integrations/dvcqg/dossiers/?$")),
    ("PUT", re.compile(r"^/v1/procedures/?$")),
    ("PUT", re.compile(r"^/v1/index/declared/?$")),
    ("PUT", re.compile(r"^/v1/index/rule-sets/[^/]+$")),
)
# (method, path) of the operations whose body is a small JSON document.
JSON_BODIES = (
    ("POST", re.compile(r"^/v1/tokens/?$")),
    ("PUT", re.compile(r"^/v1/agencies/[^/]+$")),
    ("PUT", re.compile(r"^/v1/sectors/[^/]+$")),
    ("PUT", re.compile(r"^/v1/targets/[^/]+$")),
    ("PUT", re.compile(r"^/v1/procedures/[^/]+$")),
    ("POST", re.compile(r"^/v1/reports/dossier-processing/closings/?$")),
)
DETAIL = f"The body is larger than {SMALL_BODY_BYTES} bytes, far above any valid one for this operation."


class BodyTooLarge(HTTPException):
    """Raised while the body is read, so FastAPI passes it on to the problem+json handler."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail=DETAIL)


def _matches(scope: Scope, routes: tuple[tuple[str, re.Pattern[str]], ...]) -> bool:
    return any(scope["method"] == method and pattern.match(scope["path"]) for method, pattern in routes)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limit: int = SMALL_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _matches(scope, SELF_LIMITED):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if declared.isdigit() and int(declared) > self.limit:
            response = problem(413, "payload-too-large", "Payload too large", DETAIL)
            await response(scope, receive, send)
            return
        if _matches(scope, JSON_BODIES) and media != b"application/json":
            response = problem(
                415, "unsupported-media-type", "Unsupported media type", "Send the body as application/json."
            )
            await response(scope, receive, send)
            return
        size = 0

        async def limited() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > self.limit:
                    raise BodyTooLarge()
            return message

        await self.app(scope, limited, send)
