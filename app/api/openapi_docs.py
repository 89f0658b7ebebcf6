"""OpenAPI helpers: problem+json responses per operation, extra component schemas, and the /docs and
/redoc pages with their assets served by the service itself (an intranet has no CDN)."""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.types import Message, Receive, Scope, Send

from app.api.openapi_examples import PATH_EXAMPLES, success_examples
from app.core.errors import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE

_DESCRIPTIONS = {
    304: "Not modified (the ETag in If-None-Match still matches)",
    400: "Malformed request: a body that is not JSON (or not UTF-8).",
    401: "Missing, malformed, unknown, revoked or expired bearer token",
    403: "The token lacks the scope, or may not write for this agency",
    404: "Not found",
    409: "Conflict: a different record with the same updated_at is stored",
    413: "Body too large",
    415: "Unsupported content type",
    422: "Validation failed; `errors` names each field",
    503: "Not ready",
}


class ProblemError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(examples=["https://tthc-metrics.local/problems/validation-error"])
    title: str = Field(examples=["Validation failed"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["Invalid request: query.from"])
    errors: list[ProblemError] | None = None


_EXAMPLES: dict[int, dict[str, Any]] = {
    400: {"slug": "bad-request", "title": "Bad request", "detail": "The body is not valid JSON."},
    401: {
        "slug": "unauthorized",
        "title": "Authentication required",
        "detail": "This operation needs a bearer token with the 'ingest' scope.",
    },
    403: {"slug": "forbidden", "title": "Forbidden", "detail": "The token lacks the 'admin' scope."},
    404: {"slug": "not-found", "title": "Not found", "detail": "No dossier has code X-1."},
    409: {
        "slug": "conflict",
        "title": "Conflict",
        "detail": "A different record with the same updated_at is stored.",
        "errors": [
            {
                "loc": ["updated_at"],
                "msg": "a different record with the same updated_at is stored",
                "type": "conflict",
            }
        ],
    },
    413: {
        "slug": "payload-too-large",
        "title": "Payload too large",
        "detail": "The body is larger than 10485760 bytes; send NDJSON for large imports.",
    },
    415: {
        "slug": "unsupported-media-type",
        "title": "Unsupported media type",
        "detail": "Send the record as application/json.",
    },
    422: {
        "slug": "validation-error",
        "title": "Validation failed",
        "detail": "Invalid request: query.from",
        "errors": [{"loc": ["query", "from"], "msg": "Field required", "type": "missing"}],
    },
    503: {
        "slug": "service-unavailable",
        "title": "Service unavailable",
        "detail": "The database is not reachable or not migrated.",
    },
}


def problem_example(status: int) -> dict[str, Any]:
    """An example problem document for a status."""
    ex = dict(_EXAMPLES[status])
    return {"type": PROBLEM_TYPE_BASE + ex.pop("slug"), "status": status, **ex}


def problem_responses(
    *statuses: int, descriptions: dict[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """Response entries for the given error statuses, each an application/problem+json document.

    `descriptions` says, per status, what this operation refuses with it beyond the generic meaning:
    integrators (and contract fuzzers) learn from it which schema-valid requests are still refused.
    """
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        own = (descriptions or {}).get(status)
        out[status] = {
            "description": own or _DESCRIPTIONS.get(status, "Error"),
            "content": {
                PROBLEM_MEDIA_TYPE: {
                    "schema": {"$ref": "#/components/schemas/Problem"},
                    "example": problem_example(status),
                }
            },
        }
    return out


def install_openapi(app: FastAPI, extra_models: list[type[BaseModel]]) -> None:
    """Serve a document that also carries models referenced only from hand-written request bodies."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            webhooks=app.webhooks.routes,
            tags=app.openapi_tags,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        models: list[type[BaseModel]] = [Problem, ProblemError, *extra_models]
        for model in models:
            js = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in js.pop("$defs", {}).items():
                components.setdefault(name, sub)
            components.setdefault(model.__name__, js)
        # FastAPI adds its own 422 schema to every operation; ours is the problem document.
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        schema["components"]["securitySchemes"] = {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "A token from POST /v1/tokens, or TTHC_ADMIN_TOKEN. Writes need one; "
                "reads need one only when TTHC_READ_REQUIRES_TOKEN=true.",
            }
        }
        examples = success_examples()
        for path in schema.get("paths", {}).values():
            for method, op in path.items():
                resp = op.get("responses", {}).get("422")
                if resp is not None and resp.get("description") == "Validation Error":
                    resp.update(problem_responses(422)[422])
                if "401" in op.get("responses", {}):
                    # Reads are open by default: a token is optional there ({} = no credentials).
                    op["security"] = [{}, {"bearer": []}] if method == "get" else [{"bearer": []}]
                _add_examples(op, examples)
                _add_http_400(op)
        # A webhook is what the service sends: the receiver's answer is any 2xx, never FastAPI's 422.
        for hook in schema.get("webhooks", {}).values():
            for op in hook.values():
                op.get("responses", {}).pop("422", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


HTTP_400 = (
    "The HTTP server itself refuses a request it cannot parse (a request line over 64 KiB, raw "
    "non-ASCII bytes in the URL) before the service sees it, as text/plain."
)


def _add_http_400(op: dict[str, Any]) -> None:
    """Any operation can meet the HTTP server's own 400; say so, beside the service's own 400s."""
    resp = op.setdefault("responses", {}).setdefault("400", {"description": HTTP_400, "content": {}})
    if resp["description"] != HTTP_400:
        resp["description"] += " " + HTTP_400
    resp.setdefault("content", {})["text/plain"] = {
        "schema": {"type": "string"},
        "example": "Invalid HTTP request received.",
    }


def _add_examples(op: dict[str, Any], examples: dict[str, Any]) -> None:
    """The operation's success example and its path parameters' examples."""
    op_id = op.get("operationId", "")
    for status, resp in op.get("responses", {}).items():
        media = resp.get("content", {}).get("application/json")
        if status.startswith("2") and media is not None and op_id in examples:
            media["example"] = examples[op_id]
    for param in op.get("parameters", []):
        value = PATH_EXAMPLES.get(op_id, {}).get(param["name"])
        if param.get("in") == "path" and value is not None:
            param["example"] = value


# --------------------------------------------------------------------------- /docs and /redoc, offline

# Swagger UI (swagger-ui-dist) and ReDoc's standalone bundle, as the fastapi-offline package ships them.
ASSETS_PACKAGE = "fastapi-offline"
ASSETS_DIR = Path(str(resources.files("fastapi_offline") / "static"))
# The package's version is part of the assets' path, so they can be cached for good: an upgrade
# changes the path, and the pages (never cached without a check) name the new one.
ASSETS_VERSION = metadata.version(ASSETS_PACKAGE)
ASSETS_PATH = f"/docs-assets/{ASSETS_VERSION}"
ASSETS_CACHE_CONTROL = b"public, max-age=31536000, immutable"
DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"


# Everything from this origin, enforced by the browser: ReDoc's sidebar shows a logo from its maker's
# CDN (not configurable); the policy stops that request before it leaves the browser. Both UIs set
# inline styles; Swagger UI's page starts it with one inline script, allowed by its hash.
_POLICY = (
    "default-src 'self'; script-src 'self'{scripts}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def content_security_policy(html: str) -> str:
    """The docs pages' policy, allowing exactly the inline scripts of `html` (by their SHA-256)."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    ]
    return _POLICY.format(scripts="".join(" " + h for h in hashes))


def _page(response: HTMLResponse) -> HTMLResponse:
    html = bytes(response.body).decode()
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = content_security_policy(html)
    response.headers["Referrer-Policy"] = "same-origin"
    return response


class _ImmutableFiles:
    """The assets' StaticFiles, each answer marked cacheable for a year."""

    def __init__(self, directory: Path) -> None:
        self.files = StaticFiles(directory=directory)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def cached(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (200, 304):
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                message = {**message, "headers": [*headers, (b"cache-control", ASSETS_CACHE_CONTROL)]}
            await send(message)

        await self.files(scope, receive, cached)


def install_docs(app: FastAPI) -> None:
    """Serve /docs (Swagger UI), /redoc and their assets under /docs-assets/<version>/.

    The pages are FastAPI's own (the app is built with docs_url=None, redoc_url=None), pointed at the
    service's copies of the scripts, styles and icon instead of a CDN, and without web fonts.
    """
    app.mount(ASSETS_PATH, _ImmutableFiles(ASSETS_DIR), name="docs-assets")

    def root(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        base = root(request)
        return _page(
            get_swagger_ui_html(
                openapi_url=base + (app.openapi_url or "/openapi.json"),
                title=f"{app.title} - Swagger UI",
                swagger_js_url=f"{base}{ASSETS_PATH}/swagger-ui-bundle.js",
                swagger_css_url=f"{base}{ASSETS_PATH}/swagger-ui.css",
                swagger_favicon_url=f"{base}{ASSETS_PATH}/favicon.png",
                oauth2_redirect_url=base + OAUTH2_REDIRECT_URL,
                init_oauth=app.swagger_ui_init_oauth,
                swagger_ui_parameters=app.swagger_ui_parameters,
            )
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    def swagger_ui_oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        base = root(request)
        return _page(
            get_redoc_html(
                openapi_url=base + (app.openapi_url or "/openapi.json"),
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{base}{ASSETS_PATH}/redoc.standalone.js",
                redoc_favicon_url=f"{base}{ASSETS_PATH}/favicon.png",
                with_google_fonts=False,
            )
        )
