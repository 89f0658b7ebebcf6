"""Every operation and every parameter of the served OpenAPI document is described.

The document is generated from the live app (create_app), so an operation or a parameter added
later, by any router, is checked too: a route without a summary and a description, or a path,
query, header or cookie parameter without a description, fails here and names itself.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app

Doc = dict[str, Any]
METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
# Shorter than this is a label, not a description.
MIN_WORDS = 4


@pytest.fixture(scope="module")
def doc() -> Doc:
    app = create_app(Settings(DATABASE_URL="sqlite:///:memory:"))
    with TestClient(app) as c:
        served: Doc = c.get("/openapi.json").json()
    return served


def _parameter(doc: Doc, param: Doc) -> Doc:
    """A parameter, its `$ref` (to #/components/parameters/...) followed."""
    if "$ref" in param:
        resolved: Doc = doc["components"]["parameters"][param["$ref"].rsplit("/", 1)[1]]
        return resolved
    return param


def _described(text: Any) -> bool:
    return isinstance(text, str) and len(text.split()) >= MIN_WORDS


def gaps(doc: Doc) -> list[str]:
    """Each operation without a summary or a description, each parameter without a description."""
    out: list[str] = []
    for path, item in doc["paths"].items():
        shared = item.get("parameters", [])
        for method, op in item.items():
            if method not in METHODS:
                continue
            where = f"{method.upper()} {path}"
            if not str(op.get("summary", "")).strip():
                out.append(f"{where}: no summary")
            if not _described(op.get("description")):
                out.append(f"{where}: no description")
            elif op.get("description", "").strip() == str(op.get("summary", "")).strip():
                out.append(f"{where}: the description only repeats the summary")
            for raw in [*shared, *op.get("parameters", [])]:
                param = _parameter(doc, raw)
                if not _described(param.get("description")):
                    out.append(f"{where}: {param['in']} parameter {param['name']!r} has no description")
    return out


def test_every_operation_and_parameter_is_described(doc: Doc) -> None:
    assert doc["paths"], "the document has no operations"
    assert gaps(doc) == []


def test_the_check_names_what_is_missing() -> None:
    """The check itself finds a gap of each kind (so an empty list above means something)."""
    fake: Doc = {
        "paths": {
            "/v1/x/{id}": {
                "parameters": [{"name": "id", "in": "path"}],
                "get": {
                    "summary": "Get x",
                    "parameters": [
                        {"name": "q", "in": "query", "description": "A filter on the things listed here."},
                        {"name": "X-Thing", "in": "header", "description": "short"},
                        {"$ref": "#/components/parameters/Shared"},
                    ],
                },
                "put": {"description": "Set x to the body's value, replacing it.", "summary": " "},
                "post": {"summary": "Post x", "description": "Post x"},
                "delete": {"summary": "Remove the x for good", "description": "Remove the x for good"},
            }
        },
        "components": {"parameters": {"Shared": {"name": "shared", "in": "cookie"}}},
    }
    assert gaps(fake) == [
        "GET /v1/x/{id}: no description",
        "GET /v1/x/{id}: path parameter 'id' has no description",
        "GET /v1/x/{id}: header parameter 'X-Thing' has no description",
        "GET /v1/x/{id}: cookie parameter 'shared' has no description",
        "PUT /v1/x/{id}: no summary",
        "PUT /v1/x/{id}: path parameter 'id' has no description",
        "POST /v1/x/{id}: no description",
        "POST /v1/x/{id}: path parameter 'id' has no description",
        "DELETE /v1/x/{id}: the description only repeats the summary",
        "DELETE /v1/x/{id}: path parameter 'id' has no description",
    ]
