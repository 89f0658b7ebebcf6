"""Biểu số 06/VPCP/KSTT of Circular 01/2020/TT-VPCP: the report form's words, numbered columns and lines.

The form reports the situation and results of handling administrative-procedure dossiers at the units
that handle them. This module says what goes where (pure: no workbook, no web); `render` writes it as
XLSX and CSV. `form_counts` is the one place a counts object becomes the form's columns (1)–(11).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from app.config import Settings
from app.core.calculator import term_sum
from app.core.definitions import PENDING_WITHIN_DEADLINE, RECEIVED_NOT_ONLINE
from app.core.periods import ROMAN, date_words, period_span_words, period_words

FORM_NUMBER = "Biểu số 06/VPCP/KSTT"
FORM_BASIS = "Ban hành kèm theo Thông tư số 01/2020/TT-VPCP ngày 21/10/2020"
FORM_TITLE = "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT TTHC TẠI CƠ QUAN, ĐƠN VỊ TRỰC TIẾP GIẢI QUYẾT TTHC"
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
UNIT_OF_MEASURE = "Đơn vị tính: Số hồ sơ TTHC"
REPORTING_UNIT = "Đơn vị báo cáo"
RECEIVING_UNIT = "Đơn vị nhận báo cáo"
PREPARER_TITLE, PREPARER_HINT = "NGƯỜI LẬP BIỂU", "(Ký, ghi rõ họ tên)"
HEAD_TITLE, HEAD_HINT = "THỦ TRƯỞNG ĐƠN VỊ", "(Ký, đóng dấu, ghi rõ họ tên)"
TOTAL_LABEL = "Tổng cộng"

RECEIVED = "Số hồ sơ nhận giải quyết"
CLOSED = "Số hồ sơ đã giải quyết"
PENDING = "Số hồ sơ đang giải quyết"
RATES = "Tỷ lệ (%)"
OF_WHICH = "Trong đó"


@dataclass(frozen=True, slots=True)
class FormColumn:
    number: str  # as the form numbers it: "(1)" … "(11)"; the rates after the form's own, "(12)", "(13)"
    group: str  # the heading over the group of columns
    sub: str | None  # a second-level heading over some of the group ("Trong đó"), or None
    heading: str
    kind: Literal["count", "rate"]

    @property
    def flat_heading(self) -> str:
        """The heading on one line (CSV): "Số hồ sơ nhận giải quyết - Trực tuyến (2)"."""
        if self.kind == "rate":
            return f"Tỷ lệ {self.heading[0].lower()}{self.heading[1:]} (%) {self.number}"
        return f"{self.group} - {self.heading} {self.number}"


COLUMNS: tuple[FormColumn, ...] = (
    FormColumn("(1)", RECEIVED, None, "Tổng số", "count"),
    FormColumn("(2)", RECEIVED, OF_WHICH, "Trực tuyến", "count"),
    FormColumn("(3)", RECEIVED, OF_WHICH, "Trực tiếp và dịch vụ bưu chính", "count"),
    FormColumn("(4)", RECEIVED, OF_WHICH, "Từ kỳ trước", "count"),
    FormColumn("(5)", CLOSED, None, "Tổng số", "count"),
    FormColumn("(6)", CLOSED, None, "Trước hạn", "count"),
    FormColumn("(7)", CLOSED, None, "Đúng hạn", "count"),
    FormColumn("(8)", CLOSED, None, "Quá hạn", "count"),
    FormColumn("(9)", PENDING, None, "Tổng số", "count"),
    FormColumn("(10)", PENDING, None, "Trong hạn", "count"),
    FormColumn("(11)", PENDING, None, "Quá hạn", "count"),
    FormColumn("(12)", RATES, None, "Giải quyết đúng hạn", "rate"),
    FormColumn("(13)", RATES, None, "Tiếp nhận trực tuyến", "rate"),
)
COUNT_COLUMNS = sum(1 for c in COLUMNS if c.kind == "count")


def form_counts(counts: Mapping[str, int]) -> tuple[int, ...]:
    """A counts object (a row's, a subtotal's or the totals') as the form's columns (1)–(11).

    (1) received_total = received + carried_over; (2) received_online; (3) received − received_online;
    (4) carried_over; (5)–(8) closed (finished + withdrawn) and its early / on time / late; (9) pending;
    (10) pending − pending_overdue; (11) pending_overdue. For an ended period (1) = (5) + (9).
    """
    return (
        int(counts["received_total"]),
        int(counts["received_online"]),
        term_sum(RECEIVED_NOT_ONLINE, counts),
        int(counts["carried_over"]),
        int(counts["closed"]),
        int(counts["closed_early"]),
        int(counts["closed_on_time"]),
        int(counts["closed_late"]),
        int(counts["pending"]),
        term_sum(PENDING_WITHIN_DEADLINE, counts),
        int(counts["pending_overdue"]),
    )


def form_rates(rates: Mapping[str, float | None]) -> tuple[float | None, float | None]:
    """Columns (12) and (13): the on-time rate (over finished dossiers) and the online rate, unrounded."""
    return rates["on_time"], rates["online"]


def form_values(figures: Mapping[str, Any]) -> tuple[int | float | None, ...]:
    """Every column (1)–(13) of one line, in order."""
    return (*form_counts(figures["counts"]), *form_rates(figures["rates"]))


# unit -> (what the rows are, the name column's heading in the form, the code column's heading in CSV)
UNIT_WORDS: dict[str, tuple[str, str, str]] = {
    "agency": ("Theo cơ quan, đơn vị giải quyết", "Cơ quan, đơn vị giải quyết TTHC theo cấp", "Mã cơ quan"),
    "commune": ("Theo xã, phường", "Xã, phường", "Mã xã, phường"),
    "sector": ("Theo lĩnh vực", "Lĩnh vực giải quyết TTHC", "Mã lĩnh vực"),
}
# The name shown for the row of dossiers with no value for the unit (no commune, no sector).
UNKNOWN_NAME = {
    "agency": "(không xác định cơ quan)",
    "commune": "(không gắn với xã, phường)",
    "sector": "(chưa xác định lĩnh vực)",
}
BASIS_WORDS = {
    "reporting": "số liệu chốt ngày 14 (từ ngày 15 của tháng trước kỳ đến ngày 14 của tháng cuối kỳ)",
    "calendar": "số liệu theo tháng, quý, năm dương lịch",
}

NOTES = (
    "Ghi chú: (1) = (2) + (3) + (4); (5) = (6) + (7) + (8); (9) = (10) + (11); với kỳ đã kết thúc "
    "(1) = (5) + (9).",
    "Hồ sơ rút (tổ chức, cá nhân rút hồ sơ) kết thúc việc giải quyết: được tính vào số hồ sơ đã giải "
    "quyết (5) và xếp trước hạn, đúng hạn hoặc quá hạn theo thời điểm kết thúc so với thời hạn giải quyết, "
    "như hồ sơ đã có kết quả.",
    "(12) Tỷ lệ giải quyết đúng hạn: số hồ sơ có kết quả trước hạn và đúng hạn trên số hồ sơ có kết quả "
    "(không tính hồ sơ rút); (13) Tỷ lệ tiếp nhận trực tuyến = (2) / ((2) + (3)).",
)
IN_PROGRESS_NOTE = "Kỳ báo cáo chưa kết thúc: số hồ sơ đang giải quyết (9)–(11) tính đến thời điểm lập biểu."


@dataclass(frozen=True, slots=True)
class Line:
    kind: Literal["level", "unit", "total"]
    number: str  # STT: "I", "II" for a level's subtotal, 1, 2, … for units (from 1 in each level)
    code: str | None
    name: str
    figures: Mapping[str, Any]


def lines(doc: Mapping[str, Any]) -> list[Line]:
    """The form's lines: for unit=agency each level's subtotal followed by its units, in the order of
    `subtotals`; for sector and commune the units; then the grand total."""
    unit = doc["unit"]
    subtotals: Sequence[Mapping[str, Any]] = doc["subtotals"]

    def unit_line(i: int, row: Mapping[str, Any]) -> Line:
        code = row[unit]
        name = row.get(f"{unit}_name") or (code if code is not None else UNKNOWN_NAME[unit])
        return Line("unit", str(i), code, name, row)

    out: list[Line] = []
    if unit == "agency":
        by_level: dict[str, list[Mapping[str, Any]]] = {}
        for row in doc["rows"]:
            by_level.setdefault(row["level"], []).append(row)
        for k, sub in enumerate(subtotals):
            out.append(Line("level", ROMAN[k], None, sub["level_name"], sub))
            out += [unit_line(i, row) for i, row in enumerate(by_level.pop(sub["level"], []), start=1)]
        if by_level:
            raise ValueError(f"rows of level {', '.join(sorted(by_level))} have no subtotal")
    else:
        if subtotals:
            raise ValueError(f"unit={unit} has no level subtotals")
        out += [unit_line(i, row) for i, row in enumerate(doc["rows"], start=1)]
    out.append(Line("total", "", None, TOTAL_LABEL, doc["totals"]))
    return out


def period_heading(doc: Mapping[str, Any]) -> str:
    """ "Kỳ báo cáo: Quý III năm 2025"."""
    return f"Kỳ báo cáo: {period_words(doc['period'])}"


def period_dates(doc: Mapping[str, Any]) -> str:
    """ "(Từ ngày 15/6/2025 đến ngày 14/9/2025)"."""
    return f"({period_span_words(date.fromisoformat(doc['from']), date.fromisoformat(doc['to']))})"


def scope_line(doc: Mapping[str, Any], filters: Mapping[str, Sequence[str]]) -> str:
    """What the rows are, the basis, and the filters: "Theo cơ quan, đơn vị giải quyết; số liệu chốt …"."""
    text = f"{UNIT_WORDS[doc['unit']][0]}; {BASIS_WORDS[doc['basis']]}."
    if filters:
        text += " Lọc: " + "; ".join(f"{k} = {', '.join(v)}" for k, v in sorted(filters.items())) + "."
    return text


@dataclass(frozen=True, slots=True)
class Letterhead:
    """Who files the report to whom, where and when it is drawn up, and who signs it."""

    reporting_unit: str
    receiving_unit: str
    place: str
    preparer: str | None
    head: str | None
    drawn_up_on: date

    @property
    def place_and_date(self) -> str:
        """ "Nghệ An, ngày 30 tháng 11 năm 2026"."""
        return f"{self.place}, {date_words(self.drawn_up_on)}"


def letterhead(
    settings: Settings,
    *,
    unit: str,
    filters: Mapping[str, Sequence[str]],
    agency_names: Mapping[str, str],
    today: date,
) -> Letterhead:
    """The configured reporting unit files to the configured receiving unit and its signers sign; a single
    agency's own report (unit=sector filtered to one agency) is filed by that agency to the configured
    reporting unit (the province's office collects the agencies' reports), with the signers left blank."""
    agencies = filters.get("agency") or ()
    if unit == "sector" and len(agencies) == 1:
        code = agencies[0]
        own = agency_names.get(code) or code
        return Letterhead(own, settings.report_reporting_unit, settings.report_place, None, None, today)
    return Letterhead(
        settings.report_reporting_unit,
        settings.report_receiving_unit,
        settings.report_place,
        settings.report_preparer or None,
        settings.report_head or None,
        today,
    )
