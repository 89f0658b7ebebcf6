"""The periodic report as CSV and XLSX: the JSON document's figures under the report form's headings."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from app.core.calculator import term_sum
from app.core.definitions import PENDING_WITHIN_DEADLINE, RECEIVED_NOT_ONLINE, Terms

REPORT_TITLE = "BÁO CÁO TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"
REPORT_SLUG = "bao-cao-giai-quyet-ho-so"
TOTAL_LABEL = "Tổng cộng"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

UNIT_WORDS: dict[str, tuple[str, str, str]] = {
    # unit -> (whom the report is by, code heading, name heading)
    "agency": ("Theo cơ quan, đơn vị giải quyết", "Mã cơ quan", "Tên cơ quan, đơn vị"),
    "commune": ("Theo xã, phường", "Mã xã, phường", "Tên xã, phường"),
    "sector": ("Theo lĩnh vực", "Mã lĩnh vực", "Tên lĩnh vực"),
}
# The name shown for the row of dossiers with no value for the unit (no commune, no sector).
UNKNOWN_NAME = {
    "agency": "(không xác định cơ quan)",
    "commune": "(không gắn với xã, phường)",
    "sector": "(chưa xác định lĩnh vực)",
}

Figures = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Column:
    group: str | None  # the heading over a group of columns; None for a column standing alone
    heading: str
    kind: Literal["count", "rate"]
    value: Callable[[Figures], int | float | None]
    flat: str = ""  # the heading in a one-row header (CSV); by default "group - heading"

    @property
    def flat_heading(self) -> str:
        return self.flat or (f"{self.group} - {self.heading}" if self.group else self.heading)


def _count(name: str) -> Callable[[Figures], int | float | None]:
    return lambda f: int(f["counts"][name])


def _derived(terms: Terms) -> Callable[[Figures], int | float | None]:
    """A count derived from the catalogue's counts (app/metrics/definitions.py), as a signed sum."""
    return lambda f: term_sum(terms, f["counts"])


def _rate(name: str) -> Callable[[Figures], int | float | None]:
    return lambda f: f["rates"][name]


RECEIVED = "Số hồ sơ tiếp nhận"
FINISHED = "Số hồ sơ đã giải quyết"
PENDING = "Số hồ sơ đang giải quyết"
RATES = "Tỷ lệ (%)"
COLUMNS: tuple[Column, ...] = (
    Column(RECEIVED, "Tổng số", "count", _count("received")),
    Column(RECEIVED, "Trực tuyến", "count", _count("received_online")),
    Column(
        RECEIVED,
        "Trực tiếp, bưu chính công ích",
        "count",
        _derived(RECEIVED_NOT_ONLINE),
    ),
    Column(None, "Số hồ sơ kỳ trước chuyển qua", "count", _count("carried_over")),
    Column(FINISHED, "Tổng số", "count", _count("finished")),
    Column(FINISHED, "Trước hạn", "count", _count("finished_early")),
    Column(FINISHED, "Đúng hạn", "count", _count("finished_on_time")),
    Column(FINISHED, "Quá hạn", "count", _count("finished_late")),
    Column(PENDING, "Tổng số", "count", _count("pending")),
    Column(
        PENDING,
        "Trong hạn",
        "count",
        _derived(PENDING_WITHIN_DEADLINE),
    ),
    Column(PENDING, "Quá hạn", "count", _count("pending_overdue")),
    Column(RATES, "Giải quyết đúng hạn", "rate", _rate("on_time"), "Tỷ lệ giải quyết đúng hạn (%)"),
    Column(RATES, "Tiếp nhận trực tuyến", "rate", _rate("online"), "Tỷ lệ tiếp nhận trực tuyến (%)"),
)


@dataclass(frozen=True, slots=True)
class Line:
    number: int | None
    code: str | None
    name: str
    figures: Figures


