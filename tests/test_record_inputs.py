"""The record's national-index inputs (NATIONAL_INDEX.md): supplements, complaint, population_data,
from_personal_store — validated, stored, compared and served, against SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from app.dossiers.service import dossiers_table
from app.store import rollups
from tests.factory import open_rec, rec
from tests.ingesting import counts, metric_totals, post, stored

V1 = "2025-07-08T10:00:00+07:00"
V2 = "2025-07-09T10:00:00+07:00"

# received_at of the factory's record: 2025-07-01T08:00:00+07:00.
ANSWERED = {"requested_at": "2025-07-02T08:00:00+07:00", "supplied_at": "2025-07-03T15:30:00+07:00"}
OPEN = {"requested_at": "2025-07-04T09:00:00+07:00", "supplied_at": None}


def tally(**nonzero: int) -> dict[str, int]:
    base = {"received": 0, "created": 0, "updated": 0, "unchanged": 0, "stale": 0, "rejected": 0}
    return {**base, **nonzero}


def stored_text(engine: Engine, code: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            select(dossiers_table.c.supplements).where(dossiers_table.c.code == code)
        ).scalar()


def test_a_record_breaking_a_supplement_rule_is_rejected_and_the_others_are_stored(
    client: TestClient, engine: Engine
) -> None:
    body = [
        rec("OK-1", supplements=[ANSWERED]),
        # A supply before its request.
        rec(
            "BAD-1",
            supplements=[
                {"requested_at": "2025-07-03T08:00:00+07:00", "supplied_at": "2025-07-02T08:00:00+07:00"}
            ],
        ),
        # Two unanswered requests: the first one is named.
        rec("BAD-2", supplements=[{"requested_at": "2025-07-02T08:00:00+07:00"}, OPEN]),
        # A request before received_at (07:00 < 08:00 the same day).
        rec("BAD-3", supplements=[{"requested_at": "2025-07-01T07:00:00+07:00", "supplied_at": None}]),
        open_rec("OK-2", supplements=[ANSWERED, OPEN], complaint=True, population_data=True),
        # Requests out of order (the second is also before the first was answered).
        rec(
            "BAD-4",
            supplements=[
                {"requested_at": "2025-07-03T08:00:00+07:00", "supplied_at": "2025-07-03T09:00:00+07:00"},
                {"requested_at": "2025-07-02T08:00:00+07:00", "supplied_at": "2025-07-02T09:00:00+07:00"},
            ],
        ),
        # An unknown key in a request; a request that is not an object; a malformed instant.
        rec("BAD-5", supplements=[{**ANSWERED, "note": "x"}]),
        rec("BAD-6", supplements=[{"requested_at": "2 July", "supplied_at": None}]),
        # More than 50 requests (each answered before the next).
        rec(
            "BAD-7",
            supplements=[
                {
                    "requested_at": f"2025-07-02T08:{m:02d}:00+07:00",
                    "supplied_at": f"2025-07-02T08:{m:02d}:30+07:00",
                }
                for m in range(51)
            ],
        ),
        rec("BAD-8", from_personal_store="true", complaint=1),
    ]
    report = post(client, body)
    assert counts(report) == tally(received=10, created=2, rejected=8)
    errors = {e["code"]: e["errors"] for e in report["errors"]}
    assert errors["BAD-1"] == [
        {
            "loc": ["supplements", 0, "supplied_at"],
            "msg": "supplied_at is before its requested_at",
            "type": "value_error",
        }
    ]
    assert errors["BAD-2"] == [
        {
            "loc": ["supplements", 0, "supplied_at"],
            "msg": "only the last supplement request may be unanswered",
            "type": "value_error",
        }
    ]
    assert errors["BAD-3"] == [
        {
            "loc": ["supplements", 0, "requested_at"],
            "msg": "a supplement request is before received_at",
            "type": "value_error",
        }
    ]
    assert errors["BAD-4"] == [
        {
            "loc": ["supplements", 1, "requested_at"],
            "msg": "supplement requests are not ordered by requested_at",
            "type": "value_error",
        },
        {
            "loc": ["supplements", 1, "requested_at"],
            "msg": "a supplement request is before the previous one was answered",
            "type": "value_error",
        },
    ]
    assert [(e["loc"], e["type"]) for e in errors["BAD-5"]] == [
        (["supplements", 0, "note"], "extra_forbidden")
    ]
    assert [(e["loc"], e["type"]) for e in errors["BAD-6"]] == [
        (["supplements", 0, "requested_at"], "value_error")
    ]
    assert [(e["loc"], e["type"]) for e in errors["BAD-7"]] == [(["supplements"], "too_long")]
    assert sorted((e["loc"], e["type"]) for e in errors["BAD-8"]) == [
        (["complaint"], "bool_type"),
        (["from_personal_store"], "bool_type"),
    ]
    # Nothing of the rejected records is stored; the two valid ones are, with their figures.
    for code in ("BAD-1", "BAD-2", "BAD-3", "BAD-4", "BAD-5", "BAD-6", "BAD-7", "BAD-8"):
        assert client.get(f"/v1/dossiers/{code}").status_code == 404
    assert stored(client, "OK-1")["supplements"] == [ANSWERED]
    assert metric_totals(client, "2025-07-01", "2025-07-31")["received"] == 2
    with engine.connect() as conn, conn.begin():
        assert rollups.verify(conn) == (0, [])


def test_supplements_are_stored_as_one_canonical_text(client: TestClient, engine: Engine) -> None:
    post(client, [open_rec("S-1", supplements=[ANSWERED, OPEN])])
    # 08:00 +07:00 is 01:00 UTC, 15:30 is 08:30, 09:00 is 02:00.
    assert stored_text(engine, "S-1") == (
        '[{"requested_at":"2025-07-02T01:00:00Z","supplied_at":"2025-07-03T08:30:00Z"},'
        '{"requested_at":"2025-07-04T02:00:00Z","supplied_at":null}]'
    )
    post(client, [rec("S-2"), rec("S-3", supplements=[]), rec("S-4", supplements=None)])
    assert [stored_text(engine, c) for c in ("S-2", "S-3", "S-4")] == [None, None, None]


def test_the_same_requests_written_otherwise_are_unchanged(client: TestClient) -> None:
    post(client, [open_rec("U-1", supplements=[ANSWERED, OPEN]), rec("U-2")])
    same = [
        # The same instants in UTC, in +09:00 and naive (Vietnam time); supplied_at left out = null.
        {"requested_at": "2025-07-02T01:00:00Z", "supplied_at": "2025-07-03T17:30:00+09:00"},
        {"requested_at": "2025-07-04T09:00:00"},
    ]
    report = post(
        client,
        [open_rec("U-1", supplements=same), rec("U-2", supplements=[]), rec("U-2", supplements=None)],
    )
    assert counts(report) == tally(received=3, unchanged=3)
    # Old records (none of the new fields) and explicit defaults are one value too.
    report = post(client, [rec("U-2", complaint=False, population_data=False, from_personal_store=False)])
    assert counts(report) == tally(received=1, unchanged=1)


def test_a_changed_supply_is_an_update_or_a_conflict_at_the_same_updated_at(client: TestClient) -> None:
    post(client, [open_rec("C-1", supplements=[ANSWERED, OPEN])])
    answered = {**OPEN, "supplied_at": "2025-07-05T10:00:00+07:00"}
    report = post(client, [open_rec("C-1", supplements=[ANSWERED, answered])])
    assert report["errors"][0]["errors"][0]["type"] == "conflict"
    report = post(client, [open_rec("C-1", supplements=[ANSWERED, answered], updated_at=V2)])
    assert counts(report) == tally(received=1, updated=1)
    assert stored(client, "C-1")["supplements"] == [ANSWERED, answered]
    # A complaint alone is new content too.
    report = post(client, [open_rec("C-1", supplements=[ANSWERED, answered], updated_at=V2, complaint=True)])
    assert report["errors"][0]["errors"][0]["type"] == "conflict"


def test_the_stored_dossier_shows_its_inputs_in_vietnam_time(client: TestClient) -> None:
    supplements = [{"requested_at": "2025-07-02T01:00:00Z", "supplied_at": "2025-07-03T08:30:00Z"}]
    put = client.put(
        "/v1/dossiers/O-1",
        json=rec("O-1", supplements=supplements, complaint=True, from_personal_store=True),
    )
    assert put.status_code == 201, put.text
    expected = {
        "supplements": [ANSWERED],
        "complaint": True,
        "population_data": False,
        "from_personal_store": True,
    }
    assert {k: put.json()["dossier"][k] for k in expected} == expected
    assert {k: stored(client, "O-1")[k] for k in expected} == expected
    post(client, [rec("O-2")])
    listed = client.get("/v1/dossiers", params={"received_from": "2025-07-01"}).json()["items"]
    assert [(d["code"], {k: d[k] for k in expected}) for d in listed] == [
        ("O-1", expected),
        (
            "O-2",
            {"supplements": [], "complaint": False, "population_data": False, "from_personal_store": False},
        ),
    ]
