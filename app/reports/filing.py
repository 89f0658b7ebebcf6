"""The periodic report's parameters and its bytes in each format: one function for the live report
and for a closing, so that what is filed is what the report answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from app.core.errors import ValidationFailed
from app.core.jsonutil import dumps
from app.core.periods import ReportPeriod, report_period
from app.reports import render
from app.reports.form import Letterhead

# Every (format, CSV dialect) a closing stores; "" is the format's only (or default) dialect.
FILED_FORMATS: tuple[tuple[str, str], ...] = (("json", ""), ("csv", ""), ("csv", "excel-vi"), ("xlsx", ""))
PERIOD_PATTERN = r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4]|-H[12])?$"


def bad_param(loc: list[str | int], msg: str, kind: str = "value_error") -> ValidationFailed:
    where = ".".join(str(p) for p in loc[1:])
    return ValidationFailed(f"{where}: {msg}", errors=[{"loc": loc, "msg": msg, "type": kind}])


def parse_period(period: str, basis: str, where: str = "query") -> ReportPeriod:
    """The report's period as dates; a 422 naming `period` when it does not exist."""
    try:
        return report_period(period, basis)
    except ValueError as exc:
        raise bad_param([where, "period"], str(exc)) from None


@dataclass(frozen=True, slots=True)
class Rendition:
    body: bytes
    media_type: str
    filename: str | None  # sent as an attachment under this name; None: inline (JSON)


def dialect_key(fmt: str, csv_dialect: str | None) -> str:
    """How a (format, CSV dialect) is stored: "" for a format's only or default dialect."""
    if fmt != "csv" or csv_dialect in (None, "excel"):
        return ""
    return str(csv_dialect)


def render_document(
    doc: Mapping[str, Any], filters: Mapping[str, Sequence[str]], fmt: str, dialect: str, head: Letterhead
) -> Rendition:
    """The report document in one format (and CSV dialect); the XLSX under `head`."""
    if fmt == "json":
        return Rendition(dumps(doc), "application/json", None)
    if fmt == "csv":
        body = render.to_csv(doc, filters, cast(render.CsvDialect, dialect or "excel"))
        return Rendition(body, render.CSV_MEDIA_TYPE, render.filename(doc, "csv"))
    as_of = datetime.fromisoformat(doc["data_as_of"]) if doc["data_as_of"] else None
    return Rendition(
        render.to_xlsx(doc, filters, as_of, head), render.XLSX_MEDIA_TYPE, render.filename(doc, "xlsx")
    )