def _vn_date(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def _lines(doc: Mapping[str, Any]) -> list[Line]:
    unit = doc["unit"]
    out = []
    for i, row in enumerate(doc["rows"], start=1):
        code = row[unit]
        name = row.get(f"{unit}_name") or (code if code is not None else UNKNOWN_NAME[unit])
        out.append(Line(i, code, name, row))
    out.append(Line(None, None, TOTAL_LABEL, doc["totals"]))
    return out


def period_line(doc: Mapping[str, Any]) -> str:
    start, end = date.fromisoformat(doc["from"]), date.fromisoformat(doc["to"])
    basis = "kỳ báo cáo chốt số liệu ngày 14" if doc["basis"] == "reporting" else "theo lịch"
    return (
        f"Kỳ báo cáo {doc['period']} ({basis}): số liệu từ ngày {_vn_date(start)} "
        f"đến hết ngày {_vn_date(end)}"
    )


def subtitle(doc: Mapping[str, Any], filters: Mapping[str, Sequence[str]]) -> str:
    text = f"{UNIT_WORDS[doc['unit']][0]}. {period_line(doc)}."
    if filters:
        text += " Lọc: " + "; ".join(f"{k} = {', '.join(v)}" for k, v in sorted(filters.items())) + "."
    return text


def filename(doc: Mapping[str, Any], extension: str) -> str:
    """e.g. bao-cao-giai-quyet-ho-so_2025-09_agency.csv; calendar periods say so."""
    suffix = "" if doc["basis"] == "reporting" else "_calendar"
    return f"{REPORT_SLUG}_{doc['period']}_{doc['unit']}{suffix}.{extension}"


# A cell starting with one of these is read by spreadsheets as a formula (or, for tab and carriage
# return, has its start eaten before it is read as one); "'" is escaped too, so escaping is reversible.
CSV_ESCAPED_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def csv_text(value: str) -> str:
    """A CSV text cell as inert text: one leading ' when it starts with = + - @ tab CR or '.

    Reversible: a cell that starts with ' had exactly one added, so removing one ' from such a cell
    gives the value back. Numbers are not text cells and are never escaped.
    """
    return "'" + value if value.startswith(CSV_ESCAPED_STARTS) else value


def _texts(cells: Sequence[str]) -> list[str]:
    return [csv_text(c) for c in cells]


def _percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.2f}"


