"""GET /v1/metrics on a hand-built dataset: every count and rate, at the borders that matter."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Clock
from tests.factory import AGENCY, COMMUNE, COMMUNE_AGENCY, open_rec, rec

OTHER_COMMUNE = "17380"  # Xã Yên Xuân


def dataset() -> list[dict[str, Any]]:
    """Eleven dossiers around July 2025; the comment on each says what it tests."""
    return [
        # early: resolved on the 8th, due the 10th; online full, paid online, digitised, very satisfied
        rec(
            "D1",
            received_at="2025-07-01T08:00:00+07:00",
            due_at="2025-07-10T17:00:00+07:00",
            resolved_at="2025-07-08T10:00:00+07:00",
            channel="online",
            online_level="full",
            fee_required=True,
            paid_online=True,
            digitised_intake=True,
            digitised_result=True,
            rating="very_satisfied",
            commune_code=COMMUNE,
            sector="xay_dung",
        ),
        # resolved exactly at its deadline: on time
        rec(
            "D2",
            received_at="2025-07-02T08:00:00+07:00",
            due_at="2025-07-10T17:00:00+07:00",
            resolved_at="2025-07-10T17:00:00+07:00",
            digitised_intake=True,
            rating="dissatisfied",
            commune_code=COMMUNE,
            sector="xay_dung",
        ),
        # on its due date but after the hour: late, apologised; by post
        rec(
            "D3",
            received_at="2025-07-03T08:00:00+07:00",
            due_at="2025-07-10T17:00:00+07:00",
            resolved_at="2025-07-10T18:00:00+07:00",
            channel="postal",
            apology_issued=True,
            commune_code=COMMUNE,
            sector="xay_dung",
        ),
        # no deadline: on time; reused data
        rec(
            "D4",
            received_at="2025-07-04T08:00:00+07:00",
            due_at=None,
            resolved_at="2025-07-31T09:00:00+07:00",
            reused_digital_data=True,
            commune_code=COMMUNE,
            sector="dat_dai",
            agency_code=COMMUNE_AGENCY,
        ),
        # withdrawn: neither finished nor pending once withdrawn
        rec(
            "D5",
            received_at="2025-07-05T08:00:00+07:00",
            due_at="2025-07-20T17:00:00+07:00",
            resolved_at="2025-07-06T08:00:00+07:00",
            status="withdrawn",
            commune_code=COMMUNE,
            sector="dat_dai",
            agency_code=COMMUNE_AGENCY,
        ),
        # rejected after its deadline: finished late, no apology; a fee not paid online
        rec(
            "D6",
            received_at="2025-07-06T08:00:00+07:00",
            due_at="2025-07-15T17:00:00+07:00",
            resolved_at="2025-07-20T08:00:00+07:00",
            status="rejected",
            fee_required=True,
            commune_code=OTHER_COMMUNE,
            sector="dat_dai",
            agency_code=COMMUNE_AGENCY,
        ),
        # still processing, overdue since 25 July, apologised; no commune
        open_rec(
            "D7",
            received_at="2025-07-07T08:00:00+07:00",
            due_at="2025-07-25T17:00:00+07:00",
            apology_issued=True,
            updated_at="2025-07-26T08:00:00+07:00",
        ),
        # received 23:30 local on 31 July (16:30 UTC): a July dossier; online partial; due 20 August 17:00
        open_rec(
            "D8",
            received_at="2025-07-31T23:30:00+07:00",
            due_at="2025-08-20T17:00:00+07:00",
            channel="online",
            online_level="partial",
            updated_at="2025-07-31T23:30:00+07:00",
            commune_code=COMMUNE,
            sector="xay_dung",
        ),
        # received 00:30 local on 1 August, written in UTC (31 July 17:30Z): an August dossier
        open_rec(
            "D9",
            received_at="2025-07-31T17:30:00Z",
            due_at="2025-09-30",
            updated_at="2025-07-31T17:30:00Z",
            commune_code=COMMUNE,
            sector="xay_dung",
        ),
        # received in June, late, finished in July: carried over into July
        rec(
            "D10",
            received_at="2025-06-20T08:00:00+07:00",
            due_at="2025-06-30T17:00:00+07:00",
            resolved_at="2025-07-02T08:00:00+07:00",
            commune_code=COMMUNE,
            sector="xay_dung",
        ),
        # received in June, waiting for a supplement, overdue since 5 July
        open_rec(
            "D11",
            received_at="2025-06-25T08:00:00+07:00",
            due_at="2025-07-05T17:00:00+07:00",
            status="supplement_requested",
            updated_at="2025-06-26T08:00:00+07:00",
            commune_code=COMMUNE,
            sector="xay_dung",
        ),
    ]


@pytest.fixture
def loaded(client: TestClient) -> TestClient:
    r = client.post("/v1/dossiers", json=dataset())
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 11, r.json()
    return client


JULY = {
    "received": 8,
    "received_online": 2,
    "received_full_online": 1,
    "fee_required": 2,
    "paid_online": 1,
    "digitised_intake": 2,
    "reused_digital_data": 1,
    "finished": 6,
    "finished_early": 1,
    "finished_on_time": 2,
    "finished_late": 3,
    "digitised_result": 1,
    "rated": 2,
    "satisfied": 1,
    "withdrawn": 1,
    "carried_over": 2,
    "pending": 3,
    "pending_overdue": 2,
    "late_apologised": 2,
    # The form's balance: 8 received + 2 carried over = 7 closed (6 finished, D5 withdrawn) + 3 pending;
    # D5, withdrawn on 6 July before its deadline (20 July), is closed early.
    "received_total": 10,
    "closed": 7,
    "closed_early": 2,
    "closed_on_time": 2,
    "closed_late": 3,
}


def test_every_count_and_rate_for_july(loaded: TestClient) -> None:
    body = loaded.get("/v1/metrics", params={"from": "2025-07-01", "to": "2025-07-31"}).json()
    assert body["totals"]["counts"] == JULY
    assert body["totals"]["rates"] == {
        "on_time": 3 / 6,
        "on_time_766": 4 / 9,
        "online": 2 / 8,
        "full_online": 1 / 8,
        "online_payment": 1 / 2,
        "intake_digitisation": 2 / 8,
        "result_digitisation": 1 / 6,
        "data_reuse": 1 / 8,
        "apology": 2 / 5,
        "satisfaction": 1 / 2,
    }
    assert body["rows"] == [{"counts": JULY, "rates": body["totals"]["rates"]}]
    assert body["from"] == "2025-07-01" and body["to"] == "2025-07-31" and body["group_by"] == []


def test_months_cut_to_the_range_and_states_at_each_bucket_end(loaded: TestClient) -> None:
    body = loaded.get(
        "/v1/metrics", params={"from": "2025-07-15", "to": "2025-08-31", "group_by": "month"}
    ).json()
    july, august = body["rows"]
    assert july["month"] == "2025-07" and august["month"] == "2025-08"
    # 15-31 July: D8 received; D4 and D6 finished; D10 finished on 2 July is outside
    assert (july["counts"]["received"], july["counts"]["finished"]) == (1, 2)
    # pending at the end of 14 July: D4, D6, D7, D11 (D5 withdrawn on the 6th)
    assert july["counts"]["carried_over"] == 4
    assert (july["counts"]["pending"], july["counts"]["pending_overdue"]) == (3, 2)
    assert august["counts"]["received"] == 1
    assert august["counts"]["carried_over"] == 3
    # end of August: D7, D8 (due 20 August), D9, D11 pending; D7, D8, D11 overdue
    assert (august["counts"]["pending"], august["counts"]["pending_overdue"]) == (4, 3)
    totals = body["totals"]["counts"]
    assert totals["received"] == 2 and totals["carried_over"] == 4 and totals["pending"] == 4


def test_no_rate_on_a_zero_denominator(loaded: TestClient) -> None:
    body = loaded.get("/v1/metrics", params={"from": "2025-09-01", "to": "2025-09-30"}).json()
    assert body["totals"]["counts"]["received"] == 0
    assert body["totals"]["rates"]["online"] is None
    assert body["totals"]["rates"]["on_time"] is None
    assert body["totals"]["counts"]["pending"] == 4


def test_rows_for_null_keys_add_up_to_totals(loaded: TestClient) -> None:
    body = loaded.get(
        "/v1/metrics", params={"from": "2025-07-01", "to": "2025-07-31", "group_by": "commune"}
    ).json()
    keys = [(r["commune"], r["commune_name"]) for r in body["rows"]]
    assert keys == [(COMMUNE, "Xã Anh Sơn"), (OTHER_COMMUNE, "Xã Yên Xuân"), (None, None)]
    for name in JULY:
        assert sum(r["counts"][name] for r in body["rows"]) == JULY[name], name
    no_commune = body["rows"][2]["counts"]
    assert (no_commune["received"], no_commune["pending"], no_commune["pending_overdue"]) == (1, 1, 1)


def test_group_by_agency_and_sector_ordered_with_names(loaded: TestClient) -> None:
    body = loaded.get(
        "/v1/metrics", params={"from": "2025-07-01", "to": "2025-07-31", "group_by": ["agency", "sector"]}
    ).json()
    keys = [(r["agency"], r["sector"]) for r in body["rows"]]
    assert keys == [(AGENCY, "xay_dung"), (AGENCY, None), (COMMUNE_AGENCY, "dat_dai")]
    assert body["rows"][0]["agency_name"] == "Sở Xây dựng"
    dat_dai = body["rows"][2]["counts"]
    assert (dat_dai["received"], dat_dai["finished"], dat_dai["withdrawn"], dat_dai["finished_late"]) == (
        3,
        2,
        1,
        1,
    )


def test_filters_narrow_every_count(loaded: TestClient) -> None:
    body = loaded.get(
        "/v1/metrics", params={"from": "2025-07-01", "to": "2025-07-31", "channel": "online"}
    ).json()
    c = body["totals"]["counts"]
    assert (c["received"], c["finished"], c["pending"]) == (2, 1, 1)
    two = loaded.get(
        "/v1/metrics",
        params={
            "from": "2025-07-01",
            "to": "2025-07-31",
            "sector": ["dat_dai", "xay_dung"],
            "group_by": "procedure",
        },
    ).json()
    assert [r["procedure"] for r in two["rows"]] == ["1.004227"]
    assert two["totals"]["counts"]["received"] == 7


def test_midnight_local_not_utc_decides_the_day(loaded: TestClient) -> None:
    body = loaded.get(
        "/v1/metrics", params={"from": "2025-07-31", "to": "2025-08-01", "group_by": "day"}
    ).json()
    assert [(r["day"], r["counts"]["received"]) for r in body["rows"]] == [
        ("2025-07-31", 1),
        ("2025-08-01", 1),
    ]


def test_a_period_in_progress_is_judged_now(loaded: TestClient, clock: Clock) -> None:
    # 20 August 09:00 local: D8 is due at 17:00 today, not yet overdue
    clock.now = datetime(2025, 8, 20, 2, 0, tzinfo=UTC)
    morning = loaded.get("/v1/metrics", params={"from": "2025-08-01", "to": "2025-08-31"}).json()
    assert (morning["totals"]["counts"]["pending"], morning["totals"]["counts"]["pending_overdue"]) == (4, 2)
    clock.now = datetime(2025, 8, 20, 11, 0, tzinfo=UTC)  # 18:00 local
    evening = loaded.get("/v1/metrics", params={"from": "2025-08-01", "to": "2025-08-31"}).json()
    assert (evening["totals"]["counts"]["pending"], evening["totals"]["counts"]["pending_overdue"]) == (4, 3)
    assert morning["totals"]["counts"]["carried_over"] == 3


def test_a_dossier_resolved_today_leaves_the_backlog_at_once(loaded: TestClient, clock: Clock) -> None:
    clock.now = datetime(2025, 8, 20, 5, 0, tzinfo=UTC)  # 12:00 local
    done = open_rec(
        "D8",
        received_at="2025-07-31T23:30:00+07:00",
        due_at="2025-08-20T17:00:00+07:00",
        channel="online",
        online_level="partial",
        commune_code=COMMUNE,
        sector="xay_dung",
        status="resolved",
        resolved_at="2025-08-20T11:00:00+07:00",
        updated_at="2025-08-20T11:00:00+07:00",
    )
    assert loaded.put("/v1/dossiers/D8", json=done).json()["result"] == "updated"
    c = loaded.get("/v1/metrics", params={"from": "2025-08-01", "to": "2025-08-31"}).json()["totals"][
        "counts"
    ]
    assert (c["pending"], c["pending_overdue"], c["finished"], c["finished_early"]) == (3, 2, 1, 0)
    assert c["finished_on_time"] == 1


def test_unknown_parameters_and_values_are_422(loaded: TestClient) -> None:
    cases = [
        {"from": "2025-07-01", "to": "2025-07-31", "bogus": "1"},
        {"from": "2025-07-01", "to": "2025-07-31", "group_by": "province"},
        {"from": "2025-07-01", "to": "2025-07-31", "agency": "NOT-REGISTERED"},
        {"from": "2025-07-01", "to": "2025-07-31", "commune": "99999"},
        {"from": "2025-07-01", "to": "2025-07-31", "channel": "fax"},
        {"from": "2025-07-31", "to": "2025-07-01"},
        {"from": "2025-07-01"},
        {"from": "2025-13-01", "to": "2025-07-31"},
    ]
    for params in cases:
        r = loaded.get("/v1/metrics", params=params)
        assert r.status_code == 422, params
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"], params


def test_etag_and_304(loaded: TestClient) -> None:
    params = {"from": "2025-07-01", "to": "2025-07-31"}
    first = loaded.get("/v1/metrics", params=params)
    tag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    again = loaded.get("/v1/metrics", params=params, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    posted = loaded.post("/v1/dossiers", json=[rec("D12", received_at="2025-07-07T08:00:00+07:00")])
    assert posted.json()["created"] == 1
    changed = loaded.get("/v1/metrics", params=params, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    assert changed.json()["totals"]["counts"]["received"] == 9


def test_renaming_an_agency_changes_the_tag(loaded: TestClient) -> None:
    params = {"from": "2025-07-01", "to": "2025-07-31", "group_by": "agency"}
    tag = loaded.get("/v1/metrics", params=params).headers["etag"]
    loaded.put(f"/v1/agencies/{AGENCY}", json={"name": "Sở Xây dựng tỉnh Nghệ An", "level": "province"})
    after = loaded.get("/v1/metrics", params=params, headers={"If-None-Match": tag})
    assert after.status_code == 200
    assert after.json()["rows"][0]["agency_name"] == "Sở Xây dựng tỉnh Nghệ An"


def test_definitions_catalogue(client: TestClient) -> None:
    body = client.get("/v1/metrics/definitions").json()
    assert [d["name"] for d in body["counts"]][:3] == ["received", "received_online", "received_full_online"]
    on_time = next(d for d in body["rates"] if d["name"] == "on_time")
    assert on_time["label_vi"] == "Tỷ lệ hồ sơ giải quyết đúng hạn"
    assert (
        on_time["numerator"] == "finished_early + finished_on_time" and on_time["denominator"] == "finished"
    )
    assert len(body["rates"]) == 10 and len(body["counts"]) == 24  # 19 and the 5 form counts
