"""A worklist as CSV (streamed line by line) and XLSX (written row by row to a temporary file): the
same items as the JSON, one line per dossier; the table itself is app.reports.table."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import IO, Any

from app.reports import table
from app.reports.table import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE

__all__ = ["COLUMNS", "CSV_MEDIA_TYPE", "XLSX_MEDIA_TYPE", "csv_head", "csv_rows", "line", "xlsx_file"]

# (the item's key, the column's heading); `weighs_on` is two columns, its lists joined by ", ".
COLUMNS: tuple[tuple[str, str], ...] = (
    ("code", "Mã hồ sơ"),
    ("procedure_code", "Mã TTHC"),
    ("procedure_name", "Tên thủ tục"),
    ("agency_code", "Mã cơ quan"),
    ("agency_name", "Tên cơ quan"),
    ("commune_code", "Mã xã/phường"),
    ("commune_name", "Tên xã/phường"),
    ("sector", "Lĩnh vực"),
    ("status", "Trạng thái"),
    ("received_at", "Ngày tiếp nhận"),
    ("deadline_at", "Hạn giải quyết"),
    ("deadline_source", "Nguồn hạn"),
    ("resolved_at", "Ngày giải quyết"),
    ("clock", "Đang chờ"),
    ("working_days_left", "Số ngày làm việc còn lại"),
    ("working_days_late", "Số ngày làm việc quá hạn"),
    ("supplement_requests", "Số lần yêu cầu bổ sung"),
    ("apology_issued", "Đã xin lỗi"),
    ("apology_owed", "Cần xin lỗi"),
    ("weighs_on.rates", "Ảnh hưởng tỷ lệ"),
    ("weighs_on.index", "Ảnh hưởng chỉ số 766"),
)


def line(item: Mapping[str, Any]) -> list[Any]:
    """An item's cells: text as it is, numbers as numbers, booleans as có/không, null as empty."""
    out: list[Any] = []
    for key, _ in COLUMNS:
        if key.startswith("weighs_on."):
            out.append(", ".join(item["weighs_on"][key.split(".", 1)[1]]))
            continue
        out.append(table.cell(item[key]))
    return out


HEADINGS = tuple(h for _, h in COLUMNS)


def csv_head() -> bytes:
    """The CSV's first line, the headings (app.reports.table)."""
    return table.csv_head(HEADINGS)


def csv_rows(items: Iterable[Mapping[str, Any]]) -> bytes:
    """A line per item (app.reports.table)."""
    return table.csv_lines(line(item) for item in items)


def xlsx_file(items: Iterable[Mapping[str, Any]], title: str) -> IO[bytes]:
    """The workbook in a temporary file (app.reports.table); the caller closes it."""
    return table.xlsx_file(HEADINGS, (line(item) for item in items), title)
