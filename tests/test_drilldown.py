"""GET /v1/dossiers (contract §3): filters, outcomes judged at the end of as_of or now, keyset pages."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factory import open_rec, rec
from tests.ingesting import post

# The clock stands at 2025-10-01 08:00 Vietnam time.
DATASET = [
    rec("EARLY"),  # received 1 Jul, due 10 Jul 17:00, resolved 8 Jul
    rec("LATE", resolved_at="2025-07-12T10:00:00+07:00", updated_at="2025-07-12T10:00:00+07:00"),
    open_rec("OVERDUE", received_at="2025-07-02T08:00:00+07:00"),  # due 10 Jul 17:00, still open
    open_rec("PENDING", received_at="2025-09-30T08:00:00+07:00", due_at="2025-10-01T17:00:00+07:00"),
    open_rec("DUE-THIS-MORNING", received_at="2025-09-30T08:00:00+07:00", due_at="2025-10-01T07:00:00+07:00"),
    rec("WITHDRAWN", status="withdrawn", resolved_at="2025-07-05T10:00:00+07:00"),
    rec(
        "ONLINE",
        agency_code="UBND-17329",
        commune_code="17329",
        sector="dat_dai",
        procedure_code="2.000123",
        channel="online",
        online_level="full",
    ),
]


@pytest.fixture
def dataset(client: TestClient) -> TestClient:
    assert post(client, DATASET)["created"] == len(DATASET)
    return client


def listing(client: TestClient, **params: Any) -> list[tuple[str, str | None]]:
    r = client.get("/v1/dossiers", params=params)
    assert r.status_code == 200, r.text
    return [(d["code"], d["outcome"]) for d in r.json()["items"]]


def test_without_filters_every_dossier_is_listed_in_code_order_with_its_outcome_now(
    dataset: TestClient,
) -> None:
    assert listing(dataset) == [
        ("DUE-THIS-MORNING", "pending_overdue"),  # due 07:00 today: overdue since then
        ("EARLY", "early"),
        ("LATE", "late"),
        ("ONLINE", "early"),
        ("OVERDUE", "pending_overdue"),
        ("PENDING", "pending"),  # due 17:00 today: not yet overdue
        ("WITHDRAWN", "withdrawn"),
    ]


def test_outcome_filters_are_repeatable(dataset: TestClient) -> None:
    assert listing(dataset, outcome="pending") == [("PENDING", "pending")]
    assert [c for c, _ in listing(dataset, outcome=["late", "withdrawn"])] == ["LATE", "WITHDRAWN"]


def test_as_of_judges_outcomes_at_the_end_of_that_day(dataset: TestClient) -> None:
    # End of 9 July: LATE and OVERDUE are still pending within their deadline (10 July 17:00),
    # dossiers received later are not listed.
    assert listing(dataset, as_of="2025-07-09") == [
        ("EARLY", "early"),
        ("LATE", "pending"),
        ("ONLINE", "early"),
        ("OVERDUE", "pending"),
        ("WITHDRAWN", "withdrawn"),
    ]
    assert listing(dataset, as_of="2025-07-10", outcome="pending_overdue") == [
        ("LATE", "pending_overdue"),
        ("OVERDUE", "pending_overdue"),
    ]
    # At the end of the day it is due, the dossier due this morning is already overdue.
    assert listing(dataset, as_of="2025-09-30", outcome=["pending", "pending_overdue"]) == [
        ("DUE-THIS-MORNING", "pending"),
        ("OVERDUE", "pending_overdue"),
        ("PENDING", "pending"),
    ]


def test_as_of_today_or_later_judges_now(dataset: TestClient) -> None:
    now = listing(dataset)
    assert listing(dataset, as_of="2025-10-01") == now
    assert listing(dataset, as_of="2025-12-31") == now


@pytest.mark.parametrize(
    ("params", "codes"),
    [
        ({"agency": "UBND-17329"}, ["ONLINE"]),
        ({"agency": ["UBND-17329", "000.00.03.H41"]}, ["ONLINE"]),
        ({"commune": "17329"}, ["ONLINE"]),
        ({"sector": "dat_dai"}, ["ONLINE"]),
        ({"procedure": "2.000123"}, ["ONLINE"]),
        ({"channel": "online"}, ["ONLINE"]),
        (
            {"channel": ["in_person", "postal"], "received_from": "2025-09-01"},
            ["DUE-THIS-MORNING", "PENDING"],
        ),
        ({"received_from": "2025-07-02", "received_to": "2025-07-02"}, ["OVERDUE"]),
    ],
)
def test_filters_narrow_the_list(dataset: TestClient, params: dict[str, Any], codes: list[str]) -> None:
    assert [c for c, _ in listing(dataset, **params)] == codes


def test_pages_follow_the_cursor_to_the_end(dataset: TestClient) -> None:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = dataset.get("/v1/dossiers", params=params).json()
        seen += [d["code"] for d in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [c for c, _ in listing(dataset)]


def test_a_page_that_ends_exactly_at_the_end_has_no_next_cursor(dataset: TestClient) -> None:
    assert dataset.get("/v1/dossiers", params={"limit": 7}).json()["next_cursor"] is None


def test_a_dossier_written_between_pages_is_not_lost_or_repeated(dataset: TestClient) -> None:
    first = dataset.get("/v1/dossiers", params={"limit": 2}).json()
    post(dataset, [rec("A-FIRST"), rec("ZZ-LAST")])
    rest = dataset.get("/v1/dossiers", params={"limit": 100, "cursor": first["next_cursor"]}).json()
    codes = [d["code"] for d in first["items"] + rest["items"]]
    assert codes == [
        "DUE-THIS-MORNING",
        "EARLY",
        "LATE",
        "ONLINE",
        "OVERDUE",
        "PENDING",
        "WITHDRAWN",
        "ZZ-LAST",
    ]


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"cursor": "!!!"}, ["query", "cursor"]),
        ({"limit": 0}, ["query", "limit"]),
        ({"limit": 1001}, ["query", "limit"]),
        ({"outcome": "lost"}, ["query", "outcome", 0]),
        ({"channel": "fax"}, ["query", "channel", 0]),
        ({"as_of": "2025-13-01"}, ["query", "as_of"]),
        ({"recieved_from": "2025-07-01"}, ["query", "recieved_from"]),
    ],
)
def test_a_bad_parameter_is_422_naming_it(
    dataset: TestClient, params: dict[str, Any], loc: list[Any]
) -> None:
    r = dataset.get("/v1/dossiers", params=params)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["loc"] for e in r.json()["errors"]] == [loc]


def test_get_of_an_unknown_code_is_404(client: TestClient) -> None:
    r = client.get("/v1/dossiers/NOPE")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
