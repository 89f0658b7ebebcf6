"""Each year's target set: the built-in sets as shipped (2025, 2026), the year fallback, an administrator's
override with its comparator and source, and the scorecard's rank by passed, then failed, then rates."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.reference.target_sets import shipped_target_files
from app.reports.targets import builtin_sets, parse_target_set, set_for_year
from tests.conftest import Clock
from tests.factory import open_rec, rec

URL = "/v1/scorecard"
X = "000.00.11.H41"  # a department with exactly 98% on time in each year below

SET_2025 = [
    ("on_time", ">=", 0.95),
    ("online", ">=", 0.6),
    ("satisfaction", ">", 0.87),
    ("satisfaction_land_construction_investment", ">", 0.85),
    ("apology", "=", 1.0),
    ("pending_overdue", "=", 0),
]
SET_2026 = [
    ("on_time", ">", 0.98),
    ("online", ">=", 0.6),  # carried from 2025
    ("satisfaction", ">=", 0.95),
    ("satisfaction_land_construction_investment", ">", 0.85),
    ("apology", "=", 1.0),
    ("pending_overdue", "=", 0),
]


@pytest.fixture
def after_2027(clock: Clock) -> Clock:
    clock.now = datetime(2028, 1, 5, 2, 0, tzinfo=UTC)  # 2024 to 2027 have ended
    return clock


def ingest(client: TestClient, records: list[dict[str, Any]]) -> None:
    r = client.post("/v1/dossiers", json=records)
    assert r.status_code == 200
    assert r.json()["rejected"] == 0, r.json()["errors"]


def ninety_eight_percent(year: int) -> list[dict[str, Any]]:
    """X in `year`: 50 dossiers received 1 July, due 10 July, all online; 49 finished on 8 July, one on
    11 July (late, with an apology). On time 49/50 = 0.98 exactly; online 50/50; apology 1/1; 20 rated,
    19 satisfied: satisfaction 19/20 = 0.95 exactly; nothing overdue."""
    out = []
    for i in range(50):
        late = i == 49
        day = "11" if late else "08"
        out.append(
            rec(
                f"X-{year}-{i:02d}",
                agency_code=X,
                channel="online",
                received_at=f"{year}-07-01T08:00:00+07:00",
                due_at=f"{year}-07-10T17:00:00+07:00",
                resolved_at=f"{year}-07-{day}T10:00:00+07:00",
                updated_at=f"{year}-07-{day}T10:00:00+07:00",
                apology_issued=late,
                sector="ho_tich",
                rating=("satisfied" if i < 19 else "neutral") if i < 20 else None,
            )
        )
    return out


def row_of(body: dict[str, Any], code: str) -> dict[str, Any]:
    return next(r for r in body["rows"] if r["agency"] == code)


def judged(row: dict[str, Any]) -> dict[str, tuple[Any, str, Any, Any]]:
    return {t["name"]: (t["value"], t["comparator"], t["threshold"], t["passed"]) for t in row["targets"]}


def listed(body: dict[str, Any]) -> list[tuple[str, str, Any]]:
    return [(t["name"], t["comparator"], t["threshold"]) for t in body["targets"]]


# ---------------------------------------------------------------- the built-in sets


def test_the_shipped_sets_are_2025_and_2026_with_their_comparators_and_sources() -> None:
    sets = builtin_sets()
    assert [s.year for s in sets] == [2025, 2026]
    assert [(t.name, t.comparator, t.threshold) for t in sets[0].targets] == SET_2025
    assert [(t.name, t.comparator, t.threshold) for t in sets[1].targets] == SET_2026
    assert all("2228/QĐ-UBND" in t.source for t in sets[0].targets)
    # 2026: the press report's decision number, marked unverified; online carried from 2025, and said so.
    assert (sets[1].verified, "4820/QĐ-UBND" in sets[1].document) == (False, True)
    sources = {t.name: t.source for t in sets[1].targets}
    assert sources["online"].startswith("Carried from 2025 (QĐ 2228/QĐ-UBND")
    assert all("unverified" in s for n, s in sources.items() if n != "online")


@pytest.mark.parametrize(
    ("year", "set_year"), [(2000, 2025), (2024, 2025), (2025, 2025), (2026, 2026), (2027, 2026), (2100, 2026)]
)
def test_a_year_uses_its_own_set_else_the_latest_earlier_else_the_first(year: int, set_year: int) -> None:
    assert set_for_year(year).year == set_year


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["targets"].pop(), "missing pending_overdue"),
        (lambda s: s["targets"][0].update(comparator="<"), "comparator '<' is not one of >=, >, ="),
        (lambda s: s["targets"][1].update(threshold=1.5), "online: a rate threshold lies in [0, 1]"),
        (lambda s: s["targets"][5].update(threshold=0.5), "a count threshold is a whole number >= 0"),
        (lambda s: s["targets"][2].update(source=" "), "satisfaction: every target names its source"),
        (lambda s: s["targets"].append(dict(s["targets"][0])), "'on_time' is unknown or repeated"),
    ],
)
def test_a_broken_set_file_is_refused_naming_what_is_wrong(change: Any, message: str) -> None:
    raw = copy.deepcopy(shipped_target_files()[1])
    change(raw)
    with pytest.raises(
        ValueError, match="target set 2026: .*" + message.replace("[", r"\[").replace("]", r"\]")
    ):
        parse_target_set(raw)


# ---------------------------------------------------------------- GET /v1/targets


def test_targets_name_the_set_each_year_resolves_to(client: TestClient) -> None:
    for year, set_year, expected in [
        (2024, 2025, SET_2025),
        (2025, 2025, SET_2025),
        (2026, 2026, SET_2026),
        (2027, 2026, SET_2026),
    ]:
        body = client.get("/v1/targets", params={"year": year}).json()
        assert (body["year"], body["target_set_year"]) == (year, set_year)
        assert listed(body) == expected
        assert all(t["default"] for t in body["targets"])
    body = client.get("/v1/targets", params={"year": 2027}).json()
    on_time = body["targets"][0]
    assert on_time["source"] == (
        "QĐ 4820/QĐ-UBND, 2026 plan as Lao Động reported it on 29/12/2025 (unverified): "
        "over 98% of dossiers resolved on time or early"
    )


# ---------------------------------------------------------------- the scorecard per year


def test_exactly_98_percent_on_time_passes_2025_and_fails_2026_and_2027(
    client: TestClient, after_2027: Clock
) -> None:
    ingest(client, [r for y in (2024, 2025, 2026, 2027) for r in ninety_eight_percent(y)])
    for year, set_year, on_time, satisfaction in [
        # 2024 and 2025 judge by 2025's set: 0.98 >= 0.95 passes; 0.95 > 0.87 passes.
        (2024, 2025, (0.98, ">=", 0.95, True), (0.95, ">", 0.87, True)),
        (2025, 2025, (0.98, ">=", 0.95, True), (0.95, ">", 0.87, True)),
        # 2026 and 2027 judge by 2026's: 0.98 > 0.98 fails; 0.95 >= 0.95 passes.
        (2026, 2026, (0.98, ">", 0.98, False), (0.95, ">=", 0.95, True)),
        (2027, 2026, (0.98, ">", 0.98, False), (0.95, ">=", 0.95, True)),
    ]:
        body = client.get(URL, params={"year": year}).json()
        assert (body["targets_year"], body["target_set_year"]) == (year, set_year)
        x = row_of(body, X)
        assert judged(x) == {
            "on_time": on_time,
            "online": (1.0, ">=", 0.6, True),
            "satisfaction": satisfaction,
            "satisfaction_land_construction_investment": (None, ">", 0.85, None),  # no such sector
            "apology": (1.0, "=", 1.0, True),
            "pending_overdue": (0, "=", 0, True),
        }
        # 2025's set: all five judged pass; 2026's: on time fails.
        assert (x["passed"], x["failed"]) == ((5, 0) if set_year == 2025 else (4, 1))
        assert x["rank"] == 1
    # from/to inside 2027 takes 2027's targets, so 2026's set.
    ranged = client.get(URL, params={"from": "2027-07-01", "to": "2027-07-31"}).json()
    assert (ranged["targets_year"], ranged["target_set_year"]) == (2027, 2026)
    assert judged(row_of(ranged, X))["on_time"] == (0.98, ">", 0.98, False)


# ---------------------------------------------------------------- overrides


def test_an_override_sets_its_comparator_and_source_over_the_year_set_only(
    client: TestClient, after_2027: Clock
) -> None:
    ingest(client, ninety_eight_percent(2026) + ninety_eight_percent(2027))
    source = "Công văn 123/UBND-KSTT ngày 2/3/2026"
    put = client.put(
        "/v1/targets/2026",
        json=[
            {"name": "on_time", "threshold": 0.98, "comparator": ">=", "source": source},
            {"name": "online", "threshold": 0.7},  # no comparator: 2026's (>=); no source
        ],
    )
    assert put.status_code == 200
    got = client.get("/v1/targets", params={"year": 2026}).json()
    assert got == put.json()
    assert got["target_set_year"] == 2026
    by_name = {t["name"]: t for t in got["targets"]}
    assert (by_name["on_time"]["comparator"], by_name["on_time"]["threshold"]) == (">=", 0.98)
    assert (by_name["on_time"]["source"], by_name["on_time"]["default"]) == (source, False)
    assert (by_name["online"]["comparator"], by_name["online"]["threshold"]) == (">=", 0.7)
    assert by_name["online"]["source"] == "Set by an administrator for 2026; no source given"
    # Names left out keep 2026's built-in targets.
    assert listed(got)[2:] == SET_2026[2:]
    assert [t["default"] for t in got["targets"]] == [False, False, True, True, True, True]

    # 2026's scorecard: 0.98 >= 0.98 now passes; online 1.0 >= 0.7 passes.
    x = row_of(client.get(URL, params={"year": 2026}).json(), X)
    assert judged(x)["on_time"] == (0.98, ">=", 0.98, True)
    assert judged(x)["online"] == (1.0, ">=", 0.7, True)
    assert (x["passed"], x["failed"]) == (5, 0)
    # 2027 does not inherit 2026's override: still 2026's built-in set.
    later = client.get("/v1/targets", params={"year": 2027}).json()
    assert (later["target_set_year"], listed(later)) == (2026, SET_2026)
    assert judged(row_of(client.get(URL, params={"year": 2027}).json(), X))["on_time"] == (
        0.98,
        ">",
        0.98,
        False,
    )

    # An override of 2027 without a comparator takes the one of the set 2027 uses (2026's ">").
    assert client.put("/v1/targets/2027", json={"on_time": 0.97}).status_code == 200
    t27 = client.get("/v1/targets", params={"year": 2027}).json()["targets"][0]
    assert (t27["comparator"], t27["threshold"], t27["default"]) == (">", 0.97, False)
    assert judged(row_of(client.get(URL, params={"year": 2027}).json(), X))["on_time"] == (
        0.98,
        ">",
        0.97,
        True,
    )

    # An empty body restores 2026's built-in set, sources included.
    reset = client.put("/v1/targets/2026", json=[]).json()
    assert listed(reset) == SET_2026
    assert reset["targets"][0]["source"].startswith("QĐ 4820/QĐ-UBND")


@pytest.mark.parametrize(
    ("entry", "loc"),
    [
        ({"name": "on_time", "threshold": 0.9, "comparator": "<"}, ["body", 0, "comparator"]),
        ({"name": "on_time", "threshold": 0.9, "source": "x" * 501}, ["body", 0, "source"]),
        ({"name": "on_time", "threshold": 0.9, "source": "line\nbreak"}, ["body", 0, "source"]),
        ({"name": "on_time", "threshold": 0.9, "source": 7}, ["body", 0, "source"]),
        ({"name": "pending_overdue", "threshold": 1.5, "comparator": ">"}, ["body", 0, "threshold"]),
    ],
)
def test_a_bad_override_is_422_naming_the_field(
    client: TestClient, entry: dict[str, Any], loc: list[Any]
) -> None:
    r = client.put("/v1/targets/2026", json=[entry])
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["loc"] for e in r.json()["errors"]] == [loc]
    assert all(t["default"] for t in client.get("/v1/targets", params={"year": 2026}).json()["targets"])


def test_a_source_of_500_characters_is_kept(client: TestClient) -> None:
    text = "Q" * 500
    r = client.put("/v1/targets/2026", json=[{"name": "apology", "threshold": 1.0, "source": text}])
    assert r.status_code == 200
    assert r.json()["targets"][4]["source"] == text


# ---------------------------------------------------------------- the rank


def test_rank_is_passed_then_fewer_failed_then_on_time_online_and_code(
    client: TestClient, clock: Clock
) -> None:
    clock.now = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)  # 2025 has ended; judged by 2025's set
    a, b, c1, c2, d, u, t = (f"000.00.{n:02d}.H41" for n in (12, 13, 5, 6, 14, 15, 16))
    late = {"resolved_at": "2025-07-11T10:00:00+07:00", "updated_at": "2025-07-11T10:00:00+07:00"}
    ingest(
        client,
        [
            # A: late, online, apologised: on time 0/1 F, online 1/1 P, apology 1/1 P, overdue 0 P -> 3, 1.
            rec("A-1", agency_code=a, channel="online", apology_issued=True, **late),
            # B: two on time, online; rated neutral (dat_dai) and satisfied: on time 1 P, online 1 P,
            # satisfaction 1/2 F, land etc. 0/1 F, apology null, overdue 0 P -> 3, 2. Better on time than
            # A, but one failure more: B after A.
            rec("B-1", agency_code=b, channel="online", sector="dat_dai", rating="neutral"),
            rec("B-2", agency_code=b, channel="online", sector="ho_tich", rating="satisfied"),
            # C1, C2: on time, in person: on time 1 P, online 0/1 F, overdue 0 P -> 2, 1; the code decides.
            rec("C1-1", agency_code=c1),
            rec("C2-1", agency_code=c2),
            # D: two on time, one online: on time 1 P, online 1/2 F, overdue 0 P -> 2, 1; online 0.5 > 0.
            rec("D-1", agency_code=d, channel="online"),
            rec("D-2", agency_code=d),
            # U: received in 2024 (carried over), finished late in 2025 with an apology: on time 0/1 F,
            # online null (nothing received in 2025), apology 1/1 P, overdue 0 P -> 2, 1; on time 0.0.
            rec(
                "U-1",
                agency_code=u,
                received_at="2024-12-20T08:00:00+07:00",
                due_at="2025-01-05T17:00:00+07:00",
                resolved_at="2025-01-10T10:00:00+07:00",
                updated_at="2025-01-10T10:00:00+07:00",
                apology_issued=True,
            ),
            # T: open past its deadline, online, apologised: on time null, online 1/1 P, apology 1/1 P,
            # overdue 1 F -> 2, 1; a null on-time rate ranks below U's 0.0.
            open_rec("T-1", agency_code=t, channel="online", apology_issued=True),
        ],
    )
    body = client.get(URL, params={"year": 2025}).json()
    top = [
        (r["agency"], r["passed"], r["failed"], r["rates"]["on_time"], r["rates"]["online"])
        for r in body["rows"][:7]
    ]
    assert top == [
        (a, 3, 1, 0.0, 1.0),
        (b, 3, 2, 1.0, 1.0),
        (d, 2, 1, 1.0, 0.5),
        (c1, 2, 1, 1.0, 0.0),
        (c2, 2, 1, 1.0, 0.0),
        (u, 2, 1, 0.0, None),
        (t, 2, 1, None, 1.0),
    ]
    assert [r["rank"] for r in body["rows"][:8]] == list(range(1, 9))
    # Then the units with nothing judged (0 passed, 0 failed), by code.
    assert (body["rows"][7]["agency"], body["rows"][7]["passed"], body["rows"][7]["failed"]) == (
        "000.00.01.H41",
        0,
        0,
    )
