"""The served OpenAPI document is precise: typed responses, an example per operation that its own
schema accepts, and problem documents for the errors of every operation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from app.config import Settings
from app.main import create_app

Doc = dict[str, Any]


@pytest.fixture(scope="module")
def doc() -> Doc:
    app = create_app(Settings(DATABASE_URL="sqlite:///:memory:"))
    with TestClient(app) as c:
        served: Doc = c.get("/openapi.json").json()
    return served


def operations(doc: Doc) -> Iterator[tuple[str, Doc]]:
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield f"{method.upper()} {path}", op


def validate(doc: Doc, schema: Doc, value: Any, where: str) -> None:
    # The media type's schema, with the document's components beside it so its $refs resolve.
    errors = list(Draft202012Validator({**schema, "components": doc["components"]}).iter_errors(value))
    assert not errors, (where, [e.message[:200] for e in errors[:3]])


def resolve(doc: Doc, schema: Doc) -> Doc:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_every_operation_has_a_success_example_its_schema_accepts(doc: Doc) -> None:
    for where, op in operations(doc):
        success = {s: r for s, r in op["responses"].items() if s.startswith("2")}
        assert success, where
        with_body = [(s, r["content"]["application/json"]) for s, r in success.items() if "content" in r]
        if with_body:
            for status, media in with_body:
                assert "example" in media, f"{where} {status} has no example"
                validate(doc, media["schema"], media["example"], f"{where} {status}")
        else:  # 204: the path parameters carry the examples
            path_params = [p for p in op.get("parameters", []) if p["in"] == "path"]
            assert path_params and all("example" in p for p in path_params), where


def test_every_request_body_has_examples_its_schema_accepts(doc: Doc) -> None:
    for where, op in operations(doc):
        for media_type, media in op.get("requestBody", {}).get("content", {}).items():
            examples = [e["value"] for e in media.get("examples", {}).values()]
            if "example" in media:
                examples.append(media["example"])
            if not examples:
                examples = resolve(doc, media["schema"]).get("examples", [])
            assert examples, f"{where} {media_type}"
            for value in examples:
                validate(doc, media["schema"], value, f"{where} {media_type}")


def test_every_error_is_a_documented_problem_with_an_example(doc: Doc) -> None:
    for where, op in operations(doc):
        errors = {s: r for s, r in op["responses"].items() if s[0] in "45"}
        assert errors, where
        if op.get("security"):
            assert {"401", "403"} <= set(errors), where
        for status, resp in errors.items():
            media = resp["content"].get("application/problem+json")
            if status == "400" and media is None:
                # Only the HTTP server's own refusal of an unparseable request.
                assert list(resp["content"]) == ["text/plain"], where
                continue
            assert media is not None, f"{where} {status}"
            assert media["schema"] == {"$ref": "#/components/schemas/Problem"}
            assert media["example"]["status"] == int(status)
            validate(doc, media["schema"], media["example"], f"{where} {status}")


def test_response_schemas_have_no_untyped_objects(doc: Doc) -> None:
    seen: set[str] = set()

    def walk(schema: Any, where: str) -> None:
        if isinstance(schema, list):
            for item in schema:
                walk(item, where)
            return
        if not isinstance(schema, dict):
            return
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            if name not in seen:
                seen.add(name)
                walk(doc["components"]["schemas"][name], name)
            return
        assert schema != {}, f"{where}: an untyped value"
        if schema.get("type") == "object":
            extra = schema.get("additionalProperties")
            assert "properties" in schema or (isinstance(extra, dict) and extra), (
                f"{where}: an untyped object"
            )
        for key in ("properties",):
            for name, sub in schema.get(key, {}).items():
                walk(sub, f"{where}.{name}")
        for key in ("items", "anyOf", "oneOf", "allOf", "additionalProperties"):
            if key in schema and schema[key] is not True:
                walk(schema[key], where)

    for where, op in operations(doc):
        for resp in op["responses"].values():
            for media_type, media in resp.get("content", {}).items():
                if media_type.endswith("json"):
                    walk(media["schema"], where)
    assert "MetricsResponse" in seen and "ScorecardResponse" in seen


def test_writes_need_the_bearer_scheme_and_reads_take_it_optionally(doc: Doc) -> None:
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["bearer"]["description"],
    }
    for where, op in operations(doc):
        method = where.split()[0]
        if where.endswith(("/healthz", "/readyz")):
            assert "security" not in op
        elif method == "GET":
            assert op["security"] == [{}, {"bearer": []}], where
        else:
            assert op["security"] == [{"bearer": []}], where
