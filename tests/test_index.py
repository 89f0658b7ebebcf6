"""The national index end to end, on SQLite and PostgreSQL: records with supplement histories,
complaints and the new flags are ingested over HTTP beside a catalogue and a configured day off; GET
/v1/index shows every computed indicator with hand-checked numerators, denominators and points; the
drill-down names the dossiers that cost 2.1 its points and why; a catalogue change re-derives the
stored figures; declared values enter the score; the rollups verify.

The province's Q3 2025 (1 July – 30 September) is judged at 1 October 00:00; the clock reads
1 October 08:00. Calendar: 1–2 September are public holidays (Quốc khánh); the province declares
Friday 5 September a day off.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.dossiers import reindex
from app.index.schemas import IndexResponse
from app.store import index_rollups, rollups
from app.store.uow import write_transaction
from tests.factory import OTHER_AGENCY, rec
from tests.ingesting import post, wait_for_index_jobs

A = "000.00.07.H41"  # Sở Xây dựng
B = OTHER_AGENCY  # Sở Tài chính
P1, P3, P2 = "1.004227", "1.000003", "2.000002"  # P2 is not in the catalogue

CATALOGUE: list[dict[str, Any]] = [
    {
        "code": P1,
        "name": "Cấp giấy phép xây dựng",
        "level": "province",
        "max_duration": {"value": 5, "unit": "working_days"},
        "paper_result": True,
        "fee": True,
        "full_online_eligible": True,
        "full_online_offered": True,
        "online_payment_integrated": True,
    },
    {
        "code": P3,
        "name": "Thủ tục ba ngày",
        "level": "province",
        "max_duration": {"value": 3, "unit": "working_days"},
    },
]


def _t(day: str, hm: str = "08:00") -> str:
    return f"2025-{day}T{hm}:00+07:00"


def _sup(*pairs: tuple[str, str | None]) -> list[dict[str, Any]]:
    return [{"requested_at": r, "supplied_at": s} for r, s in pairs]


def _open(code: str, **over: Any) -> dict[str, Any]:
    return rec(code, **{"status": "processing", "resolved_at": None, **over})


RECORDS: list[dict[str, Any]] = [
    # D01: on time; online at the full level; paid online; every digitisation flag.
    rec(
        "D01",
        agency_code=A,
        channel="online",
        online_level="full",
        received_at=_t("07-01"),
        due_at=_t("07-10", "17:00"),
        resolved_at=_t("07-08", "10:00"),
        fee_required=True,
        paid_online=True,
        digitised_intake=True,
        digitised_result=True,
        reused_digital_data=True,
        population_data=True,
        from_personal_store=True,
        updated_at=_t("07-08", "10:00"),
    ),
    # D02: withdrawn after its deadline (3 July 17:00) → late by 1 working day; a complaint; a fee unpaid.
    rec(
        "D02",
        agency_code=A,
        status="withdrawn",
        received_at=_t("07-01"),
        due_at=_t("07-03", "17:00"),
        resolved_at=_t("07-04", "09:00"),
        complaint=True,
        fee_required=True,
        digitised_intake=True,
        updated_at=_t("07-04", "09:00"),
    ),
    # D03: withdrawn within its deadline → on time; online without a level: full-online by the
    # catalogue's full_online_offered; a complaint.
    rec(
        "D03",
        agency_code=A,
        status="withdrawn",
        channel="online",
        received_at=_t("07-01"),
        due_at=_t("07-10", "17:00"),
        resolved_at=_t("07-05", "09:00"),
        complaint=True,
        updated_at=_t("07-05", "09:00"),
    ),
    # D04: resolved 12 July 10:00, two days after its appointment, but one answered request paused it
    # 3 days (2–5 July): the deadline moves to 13 July 17:00 → on time.
    rec(
        "D04",
        agency_code=A,
        received_at=_t("07-01"),
        due_at=_t("07-10", "17:00"),
        resolved_at=_t("07-12", "10:00"),
        supplements=_sup((_t("07-02"), _t("07-05"))),
        updated_at=_t("07-12", "10:00"),
    ),
    # D05: one unanswered request on 5 August 09:00 ends it then → on time (due 8 August).
    _open(
        "D05",
        agency_code=A,
        status="supplement_requested",
        received_at=_t("08-01"),
        due_at=_t("08-08", "17:00"),
        supplements=_sup((_t("08-05", "09:00"), None)),
        updated_at=_t("08-05", "09:00"),
    ),
    # D06: two requests on an unfinished dossier → late from the second (10 August).
    _open(
        "D06",
        agency_code=A,
        received_at=_t("08-01"),
        due_at=_t("10-30", "17:00"),
        supplements=_sup((_t("08-04", "09:00"), _t("08-06", "09:00")), (_t("08-10", "09:00"), None)),
        updated_at=_t("08-10", "09:00"),
    ),
    # D07: finished with two answered requests: not late for their number; on time.
    rec(
        "D07",
        agency_code=A,
        received_at=_t("07-15"),
        due_at=_t("07-25", "17:00"),
        resolved_at=_t("07-24", "10:00"),
        supplements=_sup((_t("07-16"), _t("07-17")), (_t("07-18"), _t("07-19"))),
        updated_at=_t("07-24", "10:00"),
    ),
    # D08: no due_at; 5 working days after Friday 29 August: 3, 4, (5 off), 8, 9, 10 September →
    # the deadline is 24:00 of 10 September; resolved 10 September 09:00 → on time.
    rec(
        "D08",
        agency_code=A,
        received_at=_t("08-29", "10:00"),
        due_at=None,
        resolved_at=_t("09-10", "09:00"),
        updated_at=_t("09-10", "09:00"),
    ),
    # D09: an uncatalogued procedure and no due_at → unjudged, uncatalogued.
    rec(
        "D09",
        agency_code=A,
        procedure_code=P2,
        received_at=_t("07-01"),
        due_at=None,
        resolved_at=_t("07-02"),
        updated_at=_t("07-02"),
    ),
    # D10: in processing, due 25 September 17:00 → late at the judging instant.
    _open("D10", agency_code=A, received_at=_t("09-20"), due_at=_t("09-25", "17:00"), updated_at=_t("09-20")),
    # D11: in processing, due 6 October → on time at the judging instant.
    _open("D11", agency_code=A, received_at=_t("09-29"), due_at=_t("10-06", "17:00"), updated_at=_t("09-29")),
    # D12: P3 (3 working days, no paper result) received Monday 15 September → deadline 24:00 of
    # 18 September; returned, resolved 19 September 10:00 → late; digitised (no result needed).
    rec(
        "D12",
        agency_code=A,
        procedure_code=P3,
        status="returned",
        received_at=_t("09-15"),
        due_at=None,
        resolved_at=_t("09-19", "10:00"),
        returned_at=_t("09-19", "15:00"),
        digitised_intake=True,
        updated_at=_t("09-19", "15:00"),
    ),
    # D13: received in June, ended in Q3 (2 July) after its deadline (27 June 17:00) → late by 3
    # working days (30 June, 1 and 2 July).
    rec(
        "D13",
        agency_code=A,
        received_at=_t("06-20"),
        due_at=_t("06-27", "17:00"),
        resolved_at=_t("07-02", "10:00"),
        updated_at=_t("07-02", "10:00"),
    ),
    # D14: ended in June: not handled in Q3.
    rec(
        "D14",
        agency_code=A,
        received_at=_t("06-25"),
        due_at=_t("06-30", "17:00"),
        resolved_at=_t("06-30", "10:00"),
        updated_at=_t("06-30", "10:00"),
    ),
    # D15: ended after the period (1 October 07:00), within its deadline: open and on time in Q3.
    rec(
        "D15",
        agency_code=A,
        received_at=_t("09-28"),
        due_at=_t("10-02", "17:00"),
        resolved_at=_t("10-01", "07:00"),
        updated_at=_t("10-01", "07:00"),
    ),
    # D16: ended after the period, due 20 September: open and late in Q3; a complaint.
    rec(
        "D16",
        agency_code=A,
        received_at=_t("09-10"),
        due_at=_t("09-20", "17:00"),
        resolved_at=_t("10-01", "07:30"),
        complaint=True,
        updated_at=_t("10-01", "07:30"),
    ),
    # D18, a commune's: no due_at, received Friday 24 January; 5 working days across Tết (27–31 January
    # are holidays) and the province's day off on Tuesday 4 February: 3, 5, 6, 7, 10 February → the
    # deadline is 24:00 of 10 February; resolved 10 February 10:00 → on time (late without the day off).
    rec(
        "D18",
        agency_code="UBND-17329",
        received_at=_t("01-24", "10:00"),
        due_at=None,
        resolved_at=_t("02-10", "10:00"),
        updated_at=_t("02-10", "10:00"),
    ),
    # D17: the other department's one dossier, on time.
    rec(
        "D17",
        agency_code=B,
        received_at=_t("07-10"),
        due_at=_t("07-20", "17:00"),
        resolved_at=_t("07-15", "10:00"),
        updated_at=_t("07-15", "10:00"),
    ),
]


@pytest.fixture
def loaded(client: TestClient) -> TestClient:
    r = client.put(
        "/v1/calendar/2025",
        json=[
            {"day": "2025-02-04", "working": False, "note": "Nghỉ"},
            {"day": "2025-09-05", "working": False, "note": "Nghỉ"},
        ],
    )
    assert r.status_code == 200, r.text
    r = client.put("/v1/procedures", json=CATALOGUE)
    assert r.status_code == 200 and r.json()["created"] == 2, r.text
    wait_for_index_jobs(client)
    report = post(client, RECORDS)
    assert report["created"] == len(RECORDS), report
    return client


def _row(client: TestClient, code: str, **params: Any) -> dict[str, Any]:
    r = client.get("/v1/index", params={"period": "2025-Q3", "unit": "agency", **params})
    assert r.status_code == 200, r.text
    body = r.json()
    IndexResponse.model_validate(body)  # the document the OpenAPI schema describes
    assert body["rule_set"]["id"] == "766-2022"
    assert body["in_progress"] is False and body["judged_at"] == "2025-10-01T00:00:00+07:00"
    (row,) = [x for x in body["rows"] if x["code"] == code]
    found: dict[str, Any] = row
    return found


def _indicators(row: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {
        i["code"]: (i["numerator"], i["denominator"], i["points_rounded"], i["source"])
        for i in row["indicators"]
    }


# Agency A's Q3 by hand (the comments of RECORDS):
# handled: ended in Q3 D01 D02 D03 D04 D05 D07 D08 D09 D12 D13 (10) + in processing at the judging
#   instant D06 D10 D11 D15 D16 (5) = 15; unjudged D09 → judged 14.
# late: D02 D12 D13 (ended) + D06 D10 D16 (in processing) = 6 → on time 8.
# catalogued 14 (D09 is not); eligible: the 13 handled P1 dossiers; full-online D01 D03.
# electronic (paper result required, electronic result): D01. digitised: D01, D12 (no paper result).
# reused, personal store, population: D01. complaint: D02 D03 D16; late ∪ complaint = 7 → satisfied 8.
# fee received in Q3: D01 (paid), D02. 2.2: finished and received in Q3, with their working days:
#   D01 5, D04 8−3 = 5, D07 7−2 = 5, D08 5, D09 1, D12 4, D15 3, D16 15 → 8 dossiers, 43 days.
COUNTS_A = {
    "idx21_handled": 15,
    "idx21_ended": 10,
    "idx21_open": 5,
    "idx21_judged": 14,
    "idx21_on_time": 8,
    "idx21_late": 6,
    "idx21_unjudged": 1,
    "idx21_uncatalogued": 1,
    "idx21_catalogued": 14,
    "idx21_eligible": 13,
    "idx21_full_online": 2,
    "idx21_electronic": 1,
    "idx21_digitised": 2,
    "idx21_reused": 1,
    "idx21_personal_store": 1,
    "idx21_population": 1,
    "idx21_complaint": 3,
    "idx21_satisfied": 8,
    "idx21_fee": 2,
    "idx21_paid_online": 1,
    "idx21_fee_procedures": 1,
    "idx21_paid_procedures": 1,
    "idx21_catalogue_fee_procedures": 1,
    "idx21_integrated_procedures": 1,
    "idx21_finished": 8,
    "idx21_work_days": 43,
}
# Points: max × min(1, ratio / saturation), rounded half-up to 2 decimals.
POINTS_A = {
    "1.1": (None, None, 0.0, "missing"),
    "1.2": (None, None, 0.0, "missing"),
    "1.3": (None, None, 0.0, "missing"),
    "1.4": (None, None, 0.0, "missing"),
    "2.1": (8, 14, 11.43, "computed"),  # 20 × 8/14 = 11.428…
    "2.2": (43, 8, 0.0, "computed"),  # 5.375 working days on average, no points
    "3.0": (2, 13, 1.85, "computed"),  # 12 × 2/13 = 1.846…
    "3.6a": (1, 2, 3.0, "computed"),  # 6 × 1/2
    "3.6b": (1, 1, 2.0, "computed"),
    "3.6c": (1, 1, 2.0, "computed"),
    "4.1": (1, 14, 0.43, "computed"),  # 6/14 = 0.428…
    "4.2": (2, 14, 0.57, "computed"),  # 8/14 = 0.571…
    "4.3": (1, 15, 0.17, "computed"),  # 2 × (1/15)/0.8 = 0.1666…
    "4.4": (1, 15, 0.27, "computed"),  # 4/15 = 0.2666…
    "4.5a": (1, 15, 0.13, "computed"),  # 2/15 = 0.1333…
    "4.5b": (None, None, 0.0, "missing"),
    "4.6": (None, None, 0.0, "missing"),
    "5.2": (None, None, 0.0, "missing"),
    "5.3": (None, None, 0.0, "missing"),
    "5.4": (8, 15, 3.56, "computed"),  # 6 × (8/15)/0.9 = 3.5555…
}
TOTAL_A = 25.41  # 11.43 + 1.85 + 3 + 2 + 2 + 0.43 + 0.57 + 0.17 + 0.27 + 0.13 + 3.56
MISSING_MAX = 34  # 1.1 6, 1.2 4, 1.3 2, 1.4 6, 4.5b 2, 4.6 2, 5.2 6, 5.3 6


def test_every_computed_indicator_of_a_department_by_hand(loaded: TestClient, engine: Engine) -> None:
    row = _row(loaded, A)
    assert row["counts"] == COUNTS_A
    assert _indicators(row) == POINTS_A
    assert row["total"] == TOTAL_A
    assert row["reachable"] == pytest.approx(TOTAL_A + MISSING_MAX)
    groups = {g["code"]: (g["points"], g["max_points"]) for g in row["groups"]}
    assert groups == {
        "transparency": (0.0, 18),
        "progress": (11.43, 20),
        "online_service": (1.85, 12),
        "online_payment": (7.0, 10),
        "digitisation": (1.57, 22),
        "satisfaction": (3.56, 18),
    }
    # B: one dossier on time, its fee procedure had no dossier paid online: 2.1 20, 5.4 6 (1/1 over
    # 0.9), 3.6c 2 → 28; A ranks second.
    b = _row(loaded, B)
    assert b["total"] == 28.0 and b["rank"] == 1 and row["rank"] == 2
    # Every other department: no dossiers; only 3.6c (the catalogue's one fee procedure is integrated).
    body = loaded.get("/v1/index", params={"period": "2025-Q3"}).json()
    others = [x for x in body["rows"] if x["code"] not in (A, B)]
    assert others and {x["total"] for x in others} == {2.0}
    assert [x["rank"] for x in body["rows"]] == list(range(1, len(body["rows"]) + 1))
    # The province is every agency's sum: A's counts plus B's one dossier.
    (prov,) = loaded.get("/v1/index", params={"period": "2025-Q3", "unit": "province"}).json()["rows"]
    assert prov["counts"]["idx21_handled"] == 16 and prov["counts"]["idx21_on_time"] == 9
    with write_transaction(engine) as conn:
        assert rollups.verify(conn)[0] == 0
        assert index_rollups.verify(conn)[0] == 0


def test_a_legal_duration_across_tet_and_a_day_off(loaded: TestClient) -> None:
    r = loaded.get("/v1/index", params={"period": "2025-Q1", "unit": "commune"})
    (row,) = [x for x in r.json()["rows"] if x["code"] == "UBND-17329"]
    c = row["counts"]
    assert (c["idx21_handled"], c["idx21_judged"], c["idx21_on_time"], c["idx21_late"]) == (1, 1, 1, 0)
    # 2.2: working days after 24 January up to 10 February: 3, 5, 6, 7, 10 February.
    assert (c["idx21_finished"], c["idx21_work_days"]) == (1, 5)


def test_the_drilldown_names_what_cost_the_points(loaded: TestClient) -> None:
    r = loaded.get("/v1/dossiers", params={"index_loss": "2.1", "period": "2025-Q3", "agency": A})
    assert r.status_code == 200, r.text
    got = {d["code"]: d["index_reason"] for d in r.json()["items"]}
    assert got == {
        "D02": "late by 1 working day",  # due Thursday 3 July, withdrawn Friday 4 July
        "D06": "second supplement request",
        "D10": "late by 3 working days",  # due 25 September: 26, 29, 30 September
        "D12": "late by 1 working day",  # deadline 18 September, resolved 19 September
        "D13": "late by 3 working days",  # due 27 June: 30 June, 1 and 2 July
        "D16": "late by 7 working days",  # due Saturday 20 September: 22–26, 29, 30 September
    }
    r = loaded.get("/v1/dossiers", params={"index_loss": "5.4", "period": "2025-Q3", "agency": A})
    assert sorted(d["code"] for d in r.json()["items"]) == ["D02", "D03", "D06", "D10", "D12", "D13", "D16"]
    r = loaded.get("/v1/dossiers", params={"index_loss": "3.6a", "period": "2025-Q3"})
    assert [(d["code"], d["index_reason"]) for d in r.json()["items"]] == [("D02", "fee not paid online")]
    # index_loss needs a period, and does not go with as_of.
    r = loaded.get("/v1/dossiers", params={"index_loss": "2.1"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "period"]
    r = loaded.get("/v1/dossiers", params={"index_loss": "2.1", "period": "2025-Q3", "as_of": "2025-09-30"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "as_of"]
    # Without index_loss a listed dossier carries no index_reason.
    assert "index_reason" not in loaded.get("/v1/dossiers", params={"agency": A}).json()["items"][0]


def test_the_drilldown_lists_each_digital_indicators_losses_with_the_catalogues_paper_result(
    loaded: TestClient,
) -> None:
    # Department A's dossiers handled in Q3: D01-D13, D15, D16 (D14 ended in June; D17 is B's; D18 a
    # commune's). D01 alone has every digitisation flag and is full-online; D03 is full-online (online
    # without a level); D09's procedure P2 is not in the catalogue (not in 4.1/4.2's denominators). P1
    # has a paper result in the catalogue: its reasons say so, from the catalogue, whatever the record's
    # flags; P3 (D12) has none.
    def losses(indicator: str) -> dict[str, str]:
        r = loaded.get("/v1/dossiers", params={"index_loss": indicator, "period": "2025-Q3", "agency": A})
        assert r.status_code == 200, r.text
        return {d["code"]: d["index_reason"] for d in r.json()["items"]}

    p1 = ["D02", "D03", "D04", "D05", "D06", "D07", "D08", "D10", "D11", "D13", "D15", "D16"]
    assert losses("4.1") == {
        **dict.fromkeys(p1, "no electronic result, paper result required"),
        "D12": "no electronic result",
    }
    # 4.2: digitised at intake, and the electronic result where the procedure has a paper result. D02
    # was digitised at intake; D12 was, and P3 needs no result.
    assert losses("4.2") == {
        "D02": "no electronic result",
        **dict.fromkeys(p1[1:], "not digitised at intake; no electronic result"),
    }
    # 3.0: P1 is eligible for full-online service; D01 and D03 were full-online. P2 and P3 are not
    # eligible, so D09 and D12 are outside its denominator.
    assert losses("3.0") == dict.fromkeys(["D02", *p1[2:]], "not full-online")
    # 4.3, 4.4, 4.5a: every handled dossier but D01.
    handled = sorted(["D09", "D12", *p1])
    assert losses("4.3") == dict.fromkeys(handled, "no reuse of digitised data")
    assert losses("4.4") == dict.fromkeys(handled, "not from the personal data store")
    assert losses("4.5a") == dict.fromkeys(handled, "no population data")


def test_a_catalogue_change_re_derives_the_stored_figures(loaded: TestClient, engine: Engine) -> None:
    # P3 becomes 4 working days: D12's deadline moves to 24:00 of 19 September → on time.
    entry = {**CATALOGUE[1], "max_duration": {"value": 4, "unit": "working_days"}}
    del entry["code"]
    assert loaded.put(f"/v1/procedures/{P3}", json=entry).status_code == 200
    row = _row(loaded, A)
    assert (row["counts"]["idx21_on_time"], row["counts"]["idx21_late"]) == (9, 5)
    assert _indicators(row)["2.1"] == (9, 14, 12.86, "computed")  # 20 × 9/14 = 12.857…
    # Removing P1 from the catalogue: its dossiers lose their deadlines where they had no due_at (D08)
    # and are uncatalogued.
    assert loaded.delete(f"/v1/procedures/{P1}").status_code == 204
    row = _row(loaded, A)
    assert row["counts"]["idx21_uncatalogued"] == 14 and row["counts"]["idx21_unjudged"] == 2
    with write_transaction(engine) as conn:
        assert index_rollups.verify(conn)[0] == 0


def test_declared_values_enter_the_score(loaded: TestClient) -> None:
    r = loaded.put(
        "/v1/index/declared",
        json=[
            {"period": "2025-Q3", "unit": "province", "code": None, "indicator": "1.1", "ratio": 1.0},
            {
                "period": "2025-07",
                "unit": "agency",
                "code": A,
                "indicator": "1.4",
                "numerator": 30,
                "denominator": 30,
            },
            {
                "period": "2025-08",
                "unit": "agency",
                "code": A,
                "indicator": "1.4",
                "numerator": 30,
                "denominator": 40,
            },
            {
                "period": "2025-09",
                "unit": "agency",
                "code": A,
                "indicator": "1.4",
                "numerator": 30,
                "denominator": 30,
            },
        ],
    )
    assert r.status_code == 200, r.text
    listed = loaded.get("/v1/index/declared", params={"code": A}).json()["items"]
    # Set at the clock's instant, in Vietnam time like every instant the API answers.
    assert {x["set_at"] for x in listed} == {"2025-10-01T08:00:00+07:00"}
    assert [(x["period"], x["indicator"], x["set_by"] is not None) for x in listed] == [
        ("2025-07", "1.4", True),
        ("2025-08", "1.4", True),
        ("2025-09", "1.4", True),
    ]
    row = _row(loaded, A)
    ind = _indicators(row)
    # 1.1 from the province's value; 1.4: the quarter sums its months: 90/100 → 6 × 0.9 = 5.4.
    assert ind["1.1"] == (None, None, 6.0, "declared")
    assert ind["1.4"] == (90.0, 100.0, 5.4, "declared")
    assert row["total"] == pytest.approx(TOTAL_A + 6 + 5.4)
    # A bad item: nothing stored, the field named.
    r = loaded.put(
        "/v1/index/declared",
        json=[{"period": "2025-Q3", "unit": "agency", "code": A, "indicator": "2.1", "ratio": 1}],
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", 0, "indicator"]


def test_csv_and_xlsx(loaded: TestClient) -> None:
    r = loaded.get("/v1/index", params={"period": "2025-Q3", "format": "csv"})
    assert r.status_code == 200 and r.content.startswith("\ufeff".encode())
    r_csv = r.content.decode("utf-8-sig")
    lines = r_csv.splitlines()
    a_21 = [line for line in lines if line.startswith(f"{A},") and ",2.1," in line]
    assert len(a_21) == 1 and ",8,14," in a_21[0] and ",11.43," in a_21[0]
    r = loaded.get("/v1/index", params={"period": "2025-Q3", "format": "xlsx"})
    assert r.status_code == 200 and r.content[:2] == b"PK"
    # Both files hold the JSON's figures: the CSV a line per unit and indicator, the workbook a summary
    # row per unit (rank, code, name, total, reachable, the groups' points) and the same detail lines.
    doc = loaded.get("/v1/index", params={"period": "2025-Q3"}).json()
    detail = [
        [r["code"], r["rank"], r["total"], i["code"], i["numerator"], i["denominator"], i["points_rounded"]]
        for r in doc["rows"]
        for i in r["indicators"]
    ]
    rows = list(csv.reader(io.StringIO(r_csv)))
    head, body = rows[0], rows[1:]
    picked = [head.index(h) for h in ("Mã đơn vị", "Xếp hạng", "Tổng điểm", "Chỉ số", "Tử số", "Mẫu số")]
    assert len(body) == len(detail) == len(doc["rows"]) * 20 > 0  # 20 indicators a unit

    def num(cell: str) -> float | None:
        return None if cell == "" else float(cell)

    assert [
        [
            line[picked[0]],
            int(line[picked[1]]),
            num(line[picked[2]]),
            line[picked[3]],
            num(line[picked[4]]),
            num(line[picked[5]]),
        ]
        for line in body
    ] == [d[:6] for d in detail]
    book = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)
    summary = [list(row) for row in book["Tổng hợp"].iter_rows(min_row=5, values_only=True)]
    assert [row[:5] for row in summary] == [
        [u["rank"], u["code"], u["name"], u["total"], u["reachable"]] for u in doc["rows"]
    ]
    assert [row[5:] for row in summary] == [[g["points"] for g in u["groups"]] for u in doc["rows"]]
    lines = list(book["Chi tiết"].iter_rows(min_row=2, values_only=True))
    assert [[x[0], x[2], x[3], x[4], x[7], x[8], x[10]] for x in lines] == detail


def test_a_period_in_progress_judges_at_now(client: TestClient, clock: Any) -> None:
    """Q3 2025 on 25 September at 20:00: open dossiers are judged now, to the minute."""
    clock.now = datetime(2025, 9, 25, 13, 0, tzinfo=UTC)  # 20:00 local
    assert client.put("/v1/procedures", json=CATALOGUE).status_code == 200
    wait_for_index_jobs(client)
    sep22, sep20 = _t("09-22"), _t("09-20")
    records = [
        # due today at 17:00, still open at 20:00: late now.
        _open("X1", agency_code=A, received_at=sep22, due_at=_t("09-25", "17:00"), updated_at=sep22),
        # due today at 21:00: not late yet.
        _open("X2", agency_code=A, received_at=sep22, due_at=_t("09-25", "21:00"), updated_at=sep22),
        # due yesterday: late.
        _open("X3", agency_code=A, received_at=sep20, due_at=_t("09-24", "17:00"), updated_at=sep20),
        # resolved today at 10:00, due today at 09:00: ended late.
        rec("X4", agency_code=A, received_at=_t("09-22"), due_at=_t("09-25", "09:00"),
            resolved_at=_t("09-25", "10:00"), updated_at=_t("09-25", "10:00")),
    ]  # fmt: skip
    assert post(client, records)["created"] == 4
    r = client.get("/v1/index", params={"period": "2025-Q3", "unit": "agency"})
    body = r.json()
    assert body["in_progress"] is True and body["judged_at"] == "2025-09-25T20:00:00+07:00"
    (row,) = [x for x in body["rows"] if x["code"] == A]
    counts = row["counts"]
    assert (counts["idx21_handled"], counts["idx21_open"], counts["idx21_late"], counts["idx21_on_time"]) == (
        4,
        3,
        3,
        1,
    )
    # An hour later X2 is late too.
    clock.now = datetime(2025, 9, 25, 14, 30, tzinfo=UTC)
    (row,) = [
        x for x in client.get("/v1/index", params={"period": "2025-Q3"}).json()["rows"] if x["code"] == A
    ]
    assert row["counts"]["idx21_late"] == 4
    r = client.get("/v1/dossiers", params={"index_loss": "2.1", "period": "2025-Q3", "agency": A})
    assert sorted(d["code"] for d in r.json()["items"]) == ["X1", "X2", "X3", "X4"]


def test_a_rederivation_job_runs_alone_and_reports_its_progress(loaded: TestClient, engine: Engine) -> None:
    r = loaded.post("/v1/index/jobs")
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["Location"] == f"/v1/index/jobs/{job['id']}"
    wait_for_index_jobs(loaded)
    done = loaded.get(f"/v1/index/jobs/{job['id']}").json()
    # Every stored dossier seen; none changed, since nothing changed since they were derived.
    assert (done["state"], done["total"], done["done"], done["changed"]) == ("done", 18, 18, 0)
    # A job running (its heartbeat fresh) refuses a second one.
    with write_transaction(engine) as conn:
        conn.execute(
            text(
                "INSERT INTO index_jobs (state, reason, started_at, heartbeat_at, total, done, changed, "
                "target_rev) VALUES ('running', 'test', :t, :t, 0, 0, 0, 0)"
            ),
            {"t": datetime.now(UTC)},
        )
    r = loaded.post("/v1/index/jobs")
    assert r.status_code == 409 and "is running" in r.json()["detail"]
    assert loaded.post("/v1/index/jobs", headers={"Authorization": ""}).status_code == 401
    with write_transaction(engine) as conn:
        assert index_rollups.verify(conn)[0] == 0


def test_a_thousand_declared_values_in_one_request(client: TestClient) -> None:
    agencies = [a["code"] for a in client.get("/v1/agencies").json()][:125]
    assert len(agencies) == 125
    items = [
        {"period": month, "unit": "agency", "code": code, "indicator": ind, "numerator": 3, "denominator": 4}
        for code in agencies
        for ind in ("1.4", "4.5b", "4.6", "5.2")
        for month in ("2025-07", "2025-08")
    ]
    assert len(items) == 1000
    r = client.put("/v1/index/declared", json=items)
    assert r.status_code == 200 and r.json() == {"stored": 1000}, r.text[:300]
    assert len(client.get("/v1/index/declared").json()["items"]) == 1000
    r = client.put("/v1/index/declared", json=[*items, items[0]])
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body"]


def test_a_re_derivation_beside_concurrent_ingest_leaves_both_rollups_exact(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 3,000 dossiers of catalogued procedures without due_at: their national deadlines come from the
    # calendar. A day off declared in July starts a re-derivation job (in chunks of 10 here, so that it
    # runs long enough) while new versions of the same dossiers (now resolved) and new dossiers are
    # ingested. Whatever the interleaving, both rollups must equal a recomputation from the stored rows,
    # and every dossier must be derived.
    monkeypatch.setattr(reindex, "CHUNK", 10)
    assert client.put("/v1/procedures", json=CATALOGUE).status_code == 200
    wait_for_index_jobs(client)

    def version(i: int, resolved: bool) -> dict[str, Any]:
        day = 1 + i % 28
        return rec(
            f"RD-{i:05d}",
            procedure_code=P1 if i % 2 else P3,
            due_at=None,
            received_at=f"2025-07-{day:02d}T08:00:00+07:00",
            status="resolved" if resolved else "processing",
            resolved_at=f"2025-08-{day:02d}T10:00:00+07:00" if resolved else None,
            updated_at=f"2025-08-{day:02d}T10:00:0{int(resolved)}+07:00",
        )

    assert post(client, [version(i, False) for i in range(3000)])["created"] == 3000
    r = client.put("/v1/calendar/2025", json=[{"day": "2025-07-15", "working": False, "note": "Nghỉ"}])
    assert r.status_code == 200, r.text
    during = 0
    for start in range(0, 3000, 100):
        running = any(j["state"] == "running" for j in client.get("/v1/index/jobs").json()["items"])
        batch = [version(i, True) for i in range(start, start + 100)]
        batch += [version(i, False) for i in range(3000 + start // 10, 3000 + start // 10 + 10)]
        report = post(client, batch)
        assert (report["updated"], report["created"]) == (100, 10), report
        during += running
    wait_for_index_jobs(client)
    with engine.connect() as conn:
        assert index_rollups.verify(conn) == (0, [])
        assert rollups.verify(conn) == (0, [])
        stored = conn.execute(
            text("SELECT count(*), sum(CASE WHEN idx_rev < 0 THEN 1 ELSE 0 END) FROM dossiers")
        ).one()
    assert (stored[0], stored[1] or 0) == (3300, 0)
    # The point of the test is the overlap: some batches went in while the job ran.
    assert during > 0
    print(f"{during} of 30 batches were sent while the re-derivation ran")
