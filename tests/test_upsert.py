"""Contract §3: upserts keyed by code, judged by updated_at; PUT; DELETE with every figure."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from app.dossiers.service import dossiers_table, stored_rows
from app.store import index_rollups, rollups
from tests.conftest import Clock
from tests.factory import AGENCY, OTHER_AGENCY, open_rec, rec
from tests.ingesting import (
    app_client,
    counts,
    metric_totals,
    ndjson,
    new_token,
    post,
    post_ndjson,
    stored,
    with_token,
)

V1 = "2025-07-08T10:00:00+07:00"
V2 = "2025-07-09T10:00:00+07:00"
V3 = "2025-07-10T10:00:00+07:00"

CONFLICT = {
    "loc": ["updated_at"],
    "msg": "a different record with the same updated_at is stored",
    "type": "conflict",
}


def tally(**nonzero: int) -> dict[str, int]:
    base = {"received": 0, "created": 0, "updated": 0, "unchanged": 0, "stale": 0, "rejected": 0}
    base.update(nonzero)
    return base


def rollups_clean(engine: Engine) -> None:
    with engine.connect() as conn, conn.begin():
        assert rollups.verify(conn) == (0, [])
        assert index_rollups.verify(conn) == (0, [])


# --- one record at a time -------------------------------------------------------------------------


def test_a_new_code_is_created(client: TestClient) -> None:
    report = post(client, [rec("D-1")])
    assert report == {**tally(received=1, created=1), "errors": [], "errors_omitted": 0, "errors_summary": []}
    assert stored(client, "D-1")["updated_at"] == V1


def test_a_newer_updated_at_replaces_the_whole_record(client: TestClient) -> None:
    post(client, [rec("D-1", sector="xay_dung", procedure_name="Cấp phép", fee_required=True)])
    report = post(client, [rec("D-1", updated_at=V2, channel="postal")])
    assert counts(report) == tally(received=1, updated=1)
    d = stored(client, "D-1")
    # Fields the new version leaves out take their defaults: nothing of the old version survives.
    assert (d["sector"], d["procedure_name"], d["fee_required"], d["channel"], d["updated_at"]) == (
        None,
        None,
        False,
        "postal",
        V2,
    )


def test_the_same_record_sent_again_is_unchanged(client: TestClient) -> None:
    post(client, [rec("D-1")])
    assert counts(post(client, [rec("D-1")])) == tally(received=1, unchanged=1)


def test_an_older_updated_at_is_stale_and_the_newer_record_stays(client: TestClient) -> None:
    post(client, [rec("D-1", updated_at=V2, sector="ho_tich")])
    report = post(client, [rec("D-1", updated_at=V1, sector="dat_dai")])
    assert counts(report) == tally(received=1, stale=1)
    assert report["errors"] == []
    d = stored(client, "D-1")
    assert (d["sector"], d["updated_at"]) == ("ho_tich", V2)


def test_the_same_updated_at_with_other_content_is_a_conflict(client: TestClient) -> None:
    post(client, [rec("D-1", sector="ho_tich")])
    report = post(client, [rec("D-1", sector="dat_dai")])
    assert report == {
        **tally(received=1, rejected=1),
        "errors": [{"index": 0, "code": "D-1", "errors": [CONFLICT]}],
        "errors_omitted": 0,
        "errors_summary": [],
    }
    assert stored(client, "D-1")["sector"] == "ho_tich"


# --- normalisation: the same value written differently is unchanged ------------------------------------


def test_the_same_instants_written_with_other_offsets_are_unchanged(client: TestClient) -> None:
    post(client, [rec("D-1")])
    again = rec(
        "D-1",
        received_at="2025-07-01T01:00:00Z",
        due_at="2025-07-10T10:00:00+00:00",
        resolved_at="2025-07-08T10:00:00",
        updated_at="2025-07-08T01:00:00.000-02:00",
    )
    assert counts(post(client, [again])) == tally(received=1, unchanged=1)


def test_defaults_written_out_are_unchanged(client: TestClient) -> None:
    post(client, [rec("D-1")])
    explicit = rec(
        "D-1",
        procedure_name=None,
        sector=None,
        commune_code=None,
        online_level=None,
        returned_at=None,
        fee_required=False,
        paid_online=False,
        digitised_intake=False,
        digitised_result=False,
        reused_digital_data=False,
        apology_issued=False,
        rating=None,
    )
    assert counts(post(client, [explicit])) == tally(received=1, unchanged=1)


def test_a_value_different_from_a_default_is_a_conflict(client: TestClient) -> None:
    post(client, [rec("D-1")])
    report = post(client, [rec("D-1", digitised_intake=True)])
    assert report["errors"] == [{"index": 0, "code": "D-1", "errors": [CONFLICT]}]


# --- within one request ----------------------------------------------------------------------------


def test_records_of_one_request_are_judged_in_order(client: TestClient) -> None:
    report = post(
        client,
        [
            rec("D-1", updated_at=V1),  # created
            rec("D-1", updated_at=V2, sector="ho_tich"),  # updated (sees index 0)
            rec("D-1", updated_at=V1),  # stale against index 1
            rec("D-1", updated_at=V2, sector="ho_tich"),  # unchanged against index 1
            rec("D-1", updated_at=V2, sector="dat_dai"),  # conflict with index 1
            rec("D-2", updated_at=V1),  # created
        ],
    )
    assert counts(report) == tally(received=6, created=2, updated=1, unchanged=1, stale=1, rejected=1)
    assert report["errors"] == [{"index": 4, "code": "D-1", "errors": [CONFLICT]}]
    d = stored(client, "D-1")
    assert (d["sector"], d["updated_at"]) == ("ho_tich", V2)


def test_a_later_ndjson_line_sees_an_earlier_one_across_chunks(engine: Engine, clock: Clock) -> None:
    with app_client(engine, clock, TTHC_INGEST_CHUNK=2) as c:
        report = post_ndjson(
            c,
            ndjson(
                [
                    rec("D-1", updated_at=V1),  # chunk 1: created
                    rec("D-2", updated_at=V1),  # chunk 1: created
                    rec("D-1", updated_at=V3, sector="ho_tich"),  # chunk 2: updated
                    rec("D-1", updated_at=V2),  # chunk 2: stale
                    rec("D-1", updated_at=V3, sector="ho_tich"),  # chunk 3: unchanged
                    rec("D-1", updated_at=V3),  # chunk 3: conflict
                ]
            ),
        )
        assert counts(report) == tally(received=6, created=2, updated=1, unchanged=1, stale=1, rejected=1)
        assert report["errors"] == [{"index": 5, "code": "D-1", "errors": [CONFLICT]}]
        assert stored(c, "D-1")["sector"] == "ho_tich"
    rollups_clean(engine)


def test_a_rejected_record_never_blocks_its_neighbours(client: TestClient) -> None:
    report = post(
        client,
        [
            rec("D-1"),
            rec("D-2", status="processing"),  # invalid: open with resolved_at
            rec("D-3"),
            rec("D-2", updated_at=V2),  # the same code, valid this time
        ],
    )
    assert counts(report) == tally(received=4, created=3, rejected=1)
    assert [(e["index"], e["code"], [x["loc"] for x in e["errors"]]) for e in report["errors"]] == [
        (1, "D-2", [["resolved_at"]])
    ]
    assert [stored(client, c)["code"] for c in ("D-1", "D-2", "D-3")] == ["D-1", "D-2", "D-3"]


def test_the_response_counts_add_up_to_what_was_received(client: TestClient) -> None:
    post(client, [rec("A"), rec("B", updated_at=V2), rec("C")])
    report = post(
        client,
        [
            rec("A", updated_at=V2),  # updated
            rec("B", updated_at=V1),  # stale
            rec("C"),  # unchanged
            rec("C", sector="ho_tich"),  # conflict
            rec("D"),  # created
            rec("E", agency_code="nope"),  # invalid
        ],
    )
    assert counts(report) == tally(received=6, created=1, updated=1, unchanged=1, stale=1, rejected=2)
    assert [(e["index"], e["code"], e["errors"][0]["type"]) for e in report["errors"]] == [
        (3, "C", "conflict"),
        (5, "E", "unknown_agency"),
    ]


# --- PUT /v1/dossiers/{code} ---------------------------------------------------------------------


def test_put_creates_with_201_and_the_stored_dossier(client: TestClient) -> None:
    r = client.put("/v1/dossiers/D-1", json=rec("D-1"))
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"result", "dossier"}
    assert body["result"] == "created"
    assert body["dossier"]["code"] == "D-1"
    assert body["dossier"]["outcome"] == "early"


def test_put_answers_200_updated_unchanged_and_stale(client: TestClient) -> None:
    assert client.put("/v1/dossiers/D-1", json=rec("D-1", updated_at=V2)).status_code == 201
    r = client.put("/v1/dossiers/D-1", json=rec("D-1", updated_at=V3, sector="ho_tich"))
    assert (r.status_code, r.json()["result"], r.json()["dossier"]["sector"]) == (200, "updated", "ho_tich")
    r = client.put("/v1/dossiers/D-1", json=rec("D-1", updated_at=V3, sector="ho_tich"))
    assert (r.status_code, r.json()["result"]) == (200, "unchanged")
    r = client.put("/v1/dossiers/D-1", json=rec("D-1", updated_at=V1, sector="dat_dai"))
    # For stale, the body carries the stored, newer dossier.
    assert (r.status_code, r.json()["result"]) == (200, "stale")
    assert (r.json()["dossier"]["updated_at"], r.json()["dossier"]["sector"]) == (V3, "ho_tich")


def test_put_of_an_invalid_record_is_422_naming_the_field(client: TestClient) -> None:
    r = client.put("/v1/dossiers/D-1", json=rec("D-1", due_at="2025-06-01T00:00:00+07:00"))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"] == [
        {"loc": ["due_at"], "msg": "due_at is before received_at", "type": "value_error"}
    ]
    assert client.get("/v1/dossiers/D-1").status_code == 404


def test_put_with_a_code_other_than_the_path_is_422(client: TestClient) -> None:
    r = client.put("/v1/dossiers/D-1", json=rec("D-2"))
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["errors"]] == [["code"]]
    assert client.get("/v1/dossiers/D-2").status_code == 404


def test_put_of_another_agencys_dossier_is_403(client: TestClient) -> None:
    writer = with_token(client, new_token(client, ["ingest"], [AGENCY]))
    r = writer.put("/v1/dossiers/D-1", json=rec("D-1", agency_code=OTHER_AGENCY))
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["type"] for e in r.json()["errors"]] == ["forbidden"]


def test_put_of_a_conflicting_record_is_409(client: TestClient) -> None:
    client.put("/v1/dossiers/D-1", json=rec("D-1"))
    r = client.put("/v1/dossiers/D-1", json=rec("D-1", rating="neutral"))
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"] == [CONFLICT]
    assert stored(client, "D-1")["rating"] is None


def test_put_of_a_body_that_is_not_json_is_400(client: TestClient) -> None:
    r = client.put("/v1/dossiers/D-1", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"


def test_put_of_an_array_is_422(client: TestClient) -> None:
    r = client.put("/v1/dossiers/D-1", json=[rec("D-1")])
    assert r.status_code == 422
    assert r.json()["errors"] == [{"loc": [], "msg": "a record must be a JSON object", "type": "model_type"}]


# --- DELETE /v1/dossiers/{code} ------------------------------------------------------------------


def _july(client: TestClient) -> dict[str, int]:
    t = metric_totals(client, "2025-07-01", "2025-07-31")
    keys = ("received", "finished", "finished_early", "finished_late", "pending", "pending_overdue")
    return {k: t[k] for k in keys}


def test_delete_removes_the_dossier_and_its_contribution(client: TestClient, engine: Engine) -> None:
    post(
        client,
        [
            rec("EARLY"),
            rec("LATE", resolved_at="2025-07-12T10:00:00+07:00", updated_at="2025-07-12T10:00:00+07:00"),
            open_rec("OVERDUE", received_at="2025-07-02T08:00:00+07:00"),
        ],
    )
    assert _july(client) == {
        "received": 3,
        "finished": 2,
        "finished_early": 1,
        "finished_late": 1,
        "pending": 1,
        "pending_overdue": 1,
    }
    assert client.delete("/v1/dossiers/LATE").status_code == 204
    assert client.get("/v1/dossiers/LATE").status_code == 404
    assert _july(client) == {
        "received": 2,
        "finished": 1,
        "finished_early": 1,
        "finished_late": 0,
        "pending": 1,
        "pending_overdue": 1,
    }
    assert client.delete("/v1/dossiers/OVERDUE").status_code == 204
    assert _july(client) == {
        "received": 1,
        "finished": 1,
        "finished_early": 1,
        "finished_late": 0,
        "pending": 0,
        "pending_overdue": 0,
    }
    rollups_clean(engine)


def test_delete_of_an_unknown_code_is_404(client: TestClient) -> None:
    r = client.delete("/v1/dossiers/NOPE")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


def test_delete_needs_the_admin_scope(client: TestClient, anon: TestClient) -> None:
    post(client, [rec("D-1")])
    writer = with_token(client, new_token(client, ["ingest"]))
    assert writer.delete("/v1/dossiers/D-1").status_code == 403
    assert anon.delete("/v1/dossiers/D-1").status_code == 401
    assert client.get("/v1/dossiers/D-1").status_code == 200


def test_a_deleted_code_can_be_created_again(client: TestClient) -> None:
    post(client, [rec("D-1", updated_at=V2)])
    assert client.delete("/v1/dossiers/D-1").status_code == 204
    # The deleted version is forgotten, so even an older version is new now.
    assert counts(post(client, [rec("D-1", updated_at=V1)])) == tally(received=1, created=1)


def test_an_update_moves_the_contribution(client: TestClient, engine: Engine) -> None:
    post(client, [rec("D-1")])
    before: dict[str, Any] = metric_totals(client, "2025-07-01", "2025-07-01")
    assert before["received"] == 1
    moved = rec("D-1", received_at="2025-07-02T08:00:00+07:00", updated_at=V2)
    assert post(client, [moved])["updated"] == 1
    assert metric_totals(client, "2025-07-01", "2025-07-01")["received"] == 0
    assert metric_totals(client, "2025-07-02", "2025-07-02")["received"] == 1
    rollups_clean(engine)


def test_stored_versions_read_in_one_statement_are_typed_as_a_select_types_them(
    client: TestClient, engine: Engine
) -> None:
    # The writer reads a chunk's stored versions in one statement (on SQLite, as one JSON text);
    # "unchanged" against "conflict" depends on every value coming back exactly as a SELECT gives it.
    records = [
        rec("T-1", procedure_name='Cấp "giấy" phép\\ xây dựng', commune_code="17329", sector="xay_dung"),
        open_rec("T-2", due_at=None, channel="online", online_level="full", fee_required=True),
        rec(
            "T-3",
            status="returned",
            resolved_at="2025-07-08T10:00:00.123456+07:00",
            returned_at="2025-07-09T00:00:00+07:00",
            rating="satisfied",
            apology_issued=True,
            digitised_result=True,
        ),
    ]
    assert counts(post(client, records)) == tally(received=3, created=3)
    with engine.connect() as conn:
        typed = {r.code: dict(r._mapping) for r in conn.execute(select(dossiers_table))}
        read = stored_rows(conn, ["T-1", "T-2", "T-3", "T-4"])
    assert set(read) == {"T-1", "T-2", "T-3"}
    for code, row in read.items():
        assert row == typed[code]
        assert [type(v) for v in row.values()] == [type(v) for v in typed[code].values()]
    assert read["T-3"]["resolved_at"].microsecond == 123456
    assert read["T-1"]["procedure_name"] == 'Cấp "giấy" phép\\ xây dựng'
    assert read["T-2"]["fee_required"] is True and read["T-2"]["due_at"] is None
