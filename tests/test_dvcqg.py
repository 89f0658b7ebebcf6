"""POST /v1/integrations/dvcqg/dossiers and the sector mapping, against SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from app import cli
from app.config import get_settings
from app.integrations.dvcqg.sectors import sector_map, seed_sectors
from app.models import SectorMapping, metadata
from app.store.engine import make_engine
from tests.dvcqg_factory import URL, envelope, open_portal, portal
from tests.factory import AGENCY, OTHER_AGENCY, rec

RESULT_LINK = [{"TenGiayTo": "Giấy phép", "DuongDanTepTinKetQua": "https://files.example.vn/kq/1.pdf"}]


def ingest(client: TestClient, records: list[Any], madonvi: str | None = AGENCY) -> dict[str, Any]:
    r = client.post(URL, json=envelope(records, madonvi))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def counts(report: dict[str, Any]) -> dict[str, int]:
    keys = ("received", "created", "updated", "unchanged", "stale", "rejected", "skipped")
    return {k: report[k] for k in keys}


def only(**nonzero: int) -> dict[str, int]:
    out = dict.fromkeys(("received", "created", "updated", "unchanged", "stale", "rejected", "skipped"), 0)
    return {**out, **nonzero}


def new_token(client: TestClient, scopes: list[str], agencies: list[str] | None) -> TestClient:
    r = client.post("/v1/tokens", json={"label": "one-stop feed", "scopes": scopes, "agencies": agencies})
    assert r.status_code == 201, r.text
    other = TestClient(client.app, base_url="http://testserver")
    other.headers["Authorization"] = f"Bearer {r.json()['token']}"
    return other


def test_the_envelope_is_stored_under_madonvi_with_the_agency_commune(client: TestClient) -> None:
    record = portal(
        "UBND-17329-250701-0001",
        KenhThucHien="2",
        MaLinhVuc="HOTICH",
        TrangThaiHoSo="10",
        NgayTra="20250709090000",
        DuocThanhToanTrucTuyen="2",
        DanhSachLePhi=[{"TenPhiLePhi": "Lệ phí", "Gia": 8000}],
        HoSoCoThanhPhanSoHoa="1",
        TaiLieuNop=[
            {
                "DuongDanTaiTepTin": "https://example.org/tl/0001.pdf",
                "DuocSoHoa": "1",
                "DuocTaiSuDung": "0",
                "DuocLayTuKhoDMQG": "1",
            }
        ],
        DanhSachGiayToKetQua=RESULT_LINK,
        TaiKhoanDuocXacThucVoiVNeID="1",
        DanhSachHoSoBoSung=[{"NgayBoSung": "20250702080000", "NgayTiepNhanBoSung": "20250703153000"}],
    )
    report = ingest(client, [record], madonvi="UBND-17329")
    assert report == {
        **only(received=1, created=1),
        "errors": [],
        "errors_omitted": 0,
        "errors_summary": [],
        "skipped_records": [],
        "warnings": [],
    }
    stored = client.get("/v1/dossiers/UBND-17329-250701-0001").json()
    assert stored == {
        "code": "UBND-17329-250701-0001",
        "procedure_code": "1.004227",
        "procedure_name": "Cấp giấy phép xây dựng",
        "sector": "ho_tich",
        "agency_code": "UBND-17329",
        "commune_code": "17329",
        "channel": "online",
        "online_level": None,
        "received_at": "2025-07-01T08:00:00+07:00",
        "due_at": "2025-07-10T17:00:00+07:00",
        "resolved_at": "2025-07-08T10:00:00+07:00",
        "returned_at": "2025-07-09T09:00:00+07:00",
        "status": "returned",
        "fee_required": True,
        "paid_online": True,
        "digitised_intake": True,
        "digitised_result": True,
        "reused_digital_data": True,
        "apology_issued": False,
        "rating": None,
        "supplements": [
            {"requested_at": "2025-07-02T08:00:00+07:00", "supplied_at": "2025-07-03T15:30:00+07:00"}
        ],
        "complaint": False,
        "population_data": True,
        "from_personal_store": True,
        "updated_at": "2025-07-09T09:00:00+07:00",
        "outcome": "early",
    }


def test_a_bare_array_takes_the_agency_from_the_query_or_a_single_agency_token(client: TestClient) -> None:
    r = client.post(URL, params={"madonvi": OTHER_AGENCY}, json=[portal("Q-1")])
    assert r.status_code == 200 and r.json()["created"] == 1
    assert client.get("/v1/dossiers/Q-1").json()["agency_code"] == OTHER_AGENCY
    r = client.post(URL, params={"MaDinhDanhDV": OTHER_AGENCY}, json=[portal("Q-2")])
    assert r.status_code == 200 and r.json()["created"] == 1

    feed = new_token(client, ["ingest"], [AGENCY])
    r = feed.post(URL, json=[portal("Q-3")])
    assert r.status_code == 200 and r.json()["created"] == 1
    assert client.get("/v1/dossiers/Q-3").json()["agency_code"] == AGENCY


def test_without_madonvi_a_token_for_every_agency_is_refused(client: TestClient) -> None:
    r = client.post(URL, json=[portal("Q-1")])
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"] == [
        {
            "loc": ["madonvi"],
            "msg": "is required unless the token is limited to exactly one agency",
            "type": "missing",
        }
    ]


@pytest.mark.parametrize(
    ("body", "params", "loc", "kind"),
    [
        (envelope([portal()], "000.00.99.H41"), {}, ["madonvi"], "unknown_agency"),
        (envelope([portal()], "not a code!"), {}, ["madonvi"], "string_pattern_mismatch"),
        (envelope([portal()]), {"madonvi": OTHER_AGENCY}, ["madonvi"], "value_error"),
        ({**envelope([portal()]), "service": "LayThuTuc"}, {}, ["service"], "literal_error"),
        ({"madonvi": AGENCY, "data": {"MaHoSo": "P-1"}}, {}, ["data"], "list_type"),
        (envelope([]), {}, ["data"], "too_short"),
        ("DongBoHoSoMC", {}, [], "model_type"),
    ],
)
def test_a_malformed_envelope_is_refused_whole(
    client: TestClient, body: Any, params: dict[str, str], loc: list[str], kind: str
) -> None:
    r = client.post(URL, params=params, json=body)
    assert r.status_code == 422
    assert [(e["loc"], e["type"]) for e in r.json()["errors"]] == [(loc, kind)]
    assert client.get("/v1/dossiers/P-1").status_code == 404


def test_bodies_that_are_not_json_are_refused(client: TestClient) -> None:
    r = client.post(URL, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    r = client.post(URL, content=b"MaHoSo=P-1", headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415


def test_token_rules_are_those_of_the_dossier_ingest(client: TestClient, anon: TestClient) -> None:
    assert anon.post(URL, json=envelope([portal()])).status_code == 401
    reader = new_token(client, ["read"], None)
    assert reader.post(URL, json=envelope([portal()])).status_code == 403
    feed = new_token(client, ["ingest"], [AGENCY])
    r = feed.post(URL, json=envelope([portal("F-1")], madonvi=OTHER_AGENCY))
    assert r.status_code == 200
    assert counts(r.json()) == only(received=1, rejected=1)
    assert r.json()["errors"] == [
        {
            "index": 0,
            "code": "F-1",
            "errors": [
                {
                    "loc": ["madonvi"],
                    "msg": "the token may not write dossiers of this agency",
                    "type": "forbidden",
                }
            ],
        }
    ]


def test_versions_older_is_stale_same_is_unchanged_anything_else_updated(client: TestClient) -> None:
    def send(record: dict[str, Any]) -> dict[str, int]:
        return counts(ingest(client, [record]))

    received = open_portal("V-1")
    supplement = open_portal("V-1", TrangThaiHoSo="5")
    processed = portal("V-1")
    with_link = portal("V-1", DanhSachGiayToKetQua=RESULT_LINK)
    returned = portal("V-1", TrangThaiHoSo="10", NgayTra="", DanhSachGiayToKetQua=RESULT_LINK)

    assert send(received) == only(received=1, created=1)
    assert send(received) == only(received=1, unchanged=1)
    # Same time, an open status of the same rank, new content.
    assert send(supplement) == only(received=1, updated=1)
    assert send(processed) == only(received=1, updated=1)
    # An older event time.
    assert send(received) == only(received=1, stale=1)
    # The same version with new content (an electronic result) replaces it.
    assert send(with_link) == only(received=1, updated=1)
    assert send(with_link) == only(received=1, unchanged=1)
    # Returned without a return date: the same time, a higher status rank.
    assert send(returned) == only(received=1, updated=1)
    # Back to processed at the same time: a lower rank, so older.
    assert send(with_link) == only(received=1, stale=1)

    stored = client.get("/v1/dossiers/V-1").json()
    assert (stored["status"], stored["digitised_result"], stored["returned_at"]) == (
        "returned",
        True,
        "2025-07-08T10:00:00+07:00",
    )
    totals = client.get("/v1/metrics", params={"from": "2025-07-01", "to": "2025-07-31"}).json()["totals"][
        "counts"
    ]
    assert (totals["received"], totals["finished"], totals["finished_early"], totals["digitised_result"]) == (
        1,
        1,
        1,
        1,
    )


def test_a_batch_is_judged_in_order_and_never_conflicts(client: TestClient) -> None:
    report = ingest(
        client, [open_portal("B-1"), portal("B-1"), open_portal("B-1"), portal("B-1", NgayHenTra="")]
    )
    assert counts(report) == only(received=4, created=1, updated=2, stale=1)
    assert client.get("/v1/dossiers/B-1").json()["due_at"] is None


def test_records_in_status_1_or_3_are_skipped_and_listed(client: TestClient) -> None:
    report = ingest(
        client,
        [portal("S-1"), portal("S-2", TrangThaiHoSo="1"), portal("S-3", TrangThaiHoSo=3, NgayTiepNhan="")],
    )
    assert counts(report) == only(received=3, created=1, skipped=2)
    assert report["skipped_records"] == [
        {"index": 1, "code": "S-2", "status": "1"},
        {"index": 2, "code": "S-3", "status": "3"},
    ]
    assert report["errors"] == []
    assert client.get("/v1/dossiers/S-2").status_code == 404
    # A skip is only a skip: a stored dossier of the same code stays.
    assert counts(ingest(client, [portal("S-1", TrangThaiHoSo="3")])) == only(received=1, skipped=1)
    assert client.get("/v1/dossiers/S-1").json()["status"] == "resolved"


def test_each_bad_record_gets_errors_naming_portal_fields_and_the_rest_is_stored(client: TestClient) -> None:
    report = ingest(
        client,
        [
            portal("E-1"),
            portal("E-2", NgayTiepNhan="2025-13-45"),
            portal("E-3", NgayHenTra="20250630170000"),
            open_portal("E-4", NgayTiepNhan="20251001090000", NgayHenTra=""),
            portal("E-5", TrangThaiHoSo="9", NgayKetThucXuLy=""),
            portal("E 6"),
            "MaHoSo",
            portal("E-8", DanhSachLePhi=[{"Gia": "miễn phí"}], KenhThucHien="7"),
        ],
    )
    assert counts(report) == only(received=8, created=1, rejected=7)
    assert report["errors"] == [
        {
            "index": 1,
            "code": "E-2",
            "errors": [
                {
                    "loc": ["NgayTiepNhan"],
                    "msg": "must be a date and time as yyyyMMddHHmmss (Vietnam local time)",
                    "type": "datetime_from_date_parsing",
                }
            ],
        },
        {
            "index": 2,
            "code": "E-3",
            "errors": [
                {"loc": ["NgayHenTra"], "msg": "NgayHenTra is before NgayTiepNhan", "type": "value_error"}
            ],
        },
        {
            "index": 3,
            "code": "E-4",
            "errors": [
                {
                    "loc": ["NgayTiepNhan"],
                    "msg": "NgayTiepNhan is more than 5 minutes in the future",
                    "type": "value_error",
                }
            ],
        },
        {
            "index": 4,
            "code": "E-5",
            "errors": [
                {
                    "loc": ["NgayKetThucXuLy"],
                    "msg": "status resolved needs NgayKetThucXuLy",
                    "type": "value_error",
                }
            ],
        },
        {
            "index": 5,
            "code": None,
            "errors": [
                {
                    "loc": ["MaHoSo"],
                    "msg": "String should match pattern '^[A-Za-z0-9._-]{1,64}$'",
                    "type": "string_pattern_mismatch",
                }
            ],
        },
        {
            "index": 6,
            "code": None,
            "errors": [{"loc": [], "msg": "a record must be a JSON object", "type": "model_type"}],
        },
        {
            "index": 7,
            "code": "E-8",
            "errors": [
                {
                    "loc": ["KenhThucHien"],
                    "msg": "must be 1 (in person), 2 (online) or 3 (postal)",
                    "type": "enum",
                },
                {
                    "loc": ["DanhSachLePhi", 0, "Gia"],
                    "msg": "must be a price (a number of 0 or more)",
                    "type": "decimal_parsing",
                },
            ],
        },
    ]
    assert client.get("/v1/dossiers/E-1").status_code == 200
    assert client.get("/v1/dossiers/E-3").status_code == 404


def test_repairs_are_reported_per_record_as_warnings(client: TestClient) -> None:
    report = ingest(
        client,
        [
            portal("R-1", TrangThaiHoSo="7", NgayKetThucXuLy=""),
            portal("R-2"),
            portal("R-3", TrangThaiHoSo="10", NgayTra=""),
        ],
    )
    assert counts(report) == only(received=3, created=3)
    assert report["warnings"] == [
        {
            "index": 0,
            "code": "R-1",
            "warnings": [
                {
                    "loc": ["NgayKetThucXuLy"],
                    "msg": "empty for status 7: the latest date in the record (NgayTiepNhan) "
                    "is taken as the close time",
                    "type": "repaired",
                }
            ],
        },
        {
            "index": 2,
            "code": "R-3",
            "warnings": [
                {
                    "loc": ["NgayTra"],
                    "msg": "empty for status 10: NgayKetThucXuLy is taken as the return time",
                    "type": "repaired",
                }
            ],
        },
    ]
    withdrawn = client.get("/v1/dossiers/R-1").json()
    assert (withdrawn["status"], withdrawn["resolved_at"], withdrawn["outcome"]) == (
        "withdrawn",
        "2025-07-01T08:00:00+07:00",
        "withdrawn",
    )


def test_what_the_format_cannot_carry_is_kept_from_the_native_api(client: TestClient) -> None:
    native = rec(
        "N-1",
        channel="online",
        online_level="full",
        rating="satisfied",
        apology_issued=True,
    )
    assert client.put("/v1/dossiers/N-1", json=native).status_code == 201
    report = ingest(client, [portal("N-1", KenhThucHien="2", TrangThaiHoSo="10", NgayTra="20250709090000")])
    assert counts(report) == only(received=1, updated=1)
    stored = client.get("/v1/dossiers/N-1").json()
    assert (stored["status"], stored["online_level"], stored["rating"], stored["apology_issued"]) == (
        "returned",
        "full",
        "satisfied",
        True,
    )
    # Re-sending the same portal record changes nothing.
    report = ingest(client, [portal("N-1", KenhThucHien="2", TrangThaiHoSo="10", NgayTra="20250709090000")])
    assert counts(report) == only(received=1, unchanged=1)
    # A move to in person drops the online level, which the contract allows only online.
    report = ingest(client, [portal("N-1", TrangThaiHoSo="10", NgayTra="20250709100000")])
    stored = client.get("/v1/dossiers/N-1").json()
    assert (stored["channel"], stored["online_level"], stored["rating"]) == ("in_person", None, "satisfied")


def test_a_stored_complaint_and_what_a_record_does_not_send_survive_a_portal_update(
    client: TestClient,
) -> None:
    native = rec(
        "K-1",
        complaint=True,
        population_data=True,
        from_personal_store=True,
        supplements=[
            {"requested_at": "2025-07-02T08:00:00+07:00", "supplied_at": "2025-07-03T08:00:00+07:00"}
        ],
    )
    assert client.put("/v1/dossiers/K-1", json=native).status_code == 201
    # Returned a day later; the record sends no VNeID flag, no file list and no supplement list.
    later = portal(
        "K-1",
        TrangThaiHoSo="10",
        NgayTra="20250709090000",
        TaiKhoanDuocXacThucVoiVNeID=...,
        TaiLieuNop=...,
        DanhSachHoSoBoSung=None,
    )
    assert counts(ingest(client, [later])) == only(received=1, updated=1)
    stored = client.get("/v1/dossiers/K-1").json()
    kept = {"requested_at": "2025-07-02T08:00:00+07:00", "supplied_at": "2025-07-03T08:00:00+07:00"}
    assert (
        stored["status"],
        stored["complaint"],
        stored["population_data"],
        stored["from_personal_store"],
    ) == (
        "returned",
        True,
        True,
        True,
    )
    assert stored["supplements"] == [kept]
    # Re-sending it changes nothing; an unreadable supplement list is a warning and keeps them too.
    assert counts(ingest(client, [later])) == only(received=1, unchanged=1)
    report = ingest(client, [{**later, "DanhSachHoSoBoSung": "20250702080000"}])
    assert counts(report) == only(received=1, unchanged=1)
    assert report["warnings"][0]["warnings"] == [
        {
            "loc": ["DanhSachHoSoBoSung"],
            "msg": "must be a list; DanhSachHoSoBoSung is set aside (a stored dossier keeps its supplement "
            "requests)",
            "type": "ignored",
        }
    ]
    # What the record does send replaces the stored values; the complaint, never sent, stays.
    sent = {
        **later,
        "TaiKhoanDuocXacThucVoiVNeID": "0",
        "TaiLieuNop": [],
        "DanhSachHoSoBoSung": [{"NgayBoSung": "20250704080000", "NgayTiepNhanBoSung": "20250704100000"}],
    }
    assert counts(ingest(client, [sent])) == only(received=1, updated=1)
    stored = client.get("/v1/dossiers/K-1").json()
    assert (stored["complaint"], stored["population_data"], stored["from_personal_store"]) == (
        True,
        False,
        False,
    )
    assert stored["supplements"] == [
        {"requested_at": "2025-07-04T08:00:00+07:00", "supplied_at": "2025-07-04T10:00:00+07:00"}
    ]
    # An empty list is a list: no supplement requests.
    assert counts(ingest(client, [{**sent, "DanhSachHoSoBoSung": []}])) == only(received=1, updated=1)
    assert client.get("/v1/dossiers/K-1").json()["supplements"] == []


def test_re_sending_a_stored_portal_record_corrects_its_flags(client: TestClient) -> None:
    records = [
        portal(
            "M-1",
            HoSoCoThanhPhanSoHoa="1",
            TaiLieuNop=[{"DuocLayTuKhoDMQG": "1"}],
            TaiKhoanDuocXacThucVoiVNeID="1",
        ),
        portal(
            "M-2",
            HoSoCoThanhPhanSoHoa="0",
            TaiLieuNop=[{"DuongDanTaiTepTin": "https://files.example.vn/tl/2.pdf", "DuocLayTuKhoDMQG": "1"}],
        ),
    ]
    # The dossiers as the former mapping stored these records: HoSoCoThanhPhanSoHoa made
    # digitised_intake (M-1), a file from the store made reused_digital_data (both), an attached file
    # made nothing (M-2), and neither the store nor VNeID was read. Written through the native API
    # with the same updated_at, so the rollups stay consistent.
    name = "Cấp giấy phép xây dựng"
    former = [
        rec("M-1", procedure_name=name, digitised_intake=True, reused_digital_data=True),
        rec("M-2", procedure_name=name, reused_digital_data=True),
    ]
    assert client.post("/v1/dossiers", json=former).json()["created"] == 2

    def flags(code: str) -> tuple[bool, ...]:
        d = client.get(f"/v1/dossiers/{code}").json()
        assert d["updated_at"] == "2025-07-08T10:00:00+07:00"
        keys = ("digitised_intake", "reused_digital_data", "from_personal_store", "population_data")
        return tuple(d[k] for k in keys)

    assert (flags("M-1"), flags("M-2")) == ((True, True, False, False), (False, True, False, False))
    # The same records again: the same version (latest event, status) with new content is `updated`.
    assert counts(ingest(client, records)) == only(received=2, updated=2)
    # M-1: no attached file (not digitised), HoSoCoThanhPhanSoHoa = 1 (reuse), from the store, VNeID.
    # M-2: an attached file (digitised), nothing says reuse, from the store, no VNeID flag sent.
    assert (flags("M-1"), flags("M-2")) == ((False, True, True, True), (True, False, True, False))
    assert counts(ingest(client, records)) == only(received=2, unchanged=2)


def test_sector_mappings_are_seeded_listed_and_edited_by_admins(client: TestClient, anon: TestClient) -> None:
    seeded = anon.get("/v1/sectors").json()
    assert len(seeded) == 8
    assert {"code": "DATDAI", "slug": "dat_dai", "name": "Đất đai"}.items() <= seeded[1].items()
    body = {"slug": "xay_dung", "name": "Cấp phép xây dựng"}
    assert anon.put("/v1/sectors/G09-XD01", json=body).status_code == 401
    r = client.put("/v1/sectors/G09-XD01", json=body)
    assert r.status_code == 201
    assert r.json() == {
        "code": "G09-XD01",
        "slug": "xay_dung",
        "name": "Cấp phép xây dựng",
        "updated_at": "2025-10-01T08:00:00+07:00",
    }
    r = client.put("/v1/sectors/G09-XD01", json={"slug": "hoat_dong_xay_dung"})
    assert r.status_code == 200 and r.json()["slug"] == "hoat_dong_xay_dung" and r.json()["name"] is None
    bad = client.put("/v1/sectors/G09-XD01", json={"slug": "Xây dựng"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "slug"]
    assert len(client.get("/v1/sectors").json()) == 9
    assert client.delete("/v1/sectors/G09-XD01").status_code == 204
    assert client.delete("/v1/sectors/G09-XD01").status_code == 404


def test_mapped_sectors_make_land_construction_and_investment_slugs_apply(client: TestClient) -> None:
    assert client.put("/v1/sectors/G09-XD01", json={"slug": "xay_dung"}).status_code == 201
    report = ingest(
        client,
        [
            portal("M-1", MaLinhVuc="DATDAI"),
            portal("M-2", MaLinhVuc="DATDAI"),
            portal("M-3", MaLinhVuc="G09-XD01"),
            portal("M-4", MaLinhVuc="DAUTU"),
            portal("M-5", MaLinhVuc="LV.Khác 01"),
            portal("M-6", MaLinhVuc=""),
        ],
    )
    assert report["created"] == 6
    body = client.get(
        "/v1/metrics", params={"from": "2025-07-01", "to": "2025-07-31", "group_by": "sector"}
    ).json()
    assert [(row["sector"], row["counts"]["received"]) for row in body["rows"]] == [
        ("dat_dai", 2),
        ("dau_tu", 1),
        ("lv_khac_01", 1),
        ("xay_dung", 1),
        (None, 1),
    ]


PII: dict[str, Any] = {
    "ChuHoSo": "Bùi Thị Bảo Mật",
    "SoGiayToChuHoSo": "038199012345",
    "SoDienThoai": "0987123456",
    "Email": "bao.mat.zx@example.vn",
    "Fax": "02383123999",
    "DinhDanhCHS": [{"LoaiDinhDanh": "1", "SoDinhDanh": "038199054321", "TenChuHoSo": "Bùi Bảo Mật"}],
    "MaDoiTuong": "DOITUONG-ZX-77",
    "TrichYeuHoSo": "Hồ sơ của bà Kín Đáo",
    "ThongTinKhac": "ghi chú riêng ZX-99",
    "DiaChiChuHoSo": "Xóm Kín, xã Anh Sơn",
    "DiaChiThuongTru": "Thôn Ẩn Danh",
    "SoDinhDanhNguoiUyQuyen": "038188000777",
    "TaiLieuNop": [
        {"TenTepDinhKem": "cccd-baomat-zx.pdf", "DuocSoHoa": "1", "DuongDanTaiTepTin": "/tl/baomat-zx"}
    ],
    "DanhSachGiayToKetQua": [
        {
            "TenGiayTo": "Giấy phép cho bà Kín Đáo",
            "DuongDanTepTinKetQua": "https://files.example.vn/baomat-zx.pdf",
        }
    ],
}


def _leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _leaves(v)]
    if isinstance(value, list):
        return [s for v in value for s in _leaves(v)]
    return [value] if isinstance(value, str) and len(value) > 3 else []


SECRETS = [s for s in _leaves(PII) if s not in ("/tl/",)]


def test_personal_data_is_never_stored_logged_or_echoed(
    client: TestClient, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bodies: list[str] = []
    batch = [
        portal("PII-1", **PII),
        portal("PII-2", TrangThaiHoSo="1", **PII),
        portal("PII-3", NgayTiepNhan="bad", **PII),
        portal("PII-4", NgayHenTra="20250601080000", **PII),
        open_portal("PII-5", DuocThanhToanTrucTuyen="1", **PII),
        {**PII, "MaHoSo": "PII-6"},
        portal("PII-7", ChuHoSo=["Bùi Thị Bảo Mật"], SoDienThoai=987123456),
    ]
    r = client.post(URL, json=envelope(batch))
    bodies.append(r.text)
    assert counts(r.json()) == only(received=7, created=3, rejected=3, skipped=1)
    r = client.post(URL, params={"madonvi": AGENCY}, json=[portal("PII-1", **PII)])
    bodies.append(r.text)
    r = client.post(URL, json={**envelope([portal("PII-8", **PII)]), "madonvi": "000.00.99.H41"})
    bodies.append(r.text)
    assert r.status_code == 422
    bodies.append(client.get("/v1/dossiers/PII-1").text)
    bodies.append(client.get("/v1/dossiers", params={"limit": 100}).text)
    bodies.append(client.get("/v1/audit").text)

    with engine.connect() as conn:
        dump = "\n".join(repr(conn.execute(select(t)).all()) for t in metadata.sorted_tables)
    assert "PII-1" in dump and "write" in caplog.text  # the search looks where the data is
    for secret in SECRETS:
        escaped = json.dumps(secret)[1:-1]
        for where, haystack in (("database", dump), ("logs", caplog.text), ("responses", "\n".join(bodies))):
            assert secret not in haystack and escaped not in haystack, f"{secret!r} found in the {where}"
    assert "987123456" not in dump + caplog.text + "".join(bodies)


def test_the_same_dossiers_give_the_same_metrics_through_either_format(client: TestClient) -> None:
    contract = [
        rec("C-01", channel="online", sector="xay_dung", returned_at="2025-07-09T09:00:00+07:00",
            status="returned", fee_required=True, paid_online=True, digitised_intake=True,
            digitised_result=True),
        rec("C-02", sector="dat_dai", received_at="2025-07-02T08:00:00+07:00",
            resolved_at="2025-07-10T15:00:00+07:00"),
        rec("C-03", channel="postal", sector="dau_tu", received_at="2025-07-03T08:00:00+07:00",
            due_at="2025-07-05T17:00:00+07:00", resolved_at="2025-07-07T10:00:00+07:00", status="rejected"),
        rec("C-04", received_at="2025-08-01T08:00:00+07:00", due_at="2025-08-15T17:00:00+07:00",
            resolved_at="2025-08-05T10:00:00+07:00", status="withdrawn"),
        rec("C-05", channel="online", sector="xay_dung", received_at="2025-09-25T08:00:00+07:00",
            due_at="2025-10-10T17:00:00+07:00", resolved_at=None, status="processing"),
        rec("C-06", sector="dat_dai", received_at="2025-08-10T08:00:00+07:00",
            due_at="2025-08-20T17:00:00+07:00", resolved_at=None, status="supplement_requested"),
        rec("C-07", sector="ho_tich", received_at="2025-09-01T08:00:00+07:00", due_at=None,
            resolved_at="2025-09-03T10:00:00+07:00", reused_digital_data=True),
        rec("C-08", sector="dat_dai", received_at="2025-09-10T08:00:00+07:00", due_at="2025-09-12",
            resolved_at="2025-09-12T16:00:00+07:00"),
        rec("C-09", channel="online", fee_required=True, received_at="2025-09-15T08:00:00+07:00",
            due_at="2025-10-05T17:00:00+07:00", resolved_at=None, status="processing"),
        rec("C-10", sector="xay_dung", received_at="2025-08-01T08:00:00+07:00",
            due_at="2025-08-05T17:00:00+07:00", resolved_at="2025-08-06T09:00:00+07:00",
            returned_at="2025-08-07T09:00:00+07:00", status="returned"),
    ]  # fmt: skip
    fee = [{"TenPhiLePhi": "Lệ phí", "Gia": "150000"}]
    same_portal = [
        portal("P-01", KenhThucHien="2", MaLinhVuc="XAYDUNG", TrangThaiHoSo="10", NgayTra="20250709090000",
               DuocThanhToanTrucTuyen="1", DanhSachLePhi=fee, HoSoCoThanhPhanSoHoa="0",
               TaiLieuNop=[{"DuongDanTaiTepTin": "https://example.org/tl.pdf"}],
               DanhSachGiayToKetQua=RESULT_LINK),
        portal("P-02", MaLinhVuc="DATDAI", NgayTiepNhan="20250702080000", NgayKetThucXuLy="20250710150000"),
        portal("P-03", KenhThucHien="3", MaLinhVuc="DAUTU", NgayTiepNhan="20250703080000",
               NgayHenTra="20250705170000", TrangThaiHoSo="8", NgayKetThucXuLy="",
               NgayTuChoi="20250707100000"),
        portal("P-04", NgayTiepNhan="20250801080000", NgayHenTra="20250815170000", TrangThaiHoSo="7",
               NgayKetThucXuLy="20250805100000"),
        open_portal("P-05", KenhThucHien="2", MaLinhVuc="XAYDUNG", NgayTiepNhan="20250925080000",
                    NgayHenTra="20251010170000"),
        open_portal("P-06", MaLinhVuc="DATDAI", TrangThaiHoSo="5", NgayTiepNhan="20250810080000",
                    NgayHenTra="20250820170000"),
        portal("P-07", MaLinhVuc="HOTICH", NgayTiepNhan="20250901080000", NgayHenTra="",
               NgayKetThucXuLy="20250903100000", TaiLieuNop=[{"DuocTaiSuDung": "1"}]),
        portal("P-08", MaLinhVuc="DATDAI", NgayTiepNhan="20250910080000", NgayHenTra="20250912000000",
               NgayKetThucXuLy="20250912160000"),
        open_portal("P-09", KenhThucHien="2", NgayTiepNhan="20250915080000", NgayHenTra="20251005170000",
                    DanhSachLePhi=[{"Gia": "50.000"}], DuocThanhToanTrucTuyen="0"),
        portal("P-10", MaLinhVuc="XAYDUNG", NgayTiepNhan="20250801080000", NgayHenTra="20250805170000",
               NgayKetThucXuLy="20250806090000", TrangThaiHoSo="10", NgayTra="20250807090000"),
    ]  # fmt: skip
    native = client.post("/v1/dossiers", json=contract).json()
    assert (native["created"], native["rejected"]) == (10, 0), native
    assert counts(ingest(client, same_portal, madonvi=OTHER_AGENCY)) == only(received=10, created=10)

    def metrics(agency: str) -> dict[str, Any]:
        params: dict[str, Any] = {
            "from": "2025-07-01",
            "to": "2025-09-30",
            "agency": agency,
            "group_by": ["month", "sector", "channel"],
        }
        body: dict[str, Any] = client.get("/v1/metrics", params=params).json()
        return {"rows": body["rows"], "totals": body["totals"]}

    assert metrics(OTHER_AGENCY) == metrics(AGENCY)
    totals = metrics(OTHER_AGENCY)["totals"]["counts"]
    assert totals == {
        **dict.fromkeys(totals, 0),
        "received": 10,
        "received_online": 3,
        "fee_required": 2,
        "paid_online": 1,
        "digitised_intake": 1,
        "reused_digital_data": 1,
        "finished": 6,
        "finished_early": 1,
        "finished_on_time": 3,
        "finished_late": 2,
        "digitised_result": 1,
        "withdrawn": 1,
        "pending": 3,
        "pending_overdue": 1,
        # 10 received, nothing carried over = 7 closed (6 finished, C-04 withdrawn) + 3 pending; C-04,
        # withdrawn on 5 August before its deadline (15 August), is closed early.
        "received_total": 10,
        "closed": 7,
        "closed_early": 2,
        "closed_on_time": 3,
        "closed_late": 2,
    }


def test_migrate_loads_the_sector_seed_without_overwriting_edits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = tmp_path / "sectors.json"
    seed.write_text(json.dumps({"sectors": [{"code": "LV-01", "slug": "dat_dai", "name": "Đất đai"}]}))
    url = f"sqlite:///{tmp_path}/tthc.db"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("TTHC_SECTOR_SEED", str(seed))
    get_settings.cache_clear()
    try:
        assert cli.main(["migrate"]) == 0
        assert "146 agencies and 1 sector mappings added" in capsys.readouterr().out
        engine = make_engine(url)
        with engine.begin() as conn:
            assert sector_map(conn) == {"LV-01": "dat_dai"}
            conn.execute(update(SectorMapping).values(slug="xay_dung"))
        assert cli.main(["migrate"]) == 0
        assert "0 agencies and 0 sector mappings added" in capsys.readouterr().out
        with engine.connect() as conn:
            assert sector_map(conn) == {"LV-01": "xay_dung"}
        engine.dispose()
    finally:
        get_settings.cache_clear()


def test_a_seed_entry_with_a_bad_slug_is_refused(tmp_path: Path) -> None:
    seed = tmp_path / "sectors.json"
    seed.write_text(json.dumps({"sectors": [{"code": "LV-01", "slug": "Đất đai"}]}))
    with pytest.raises(ValueError, match=r"sectors\[0\]\.slug"):
        seed_sectors(str(seed))
    assert {s.slug for s in seed_sectors()} >= {"dat_dai", "xay_dung", "dau_tu"}
