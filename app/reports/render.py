"""The periodic report as CSV and XLSX: the JSON document's figures in the report form (`form`)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.indexed_list import IndexedList

from app.core.periods import short_date_vi
from app.reports import form

REPORT_SLUG = "bao-cao-giai-quyet-ho-so"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
# How a CSV is written: "excel" (the default) with "," and decimal points; "excel-vi" with ";" and
# decimal commas, as Excel set to Vietnamese (where "," is the decimal separator) opens a CSV directly.
CsvDialect = Literal["excel", "excel-vi"]
CSV_DIALECTS: dict[str, tuple[str, str]] = {"excel": (",", "."), "excel-vi": (";", ",")}


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


def _percent(rate: float | None, decimal: str) -> str:
    return "" if rate is None else f"{rate * 100:.2f}".replace(".", decimal)


def csv_preamble(doc: Mapping[str, Any], filters: Mapping[str, Sequence[str]]) -> str:
    """The CSV's second line: form number, period in words and dates, what the rows are, filters."""
    period = f"{form.period_heading(doc)} {form.period_dates(doc)}"
    return f"{form.FORM_NUMBER}. {period}. {form.scope_line(doc, filters)}"


def to_csv(
    doc: Mapping[str, Any], filters: Mapping[str, Sequence[str]], dialect: CsvDialect = "excel"
) -> bytes:
    """UTF-8 with a byte-order mark (Excel shows the diacritics): the form's title, its period and scope,
    a blank line, one heading row, then one line per form line (STT, code, name, columns (1)–(13)).
    Rates are percentages with 2 decimals; `dialect` chooses the separator and the decimal mark."""
    delimiter, decimal = CSV_DIALECTS[dialect]
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    _, name_heading, code_heading = form.UNIT_WORDS[doc["unit"]]
    w.writerow(_texts([form.FORM_TITLE]))
    w.writerow(_texts([csv_preamble(doc, filters)]))
    w.writerow([])
    w.writerow(_texts(["STT", code_heading, name_heading, *(c.flat_heading for c in form.COLUMNS)]))
    for line in form.lines(doc):
        # Figures are numbers (counts as integers, rates as "50.00" or "50,00"): written as they are.
        values: list[Any] = [
            _percent(v, decimal) if c.kind == "rate" else v
            for c, v in zip(form.COLUMNS, form.form_values(line.figures), strict=True)
        ]
        w.writerow([*_texts([line.number, line.code or "", line.name]), *values])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


# --- XLSX: the form as it is printed and filed -------------------------------------------------------

FONT_NAME = "Times New Roman"  # printed with Liberation Serif where it is missing: the same metrics
LEAD = 2  # STT and the name, before the numbered columns
NCOLS = LEAD + len(form.COLUMNS)
LAST = get_column_letter(NCOLS)
# Rows of the page head; the table's heading rows (group, sub-group, column, column numbers) follow it
# and are repeated on every printed page.
FORM_ROW, BASIS_ROW = 1, 2  # form number | Quốc hiệu; circular | tiêu ngữ
TITLE_ROW, PERIOD_ROW, DATES_ROW, SCOPE_ROW = 4, 5, 6, 7
REPORTING_ROW, RECEIVING_ROW, MEASURE_ROW = 8, 9, 10
HEAD_ROW = 11  # group headings; "Trong đó" and single headings on the next row, the rest on the third
NUMBER_ROW = HEAD_ROW + 3  # A, B, (1) … (13)
FIRST_DATA_ROW = NUMBER_ROW + 1
LEFT_BLOCK = (1, 5)  # the form number and the preparer: columns A–E
RIGHT_BLOCK = (8, NCOLS)  # Quốc hiệu, the place and date, the head of the unit: columns H–O
WIDTHS = (5.0, 40.0, *(10.0 if c.kind == "rate" else 9.0 for c in form.COLUMNS))
_THIN = Side(style="thin", color="000000")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
_RIGHT = Alignment(horizontal="right", vertical="center")
NOTE_LINE = 230  # characters of an 11-point note on one line of the table's width
# Fixed archive timestamps, so the same figures always give the same bytes (and the same ETag).
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def font(*, size: float = 12, bold: bool = False, italic: bool = False, underline: bool = False) -> Font:
    line = "single" if underline else None
    return Font(name=FONT_NAME, size=size, bold=bold, italic=italic, underline=line)


