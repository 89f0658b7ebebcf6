"""The periodic report as the form (Biểu 06/VPCP/KSTT) files it: the form counts, the balance, the level
subtotals and the layouts, checked by hand on both stores.

The September 2025 reporting month runs from 15 August to 14 September (S to E); the clock is
1 October, so the month has ended. Four units: two departments (province level) and two wards'
People's Committees (commune level). Each dossier, with what it adds to the month:

Sở Xây dựng (A, province)
  A1 received 10 Aug, due 20 Aug, resolved 5 Sep     carried over; finished late
  A2 received 20 Aug, due 10 Sep, withdrawn 1 Sep    received; withdrawn before the deadline's day: early
  A3 received 20 Aug (online), due 30 Aug, resolved 25 Aug   received; finished early
  A4 received 25 Aug, due 5 Sep, open                received; pending, overdue
  A5 received 10 Sep, due 25 Sep, resolved 20 Sep    received; pending at E (closed after it), in time
Sở Tài chính (B, province)
  B1 received 5 Aug, due 20 Aug 17:00, withdrawn 20 Aug 09:00   carried over; withdrawn on the deadline
                                                                day, before due_at: on time
  B2 received 1 Aug, due 20 Oct, open                carried over; pending, in time
  B3 received 1 Sep, due 3 Sep 17:00, rejected 3 Sep 16:00   received; finished (rejected) on time
UBND Xã Anh Sơn (C1, commune, ward 17329)
  C1a received 18 Aug, due 22 Aug, withdrawn 25 Aug  received; withdrawn after due_at: late
  C1b received 20 Aug, due 11 Sep 00:00 (a bare 10 Sep), withdrawn 10 Sep 15:00   received; withdrawn
                                                     on the deadline's day (10 Sep): on time
  C1c received 16 Aug, due 20 Aug, resolved 22 Aug, returned 23 Aug   received; finished late
UBND Phường Thành Vinh (C2, commune, ward 16681)
  C2a received 1 Aug, due 30 Aug, withdrawn 16 Aug   carried over; withdrawn early
  C2b received 20 Sep                                after E: nothing
  C2c received 10 Aug, due 14 Aug 17:00, open        carried over; pending, overdue
  C2d received 1 Aug, withdrawn 12 Aug               closed before S: nothing

Rows (received, online, carried over, received_total | finished: early, on time, late | withdrawn |
closed: early, on time, late | pending, overdue):
  A   4 1 1 5 | 2: 1 0 1 | 1 | 3: 2 0 1 | 2 1      5 = 3 + 2
  B   1 0 2 3 | 1: 0 1 0 | 1 | 2: 0 2 0 | 1 0      3 = 2 + 1
  C1  3 0 0 3 | 1: 0 0 1 | 2 | 3: 0 1 2 | 0 0      3 = 3 + 0
  C2  0 0 2 2 | 0: 0 0 0 | 1 | 1: 1 0 0 | 1 1      2 = 1 + 1
  province (A + B)  5 1 3 8 | 3: 1 1 1 | 2 | 5: 2 2 1 | 3 1   8 = 5 + 3
  commune (C1 + C2) 3 0 2 5 | 1: 0 0 1 | 3 | 4: 1 1 2 | 1 1   5 = 4 + 1
  total             8 1 5 13 | 4: 1 1 2 | 5 | 9: 3 3 3 | 4 2  13 = 9 + 4
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factory import AGENCY, COMMUNE, COMMUNE_AGENCY, OTHER_AGENCY, open_rec, rec

URL = "/v1/reports/dossier-processing"
A, B, C1 = AGENCY, OTHER_AGENCY, COMMUNE_AGENCY  # Sở Xây dựng, Sở Tài chính, UBND Xã Anh Sơn
C2, WARD2 = "UBND-16681", "16681"  # UBND Phường Thành Vinh
DEPARTMENTS, COMMITTEES = 16, 130  # the seeded registry of Nghệ An


def _closed(
    code: str, agency: str, received: str, due: str | None, resolved: str, **over: Any
) -> dict[str, Any]:
    return rec(
        code,
        agency_code=agency,
        received_at=f"{received}+07:00",
        due_at=f"{due}+07:00" if due else None,
        resolved_at=f"{resolved}+07:00",
        updated_at=f"{resolved}+07:00",
        **over,
    )


def _open(code: str, agency: str, received: str, due: str | None, **over: Any) -> dict[str, Any]:
    return open_rec(
        code,
        agency_code=agency,
        received_at=f"{received}+07:00",
        due_at=f"{due}+07:00" if due else None,
        updated_at=f"{received}+07:00",
        **over,
    )


W, REJECTED, ONLINE = {"status": "withdrawn"}, {"status": "rejected"}, {"channel": "online"}
WARD1 = {"commune_code": COMMUNE, "sector": "ho_tich"}
WARD_2 = {"commune_code": WARD2, "sector": "ho_tich"}
RECORDS = [
    _closed("A1", A, "2025-08-10T09:00", "2025-08-20T17:00", "2025-09-05T10:00", sector="xay_dung"),
    _closed("A2", A, "2025-08-20T09:00", "2025-09-10T17:00", "2025-09-01T10:00", sector="xay_dung", **W),
    _closed("A3", A, "2025-08-20T09:00", "2025-08-30T17:00", "2025-08-25T10:00", sector="dat_dai", **ONLINE),
    _open("A4", A, "2025-08-25T09:00", "2025-09-05T17:00", sector="dat_dai"),
    _closed("A5", A, "2025-09-10T09:00", "2025-09-25T17:00", "2025-09-20T10:00"),
    _closed("B1", B, "2025-08-05T09:00", "2025-08-20T17:00", "2025-08-20T09:00", sector="dau_tu", **W),
    _open("B2", B, "2025-08-01T09:00", "2025-10-20T17:00", sector="dau_tu"),
    _closed("B3", B, "2025-09-01T09:00", "2025-09-03T17:00", "2025-09-03T16:00", sector="dau_tu", **REJECTED),
    _closed("C1a", C1, "2025-08-18T09:00", "2025-08-22T17:00", "2025-08-25T10:00", **WARD1, **W),
    _closed("C1b", C1, "2025-08-20T09:00", "2025-09-11T00:00", "2025-09-10T15:00", **WARD1, **W),
    _closed(
        "C1c",
        C1,
        "2025-08-16T09:00",
        "2025-08-20T17:00",
        "2025-08-22T10:00",
        status="returned",
        returned_at="2025-08-23T10:00:00+07:00",
        **WARD1,
    ),
    _closed("C2a", C2, "2025-08-01T09:00", "2025-08-30T17:00", "2025-08-16T10:00", **WARD_2, **W),
    _open("C2b", C2, "2025-09-20T09:00", "2025-09-30T17:00", **WARD_2),
    _open("C2c", C2, "2025-08-10T09:00", "2025-08-14T17:00", **WARD_2),
    _closed("C2d", C2, "2025-08-01T09:00", "2025-08-30T17:00", "2025-08-12T10:00", **WARD_2, **W),
]  # fmt: skip

COLUMNS = (
    "received",
    "received_online",
    "carried_over",
    "received_total",
    "finished",
    "finished_early",
    "finished_on_time",
    "finished_late",
    "withdrawn",
    "closed",
    "closed_early",
    "closed_on_time",
    "closed_late",
    "pending",
    "pending_overdue",
)


def form(*values: int) -> dict[str, int]:
    return dict(zip(COLUMNS, values, strict=True))


def of(counts: dict[str, int]) -> dict[str, int]:
    return {k: counts[k] for k in COLUMNS}


# The table of the module's docstring.
ROW_A = form(4, 1, 1, 5, 2, 1, 0, 1, 1, 3, 2, 0, 1, 2, 1)
ROW_B = form(1, 0, 2, 3, 1, 0, 1, 0, 1, 2, 0, 2, 0, 1, 0)
ROW_C1 = form(3, 0, 0, 3, 1, 0, 0, 1, 2, 3, 0, 1, 2, 0, 0)
ROW_C2 = form(0, 0, 2, 2, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1)
PROVINCE = form(5, 1, 3, 8, 3, 1, 1, 1, 2, 5, 2, 2, 1, 3, 1)
COMMUNE_LEVEL = form(3, 0, 2, 5, 1, 0, 0, 1, 3, 4, 1, 1, 2, 1, 1)
TOTAL = form(8, 1, 5, 13, 4, 1, 1, 2, 5, 9, 3, 3, 3, 4, 2)


def ingest(client: TestClient) -> None:
    r = client.post("/v1/dossiers", json=RECORDS)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == len(RECORDS), r.json()["errors"]


def balances(counts: dict[str, int]) -> bool:
    return (
        counts["received_total"] == counts["received"] + counts["carried_over"]
        and counts["received_total"] == counts["closed"] + counts["pending"]
        and counts["closed"] == counts["closed_early"] + counts["closed_on_time"] + counts["closed_late"]
        and counts["closed"] == counts["finished"] + counts["withdrawn"]
    )


def test_agency_layout_groups_the_levels_with_their_subtotals_and_every_row_balances(
    client: TestClient,
) -> None:
    ingest(client)
    body = client.get(URL, params={"period": "2025-09"}).json()
    rows = body["rows"]
    assert len(rows) == DEPARTMENTS + COMMITTEES
    # Departments first, then the People's Committees, each group in code order.
    assert [r["level"] for r in rows] == ["province"] * DEPARTMENTS + ["commune"] * COMMITTEES
    for group in (rows[:DEPARTMENTS], rows[DEPARTMENTS:]):
        assert [r["agency"] for r in group] == sorted(r["agency"] for r in group)
    by_code = {r["agency"]: r for r in rows}
    assert (by_code[A]["agency_name"], by_code[C2]["agency_name"]) == (
        "Sở Xây dựng",
        "UBND Phường Thành Vinh",
    )
    assert of(by_code[A]["counts"]) == ROW_A
    assert of(by_code[B]["counts"]) == ROW_B
    assert of(by_code[C1]["counts"]) == ROW_C1
    assert of(by_code[C2]["counts"]) == ROW_C2
    assert [(s["level"], s["level_name"]) for s in body["subtotals"]] == [
        ("province", "Sở, ban, ngành cấp tỉnh"),
        ("commune", "UBND cấp xã"),
    ]
    province, commune = body["subtotals"]
    assert of(province["counts"]) == PROVINCE
    assert of(commune["counts"]) == COMMUNE_LEVEL
    assert of(body["totals"]["counts"]) == TOTAL
    # Rates from the summed counts, as the totals': on time (finished early + on time) / finished.
    assert province["rates"]["on_time"] == 2 / 3 and commune["rates"]["on_time"] == 0.0
    assert body["totals"]["rates"]["on_time"] == 2 / 4
    assert province["rates"]["online"] == 1 / 5 and commune["rates"]["online"] == 0.0
    # A subtotal carries every count; with the other subtotal it makes the totals.
    assert {k: province["counts"][k] + commune["counts"][k] for k in province["counts"]} == body["totals"][
        "counts"
    ]
    for figures in [*rows, *body["subtotals"], body["totals"]]:
        assert balances(figures["counts"]), figures


def test_a_level_without_rows_has_no_subtotal(client: TestClient) -> None:
    ingest(client)
    body = client.get(URL, params={"period": "2025-09", "agency": [A, B]}).json()
    assert [r["agency"] for r in body["rows"]] == [B, A]  # code order: 000.00.03 before 000.00.07
    assert [(s["level"], of(s["counts"])) for s in body["subtotals"]] == [("province", PROVINCE)]
    assert body["subtotals"][0]["counts"] == body["totals"]["counts"]


def test_a_change_of_level_moves_the_row_and_the_subtotals(client: TestClient) -> None:
    ingest(client)
    before = client.get(URL, params={"period": "2025-09"}).json()
    r = client.put(
        f"/v1/agencies/{B}", json={"name": "Sở Tài chính", "level": "commune", "commune_code": None}
    )
    assert r.status_code == 200, r.text
    body = client.get(URL, params={"period": "2025-09"}).json()
    assert body["rows"][DEPARTMENTS - 1]["level"] == "commune"  # one department fewer
    assert body["rows"][DEPARTMENTS - 1]["agency"] == B  # 000.00.03 sorts before UBND-…
    province, commune = body["subtotals"]
    # B's row (1 0 2 3 | 1: 0 1 0 | 1 | 2: 0 2 0 | 1 0) moves from the province's subtotal to the communes'.
    assert of(province["counts"]) == ROW_A
    assert of(commune["counts"]) == {k: COMMUNE_LEVEL[k] + ROW_B[k] for k in COLUMNS}
    assert body["totals"] == before["totals"]


def test_sector_layout_with_an_agency_filter_is_that_agencys_form(client: TestClient) -> None:
    ingest(client)
    body = client.get(URL, params={"period": "2025-09", "unit": "sector", "agency": A}).json()
    assert body["subtotals"] == []
    # dat_dai: A3 (received, finished early), A4 (received, pending overdue); xay_dung: A1 (carried over,
    # finished late), A2 (received, withdrawn early); no sector: A5 (received, pending at E).
    assert [(r["sector"], r["sector_name"], of(r["counts"])) for r in body["rows"]] == [
        ("dat_dai", "Đất đai", form(2, 1, 0, 2, 1, 1, 0, 0, 0, 1, 1, 0, 0, 1, 1)),
        ("xay_dung", "Xây dựng", form(1, 0, 1, 2, 1, 0, 0, 1, 1, 2, 1, 0, 1, 0, 0)),
        (None, None, form(1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0)),
    ]
    assert of(body["totals"]["counts"]) == ROW_A
    for figures in [*body["rows"], body["totals"]]:
        assert balances(figures["counts"])


def test_commune_layout_lists_the_wards_with_the_total(client: TestClient) -> None:
    ingest(client)
    body = client.get(URL, params={"period": "2025-09", "unit": "commune"}).json()
    assert body["subtotals"] == []
    assert len(body["rows"]) == COMMITTEES + 1
    assert all("level" not in r for r in body["rows"])
    by_ward = {r["commune"]: r for r in body["rows"]}
    assert of(by_ward[COMMUNE]["counts"]) == ROW_C1
    assert of(by_ward[WARD2]["counts"]) == ROW_C2
    # The departments' dossiers have no ward: the last row, with the key null.
    assert body["rows"][-1]["commune"] is None
    assert of(body["rows"][-1]["counts"]) == PROVINCE
    assert of(body["totals"]["counts"]) == TOTAL
    for figures in [*body["rows"], body["totals"]]:
        assert balances(figures["counts"])


def test_the_metrics_carry_the_form_counts_too(client: TestClient) -> None:
    ingest(client)
    r = client.get(
        "/v1/metrics", params={"from": "2025-08-15", "to": "2025-09-14", "group_by": "agency", "agency": C1}
    )
    assert r.status_code == 200, r.text
    (row,) = r.json()["rows"]
    assert of(row["counts"]) == ROW_C1
