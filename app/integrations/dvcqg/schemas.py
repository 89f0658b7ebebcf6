"""The portal's sync format as documentation models, the ingest report, and the sector mapping.

The portal models describe what senders send; the endpoint reads the body itself, more tolerantly
than these schemas say (numbers for strings, any letter case in keys, missing lists, extra fields).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from app.core.vocabulary import CODE_PATTERN
from app.dossiers.schemas import IngestReport, RecordError
from app.integrations.dvcqg.sectors import SLUG_PATTERN

DATE_PATTERN = r"^(\d{14})?$"
DATE_DESCRIPTION = "yyyyMMddHHmmss in Vietnam local time; an empty string means no value."
PERSONAL = "The applicant's personal data: accepted, dropped on arrival; never stored, logged or echoed."

PortalDate = Annotated[str, Field(pattern=DATE_PATTERN, description=DATE_DESCRIPTION)]
Personal = Annotated[str | None, Field(description=PERSONAL)]

EXAMPLE_RECORD: dict[str, Any] = {
    "MaHoSo": "000.00.07.H41-250714-0001",
    "MaTTHC": "1.004227",
    "TenTTHC": "Cấp giấy phép xây dựng",
    "MaLinhVuc": "XAYDUNG",
    "TenLinhVuc": "Hoạt động xây dựng",
    "KenhThucHien": "2",
    "ChuHoSo": "Nguyễn Văn A",
    "SoDienThoai": "0912345678",
    "NgayNopHoSo": "20250714081500",
    "NgayTiepNhan": "20250714083000",
    "NgayHenTra": "20250728170000",
    "NgayKetThucXuLy": "20250725100000",
    "NgayTuChoi": "",
    "NgayTra": "20250726090000",
    "TrangThaiHoSo": "10",
    "DuocThanhToanTrucTuyen": "1",
    "HoSoCoThanhPhanSoHoa": "1",
    "TaiKhoanDuocXacThucVoiVNeID": "1",
    "DanhSachLePhi": [
        {"TenPhiLePhi": "Lệ phí cấp phép", "MaPhiLePhi": "LP01", "HinhThucThu": "1", "Gia": "150000"}
    ],
    "TaiLieuNop": [
        {
            "TenTepDinhKem": "don-de-nghi.pdf",
            "DuongDanTaiTepTin": "https://example.org/tl/0001.pdf",
            "DuocSoHoa": "1",
            "DuocTaiSuDung": "0",
            "DuocLayTuKhoDMQG": "1",
        }
    ],
    "DanhSachHoSoBoSung": [{"NgayBoSung": "20250716090000", "NgayTiepNhanBoSung": "20250717140000"}],
    "DanhSachGiayToKetQua": [
        {"TenGiayTo": "Giấy phép xây dựng", "DuongDanTepTinKetQua": "https://example.org/kq/0001.pdf"}
    ],
    "DonViXuLy": "Sở Xây dựng",
}
EXAMPLE_OPEN_RECORD: dict[str, Any] = {
    "MaHoSo": "000.00.07.H41-250920-0002",
    "MaTTHC": "1.004227",
    "MaLinhVuc": "XAYDUNG",
    "KenhThucHien": "1",
    "NgayTiepNhan": "20250920090000",
    "NgayHenTra": "20251004170000",
    "NgayKetThucXuLy": "",
    "TrangThaiHoSo": "4",
    "DanhSachLePhi": [],
}
EXAMPLE_ENVELOPE: dict[str, Any] = {
    "session": "",
    "madonvi": "000.00.07.H41",
    "service": "DongBoHoSoMC",
    "isUpdating": "True",
    "data": [EXAMPLE_RECORD, EXAMPLE_OPEN_RECORD],
}


class DvcqgFee(BaseModel):
    """A fee or charge of the dossier (DanhSachLePhi item)."""

    model_config = ConfigDict(extra="allow")

    TenPhiLePhi: str | None = None
    MaPhiLePhi: str | None = None
    HinhThucThu: str | None = None
    Gia: Annotated[
        str | None,
        Field(
            pattern=r"^(\d+([.,]\d+)*)?$",
            description="The price; a number is accepted too. Some fee above 0 makes fee_required.",
        ),
    ] = None
    LoaiPhiLePhi: str | None = None


class DvcqgSubmittedFile(BaseModel):
    """A submitted file (TaiLieuNop item); only its flags, and whether it has a link, are read."""

    model_config = ConfigDict(extra="allow")

    DuongDanTaiTepTin: Annotated[
        str | None,
        Field(
            description="Link to the attached file (also read as DuongDanTepTin or DuongDanTepDinhKem); "
            "a non-empty link makes digitised_intake. The link itself is not stored."
        ),
    ] = None
    DuocSoHoa: Annotated[
        str | None, Field(pattern=r"^\d?$", description="1 = reuses digitised data → reused_digital_data")
    ] = None
    DuocTaiSuDung: Annotated[
        str | None,
        Field(pattern=r"^\d?$", description="0 no; 1 or 2 reused digitised data → reused_digital_data"),
    ] = None
    DuocLayTuKhoDMQG: Annotated[
        str | None,
        Field(
            pattern=r"^\d?$", description="1 = taken from the citizen's document store → from_personal_store"
        ),
    ] = None


class DvcqgSupplement(BaseModel):
    """A supplement request (DanhSachHoSoBoSung item); only its two dates are read."""

    model_config = ConfigDict(extra="allow")

    NgayBoSung: Annotated[
        str | None, Field(pattern=DATE_PATTERN, description="Requested → requested_at. " + DATE_DESCRIPTION)
    ] = None
    NgayTiepNhanBoSung: Annotated[
        str | None,
        Field(pattern=DATE_PATTERN, description="Supplied → supplied_at; empty while unanswered"),
    ] = None
    NgayHenTraTruoc: Annotated[str | None, Field(description="Former appointment (not used)")] = None
    NgayHenTraMoi: Annotated[
        str | None, Field(description="New appointment (not used: the original stays due_at)")
    ] = None


class DvcqgResultDocument(BaseModel):
    """A result document (DanhSachGiayToKetQua item)."""

    model_config = ConfigDict(extra="allow")

    TenGiayTo: str | None = None
    MaThanhPhanHoSo: str | None = None
    GiayToId: str | None = None
    DuongDanTepTinKetQua: Annotated[
        str | None,
        Field(
            description="Link to the electronic result; a non-empty link on a finished dossier "
            "makes digitised_result. The link itself is not stored."
        ),
    ] = None


class DvcqgRecord(BaseModel):
    """One dossier in the portal's DongBoHoSoMC sync format. Every value is a string (numbers are
    accepted); unknown fields are allowed and ignored."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [EXAMPLE_RECORD]})

    MaHoSo: Annotated[str, Field(pattern=CODE_PATTERN, description="Dossier code → code")]
    MaTTHC: Annotated[str, Field(min_length=1, max_length=32, description="Procedure code → procedure_code")]
    TenTTHC: Annotated[str | None, Field(description="Procedure name → procedure_name")] = None
    MaLinhVuc: Annotated[
        str | None,
        Field(
            description="Procedure field code → sector, through GET/PUT /v1/sectors; an unmapped "
            "code becomes a slug of the code"
        ),
    ] = None
    TenLinhVuc: str | None = None
    KenhThucHien: Annotated[
        str | None,
        Field(
            pattern=r"^[123]?$",
            description="1 in person, 2 online, 3 public postal service; "
            "missing or empty = in person → channel",
        ),
    ] = None
    NgayNopHoSo: Annotated[str | None, Field(pattern=DATE_PATTERN, description="Submitted (not used)")] = None
    NgayTiepNhan: Annotated[
        str, Field(pattern=r"^\d{14}$", description="Received → received_at. " + DATE_DESCRIPTION)
    ]
    NgayHenTra: Annotated[
        str | None,
        Field(
            pattern=DATE_PATTERN,
            description="Appointment → due_at; a time of 000000 means the end "
            "of that day. " + DATE_DESCRIPTION,
        ),
    ] = None
    NgayKetThucXuLy: Annotated[
        str | None, Field(pattern=DATE_PATTERN, description="Processing finished → resolved_at")
    ] = None
    NgayTuChoi: Annotated[
        str | None,
        Field(
            pattern=DATE_PATTERN,
            description="Refused → resolved_at of a status-8 dossier when NgayKetThucXuLy is empty",
        ),
    ] = None
    NgayTra: Annotated[str | None, Field(pattern=DATE_PATTERN, description="Returned → returned_at")] = None
    TrangThaiHoSo: Annotated[
        str,
        Field(
            pattern=r"^([1-9]|10)$",
            description="Status: 1 newly registered (skipped), 2 received, 3 not accepted (skipped), "
            "4 processing, 5 supplement requested, 6 awaiting the applicant's financial obligation, "
            "7 withdrawn, 8 processing stopped, 9 processed, 10 result returned. "
            "2, 4 → processing; 5, 6 → supplement_requested; 7 → withdrawn; 8 → rejected; "
            "9 → resolved; 10 → returned.",
        ),
    ]
    DuocThanhToanTrucTuyen: Annotated[
        str | None,
        Field(
            pattern=r"^\d?$",
            description="1 paid on the national portal, 2 on the province's "
            "gateway, else not → paid_online (only with a fee above 0)",
        ),
    ] = None
    DanhSachLePhi: list[DvcqgFee] | None = None
    HoSoCoThanhPhanSoHoa: Annotated[
        str | None,
        Field(
            pattern=r"^\d?$", description="1 = the dossier reuses digitised components → reused_digital_data"
        ),
    ] = None
    TaiKhoanDuocXacThucVoiVNeID: Annotated[
        str | None,
        Field(
            pattern=r"^\d?$",
            description="1 = the applicant's account is VNeID-verified → population_data; "
            "missing or empty: a stored dossier keeps its value",
        ),
    ] = None
    TaiLieuNop: Annotated[
        list[DvcqgSubmittedFile] | None,
        Field(
            description="Submitted files: one with an attached file → digitised_intake; one reused → "
            "reused_digital_data; one from the store → from_personal_store (missing: a stored dossier "
            "keeps its from_personal_store)"
        ),
    ] = None
    DanhSachGiayToKetQua: list[DvcqgResultDocument] | None = None
    DonViXuLy: Annotated[
        str | None, Field(description="Handling unit's name (not used: the agency is madonvi)")
    ] = None
    HinhThuc: Annotated[str | None, Field(pattern=r"^\d?$", description="0 at the counter, 1 by post")] = None
    LoaiDoiTuong: Annotated[
        str | None, Field(pattern=r"^\d?$", description="1 citizen, 2 business, 3 state body, 4 other")
    ] = None
    DanhSachHoSoBoSung: Annotated[
        list[DvcqgSupplement] | None,
        Field(
            description="Supplement requests → supplements, read in the order of NgayBoSung; a list "
            "that cannot be used is set aside with a warning (a stored dossier keeps its requests); "
            "missing: a stored dossier keeps its requests; its dates join the version (updated_at)"
        ),
    ] = None
    ChuHoSo: Personal = None
    SoGiayToChuHoSo: Personal = None
    SoDienThoai: Personal = None
    Email: Personal = None
    Fax: Personal = None
    DinhDanhCHS: Annotated[list[dict[str, Any]] | None, Field(description=PERSONAL)] = None
    MaDoiTuong: Personal = None
    TrichYeuHoSo: Personal = None
    ThongTinKhac: Personal = None
    DiaChiChuHoSo: Personal = None


