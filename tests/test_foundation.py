"""The foundation: migrations without drift, the served OpenAPI document, health, reference data."""

from __future__ import annotations

import json

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.api.state import state_of
from app.main import create_app
from app.models import metadata
from tests.conftest import ROOT


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
    assert diff == []


def test_openapi_json_at_the_root_is_what_the_app_serves(client: TestClient) -> None:
    served = client.get("/openapi.json")
    assert served.status_code == 200
    on_disk = (ROOT / "openapi.json").read_text(encoding="utf-8")
    rendered = json.dumps(served.json(), indent=2, ensure_ascii=False) + "\n"
    assert on_disk == rendered, "openapi.json is stale: run `make openapi`"


def test_operation_ids_are_stable_and_readable(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    ids = {op["operationId"] for path in doc["paths"].values() for op in path.values()}
    for expected in (
        "ingest_dossiers",
        "put_dossier",
        "get_dossier",
        "list_dossiers",
        "delete_dossier",
        "get_metrics",
        "get_metric_definitions",
        "list_communes",
        "list_agencies",
        "put_agency",
        "create_token",
        "list_tokens",
        "revoke_token",
        "list_audit",
        "healthz",
        "readyz",
    ):
        assert expected in ids


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["revision"] == state_of(client.app).alembic_head


def test_readyz_is_503_when_the_database_is_not_migrated(tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    from app.store.engine import make_engine

    engine = make_engine(f"sqlite:///{tmp_path}/empty.db")
    app = create_app(settings, engine=engine)
    with TestClient(app) as c:
        r = c.get("/readyz")
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 503
    engine.dispose()


def test_communes_are_the_130_wards_of_nghe_an(client: TestClient) -> None:
    body = client.get("/v1/communes").json()
    assert body["province_code"] == 40
    assert body["province_name"] == "Nghệ An"
    assert body["count"] == 130
    kinds = [c["division_type"] for c in body["items"]]
    assert kinds.count("xã") == 119 and kinds.count("phường") == 11
    assert {"code": "17329", "name": "Xã Anh Sơn", "division_type": "xã"} in body["items"]


def test_agencies_are_seeded_departments_and_commune_committees(client: TestClient) -> None:
    agencies = client.get("/v1/agencies").json()
    assert len(agencies) == 16 + 130
    anh_son = next(a for a in agencies if a["code"] == "UBND-17329")
    assert anh_son == {
        "code": "UBND-17329",
        "name": "UBND Xã Anh Sơn",
        "level": "commune",
        "commune_code": "17329",
        "commune_name": "Xã Anh Sơn",
    }


def test_put_agency_registers_and_renames(client: TestClient, anon: TestClient) -> None:
    body = {"name": "Sở Thử nghiệm", "level": "province", "commune_code": None}
    assert anon.put("/v1/agencies/000.00.99.H41", json=body).status_code == 401
    r = client.put("/v1/agencies/000.00.99.H41", json=body)
    assert r.status_code == 201
    r = client.put("/v1/agencies/000.00.99.H41", json={**body, "name": "Sở Đổi tên"})
    assert r.status_code == 200 and r.json()["name"] == "Sở Đổi tên"
    bad = client.put("/v1/agencies/000.00.99.H41", json={**body, "commune_code": "99999"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["body", "commune_code"]


def test_errors_are_problem_documents(client: TestClient) -> None:
    r = client.get("/v1/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert set(r.json()) >= {"type", "title", "status", "detail"}