def put_cell(ws: Any, row: int, col: int, value: Any) -> Any:
    """Write a cell; text is always a typed string (data type "s"), never a formula or an error value.

    openpyxl would otherwise store a str starting with "=" as a formula and "#N/A" and the like as
    errors. A string cell is shown as written and never evaluated, so no ' is added in XLSX.
    """
    cell = ws.cell(row, col, value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def _text(ws: Any, row: int, cols: tuple[int, int], value: str, f: Font, align: Alignment = _CENTER) -> None:
    """A line of text over columns cols[0]..cols[1] (merged when more than one)."""
    cell = put_cell(ws, row, cols[0], value)
    cell.font, cell.alignment = f, align
    if cols[1] > cols[0]:
        ws.merge_cells(start_row=row, start_column=cols[0], end_row=row, end_column=cols[1])


def _page_head(
    ws: Any, doc: Mapping[str, Any], filters: Mapping[str, Sequence[str]], head: form.Letterhead
) -> None:
    whole = (1, NCOLS)
    _text(ws, FORM_ROW, LEFT_BLOCK, form.FORM_NUMBER, font(bold=True), _LEFT)
    _text(ws, BASIS_ROW, LEFT_BLOCK, form.FORM_BASIS, font(size=11, italic=True), _LEFT)
    _text(ws, FORM_ROW, RIGHT_BLOCK, form.NATION, font(bold=True))
    _text(ws, BASIS_ROW, RIGHT_BLOCK, form.MOTTO, font(size=13, bold=True, underline=True))
    _text(ws, TITLE_ROW, whole, form.FORM_TITLE, font(size=14, bold=True))
    _text(ws, PERIOD_ROW, whole, form.period_heading(doc), font(size=13, bold=True))
    _text(ws, DATES_ROW, whole, form.period_dates(doc), font(italic=True))
    _text(ws, SCOPE_ROW, whole, form.scope_line(doc, filters), font(size=11, italic=True))
    _text(ws, REPORTING_ROW, whole, f"{form.REPORTING_UNIT}: {head.reporting_unit}", font(), _LEFT)
    _text(ws, RECEIVING_ROW, whole, f"{form.RECEIVING_UNIT}: {head.receiving_unit}", font(), _LEFT)
    _text(ws, MEASURE_ROW, whole, form.UNIT_OF_MEASURE, font(italic=True), _RIGHT)
    ws.row_dimensions[TITLE_ROW].height = 24
    ws.row_dimensions[SCOPE_ROW].height = 30  # a long filter list wraps to a second line


def _table_head(ws: Any, unit: str) -> None:
    top, mid, low = HEAD_ROW, HEAD_ROW + 1, HEAD_ROW + 2
    bold = font(size=11, bold=True)

    def head(r1: int, c1: int, r2: int, c2: int, value: str) -> None:
        put_cell(ws, r1, c1, value)
        if (r1, c1) != (r2, c2):
            ws.merge_cells(start_row=r1, start_column=c1, end_row=r2, end_column=c2)

    head(top, 1, low, 1, "STT")
    head(top, 2, low, 2, form.UNIT_WORDS[unit][1])
    col = LEAD + 1
    i = 0
    cols = form.COLUMNS
    while i < len(cols):
        group = cols[i].group
        span = 1
        while i + span < len(cols) and cols[i + span].group == group:
            span += 1
        head(top, col, top, col + span - 1, group)
        k = 0
        while k < span:
            c = cols[i + k]
            if c.sub is None:
                head(mid, col + k, low, col + k, c.heading)
                k += 1
                continue
            sub_span = 1
            while k + sub_span < span and cols[i + k + sub_span].sub == c.sub:
                sub_span += 1
            head(mid, col + k, mid, col + k + sub_span - 1, c.sub)
            for j in range(sub_span):
                put_cell(ws, low, col + k + j, cols[i + k + j].heading)
            k += sub_span
        col += span
        i += span
    for cidx, label in enumerate(("A", "B", *(c.number for c in cols)), start=1):
        put_cell(ws, NUMBER_ROW, cidx, label)
    for r in range(top, NUMBER_ROW + 1):
        for cidx in range(1, NCOLS + 1):
            cell = ws.cell(r, cidx)
            cell.font = font(size=10, italic=True) if r == NUMBER_ROW else bold
            cell.alignment, cell.border = _CENTER, _BOX
    ws.row_dimensions[top].height = 30
    ws.row_dimensions[mid].height = 18
    ws.row_dimensions[low].height = 62  # "Trực tiếp và dịch vụ bưu chính" on four lines
    ws.print_title_rows = f"{top}:{NUMBER_ROW}"


def _table_body(ws: Any, doc: Mapping[str, Any]) -> int:
    """The form's lines from FIRST_DATA_ROW; returns the row after the last."""
    row = FIRST_DATA_ROW
    for line in form.lines(doc):
        strong = line.kind != "unit"
        values = [line.number, line.name, *form.form_values(line.figures)]
        for cidx, v in enumerate(values, start=1):
            cell = put_cell(ws, row, cidx, v)  # a name is text, whatever it starts with
            cell.border = _BOX
            cell.font = font(size=11, bold=strong)
            if cidx == 1:
                cell.alignment = _CENTER
            elif cidx == 2:
                cell.alignment = _LEFT
            else:
                kind = form.COLUMNS[cidx - LEAD - 1].kind
                cell.number_format = "0.00%" if kind == "rate" else "#,##0"
        row += 1
    return row


def _page_foot(
    ws: Any, doc: Mapping[str, Any], row: int, head: form.Letterhead, as_of: datetime | None
) -> None:
    whole = (1, NCOLS)
    notes = list(form.NOTES)
    if date.fromisoformat(doc["to"]) >= head.drawn_up_on:
        notes.append(form.IN_PROGRESS_NOTE)
    if as_of is not None:
        notes.append(f"Số liệu cập nhật lúc {as_of.strftime('%H:%M')} ngày {short_date_vi(as_of.date())}.")
    row += 1
    for text in notes:
        _text(ws, row, whole, text, font(size=11, italic=True), _LEFT)
        ws.row_dimensions[row].height = 16 * (1 + len(text) // NOTE_LINE)
        row += 1
    row += 1
    _text(ws, row, RIGHT_BLOCK, head.place_and_date, font(italic=True))
    row += 1
    _text(ws, row, LEFT_BLOCK, form.PREPARER_TITLE, font(bold=True))
    _text(ws, row, RIGHT_BLOCK, form.HEAD_TITLE, font(bold=True))
    row += 1
    _text(ws, row, LEFT_BLOCK, form.PREPARER_HINT, font(italic=True))
    _text(ws, row, RIGHT_BLOCK, form.HEAD_HINT, font(italic=True))
    row += 4  # room to sign (and to stamp)
    if head.preparer:
        _text(ws, row, LEFT_BLOCK, head.preparer, font(bold=True))
    if head.head:
        _text(ws, row, RIGHT_BLOCK, head.head, font(bold=True))


def _print_setup(ws: Any) -> None:
    """A4 landscape, one page wide and as many tall as it takes, the table's heading rows on every page."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.page_margins.header = ws.page_margins.footer = 0.3
    ws.oddFooter.center.text = "Trang &P/&N"
    ws.oddFooter.center.font = FONT_NAME


def to_xlsx(
    doc: Mapping[str, Any],
    filters: Mapping[str, Sequence[str]],
    as_of: datetime | None,
    head: form.Letterhead,
) -> bytes:
    """The report as Biểu số 06/VPCP/KSTT: page head, numbered table, notes and signatures, printable."""
    wb = Workbook()
    # The workbook's default font (font 0, the Normal style's): empty cells, default row heights and the
    # unit of column widths are Times New Roman too, not only the cells written below.
    wb._fonts = IndexedList([font()])
    wb._named_styles["Normal"].font = font()
    ws = wb.active
    ws.title = f"Biểu 06 {doc['period']}"
    for cidx, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(cidx)].width = width
    _page_head(ws, doc, filters, head)
    _table_head(ws, doc["unit"])
    after = _table_body(ws, doc)
    _page_foot(ws, doc, after, head, as_of)
    _print_setup(ws)
    ws.freeze_panes = ws.cell(FIRST_DATA_ROW, LEAD + 1)

    wb.properties.title = form.FORM_TITLE
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