class DvcqgEnvelope(BaseModel):
    """The portal's sync request. A bare array of records is accepted as well."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [EXAMPLE_ENVELOPE]})

    session: Annotated[str | None, Field(description="The portal's session; ignored, never stored")] = None
    madonvi: Annotated[
        str | None,
        Field(
            pattern=CODE_PATTERN,
            description="The agency handling the dossiers; must be registered. May be left out when "
            "the token is limited to exactly one agency.",
        ),
    ] = None
    service: Annotated[str | None, Field(pattern=r"^DongBoHoSoMC$")] = None
    isUpdating: Annotated[
        str | None, Field(description='"True" or "False"; ignored: every record is an upsert')
    ] = None
    data: Annotated[list[DvcqgRecord], Field(min_length=1, max_length=5000)]


class SkippedRecord(BaseModel):
    index: int = Field(description="0-based position in the data array")
    code: str | None = Field(description="MaHoSo when it could be read")
    status: str = Field(description="TrangThaiHoSo: 1 (not yet received) or 3 (not accepted)")


class RecordWarnings(BaseModel):
    index: int
    code: str | None
    warnings: list[RecordError] = Field(description="Repairs made and values set aside, by portal field")


class DvcqgIngestReport(IngestReport):
    """The per-record report of POST /v1/dossiers, plus the skipped records and per-record warnings.
    `received` counts every record of the body: created + updated + unchanged + stale + rejected +
    skipped."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "received": 3,
                    "created": 1,
                    "updated": 0,
                    "unchanged": 0,
                    "stale": 0,
                    "rejected": 1,
                    "skipped": 1,
                    "errors": [
                        {
                            "index": 2,
                            "code": "000.00.07.H41-250714-0003",
                            "errors": [
                                {
                                    "loc": ["NgayTiepNhan"],
                                    "msg": "must be a date and time as yyyyMMddHHmmss (Vietnam local time)",
                                    "type": "datetime_from_date_parsing",
                                }
                            ],
                        }
                    ],
                    "errors_omitted": 0,
                    "errors_summary": [],
                    "skipped_records": [{"index": 1, "code": "000.00.07.H41-250714-0002", "status": "1"}],
                    "warnings": [
                        {
                            "index": 0,
                            "code": "000.00.07.H41-250714-0001",
                            "warnings": [
                                {
                                    "loc": ["NgayTra"],
                                    "msg": "empty for status 10: NgayKetThucXuLy is taken as the return time",
                                    "type": "repaired",
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    )

    skipped: int
    skipped_records: list[SkippedRecord]
    warnings: list[RecordWarnings]


class SectorIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"slug": "xay_dung", "name": "Hoạt động xây dựng"}]}
    )

    slug: Annotated[str, Field(pattern=SLUG_PATTERN, description="the contract's sector slug")]
    name: Annotated[str, Field(min_length=1, max_length=300, pattern=r"^[^\x00-\x1f\x7f]*$")] | None = None


class SectorOut(BaseModel):
    code: str = Field(description="MaLinhVuc as the portal format carries it")
    slug: str
    name: str | None
    updated_at: datetime
