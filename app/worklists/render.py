"""A worklist as CSV (streamed line by line) and XLSX (written row by row to a temporary file): the
same items as the JSON, one line per dossier, text cells escaped as the reports escape them."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Mapping
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from app.reports.render import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, csv_text

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
BOOL_TEXT = {True: "có", False: "không"}


def line(item: Mapping[str, Any]) -> list[Any]:
    """An item's cells: text as it is, numbers as numbers, booleans as có/không, null as empty."""
    out: list[Any] = []
    for key, _ in COLUMNS:
        if key.startswith("weighs_on."):
            out.append(", ".join(item["weighs_on"][key.split(".", 1)[1]]))
            continue
        value = item[key]
        out.append(BOOL_TEXT[value] if isinstance(value, bool) else value)
    return out


def _csv_cell(value: Any) -> Any:
    return "" if value is None else value


def csv_head() -> bytes:
    """The CSV's first line, the headings, after a UTF-8 byte-order mark (Excel shows the diacritics)."""
    return ("\ufeff" + _csv_text_of([[h for _, h in COLUMNS]])).encode()


def csv_rows(items: Iterable[Mapping[str, Any]]) -> bytes:
    """A line per item, text cells escaped (app.reports.render.csv_text), CRLF line ends."""
    return _csv_text_of([_csv_cell(v) for v in line(item)] for item in items).encode()


def _csv_text_of(rows: Iterable[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    for row in rows:
        w.writerow([csv_text(v) if isinstance(v, str) else v for v in row])
    return buf.getvalue()


def xlsx_file(items: Iterable[Mapping[str, Any]], title: str) -> IO[bytes]:
    """The workbook in a temporary file, positioned at its start (openpyxl's write-only mode keeps
    the rows on disk, not in memory). The caller closes it, which removes it."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    ws.append([_text(ws, h) for _, h in COLUMNS])
    for item in items:
        ws.append([_text(ws, v) if isinstance(v, str) else v for v in line(item)])
    out = tempfile.TemporaryFile()  # noqa: SIM115 (the caller reads it, then closes it)
    wb.save(out)
    out.seek(0)
    return out


def _text(ws: Any, value: str) -> WriteOnlyCell:
    """A typed string cell: never read as a formula or an error value (as app.reports.render.put_cell)."""
    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    return cell
