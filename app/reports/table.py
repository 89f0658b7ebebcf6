"""A streamed table export, written once for every list the service exports (the worklists, the
drill-down): CSV a block of lines at a time, XLSX row by row to a temporary file. Text cells are
escaped as the reports escape them (`csv_text`, typed string cells), booleans are có/không, null is an
empty cell, numbers stay numbers."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Sequence
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from app.reports.render import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, csv_text

__all__ = ["BOOL_TEXT", "CSV_MEDIA_TYPE", "XLSX_MEDIA_TYPE", "cell", "csv_head", "csv_lines", "xlsx_file"]

BOOL_TEXT = {True: "có", False: "không"}


def cell(value: Any) -> Any:
    """A value as a table shows it: booleans as có/không, anything else as it is (null stays null)."""
    return BOOL_TEXT[value] if isinstance(value, bool) else value


def csv_head(headings: Sequence[str]) -> bytes:
    """The CSV's first line, the headings, after a UTF-8 byte-order mark (Excel shows the diacritics)."""
    return ("\ufeff" + _csv_text_of([list(headings)])).encode()


def csv_lines(rows: Iterable[Sequence[Any]]) -> bytes:
    """A line per row of cells (see `cell`), text escaped (app.reports.render.csv_text), null empty,
    CRLF line ends."""
    return _csv_text_of(["" if v is None else v for v in row] for row in rows).encode()


def _csv_text_of(rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    for row in rows:
        w.writerow([csv_text(v) if isinstance(v, str) else v for v in row])
    return buf.getvalue()


def xlsx_file(headings: Sequence[str], rows: Iterable[Sequence[Any]], title: str) -> IO[bytes]:
    """The workbook in a temporary file, positioned at its start (openpyxl's write-only mode keeps
    the rows on disk, not in memory). The caller closes it, which removes it."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    ws.append([_text(ws, h) for h in headings])
    for row in rows:
        ws.append([_text(ws, v) if isinstance(v, str) else v for v in row])
    out = tempfile.TemporaryFile()  # noqa: SIM115 (the caller reads it, then closes it)
    wb.save(out)
    out.seek(0)
    return out


def _text(ws: Any, value: str) -> WriteOnlyCell:
    """A typed string cell: never read as a formula or an error value (as app.reports.render.put_cell)."""
    c = WriteOnlyCell(ws, value=value)
    c.data_type = "s"
    return c
