"""OpenAPI helpers: problem+json responses per operation, extra component schemas."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

_DESCRIPTIONS = {
    304: "Not modified (the ETag in If-None-Match still matches)",
    400: "Malformed request (e.g. a body that is not JSON)",
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


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Response entries for the given error statuses, each an application/problem+json document."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        out[status] = {
            "description": _DESCRIPTIONS.get(status, "Error"),
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
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
        for path in schema.get("paths", {}).values():
            for op in path.values():
                resp = op.get("responses", {}).get("422")
                if resp is not None:
                    resp["content"] = {
                        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                    }
                    resp["description"] = _DESCRIPTIONS[422]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
