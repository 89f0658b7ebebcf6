"""OpenAPI helpers: problem+json responses per operation, extra component schemas."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

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
