"""The portal record → contract record mapping, field by field (pure: no database, no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.integrations.dvcqg.mapping import (
    PERSONAL_FIELDS,
    MappingContext,
    keep_known,
    map_record,
    slug_of,
    translate_errors,
)
from tests.dvcqg_factory import open_portal, portal

CTX = MappingContext(agency_code="UBND-17329", commune_code="17329", sectors={"XAYDUNG": "xay_dung"})


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def mapped(raw: dict[str, Any]) -> dict[str, Any]:
    m = map_record(raw, CTX)
    assert m.record is not None, m.errors
    return m.record


def errors(raw: Any) -> list[dict[str, Any]]:
    m = map_record(raw, CTX)
    assert m.record is None
    return m.errors


def test_a_valid_record_maps_every_contract_field() -> None:
    assert mapped(portal("000.00.07.H41-250701-0001")) == {
        "code": "000.00.07.H41-250701-0001",
        "procedure_code": "1.004227",
        "procedure_name": "Cấp giấy phép xây dựng",
        "sector": None,
        "agency_code": "UBND-17329",
        "commune_code": "17329",
        "channel": "in_person",
        "received_at": utc(2025, 7, 1, 1, 0),
        "due_at": utc(2025, 7, 10, 10, 0),
        "resolved_at": utc(2025, 7, 8, 3, 0),
        "returned_at": None,
        "status": "resolved",
        "fee_required": False,
        "paid_online": False,
        "digitised_intake": False,
        "digitised_result": False,
        "reused_digital_data": False,
        "supplements": [],
        "population_data": False,
        "from_personal_store": False,
        "updated_at": utc(2025, 7, 8, 3, 0),
    }


def test_dates_are_vietnam_local_time_and_empty_null_or_missing_mean_no_value() -> None:
    r = mapped(portal(NgayTiepNhan="20250630233000", NgayHenTra="", NgayTra=None))
    assert r["received_at"] == utc(2025, 6, 30, 16, 30)
    assert r["due_at"] is None and r["returned_at"] is None
    assert mapped(portal(NgayHenTra=...))["due_at"] is None


def test_a_deadline_at_midnight_means_the_end_of_that_day() -> None:
    assert mapped(portal(NgayHenTra="20250710000000"))["due_at"] == utc(2025, 7, 10, 17, 0)
    assert mapped(portal(NgayTiepNhan="20250701000000"))["received_at"] == utc(2025, 6, 30, 17, 0)


@pytest.mark.parametrize(
    "value",
    ["20250701080000", 20250701080000, "2025-07-01T08:00:00", "2025-07-01T01:00:00Z", "01/07/2025 08:00:00"],
)
def test_dates_as_numbers_iso_8601_or_day_month_year_are_read(value: Any) -> None:
    assert mapped(portal(NgayTiepNhan=value))["received_at"] == utc(2025, 7, 1, 1, 0)


@pytest.mark.parametrize(
    "value", ["2025-13-01", "20251301080000", "2025070108", "00010101000000", "hôm qua", True, [1]]
)
def test_a_malformed_date_is_an_error_naming_the_portal_field(value: Any) -> None:
    (err,) = errors(portal(NgayTiepNhan=value))
    assert err["loc"] == ["NgayTiepNhan"]
    assert "yyyyMMddHHmmss" in err["msg"] or err["msg"] == "must be a string"


@pytest.mark.parametrize("value", ["", None, ...])
def test_a_record_without_reception_time_is_an_error(value: Any) -> None:
    assert errors(portal(NgayTiepNhan=value)) == [
        {"loc": ["NgayTiepNhan"], "msg": "is required: the dossier's reception time", "type": "missing"}
    ]


@pytest.mark.parametrize(
    ("value", "channel"),
    [
        ("1", "in_person"),
        ("2", "online"),
        ("3", "postal"),
        (2, "online"),
        ("", "in_person"),
        (None, "in_person"),
        (..., "in_person"),
    ],
)
def test_channel_codes_and_their_default(value: Any, channel: str) -> None:
    assert mapped(portal(KenhThucHien=value))["channel"] == channel


def test_an_unknown_channel_code_is_an_error() -> None:
    assert errors(portal(KenhThucHien="4")) == [
        {"loc": ["KenhThucHien"], "msg": "must be 1 (in person), 2 (online) or 3 (postal)", "type": "enum"}
    ]


@pytest.mark.parametrize(
    ("code", "status", "over"),
    [
        ("2", "processing", {"NgayKetThucXuLy": ""}),
        ("4", "processing", {"NgayKetThucXuLy": ""}),
        ("5", "supplement_requested", {"NgayKetThucXuLy": ""}),
        ("6", "supplement_requested", {"NgayKetThucXuLy": ""}),
        ("7", "withdrawn", {}),
        ("8", "rejected", {}),
        ("9", "resolved", {}),
        ("10", "returned", {"NgayTra": "20250709090000"}),
        (10, "returned", {"NgayTra": "20250709090000"}),
        ("04", "processing", {"NgayKetThucXuLy": ""}),
    ],
)
def test_every_status_code(code: Any, status: str, over: dict[str, Any]) -> None:
    m = map_record(portal(TrangThaiHoSo=code, **over), CTX)
    assert m.record is not None and m.record["status"] == status
    assert m.warnings == []


@pytest.mark.parametrize("code", ["1", "3", 1])
def test_statuses_1_and_3_are_skipped_not_errors_whatever_else_the_record_holds(code: Any) -> None:
    m = map_record(portal("P-9", TrangThaiHoSo=code, NgayTiepNhan="garbage", KenhThucHien="9"), CTX)
    assert (m.skipped_status, m.code, m.record, m.errors) == (str(code), "P-9", None, [])


@pytest.mark.parametrize(
    ("value", "msg"), [("11", "must be one of the status codes 1 to 10"), ("", "is required")]
)
def test_an_unknown_or_missing_status_is_an_error(value: str, msg: str) -> None:
    assert [e["loc"] for e in errors(portal(TrangThaiHoSo=value))] == [["TrangThaiHoSo"]]
    assert errors(portal(TrangThaiHoSo=value))[0]["msg"] == msg


FEE = [
    {"TenPhiLePhi": "Lệ phí", "MaPhiLePhi": "LP01", "HinhThucThu": "1", "Gia": "150000", "LoaiPhiLePhi": "2"}
]


@pytest.mark.parametrize(
    ("value", "paid"),
    [("1", True), ("2", True), (1, True), ("0", False), ("3", False), ("", False), (..., False)],
)
def test_online_payment_codes(value: Any, paid: bool) -> None:
    assert mapped(portal(DanhSachLePhi=FEE, DuocThanhToanTrucTuyen=value))["paid_online"] is paid


def test_paid_online_without_a_fee_above_zero_is_set_aside_with_a_warning() -> None:
    m = map_record(portal(DuocThanhToanTrucTuyen="1", DanhSachLePhi=[{"Gia": "0"}]), CTX)
    assert m.record is not None and (m.record["fee_required"], m.record["paid_online"]) == (False, False)
    assert [w["loc"] for w in m.warnings] == [["DuocThanhToanTrucTuyen"]]


@pytest.mark.parametrize(
    ("fees", "required"),
    [
        ([{"Gia": "150000"}], True),
        ([{"Gia": 150000}], True),
        ([{"Gia": 0.5}], True),
        ([{"Gia": "0"}, {"Gia": "20.000"}], True),
        ([{"Gia": "1,500"}], True),
        ([{"Gia": "0"}, {"Gia": 0}, {"Gia": "0.00"}], False),
        ([{"Gia": ""}, {"Gia": None}, {"TenPhiLePhi": "không giá"}], False),
        ([], False),
        (None, False),
        (..., False),
    ],
)
def test_fee_required_when_some_fee_has_a_price_above_zero(fees: Any, required: bool) -> None:
    assert mapped(portal(DanhSachLePhi=fees))["fee_required"] is required


@pytest.mark.parametrize("price", ["abc", "-5", -5, True, {"x": 1}])
def test_a_malformed_price_is_an_error_naming_the_fee(price: Any) -> None:
    (err,) = errors(portal(DanhSachLePhi=[{"Gia": "0"}, {"Gia": price}]))
    assert err["loc"] == ["DanhSachLePhi", 1, "Gia"]


def test_a_fee_list_that_is_not_a_list_of_objects_is_an_error() -> None:
    assert errors(portal(DanhSachLePhi="150000"))[0]["loc"] == ["DanhSachLePhi"]
    assert errors(portal(DanhSachLePhi=["150000"]))[0]["loc"] == ["DanhSachLePhi", 0]


# The national description (formula-document.ts): 4.2 digitised = "có file đính kèm trong thành
# phần hồ sơ" (a submitted file with its file attached); 4.3 reuse = HoSoCoThanhPhanSoHoa = 1 for
# synced dossiers, TaiLieuNop[].DuocSoHoa = 1 for those created on the portal; 4.4 = DuocLayTuKhoDMQG.
@pytest.mark.parametrize(
    ("files", "digitised"),
    [
        ([{"DuongDanTaiTepTin": "https://example.org/tl/1.pdf"}], True),
        ([{"DuongDanTaiTepTin": ""}, {"DuongDanTepTin": "https://example.org/tl/2.pdf"}], True),
        ([{"duongdantaiteptin": "https://example.org/tl/3.pdf"}], True),
        ([{"DuongDanTaiTepTin": "  "}], False),
        ([{"DuongDanTaiTepTin": None, "DuocSoHoa": "1"}], False),
        ([{"DuocTaiSuDung": "1", "DuocLayTuKhoDMQG": "1"}], False),
        ([], False),
        (..., False),
    ],
)
def test_digitised_intake_when_some_submitted_file_has_its_file_attached(files: Any, digitised: bool) -> None:
    assert mapped(portal(TaiLieuNop=files))["digitised_intake"] is digitised


@pytest.mark.parametrize(
    ("over", "digitised"),
    [
        ({"HoSoCoThanhPhanSoHoa": "1"}, False),
        ({"HoSoCoThanhPhanSoHoa": "1", "TaiLieuNop": [{"DuocSoHoa": "1"}]}, False),
    ],
)
def test_the_digitised_components_flags_no_longer_make_digitised_intake(
    over: dict[str, Any], digitised: bool
) -> None:
    assert mapped(portal(**over))["digitised_intake"] is digitised


@pytest.mark.parametrize(
    ("over", "reused"),
    [
        ({"HoSoCoThanhPhanSoHoa": "1"}, True),
        ({"HoSoCoThanhPhanSoHoa": 1}, True),
        ({"HoSoCoThanhPhanSoHoa": "0"}, False),
        ({"HoSoCoThanhPhanSoHoa": ""}, False),
        ({"HoSoCoThanhPhanSoHoa": ...}, False),
        ({"HoSoCoThanhPhanSoHoa": ..., "HoSoCoThanhPhanSoHo": "1"}, True),
        ({"TaiLieuNop": [{"DuocSoHoa": "0"}, {"DuocSoHoa": "1"}]}, True),
        ({"TaiLieuNop": [{"DuocTaiSuDung": "1"}]}, True),
        ({"TaiLieuNop": [{"DuocTaiSuDung": "2"}]}, True),
        ({"TaiLieuNop": [{"DuocTaiSuDung": 2}]}, True),
        ({"TaiLieuNop": [{"DuocTaiSuDung": "3"}]}, False),
        ({"TaiLieuNop": [{"DuocTaiSuDung": "0", "DuocLayTuKhoDMQG": "1"}]}, False),
        ({"TaiLieuNop": [{"DuongDanTaiTepTin": "https://example.org/tl/1.pdf"}]}, False),
        ({"TaiLieuNop": []}, False),
    ],
)
def test_reused_digital_data_from_the_digitised_components_flags_or_a_reused_file(
    over: dict[str, Any], reused: bool
) -> None:
    assert mapped(portal(**over))["reused_digital_data"] is reused


@pytest.mark.parametrize(
    ("files", "store"),
    [
        ([{"DuocLayTuKhoDMQG": "1"}], True),
        ([{"DuocLayTuKhoDMQG": "0"}, {"DuocLayTuKhoDMQG": 1}], True),
        ([{"DuocLayTuKhoDMQG": "0", "DuocSoHoa": "1", "DuocTaiSuDung": "1"}], False),
        ([], False),
    ],
)
def test_from_personal_store_when_some_submitted_file_came_from_the_citizens_store(
    files: Any, store: bool
) -> None:
    m = map_record(portal(TaiLieuNop=files), CTX)
    assert m.record is not None and m.record["from_personal_store"] is store
    assert "from_personal_store" not in m.keep_stored


@pytest.mark.parametrize(
    ("value", "population"), [("1", True), (1, True), ("01", True), ("0", False), ("2", False)]
)
def test_population_data_from_the_vneid_verified_account_flag(value: Any, population: bool) -> None:
    m = map_record(portal(TaiKhoanDuocXacThucVoiVNeID=value), CTX)
    assert m.record is not None and m.record["population_data"] is population
    assert "population_data" not in m.keep_stored


def test_what_the_record_does_not_send_is_left_to_the_stored_dossier() -> None:
    # Absent, null and "" are "no value": the stored dossier keeps its own (service.carry_over).
    for absent in (..., None, ""):
        m = map_record(
            portal(TaiKhoanDuocXacThucVoiVNeID=absent, TaiLieuNop=absent, DanhSachHoSoBoSung=absent), CTX
        )
        assert m.record is not None and m.warnings == []
        assert m.keep_stored == {"supplements", "population_data", "from_personal_store"}
        assert (m.record["population_data"], m.record["from_personal_store"], m.record["supplements"]) == (
            False,
            False,
            [],
        )
    sent = map_record(portal(TaiKhoanDuocXacThucVoiVNeID="0"), CTX)
    assert sent.keep_stored == frozenset()


@pytest.mark.parametrize(
    ("results", "digitised"),
    [
        ([{"TenGiayTo": "Giấy phép", "DuongDanTepTinKetQua": "https://example.org/kq.pdf"}], True),
        ([{"DuongDanTepTinKetQua": ""}, {"DuongDanTepTinKetQua": "https://example.org/kq.pdf"}], True),
        ([{"TenGiayTo": "Giấy phép", "DuongDanTepTinKetQua": ""}], False),
        ([{"TenGiayTo": "Giấy phép"}], False),
        ([], False),
        (..., False),
    ],
)
def test_digitised_result_when_some_result_document_has_a_link(results: Any, digitised: bool) -> None:
    assert mapped(portal(DanhSachGiayToKetQua=results))["digitised_result"] is digitised


def test_a_result_link_on_an_open_dossier_is_set_aside_with_a_warning() -> None:
    m = map_record(
        open_portal(DanhSachGiayToKetQua=[{"DuongDanTepTinKetQua": "https://example.org/kq.pdf"}]), CTX
    )
    assert m.record is not None and m.record["digitised_result"] is False
    assert [w["loc"] for w in m.warnings] == [["DanhSachGiayToKetQua"]]


def test_the_refusal_date_closes_a_stopped_dossier_when_processing_has_no_end_date() -> None:
    m = map_record(portal(TrangThaiHoSo="8", NgayKetThucXuLy="", NgayTuChoi="20250705090000"), CTX)
    assert m.record is not None
    assert (m.record["status"], m.record["resolved_at"]) == ("rejected", utc(2025, 7, 5, 2, 0))
    assert m.warnings == [] and m.sources["resolved_at"] == "NgayTuChoi"


def test_processing_end_date_wins_over_the_refusal_date() -> None:
    r = mapped(portal(TrangThaiHoSo="8", NgayKetThucXuLy="20250706090000", NgayTuChoi="20250705090000"))
    assert r["resolved_at"] == utc(2025, 7, 6, 2, 0)


@pytest.mark.parametrize("status", ["7", "8"])
def test_withdrawn_or_stopped_without_a_close_date_takes_the_latest_event_time_with_a_warning(
    status: str,
) -> None:
    m = map_record(portal(TrangThaiHoSo=status, NgayKetThucXuLy="", NgayHenTra="20250930170000"), CTX)
    assert m.record is not None
    # The appointment is not an event: the latest event is the reception.
    assert m.record["resolved_at"] == utc(2025, 7, 1, 1, 0) == m.record["updated_at"]
    assert m.warnings == [
        {
            "loc": ["NgayKetThucXuLy"],
            "msg": f"empty for status {status}: the latest date in the record (NgayTiepNhan) "
            "is taken as the close time",
            "type": "repaired",
        }
    ]


def test_returned_without_a_return_date_takes_the_processing_end_date_with_a_warning() -> None:
    m = map_record(portal(TrangThaiHoSo="10", NgayTra=""), CTX)
    assert m.record is not None and m.record["returned_at"] == utc(2025, 7, 8, 3, 0)
    assert m.warnings == [
        {
            "loc": ["NgayTra"],
            "msg": "empty for status 10: NgayKetThucXuLy is taken as the return time",
            "type": "repaired",
        }
    ]


def test_updated_at_is_the_latest_event_time_and_not_the_appointment() -> None:
    r = mapped(portal(TrangThaiHoSo="10", NgayTra="20250709093000", NgayHenTra="20250930170000"))
    assert r["updated_at"] == utc(2025, 7, 9, 2, 30)
    assert mapped(open_portal(NgayHenTra="20250930170000"))["updated_at"] == utc(2025, 7, 1, 1, 0)


@pytest.mark.parametrize(
    ("code", "sector"),
    [
        ("XAYDUNG", "xay_dung"),
        ("G09-XD 01", "g09_xd_01"),
        ("Đất đai", "dat_dai"),
        (" XAYDUNG ", "xay_dung"),
        ("", None),
        (None, None),
        (..., None),
    ],
)
def test_sector_through_the_mapping_or_a_slug_of_the_code(code: Any, sector: str | None) -> None:
    assert mapped(portal(MaLinhVuc=code))["sector"] == sector


def test_a_sector_code_without_letters_or_digits_gives_no_sector_with_a_warning() -> None:
    m = map_record(portal(MaLinhVuc="---"), CTX)
    assert m.record is not None and m.record["sector"] is None
    assert [w["loc"] for w in m.warnings] == [["MaLinhVuc"]]
    assert slug_of("x" * 70) == "x" * 64


def test_numbers_for_strings_any_key_case_missing_lists_and_extra_fields_are_tolerated() -> None:
    raw = {
        "mahoso": 12345,
        "maTTHC": 1004227,
        "NGAYTIEPNHAN": 20250701080000,
        "trangThaiHoSo": 4,
        "kenhThucHien": 2,
        "MotTruongMoi": {"anything": [1, 2]},
        "SoBienNhan": "BN-1",
    }
    r = mapped(raw)
    assert (r["code"], r["procedure_code"], r["status"], r["channel"]) == (
        "12345",
        "1004227",
        "processing",
        "online",
    )
    assert r["received_at"] == utc(2025, 7, 1, 1, 0)


def test_a_procedure_code_sent_as_a_decimal_number_is_an_error() -> None:
    assert errors(portal(MaTTHC=1.00047)) == [
        {
            "loc": ["MaTTHC"],
            "msg": "must be a string (a number with decimals loses its trailing zeros)",
            "type": "string_type",
        }
    ]


def test_required_codes_missing_are_errors_naming_the_portal_fields() -> None:
    errs = errors(portal(MaHoSo="", MaTTHC=...))
    assert [e["loc"] for e in errs] == [["MaHoSo"], ["MaTTHC"]]


def test_a_record_that_is_not_an_object_is_an_error() -> None:
    assert errors(["MaHoSo", "P-1"]) == [
        {"loc": [], "msg": "a record must be a JSON object", "type": "model_type"}
    ]


def test_contract_errors_are_named_after_the_portal_fields_they_came_from() -> None:
    m = map_record(portal(TrangThaiHoSo="8", NgayKetThucXuLy="", NgayTuChoi="20250705090000"), CTX)
    contract = [
        {"loc": ["due_at"], "msg": "due_at is before received_at", "type": "value_error"},
        {"loc": ["resolved_at"], "msg": "resolved_at is before received_at", "type": "value_error"},
        {
            "loc": ["updated_at"],
            "msg": "updated_at is more than 5 minutes in the future",
            "type": "value_error",
        },
        {
            "loc": ["agency_code"],
            "msg": "the token may not write dossiers of this agency",
            "type": "forbidden",
        },
        {"loc": ["code"], "msg": "String should match pattern", "type": "string_pattern_mismatch"},
    ]
    assert translate_errors(contract, m.sources) == [
        {"loc": ["NgayHenTra"], "msg": "NgayHenTra is before NgayTiepNhan", "type": "value_error"},
        {"loc": ["NgayTuChoi"], "msg": "NgayTuChoi is before NgayTiepNhan", "type": "value_error"},
        {
            "loc": ["NgayTuChoi"],
            "msg": "NgayTuChoi is more than 5 minutes in the future",
            "type": "value_error",
        },
        {"loc": ["madonvi"], "msg": "the token may not write dossiers of this agency", "type": "forbidden"},
        {"loc": ["MaHoSo"], "msg": "String should match pattern", "type": "string_pattern_mismatch"},
    ]


def test_personal_data_is_dropped_before_anything_is_read() -> None:
    raw = portal(
        ChuHoSo="Nguyễn Văn Riêng",
        SoGiayToChuHoSo="001099000001",
        SoDienThoai="0900000001",
        Email="rieng@example.vn",
        Fax="0240000001",
        DinhDanhCHS=[{"LoaiDinhDanh": "1", "SoDinhDanh": "001099000001"}],
        MaDoiTuong="CD-1",
        TrichYeuHoSo="Xin cấp phép cho ông Riêng",
        ThongTinKhac="riêng",
        DiaChiChuHoSo="Số 1 phố Riêng",
        TaiLieuNop=[{"TenTepDinhKem": "cccd-rieng.pdf", "DuocSoHoa": "1"}],
        DanhSachGiayToKetQua=[{"TenGiayTo": "GP ông Riêng", "DuongDanTepTinKetQua": "https://x/rieng.pdf"}],
    )
    kept = keep_known(raw)
    assert not set(kept) & set(PERSONAL_FIELDS)
    assert "Riêng" not in repr(kept) and "rieng" not in repr(kept) and "001099000001" not in repr(kept)
    assert kept["TaiLieuNop"] == [{"DuocSoHoa": "1"}]
    assert kept["DanhSachGiayToKetQua"] == [{"DuongDanTepTinKetQua": True}]


def test_supplement_requests_in_the_order_of_their_request_empty_supply_is_unanswered() -> None:
    m = map_record(
        open_portal(
            DanhSachHoSoBoSung=[
                # Sent out of order: read in the order of NgayBoSung.
                {"NgayBoSung": "20250705090000", "NgayTiepNhanBoSung": "", "NgayHenTraMoi": "20250720170000"},
                {"NgayBoSung": "20250702080000", "NgayTiepNhanBoSung": "20250703153000", "HoTen": "x"},
            ]
        ),
        CTX,
    )
    assert m.record is not None and m.warnings == [] and "supplements" not in m.keep_stored
    # Local 08:00 is 01:00 UTC; 15:30 is 08:30; 09:00 is 02:00.
    assert m.record["supplements"] == [
        {"requested_at": utc(2025, 7, 2, 1, 0), "supplied_at": utc(2025, 7, 3, 8, 30)},
        {"requested_at": utc(2025, 7, 5, 2, 0), "supplied_at": None},
    ]
    # The latest event of an open record is NgayTiepNhan (07-01); the last request (07-05) is later.
    assert m.record["updated_at"] == utc(2025, 7, 5, 2, 0)
    assert m.sources["updated_at"] == "DanhSachHoSoBoSung"


def test_supplement_dates_join_the_latest_event_only_when_later() -> None:
    m = map_record(
        portal(DanhSachHoSoBoSung=[{"NgayBoSung": "20250702080000", "NgayTiepNhanBoSung": "20250703080000"}]),
        CTX,
    )
    assert m.record is not None
    assert (m.record["updated_at"], m.sources["updated_at"]) == (utc(2025, 7, 8, 3, 0), "NgayKetThucXuLy")


def test_a_withdrawn_record_without_a_close_date_closes_at_its_latest_supplement_date() -> None:
    m = map_record(
        open_portal(
            TrangThaiHoSo="7",
            DanhSachHoSoBoSung=[{"NgayBoSung": "20250702080000", "NgayTiepNhanBoSung": "20250704100000"}],
        ),
        CTX,
    )
    assert m.record is not None
    assert m.record["resolved_at"] == m.record["updated_at"] == utc(2025, 7, 4, 3, 0)
    assert m.warnings[0]["loc"] == ["NgayKetThucXuLy"] and "DanhSachHoSoBoSung" in m.warnings[0]["msg"]


SET_ASIDE = "; DanhSachHoSoBoSung is set aside (a stored dossier keeps its supplement requests)"


@pytest.mark.parametrize(
    ("value", "warnings"),
    [
        ("20250702080000", [(["DanhSachHoSoBoSung"], "must be a list" + SET_ASIDE)]),
        ({"NgayBoSung": "20250702080000"}, [(["DanhSachHoSoBoSung"], "must be a list" + SET_ASIDE)]),
        (["20250702080000"], [(["DanhSachHoSoBoSung", 0], "must be an object" + SET_ASIDE)]),
        (
            [{"NgayBoSung": "2 tháng 7", "NgayTiepNhanBoSung": ""}],
            [
                (
                    ["DanhSachHoSoBoSung", 0, "NgayBoSung"],
                    "must be a date and time as yyyyMMddHHmmss (Vietnam local time)" + SET_ASIDE,
                )
            ],
        ),
        (
            [{"NgayBoSung": "", "NgayTiepNhanBoSung": "20250703080000"}],
            [(["DanhSachHoSoBoSung", 0, "NgayBoSung"], "is empty" + SET_ASIDE)],
        ),
        (
            # A supply before its request.
            [{"NgayBoSung": "20250703080000", "NgayTiepNhanBoSung": "20250702080000"}],
            [
                (
                    ["DanhSachHoSoBoSung", 0, "NgayTiepNhanBoSung"],
                    "NgayTiepNhanBoSung is before its NgayBoSung" + SET_ASIDE,
                )
            ],
        ),
        (
            # Two unanswered requests: the earlier one (the second sent) is named.
            [{"NgayBoSung": "20250704080000"}, {"NgayBoSung": "20250702080000", "NgayTiepNhanBoSung": ""}],
            [
                (
                    ["DanhSachHoSoBoSung", 1, "NgayTiepNhanBoSung"],
                    "only the last supplement request may be unanswered" + SET_ASIDE,
                )
            ],
        ),
        (
            # A request before the reception (NgayTiepNhan 2025-07-01 08:00).
            [{"NgayBoSung": "20250701070000", "NgayTiepNhanBoSung": "20250701090000"}],
            [
                (
                    ["DanhSachHoSoBoSung", 0, "NgayBoSung"],
                    "a supplement request is before NgayTiepNhan" + SET_ASIDE,
                )
            ],
        ),
        (
            [{"NgayBoSung": "20250702080000", "NgayTiepNhanBoSung": "20250702090000"}] * 51,
            [(["DanhSachHoSoBoSung"], "lists more than 50 supplement requests" + SET_ASIDE)],
        ),
    ],
)
def test_an_unusable_supplement_list_is_a_warning_not_a_rejection(
    value: Any, warnings: list[tuple[list[Any], str]]
) -> None:
    m = map_record(portal(DanhSachHoSoBoSung=value), CTX)
    assert m.record is not None and m.errors == []
    assert [(w["loc"], w["msg"]) for w in m.warnings] == warnings
    assert {w["type"] for w in m.warnings} == {"ignored"}
    assert m.record["supplements"] == [] and "supplements" in m.keep_stored
    # Its dates are not used: the version is the record's latest event.
    assert m.record["updated_at"] == utc(2025, 7, 8, 3, 0)


def test_only_the_supplement_dates_are_kept_from_the_supplement_list() -> None:
    kept = keep_known(
        portal(DanhSachHoSoBoSung=[{"NgayBoSung": "20250702080000", "NoiDungBoSung": "CCCD ông Riêng"}])
    )
    assert kept["DanhSachHoSoBoSung"] == [{"NgayBoSung": "20250702080000"}]
    files = keep_known(
        portal(TaiLieuNop=[{"DuongDanTaiTepTin": "https://x/rieng.pdf", "TenTepDinhKem": "r"}])
    )
    assert files["TaiLieuNop"] == [{"DuongDanTaiTepTin": True}]
