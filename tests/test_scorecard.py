"""GET /v1/scorecard and the targets: comparators at their exact thresholds, null targets, ranking."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Clock
from tests.factory import open_rec, rec

URL = "/v1/scorecard"
DEFAULTS = [
    ("on_time", ">=", 0.95),
    ("online", ">=", 0.6),
    ("satisfaction", ">", 0.87),
    ("satisfaction_land_construction_investment", ">", 0.85),
    ("apology", "=", 1.0),
    ("pending_overdue", "=", 0),
]
AFTER_2025 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)  # 2025 has ended: its figures are final


@pytest.fixture
def after_2025(clock: Clock) -> Clock:
    clock.now = AFTER_2025
    return clock


def finished(code: str, agency: str, *, late: bool = False, **over: Any) -> dict[str, Any]:
    """Received 1 July 2025, due 10 July; finished on 8 July, or on 11 July when late."""
    if late:
        over = {"resolved_at": "2025-07-11T10:00:00+07:00", "updated_at": "2025-07-11T10:00:00+07:00", **over}
    return rec(code, agency_code=agency, **over)


def overdue(code: str, agency: str, **over: Any) -> dict[str, Any]:
    """Received 1 July 2025, due 10 July, still open."""
    return open_rec(code, agency_code=agency, updated_at="2025-07-01T08:00:00+07:00", **over)


def ingest(client: TestClient, records: list[dict[str, Any]]) -> None:
    r = client.post("/v1/dossiers", json=records)
    assert r.status_code == 200
    assert r.json()["rejected"] == 0, r.json()["errors"]


def row_of(body: dict[str, Any], code: str, unit: str = "agency") -> dict[str, Any]:
    return next(r for r in body["rows"] if r[unit] == code)


def judged(row: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {t["name"]: (t["value"], t["passed"]) for t in row["targets"]}


U1 = "000.00.01.H41"
U2 = "000.00.02.H41"


def at_the_thresholds() -> list[dict[str, Any]]:
    """U1: on time 95/100, online 60/100, satisfied 87/100, 5 late all with an apology, nothing overdue.
    U2: land/construction/investment satisfied 6 of 7, all sectors 6 of 8, one dossier overdue."""
    records = []
    for i in range(100):
        records.append(
            finished(
                f"U1-{i:03d}",
                U1,
                late=i < 5,
                apology_issued=i < 5,
                channel="online" if i < 60 else "in_person",
                rating="satisfied" if i < 87 else "neutral",
                sector="ho_tich",
            )
        )
    for i, sector in enumerate(["dat_dai"] * 4 + ["xay_dung", "dau_tu", "dau_tu", "ho_tich"]):
        rating = "very_satisfied" if i < 6 else ("neutral" if i == 6 else "dissatisfied")
        records.append(finished(f"U2-{i}", U2, sector=sector, rating=rating))
    records.append(overdue("U2-open", U2, sector="dat_dai"))
    return records


def test_default_targets_are_listed_as_defaults(client: TestClient) -> None:
    body = client.get("/v1/targets", params={"year": 2025}).json()
    assert body["year"] == 2025
    assert [(t["name"], t["comparator"], t["threshold"], t["default"]) for t in body["targets"]] == [
        (*d, True) for d in DEFAULTS
    ]
    assert client.get("/v1/targets").json()["year"] == 2025  # the clock's year


def test_targets_pass_at_their_exact_thresholds_and_strict_ones_fail(
    client: TestClient, after_2025: Clock
) -> None:
    ingest(client, at_the_thresholds())
    body = client.get(URL, params={"year": 2025}).json()
    assert (body["year"], body["basis"], body["from"], body["to"], body["targets_year"]) == (
        2025,
        "calendar",
        "2025-01-01",
        "2025-12-31",
        2025,
    )
    u1 = row_of(body, U1)
    assert [(t["name"], t["comparator"], t["threshold"]) for t in u1["targets"]] == DEFAULTS
    assert judged(u1) == {
        "on_time": (0.95, True),  # >= 0.95
        "online": (0.6, True),  # >= 0.60
        "satisfaction": (0.87, False),  # > 0.87 is strict
        "satisfaction_land_construction_investment": (None, None),  # no rated dossier of those sectors
        "apology": (1.0, True),  # = 1.0
        "pending_overdue": (0, True),  # = 0
    }
    assert (u1["passed"], u1["failed"], u1["rank"]) == (4, 1, 1)
    on_time = u1["targets"][0]
    assert (on_time["numerator"], on_time["denominator"]) == (95, 100)

    u2 = row_of(body, U2)
    assert judged(u2) == {
        "on_time": (1.0, True),
        "online": (0.0, False),
        "satisfaction": (0.75, False),
        "satisfaction_land_construction_investment": (6 / 7, True),
        "apology": (0.0, False),  # the overdue dossier has no apology
        "pending_overdue": (1, False),
    }
    lci = u2["targets"][3]
    assert (lci["numerator"], lci["denominator"]) == (6, 7)
    assert (u2["passed"], u2["failed"], u2["rank"]) == (2, 4, 2)


def test_scorecard_figures_are_those_of_the_metrics_for_the_same_range(
    client: TestClient, after_2025: Clock
) -> None:
    ingest(client, at_the_thresholds())
    card = client.get(URL, params={"year": 2025}).json()
    metrics = client.get(
        "/v1/metrics", params={"from": "2025-01-01", "to": "2025-12-31", "group_by": "agency"}
    ).json()
    for m in metrics["rows"]:
        row = row_of(card, m["agency"])
        assert (row["counts"], row["rates"]) == (m["counts"], m["rates"])


def test_a_unit_with_no_dossiers_has_every_target_null_and_counts_in_neither_total(
    client: TestClient, after_2025: Clock
) -> None:
    ingest(client, at_the_thresholds())
    body = client.get(URL, params={"year": 2025}).json()
    assert len(body["rows"]) == 16 + 130  # every registered agency
    idle = row_of(body, "000.00.03.H41")
    assert idle["agency_name"] == "Sở Tài chính"
    assert [(t["value"], t["passed"]) for t in idle["targets"]] == [(None, None)] * 6
    assert (idle["passed"], idle["failed"]) == (0, 0)


def test_ranking_breaks_ties_by_failed_then_on_time_then_online_then_code(
    client: TestClient, after_2025: Clock
) -> None:
    w, p, q, r, s, t = (f"000.00.{n:02d}.H41" for n in (10, 4, 5, 6, 8, 9))
    ingest(
        client,
        [
            # W passes on_time, online and pending_overdue: 3.
            finished("W-1", w, channel="online"),
            # P, Q, R, S, T pass pending_overdue only: 1 each. P, Q, R and S fail 3 (on time, online,
            # apology); T fails online only, so T ranks first among them.
            finished("P-1", p, channel="online"),
            finished("P-2", p, late=True),  # on time 0.5, online 0.5
            finished("Q-1", q),
            finished("Q-2", q, late=True),  # on time 0.5, online 0.0
            finished("R-1", r, channel="online"),
            finished("R-2", r, late=True),  # as P: the code decides
            finished("S-1", s, late=True),  # on time 0.0
            open_rec("T-1", agency_code=t, due_at="2026-03-01T17:00:00+07:00"),  # on time null
        ],
    )
    body = client.get(URL, params={"year": 2025}).json()
    order = [(row["agency"], row["passed"], row["failed"]) for row in body["rows"][:7]]
    assert order == [
        (w, 3, 0),
        (t, 1, 1),
        (p, 1, 3),
        (r, 1, 3),
        (q, 1, 3),
        (s, 1, 3),
        ("000.00.01.H41", 0, 0),
    ]
    assert row_of(body, s)["rates"]["on_time"] == 0.0
    assert row_of(body, t)["rates"]["on_time"] is None
    assert [row["rank"] for row in body["rows"]] == list(range(1, 147))
    # Idle units follow, by code: the departments, then the commune committees.
    assert [row["agency"] for row in body["rows"][-2:]] == ["UBND-18028", "UBND-18040"]


def test_reporting_basis_year_runs_from_15_december_to_14_december(
    client: TestClient, after_2025: Clock
) -> None:
    ingest(
        client,
        [
            finished(
                "DEC-2024",
                U1,
                received_at="2024-12-20T08:00:00+07:00",
                due_at="2024-12-30T17:00:00+07:00",
                resolved_at="2024-12-22T08:00:00+07:00",
                updated_at="2024-12-22T08:00:00+07:00",
            ),
            finished(
                "DEC-2025",
                U1,
                received_at="2025-12-20T08:00:00+07:00",
                due_at="2025-12-30T17:00:00+07:00",
                resolved_at="2025-12-22T08:00:00+07:00",
                updated_at="2025-12-22T08:00:00+07:00",
                channel="online",
            ),
        ],
    )
    reporting = client.get(URL, params={"year": 2025, "basis": "reporting"}).json()
    assert (reporting["basis"], reporting["from"], reporting["to"]) == (
        "reporting",
        "2024-12-15",
        "2025-12-14",
    )
    assert row_of(reporting, U1)["counts"]["received"] == 1
    assert row_of(reporting, U1)["rates"]["online"] == 0.0
    calendar = client.get(URL, params={"year": 2025}).json()
    assert row_of(calendar, U1)["counts"]["received"] == 1
    assert row_of(calendar, U1)["rates"]["online"] == 1.0


def test_from_and_to_take_the_targets_of_the_year_of_to(client: TestClient, after_2025: Clock) -> None:
    assert client.put("/v1/targets/2025", json={"online": 0.5}).status_code == 200
    ingest(client, [finished("X-1", U1, channel="online"), finished("X-2", U1)])
    body = client.get(URL, params={"from": "2025-07-01", "to": "2025-07-31"}).json()
    assert (body["year"], body["basis"], body["from"], body["to"], body["targets_year"]) == (
        None,
        None,
        "2025-07-01",
        "2025-07-31",
        2025,
    )
    online = row_of(body, U1)["targets"][1]
    assert (online["value"], online["threshold"], online["passed"]) == (0.5, 0.5, True)


def test_commune_scorecard_ranks_every_ward_and_leaves_out_dossiers_without_one(
    client: TestClient, after_2025: Clock
) -> None:
    ingest(
        client,
        [
            finished("C-1", "UBND-17329", commune_code="17329", channel="online"),
            finished("C-2", "UBND-17329"),  # no commune: in no ward's row
        ],
    )
    body = client.get(URL, params={"year": 2025, "unit": "commune"}).json()
    assert body["unit"] == "commune"
    assert len(body["rows"]) == 130
    first = body["rows"][0]
    assert (first["commune"], first["commune_name"], first["rank"]) == ("17329", "Xã Anh Sơn", 1)
    assert first["counts"]["received"] == 1
    assert (first["passed"], first["failed"]) == (3, 0)
    assert "agency" not in first


def test_put_targets_changes_the_results_and_the_etag(client: TestClient, after_2025: Clock) -> None:
    ingest(client, at_the_thresholds())
    before = client.get(URL, params={"year": 2025})
    tag = before.headers["etag"]
    assert client.get(URL, params={"year": 2025}, headers={"If-None-Match": tag}).status_code == 304

    put = client.put(
        "/v1/targets/2025", json=[{"name": "satisfaction", "threshold": 0.86, "comparator": ">"}]
    )
    assert put.status_code == 200
    listed = {t["name"]: (t["threshold"], t["default"]) for t in put.json()["targets"]}
    assert listed["satisfaction"] == (0.86, False)
    assert listed["on_time"] == (0.95, True)
    assert client.get("/v1/targets", params={"year": 2025}).json() == put.json()

    after = client.get(URL, params={"year": 2025}, headers={"If-None-Match": tag})
    assert after.status_code == 200
    assert after.headers["etag"] != tag
    u1 = row_of(after.json(), U1)
    assert judged(u1)["satisfaction"] == (0.87, True)
    assert (u1["passed"], u1["failed"]) == (5, 0)

    # Another year's targets leave 2025 alone; an empty body restores the defaults.
    assert client.put("/v1/targets/2024", json={"satisfaction": 0.5}).status_code == 200
    assert judged(row_of(client.get(URL, params={"year": 2025}).json(), U1))["satisfaction"] == (0.87, True)
    reset = client.put("/v1/targets/2025", json=[]).json()
    assert [(t["name"], t["comparator"], t["threshold"], t["default"]) for t in reset["targets"]] == [
        (*d, True) for d in DEFAULTS
    ]
    assert client.get(URL, params={"year": 2025}).headers["etag"] == tag


def test_a_pending_overdue_target_of_one_lets_one_overdue_dossier_pass(
    client: TestClient, after_2025: Clock
) -> None:
    ingest(client, at_the_thresholds())
    assert client.put("/v1/targets/2025", json={"pending_overdue": 1}).status_code == 200
    target = row_of(client.get(URL, params={"year": 2025}).json(), U2)["targets"][5]
    assert (target["value"], target["comparator"], target["threshold"], target["passed"]) == (1, "=", 1, True)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"on_time": 0.9, "speed": 1}, ["body", "speed"]),
        ([{"name": "speed", "threshold": 1}], ["body", 0, "name"]),
        ([{"name": "on_time", "threshold": 0.9, "comparator": "<"}], ["body", 0, "comparator"]),
        ([{"name": "on_time", "threshold": 0.9}, {"name": "on_time", "threshold": 0.8}], ["body", 1, "name"]),
        ({"online": 1.5}, ["body", "online"]),
        ({"pending_overdue": 0.5}, ["body", "pending_overdue"]),
        ({"pending_overdue": -1}, ["body", "pending_overdue"]),
        ({"apology": "all"}, ["body", "apology"]),
        ([{"name": "on_time"}], ["body", 0, "threshold"]),
        ([{"name": "on_time", "threshold": 0.9, "weight": 2}], ["body", 0, "weight"]),
        ("on_time", ["body"]),
    ],
)
def test_invalid_targets_are_422_naming_the_entry(client: TestClient, body: Any, loc: list[Any]) -> None:
    r = client.put("/v1/targets/2025", json=body)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["loc"] for e in r.json()["errors"]] == [loc]
    assert client.get("/v1/targets", params={"year": 2025}).json()["targets"][0]["default"] is True


def test_setting_targets_needs_an_admin_token(anon: TestClient) -> None:
    r = anon.put("/v1/targets/2025", json={"on_time": 0.9})
    assert r.status_code == 401
    assert anon.get("/v1/targets").status_code == 200


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"year": 2025, "from": "2025-01-01", "to": "2025-02-01"}, ["query", "year"]),
        ({"from": "2025-01-01"}, ["query", "to"]),
        ({"to": "2025-01-01"}, ["query", "from"]),
        ({"from": "2025-01-01", "to": "2025-02-01", "basis": "reporting"}, ["query", "basis"]),
        ({"from": "2025-02-01", "to": "2025-01-01"}, ["query", "to"]),
        ({"unit": "sector"}, ["query", "unit"]),
        ({"year": 1999}, ["query", "year"]),
        ({"period": "2025"}, ["query", "period"]),
    ],
)
def test_bad_scorecard_parameters_are_422_naming_the_parameter(
    client: TestClient, params: dict[str, Any], loc: list[str]
) -> None:
    r = client.get(URL, params=params)
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["errors"]] == [loc]
