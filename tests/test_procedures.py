"""The procedure catalogue over HTTP: one entry read, added, replaced and removed by an admin; many
at once with per-item errors, the good items kept; pages and filters; the drill-down showing the
catalogue's name where a record has none. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.factory import rec
from tests.ingesting import new_token, post, with_token

BUILD: dict[str, Any] = {
    "name": "Cấp giấy phép xây dựng",
    "sector": "xay_dung",
    "level": "province",
    "max_duration": {"value": 15, "unit": "working_days"},
    "paper_result": True,
    "fee": True,
    "full_online_eligible": True,
    "full_online_offered": False,
    "online_payment_integrated": True,
}
DEFAULTS = {
    "sector": None,
    "max_duration": None,
    "paper_result": False,
    "fee": False,
    "full_online_eligible": False,
    "full_online_offered": False,
    "online_payment_integrated": False,
}


def _problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    return body


def _version(engine: Engine) -> int:
    with engine.connect() as conn:
        v: int = conn.execute(text("SELECT version FROM data_state")).scalar_one()
    return v


def _audit(client: TestClient, method: str, path: str) -> list[tuple[int, Any]]:
    items = client.get("/v1/audit").json()["items"]
    return [(e["status_code"], e["counts"]) for e in items if e["method"] == method and e["path"] == path]


def test_an_admin_adds_replaces_reads_and_removes_one_entry(
    client: TestClient, anon: TestClient, engine: Engine
) -> None:
    assert _problem(anon.get("/v1/procedures/1.004227"), 404)["detail"] == (
        "The catalogue has no procedure 1.004227."
    )
    before = _version(engine)
    r = client.put("/v1/procedures/1.004227", json=BUILD)
    assert r.status_code == 201, r.text
    assert r.json() == {"code": "1.004227", **BUILD}
    assert _version(engine) == before + 1
    assert anon.get("/v1/procedures/1.004227").json() == {"code": "1.004227", **BUILD}

    # The same entry again: 200, nothing changes (not even the data version).
    r = client.put("/v1/procedures/1.004227", json=BUILD)
    assert r.status_code == 200 and r.json() == {"code": "1.004227", **BUILD}
    assert _version(engine) == before + 1

    # A replacement is whole: fields left out take their defaults.
    r = client.put("/v1/procedures/1.004227", json={"name": "Cấp phép", "level": "commune"})
    assert r.status_code == 200
    assert r.json() == {"code": "1.004227", "name": "Cấp phép", "level": "commune", **DEFAULTS}
    assert _version(engine) == before + 2
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT max_duration_value, max_duration_unit, fee FROM procedures WHERE code = '1.004227'")
        ).one()
    assert tuple(row) == (None, None, False)

    assert client.delete("/v1/procedures/1.004227").status_code == 204
    _problem(client.delete("/v1/procedures/1.004227"), 404)
    _problem(anon.get("/v1/procedures/1.004227"), 404)
    assert _version(engine) == before + 3

    # Audited like every admin write.
    assert _audit(client, "PUT", "/v1/procedures/1.004227") == [
        (200, {"updated": 1}),
        (200, {"unchanged": 1}),
        (201, {"created": 1}),
    ]
    assert _audit(client, "DELETE", "/v1/procedures/1.004227") == [
        (404, {"deleted": 0}),
        (204, {"deleted": 1}),
    ]


def test_errors_name_the_field(client: TestClient) -> None:
    bad = {**BUILD, "level": "district", "max_duration": {"value": 0, "unit": "weeks"}, "fee": "yes"}
    doc = _problem(client.put("/v1/procedures/1.004227", json=bad), 422)
    assert sorted((".".join(map(str, e["loc"])), e["type"]) for e in doc["errors"]) == [
        ("body.fee", "bool_type"),
        ("body.level", "literal_error"),
        ("body.max_duration.unit", "literal_error"),
        ("body.max_duration.value", "greater_than_equal"),
    ]
    doc = _problem(client.put("/v1/procedures/1.004227", json={"level": "province", "colour": "red"}), 422)
    assert sorted((".".join(map(str, e["loc"])), e["type"]) for e in doc["errors"]) == [
        ("body.colour", "extra_forbidden"),
        ("body.name", "missing"),
    ]
    # A code longer than a dossier's procedure_code takes.
    doc = _problem(client.put("/v1/procedures/" + "1" * 33, json=BUILD), 422)
    assert [e["loc"] for e in doc["errors"]] == [["path", "code"]]
    _problem(
        client.put("/v1/procedures/1.004227", content=b"name=x", headers={"Content-Type": "text/plain"}), 415
    )
    with client.app.state.tthc.engines.write.connect() as conn:  # type: ignore[attr-defined]
        assert conn.execute(text("SELECT count(*) FROM procedures")).scalar_one() == 0


def test_only_an_admin_writes_the_catalogue(client: TestClient, anon: TestClient) -> None:
    assert client.put("/v1/procedures/P-1", json=BUILD).status_code == 201
    reader = with_token(client, new_token(client, ["read", "ingest"]))
    _problem(anon.put("/v1/procedures/P-2", json=BUILD), 401)
    _problem(reader.put("/v1/procedures/P-2", json=BUILD), 403)
    _problem(reader.put("/v1/procedures", json=[{"code": "P-2", **BUILD}]), 403)
    _problem(reader.delete("/v1/procedures/P-1"), 403)
    _problem(anon.delete("/v1/procedures/P-1"), 401)
    assert reader.get("/v1/procedures/P-1").json()["name"] == BUILD["name"]
    assert [e["code"] for e in reader.get("/v1/procedures").json()["items"]] == ["P-1"]


def test_bulk_keeps_the_good_items_and_names_each_bad_one(client: TestClient, engine: Engine) -> None:
    assert client.put("/v1/procedures/A", json={"name": "A cũ", "level": "province"}).status_code == 201
    assert client.put("/v1/procedures/B", json={"name": "B", "level": "commune"}).status_code == 201
    before = _version(engine)
    body: list[Any] = [
        {"code": "A", "name": "A mới", "level": "province", "fee": True},  # 0: updated
        {"code": "B", "name": "B", "level": "commune"},  # 1: unchanged
        {"code": "C", **BUILD},  # 2: created
        {"code": "D", "name": "D", "level": "ward"},  # 3: rejected, level
        {"code": "C", "name": "C again", "level": "province"},  # 4: rejected, repeats item 2
        {"name": "no code", "level": "province", "max_duration": {"value": 3}},  # 5: code, unit
        "not an object",  # 6
        {
            "code": "E",
            "name": "E",
            "level": "commune",
            "max_duration": {"value": 2.0, "unit": "hours"},
        },  # 7: 2.0 is 2
    ]
    r = client.put("/v1/procedures", json=body)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert {k: doc[k] for k in ("received", "created", "updated", "unchanged", "rejected")} == {
        "received": 8,
        "created": 2,
        "updated": 1,
        "unchanged": 1,
        "rejected": 4,
    }
    assert [(e["index"], e["code"], e["field"], e["type"]) for e in doc["errors"]] == [
        (3, "D", "level", "literal_error"),
        (4, "C", "code", "duplicate"),
        (5, None, "max_duration.unit", "missing"),
        (5, None, "code", "missing"),
        (6, None, None, "model_type"),
    ]
    assert doc["errors"][1]["msg"] == "code C is already at item 2"
    assert _version(engine) == before + 1
    page = client.get("/v1/procedures").json()
    assert [(e["code"], e["name"], e["fee"]) for e in page["items"]] == [
        ("A", "A mới", True),
        ("B", "B", False),
        ("C", BUILD["name"], True),
        ("E", "E", False),
    ]
    assert page["next_cursor"] is None
    assert client.get("/v1/procedures/E").json()["max_duration"] == {"value": 2, "unit": "hours"}
    assert _audit(client, "PUT", "/v1/procedures") == [
        (200, {"created": 2, "updated": 1, "unchanged": 1, "rejected": 4})
    ]

    # Sent again: nothing changes, the data version stays.
    again = client.put("/v1/procedures", json=body[:3]).json()
    assert (again["created"], again["updated"], again["unchanged"], again["rejected"]) == (0, 0, 3, 0)
    assert _version(engine) == before + 1


def test_bulk_refuses_a_body_that_is_not_an_array_of_at_most_10000(client: TestClient) -> None:
    doc = _problem(client.put("/v1/procedures", json={"code": "A"}), 422)
    assert doc["errors"][0]["loc"] == ["body"]
    too_many = [{"code": f"P{i}", "name": "x", "level": "province"} for i in range(10_001)]
    _problem(client.put("/v1/procedures", json=too_many), 422)
    _problem(client.put("/v1/procedures", content=b"[{", headers={"Content-Type": "application/json"}), 400)
    _problem(client.put("/v1/procedures", content=b"[]", headers={"Content-Type": "text/csv"}), 415)
    assert client.put("/v1/procedures", json=[]).json()["received"] == 0
    assert client.get("/v1/procedures").json() == {"items": [], "next_cursor": None}


def test_pages_and_filters(client: TestClient, anon: TestClient) -> None:
    body = [
        {"code": "P1", "name": "1", "level": "province", "sector": "dat_dai"},
        {"code": "P2", "name": "2", "level": "commune", "sector": "dat_dai"},
        {"code": "P3", "name": "3", "level": "province", "sector": "xay_dung"},
        {"code": "P4", "name": "4", "level": "province"},
        {"code": "P5", "name": "5", "level": "province", "sector": "dat_dai"},
    ]
    assert client.put("/v1/procedures", json=body).json()["created"] == 5
    first = anon.get("/v1/procedures", params={"limit": 2}).json()
    assert [e["code"] for e in first["items"]] == ["P1", "P2"] and first["next_cursor"] == "P2"
    second = anon.get("/v1/procedures", params={"limit": 2, "cursor": "P2"}).json()
    assert [e["code"] for e in second["items"]] == ["P3", "P4"] and second["next_cursor"] == "P4"
    last = anon.get("/v1/procedures", params={"limit": 2, "cursor": "P4"}).json()
    assert [e["code"] for e in last["items"]] == ["P5"] and last["next_cursor"] is None
    by = anon.get("/v1/procedures", params={"sector": "dat_dai", "level": "province"}).json()
    assert [e["code"] for e in by["items"]] == ["P1", "P5"]
    assert [e["code"] for e in anon.get("/v1/procedures?level=commune").json()["items"]] == ["P2"]
    doc = _problem(anon.get("/v1/procedures?level=district"), 422)
    assert [e["loc"] for e in doc["errors"]] == [["query", "level"]]
    doc = _problem(anon.get("/v1/procedures?limit=1001"), 422)
    assert [e["loc"] for e in doc["errors"]] == [["query", "limit"]]
    _problem(anon.get("/v1/procedures?sectr=dat_dai"), 422)


def test_the_drill_down_shows_the_catalogues_name_else_the_records(client: TestClient) -> None:
    post(
        client,
        [
            rec("D-1"),  # procedure 1.004227, no name
            rec("D-2", procedure_name="Tên trong hồ sơ"),  # the catalogue's name comes first
            rec("D-3", procedure_code="9.999999"),  # not in the catalogue
            rec("D-4", procedure_code="9.999999", procedure_name="Tên trong hồ sơ"),
        ],
    )
    assert client.put("/v1/procedures/1.004227", json=BUILD).status_code == 201
    listed = client.get("/v1/dossiers").json()["items"]
    assert [(d["code"], d["procedure_name"]) for d in listed] == [
        ("D-1", "Cấp giấy phép xây dựng"),
        ("D-2", "Cấp giấy phép xây dựng"),
        ("D-3", None),
        ("D-4", "Tên trong hồ sơ"),
    ]
    assert client.get("/v1/dossiers/D-1").json()["procedure_name"] == "Cấp giấy phép xây dựng"
    assert client.get("/v1/dossiers/D-3").json()["procedure_name"] is None
    # The catalogue's name follows the catalogue; the record is not changed.
    assert client.put("/v1/procedures/1.004227", json={**BUILD, "name": "Cấp phép"}).status_code == 200
    assert client.get("/v1/dossiers/D-1").json()["procedure_name"] == "Cấp phép"
    assert client.delete("/v1/procedures/1.004227").status_code == 204
    assert client.get("/v1/dossiers/D-1").json()["procedure_name"] is None
    assert client.get("/v1/dossiers/D-2").json()["procedure_name"] == "Tên trong hồ sơ"