def to_csv(doc: Mapping[str, Any], filters: Mapping[str, Sequence[str]]) -> bytes:
    """UTF-8 with a byte-order mark (Excel shows the diacritics); rates as percentages, 2 decimals."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    _, code_heading, name_heading = UNIT_WORDS[doc["unit"]]
    w.writerow(_texts([REPORT_TITLE]))
    w.writerow(_texts([subtitle(doc, filters)]))
    w.writerow([])
    w.writerow(_texts(["STT", code_heading, name_heading, *(c.flat_heading for c in COLUMNS)]))
    for line in _lines(doc):
        # Figures are numbers (counts as integers, rates as "50.00"): written as they are.
        values: list[Any] = []
        for c in COLUMNS:
            v = c.value(line.figures)
            values.append(_percent(v) if c.kind == "rate" else v)
        number = "" if line.number is None else line.number
        w.writerow([number, *_texts([line.code or "", line.name]), *values])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


# --- XLSX ------------------------------------------------------------------------------------------

TITLE_ROW, SUBTITLE_ROW, AS_OF_ROW = 1, 2, 3
HEAD_ROW = 5  # group headings; column headings on the next row
FIRST_DATA_ROW = HEAD_ROW + 2
LEAD = ("STT", "code", "name")
_THIN = Side(style="thin", color="808080")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
# Fixed archive timestamps, so the same figures always give the same bytes (and the same ETag).
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _width(text: str) -> float:
    return len(text) * 1.1 + 2


def put_cell(ws: Any, row: int, col: int, value: Any) -> Any:
    """Write a cell; text is always a typed string (data type "s"), never a formula or an error value.

    openpyxl would otherwise store a str starting with "=" as a formula and "#N/A" and the like as
    errors. A string cell is shown as written and never evaluated, so no ' is added in XLSX.
    """
    cell = ws.cell(row, col, value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def to_xlsx(doc: Mapping[str, Any], filters: Mapping[str, Sequence[str]], as_of: datetime | None) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = f"Báo cáo {doc['period']}"
    unit = doc["unit"]
    _, code_heading, name_heading = UNIT_WORDS[unit]
    ncols = len(LEAD) + len(COLUMNS)
    last = get_column_letter(ncols)

    put_cell(ws, TITLE_ROW, 1, REPORT_TITLE).font = Font(bold=True, size=14)
    ws.merge_cells(f"A{TITLE_ROW}:{last}{TITLE_ROW}")
    put_cell(ws, SUBTITLE_ROW, 1, subtitle(doc, filters)).font = Font(italic=True)
    ws.merge_cells(f"A{SUBTITLE_ROW}:{last}{SUBTITLE_ROW}")
    if as_of is not None:
        put_cell(
            ws, AS_OF_ROW, 1, f"Số liệu cập nhật lúc {as_of.strftime('%H:%M')} ngày {_vn_date(as_of.date())}"
        )
        ws.merge_cells(f"A{AS_OF_ROW}:{last}{AS_OF_ROW}")
    for r in (TITLE_ROW, SUBTITLE_ROW, AS_OF_ROW):
        ws.cell(r, 1).alignment = Alignment(horizontal="center")

    head_font = Font(bold=True)
    head_align = Alignment(horizontal="center", vertical="center", wrap_text=True)
    lead_heads = ("STT", code_heading, name_heading)
    col = 1
    for text in lead_heads:
        put_cell(ws, HEAD_ROW, col, text)
        ws.merge_cells(start_row=HEAD_ROW, start_column=col, end_row=HEAD_ROW + 1, end_column=col)
        col += 1
    i = 0
    while i < len(COLUMNS):
        c = COLUMNS[i]
        if c.group is None:
            put_cell(ws, HEAD_ROW, col, c.heading)
            ws.merge_cells(start_row=HEAD_ROW, start_column=col, end_row=HEAD_ROW + 1, end_column=col)
            col += 1
            i += 1
            continue
        span = 1
        while i + span < len(COLUMNS) and COLUMNS[i + span].group == c.group:
            span += 1
        put_cell(ws, HEAD_ROW, col, c.group)
        ws.merge_cells(start_row=HEAD_ROW, start_column=col, end_row=HEAD_ROW, end_column=col + span - 1)
        for k in range(span):
            put_cell(ws, HEAD_ROW + 1, col + k, COLUMNS[i + k].heading)
        col += span
        i += span
    for r in (HEAD_ROW, HEAD_ROW + 1):
        for cidx in range(1, ncols + 1):
            cell = ws.cell(r, cidx)
            cell.font, cell.alignment, cell.border, cell.fill = head_font, head_align, _BOX, _HEAD_FILL

    widths = [6.0, _width(code_heading), _width(name_heading)] + [
        max(10.0, _width(c.heading) * 0.8) for c in COLUMNS
    ]
    row_no = FIRST_DATA_ROW
    for line in _lines(doc):
        total = line.number is None
        values: list[Any] = [line.number, line.code, line.name]
        values += [c.value(line.figures) for c in COLUMNS]
        for cidx, v in enumerate(values, start=1):
            cell = put_cell(ws, row_no, cidx, v)  # a name or code is text, whatever it starts with
            cell.border = _BOX
            if total:
                cell.font = head_font
            if cidx > len(LEAD):
                kind = COLUMNS[cidx - len(LEAD) - 1].kind
                cell.number_format = "0.00%" if kind == "rate" else "#,##0"
        widths[1] = max(widths[1], _width(line.code or ""))
        widths[2] = max(widths[2], _width(line.name))
        row_no += 1
    for cidx, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(cidx)].width = min(w, 70.0)
    ws.row_dimensions[HEAD_ROW + 1].height = 45
    ws.freeze_panes = ws.cell(FIRST_DATA_ROW, len(LEAD) + 1)

    wb.properties.title = REPORT_TITLE
    wb.properties.creator = "tthc-metrics"
    # Workbook dates are UTC without an offset.
    stamp = as_of.astimezone(UTC).replace(tzinfo=None, microsecond=0) if as_of else datetime(1980, 1, 1)
    wb.properties.created = stamp
    raw = io.BytesIO()
    wb.save(raw)
    return reproducible(raw.getvalue(), stamp)


def reproducible(data: bytes, stamp: datetime) -> bytes:
    """The same workbook as bytes that depend only on its content: fixed entry times and modified date."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>",
                    content,
                )
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            dst.writestr(entry, content)
    return out.getvalue()
