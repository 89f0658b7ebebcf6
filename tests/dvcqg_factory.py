"""Building portal (DongBoHoSoMC) records for tests: a valid record by default, any field overridden."""

from __future__ import annotations

from typing import Any

URL = "/v1/integrations/dvcqg/dossiers"


def portal(code: str = "P-1", **over: Any) -> dict[str, Any]:
    """A valid portal record in status 9 (processed), every value a string as the format says.

    An override of `...` removes the field.
    """
    base: dict[str, Any] = {
        "MaHoSo": code,
        "MaTTHC": "1.004227",
        "TenTTHC": "Cấp giấy phép xây dựng",
        "MaLinhVuc": "",
        "TenLinhVuc": "",
        "KenhThucHien": "1",
        "NgayNopHoSo": "20250701075500",
        "NgayTiepNhan": "20250701080000",
        "NgayHenTra": "20250710170000",
        "NgayKetThucXuLy": "20250708100000",
        "NgayTuChoi": "",
        "NgayTra": "",
        "TrangThaiHoSo": "9",
        "DuocThanhToanTrucTuyen": "0",
        "HoSoCoThanhPhanSoHoa": "0",
        "DanhSachLePhi": [],
        "TaiLieuNop": [],
        "DanhSachGiayToKetQua": [],
        "DanhSachHoSoBoSung": [],
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not ...}


def open_portal(code: str = "P-1", **over: Any) -> dict[str, Any]:
    """A valid portal record in status 4 (processing)."""
    return portal(code, **{"TrangThaiHoSo": "4", "NgayKetThucXuLy": "", **over})


def envelope(records: list[Any], madonvi: str | None = "000.00.07.H41") -> dict[str, Any]:
    body: dict[str, Any] = {"session": "", "service": "DongBoHoSoMC", "isUpdating": "False", "data": records}
    if madonvi is not None:
        body["madonvi"] = madonvi
    return body
