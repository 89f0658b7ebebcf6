"""The periodic report as Biểu số 06/VPCP/KSTT: the XLSX read back (cells, merges, fonts, print setup),
the CSV in the form's columns and its Vietnamese dialect, the period in words, and the endpoint's
letterhead, csv_dialect and caching. docs/REPORTS.md, "The form"."""

from __future__ import annotations

import copy
import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from app.config import Settings
from app.core.definitions import COUNT_NAMES
from app.core.periods import date_words, period_span_words, period_words, short_date_vi
from app.main import create_app
from app.reports import form, render
from tests.conftest import ADMIN_TOKEN, Clock
from tests.factory import AGENCY, OTHER_AGENCY, open_rec, rec

URL = "/v1/reports/dossier-processing"
A, B = AGENCY, OTHER_AGENCY  # Sở Xây dựng, Sở Tài chính (both province level)


# --- The period in words ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "words"),
    [
        ("2025-09", "Tháng 9 năm 2025"),
        ("2026-01", "Tháng 1 năm 2026"),
        ("2025-12", "Tháng 12 năm 2025"),
        ("2025-Q1", "Quý I năm 2025"),
        ("2025-Q3", "Quý III năm 2025"),
        ("2025-Q4", "Quý IV năm 2025"),
        ("2025-H1", "6 tháng đầu năm 2025"),
        ("2025-H2", "6 tháng cuối năm 2025"),
        ("2025", "Năm 2025"),
    ],
)
def test_a_period_in_words_as_the_form_names_it(period: str, words: str) -> None:
    assert period_words(period) == words


def test_dates_in_words_pad_as_official_documents_do() -> None:
    # Decree 30/2020: a day below 10 and the months 1 and 2 take a leading zero.
    assert date_words(date(2026, 11, 30)) == "ngày 30 tháng 11 năm 2026"
    assert date_words(date(2026, 1, 5)) == "ngày 05 tháng 01 năm 2026"
    assert date_words(date(2025, 3, 9)) == "ngày 09 tháng 3 năm 2025"
    assert short_date_vi(date(2025, 6, 15)) == "15/6/2025"
    assert short_date_vi(date(2024, 12, 15)) == "15/12/2024"
    assert short_date_vi(date(2025, 2, 1)) == "01/02/2025"
    assert period_span_words(date(2025, 6, 15), date(2025, 9, 14)) == "Từ ngày 15/6/2025 đến ngày 14/9/2025"
    with pytest.raises(ValueError, match="period must be"):
        period_words("2025-Q5")


# --- A document of the form's shape, by hand --------------------------------------------------------


def counts(
    received: int = 0,
    online: int = 0,
    carried: int = 0,
    finished: tuple[int, int, int] = (0, 0, 0),
    withdrawn: tuple[int, int, int] = (0, 0, 0),
    pending: int = 0,
    overdue: int = 0,
) -> dict[str, int]:
    """Every count; finished and withdrawn as (early, on time, late)."""
    c = dict.fromkeys(COUNT_NAMES, 0)
    c.update(
        received=received,
        received_online=online,
        carried_over=carried,
        finished=sum(finished),
        finished_early=finished[0],
        finished_on_time=finished[1],
        finished_late=finished[2],
        withdrawn=sum(withdrawn),
        pending=pending,
        pending_overdue=overdue,
        received_total=received + carried,
        closed=sum(finished) + sum(withdrawn),
        closed_early=finished[0] + withdrawn[0],
        closed_on_time=finished[1] + withdrawn[1],
        closed_late=finished[2] + withdrawn[2],
    )
    return c


def figures(c: dict[str, int], on_time: float | None, online: float | None) -> dict[str, Any]:
    return {"counts": c, "rates": {"on_time": on_time, "online": online}}


# An ended quarter. Sở Xây dựng: received 10 (6 online) + 2 carried over = 12; finished 3 early, 4 on
# time, 1 late, 1 withdrawn on time -> closed 9 (3, 5, 1); pending 3 (1 overdue): 12 = 9 + 3.
# Sở Tài chính: 4 online; 2 early; 2 pending: 4 = 2 + 2. Thành Vinh: 5 (1 online) + 1 = 6; finished
# 1 early, 2 on time, 1 withdrawn late -> closed 4 (1, 2, 1); pending 2, both overdue: 6 = 4 + 2.
# Anh Sơn: nothing.
P1 = figures(counts(10, 6, 2, (3, 4, 1), (0, 1, 0), 3, 1), 7 / 8, 6 / 10)
P2 = figures(counts(4, 4, 0, (2, 0, 0), (0, 0, 0), 2, 0), 1.0, 1.0)
C1 = figures(counts(5, 1, 1, (1, 2, 0), (0, 0, 1), 2, 2), 1.0, 1 / 5)
C2 = figures(counts(), None, None)
# Province: received 14 (10 online) + 2 = 16; finished 5, 4, 1 + withdrawn on time -> closed 11
# (5, 5, 1); pending 5 (1 overdue): 16 = 11 + 5; on time 9/10, online 10/14.
PROVINCE = figures(counts(14, 10, 2, (5, 4, 1), (0, 1, 0), 5, 1), 9 / 10, 10 / 14)
COMMUNE = figures(counts(5, 1, 1, (1, 2, 0), (0, 0, 1), 2, 2), 1.0, 1 / 5)
# All: received 19 (11 online) + 3 = 22; finished 6, 6, 1 + withdrawn (0, 1, 1) -> closed 15 (6, 7, 2);
# pending 7 (3 overdue): 22 = 15 + 7; on time 12/13, online 11/19.
TOTAL = figures(counts(19, 11, 3, (6, 6, 1), (0, 1, 1), 7, 3), 12 / 13, 11 / 19)


def agency_doc(period: str = "2025-Q3", start: str = "2025-06-15", end: str = "2025-09-14") -> dict[str, Any]:
    def row(code: str, name: str, level: str, f: dict[str, Any]) -> dict[str, Any]:
        return {"agency": code, "agency_name": name, "level": level, **f}

    return copy.deepcopy(
        {
            "period": period,
            "basis": "reporting",
            "from": start,
            "to": end,
            "unit": "agency",
            "group_by": ["agency"],
            "data_as_of": "2025-09-30T16:45:00+07:00",
            "rows": [
                row(A, "Sở Xây dựng", "province", P1),
                row(B, "Sở Tài chính", "province", P2),
                row("X.TV", "UBND Phường Thành Vinh", "commune", C1),
                row("X.AS", "UBND Xã Anh Sơn", "commune", C2),
            ],
            "subtotals": [
                {"level": "province", "level_name": "Cấp tỉnh", **PROVINCE},
                {"level": "commune", "level_name": "Cấp xã", **COMMUNE},
            ],
            "totals": TOTAL,
        }
    )


HEAD = form.Letterhead(
    reporting_unit="Văn phòng Ủy ban nhân dân tỉnh Nghệ An",
    receiving_unit="Văn phòng Chính phủ",
    place="Nghệ An",
    preparer="Nguyễn Văn Lập",
    head="Trần Thị Trưởng",
    drawn_up_on=date(2025, 10, 1),
)
AS_OF = datetime.fromisoformat("2025-09-30T16:45:00+07:00")  # as the endpoint passes data_as_of
# The table's lines as (STT, name, (1) … (13)), from the hand counts above.
AGENCY_LINES = [
    ("I", "Cấp tỉnh", 16, 10, 4, 2, 11, 5, 5, 1, 5, 4, 1, 9 / 10, 10 / 14),
    ("1", "Sở Xây dựng", 12, 6, 4, 2, 9, 3, 5, 1, 3, 2, 1, 7 / 8, 6 / 10),
    ("2", "Sở Tài chính", 4, 4, 0, 0, 2, 2, 0, 0, 2, 2, 0, 1.0, 1.0),
    ("II", "Cấp xã", 6, 1, 4, 1, 4, 1, 2, 1, 2, 0, 2, 1.0, 1 / 5),
    ("1", "UBND Phường Thành Vinh", 6, 1, 4, 1, 4, 1, 2, 1, 2, 0, 2, 1.0, 1 / 5),
    ("2", "UBND Xã Anh Sơn", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, None, None),
    (None, "Tổng cộng", 22, 11, 8, 3, 15, 6, 7, 2, 7, 4, 3, 12 / 13, 11 / 19),
]


def test_form_counts_maps_a_counts_object_to_the_numbered_columns() -> None:
    assert form.form_counts(P1["counts"]) == (12, 6, 4, 2, 9, 3, 5, 1, 3, 2, 1)
    assert [c.number for c in form.COLUMNS] == [f"({i})" for i in range(1, 14)]
    # Every line of an ended period balances: (1) = (5) + (9), (5) = (6) + (7) + (8), (9) = (10) + (11).
    for line in AGENCY_LINES:
        v = line[2:13]
        assert v[0] == v[1] + v[2] + v[3] == v[4] + v[8]
        assert v[4] == v[5] + v[6] + v[7] and v[8] == v[9] + v[10]


def _sheet(data: bytes) -> Any:
    return load_workbook(io.BytesIO(data)).active


def test_the_xlsx_is_the_form_with_its_header_table_notes_and_signatures() -> None:
    ws = _sheet(render.to_xlsx(agency_doc(), {}, AS_OF, HEAD))
    assert ws["A1"].value == "Biểu số 06/VPCP/KSTT"
    assert ws["A2"].value == "Ban hành kèm theo Thông tư số 01/2020/TT-VPCP ngày 21/10/2020"
    assert ws["H1"].value == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert ws["H2"].value == "Độc lập - Tự do - Hạnh phúc"
    assert (
        ws["A4"].value == "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT TTHC TẠI CƠ QUAN, ĐƠN VỊ TRỰC TIẾP GIẢI QUYẾT TTHC"
    )
    assert ws["A5"].value == "Kỳ báo cáo: Quý III năm 2025"
    assert ws["A6"].value == "(Từ ngày 15/6/2025 đến ngày 14/9/2025)"
    assert ws["A7"].value.startswith("Theo cơ quan, đơn vị giải quyết; số liệu chốt ngày 14")
    assert ws["A8"].value == "Đơn vị báo cáo: Văn phòng Ủy ban nhân dân tỉnh Nghệ An"
    assert ws["A9"].value == "Đơn vị nhận báo cáo: Văn phòng Chính phủ"
    assert ws["A10"].value == "Đơn vị tính: Số hồ sơ TTHC"
    assert all(ws[c].font.b for c in ("A1", "H1", "H2", "A4", "A5"))
    assert ws["A4"].font.sz == 14

    assert [ws.cell(11, c).value for c in (1, 2, 3, 7, 11, 14)] == [
        "STT",
        "Cơ quan, đơn vị giải quyết TTHC theo cấp",
        "Số hồ sơ nhận giải quyết",
        "Số hồ sơ đã giải quyết",
        "Số hồ sơ đang giải quyết",
        "Tỷ lệ (%)",
    ]
    assert [ws.cell(12, c).value for c in range(3, 16)] == [
        "Tổng số",
        "Trong đó",
        None,
        None,
        "Tổng số",
        "Trước hạn",
        "Đúng hạn",
        "Quá hạn",
        "Tổng số",
        "Trong hạn",
        "Quá hạn",
        "Giải quyết đúng hạn",
        "Tiếp nhận trực tuyến",
    ]
    assert [ws.cell(13, c).value for c in (4, 5, 6)] == [
        "Trực tuyến",
        "Trực tiếp và dịch vụ bưu chính",
        "Từ kỳ trước",
    ]
    assert [ws.cell(14, c).value for c in range(1, 16)] == ["A", "B", *(f"({i})" for i in range(1, 14))]

    lines = [tuple(r) for r in ws.iter_rows(min_row=15, max_row=21, values_only=True)]
    assert lines == AGENCY_LINES
    assert ws.cell(22, 2).value is None  # the table ends with the grand total
    for r in range(15, 22):
        assert ws.cell(r, 3).font.b == (ws.cell(r, 1).value in ("I", "II", None)), r
        assert ws.cell(r, 3).number_format == "#,##0"
        assert ws.cell(r, 14).number_format == "0.00%"
        assert ws.cell(r, 3).border.left.style == "thin"

    # Notes (rows 23–26), then the place and date and the two signers.
    assert ws["A23"].value.startswith("Ghi chú: (1) = (2) + (3) + (4); (5) = (6) + (7) + (8)")
    assert ws["A24"].value.startswith("Hồ sơ rút (tổ chức, cá nhân rút hồ sơ) kết thúc việc giải quyết")
    assert "trước hạn, đúng hạn hoặc quá hạn theo thời điểm kết thúc so với thời hạn" in ws["A24"].value
    assert ws["A25"].value.startswith("(12) Tỷ lệ giải quyết đúng hạn")
    assert ws["A26"].value == "Số liệu cập nhật lúc 16:45 ngày 30/9/2025."
    assert ws["H28"].value == "Nghệ An, ngày 01 tháng 10 năm 2025"
    assert (ws["A29"].value, ws["H29"].value) == ("NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ")
    assert (ws["A30"].value, ws["H30"].value) == ("(Ký, ghi rõ họ tên)", "(Ký, đóng dấu, ghi rõ họ tên)")
    assert (ws["A34"].value, ws["H34"].value) == ("Nguyễn Văn Lập", "Trần Thị Trưởng")
    assert ws.max_row == 34

    merged = {str(m) for m in ws.merged_cells.ranges}
    assert merged == {
        *(f"A{r}:E{r}" for r in (1, 2, 29, 30, 34)),
        *(f"H{r}:O{r}" for r in (1, 2, 28, 29, 30, 34)),
        *(f"A{r}:O{r}" for r in (4, 5, 6, 7, 8, 9, 10, 23, 24, 25, 26)),
        "A11:A13",
        "B11:B13",
        "C11:F11",
        "G11:J11",
        "K11:M11",
        "N11:O11",
        "C12:C13",
        "D12:F12",
        *(f"{c}12:{c}13" for c in "GHIJKLMNO"),
    }
    assert ws.freeze_panes == "C15"


def test_the_xlsx_prints_on_a4_landscape_one_page_wide_with_the_headings_on_every_page() -> None:
    data = render.to_xlsx(agency_doc(), {}, AS_OF, HEAD)
    ws = _sheet(data)
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == 9  # A4
    assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert ws.print_title_rows == "$11:$14"
    # Times New Roman everywhere: every written cell, and the workbook's default font (the Normal style).
    written = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert len(written) > 150
    assert {c.font.name for c in written} == {"Times New Roman"}
    styles = zipfile.ZipFile(io.BytesIO(data)).read("xl/styles.xml").decode()
    assert 'name val="Times New Roman"' in styles
    assert "Calibri" not in styles
    # The same document gives the same bytes.
    assert render.to_xlsx(agency_doc(), {}, AS_OF, HEAD) == data


def test_a_period_in_progress_says_its_pending_figures_are_as_of_now() -> None:
    doc = agency_doc("2025-10", "2025-09-15", "2025-10-14")
    ws = _sheet(render.to_xlsx(doc, {}, None, HEAD))  # drawn up on 1 October, before the 14th
    assert ws["A5"].value == "Kỳ báo cáo: Tháng 10 năm 2025"
    assert ws["A6"].value == "(Từ ngày 15/9/2025 đến ngày 14/10/2025)"
    assert ws["A26"].value == form.IN_PROGRESS_NOTE  # in place of the data's time, which is unknown


def test_the_renderer_takes_only_the_forms_shape() -> None:
    doc = agency_doc()
    doc["subtotals"] = doc["subtotals"][:1]  # commune rows with no commune subtotal
    with pytest.raises(ValueError, match="rows of level commune have no subtotal"):
        render.to_xlsx(doc, {}, None, HEAD)
    old = agency_doc()
    del old["rows"][0]["counts"]["received_total"]
    with pytest.raises(KeyError, match="received_total"):
        render.to_csv(old, {})


def sector_doc() -> dict[str, Any]:
    return {
        "period": "2025-09",
        "basis": "calendar",
        "from": "2025-09-01",
        "to": "2025-09-30",
        "unit": "sector",
        "group_by": ["sector"],
        "data_as_of": None,
        "rows": [
            {"sector": "xay_dung", "sector_name": "Xây dựng", **P1},
            {"sector": None, "sector_name": None, **P2},
        ],
        "subtotals": [],
        "totals": figures(counts(14, 10, 2, (5, 4, 1), (0, 1, 0), 5, 1), 9 / 10, 10 / 14),
    }


def test_one_agencys_sectors_are_the_form_as_that_unit_files_it() -> None:
    head = form.letterhead(
        Settings(),
        unit="sector",
        filters={"agency": [A]},
        agency_names={A: "Sở Xây dựng"},
        today=date(2025, 10, 5),
    )
    assert head == form.Letterhead(
        "Sở Xây dựng", "Văn phòng Ủy ban nhân dân tỉnh Nghệ An", "Nghệ An", None, None, date(2025, 10, 5)
    )
    ws = _sheet(render.to_xlsx(sector_doc(), {"agency": [A]}, None, head))
    assert ws["A5"].value == "Kỳ báo cáo: Tháng 9 năm 2025"
    assert ws["A6"].value == "(Từ ngày 01/9/2025 đến ngày 30/9/2025)"
    assert ws["A7"].value == (f"Theo lĩnh vực; số liệu theo tháng, quý, năm dương lịch. Lọc: agency = {A}.")
    assert (ws["A8"].value, ws["A9"].value) == (
        "Đơn vị báo cáo: Sở Xây dựng",
        "Đơn vị nhận báo cáo: Văn phòng Ủy ban nhân dân tỉnh Nghệ An",
    )
    assert ws["B11"].value == "Lĩnh vực giải quyết TTHC"
    assert [tuple(r)[:4] for r in ws.iter_rows(min_row=15, max_row=17, values_only=True)] == [
        ("1", "Xây dựng", 12, 6),
        ("2", "(chưa xác định lĩnh vực)", 4, 4),
        (None, "Tổng cộng", 16, 10),
    ]
    assert ws["H23"].value == "Nghệ An, ngày 05 tháng 10 năm 2025"
    # No names under the signatures: the configured ones sign the province's report, not the agency's.
    assert ws["A29"].value is None and ws["H29"].value is None


def test_the_letterhead_of_a_report_on_several_units_comes_from_the_settings() -> None:
    settings = Settings(
        TTHC_REPORT_REPORTING_UNIT="UBND tỉnh Nghệ An",
        TTHC_REPORT_RECEIVING_UNIT="Cục Kiểm soát thủ tục hành chính",
        TTHC_REPORT_PLACE="Vinh",
        TTHC_REPORT_PREPARER="Lê Văn A",
        TTHC_REPORT_HEAD="",
    )
    today = date(2026, 11, 30)
    for unit, filters in (("agency", {}), ("commune", {}), ("sector", {}), ("sector", {"agency": [A, B]})):
        head = form.letterhead(settings, unit=unit, filters=filters, agency_names={}, today=today)
        assert head == form.Letterhead(
            "UBND tỉnh Nghệ An", "Cục Kiểm soát thủ tục hành chính", "Vinh", "Lê Văn A", None, today
        )
        assert head.place_and_date == "Vinh, ngày 30 tháng 11 năm 2026"


# --- CSV ---------------------------------------------------------------------------------------------


def _csv(content: bytes, delimiter: str = ",") -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=delimiter))


PROVINCE_CELLS = ["16", "10", "4", "2", "11", "5", "5", "1", "5", "4", "1"]
COMMUNE_CELLS = ["6", "1", "4", "1", "4", "1", "2", "1", "2", "0", "2"]
CSV_HEADINGS = [
    "STT",
    "Mã cơ quan",
    "Cơ quan, đơn vị giải quyết TTHC theo cấp",
    "Số hồ sơ nhận giải quyết - Tổng số (1)",
    "Số hồ sơ nhận giải quyết - Trực tuyến (2)",
    "Số hồ sơ nhận giải quyết - Trực tiếp và dịch vụ bưu chính (3)",
    "Số hồ sơ nhận giải quyết - Từ kỳ trước (4)",
    "Số hồ sơ đã giải quyết - Tổng số (5)",
    "Số hồ sơ đã giải quyết - Trước hạn (6)",
    "Số hồ sơ đã giải quyết - Đúng hạn (7)",
    "Số hồ sơ đã giải quyết - Quá hạn (8)",
    "Số hồ sơ đang giải quyết - Tổng số (9)",
    "Số hồ sơ đang giải quyết - Trong hạn (10)",
    "Số hồ sơ đang giải quyết - Quá hạn (11)",
    "Tỷ lệ giải quyết đúng hạn (%) (12)",
    "Tỷ lệ tiếp nhận trực tuyến (%) (13)",
]


def test_the_csv_has_the_forms_columns_and_lines() -> None:
    content = render.to_csv(agency_doc(), {})
    assert not any(";" in line for line in content.decode("utf-8-sig").splitlines()[3:])
    rows = _csv(content)
    assert rows[0] == [form.FORM_TITLE]
    assert rows[1] == [
        "Biểu số 06/VPCP/KSTT. Kỳ báo cáo: Quý III năm 2025 (Từ ngày 15/6/2025 đến ngày 14/9/2025). "
        "Theo cơ quan, đơn vị giải quyết; số liệu chốt ngày 14 (từ ngày 15 của tháng trước kỳ đến ngày 14 "
        "của tháng cuối kỳ)."
    ]
    assert rows[2] == []
    assert rows[3] == CSV_HEADINGS
    # Percentages, 2 decimals: 9/10 -> 90.00, 10/14 -> 71.43, 7/8 -> 87.50, 12/13 -> 92.31, 11/19 -> 57.89.
    assert rows[4:] == [
        ["I", "", "Cấp tỉnh", "16", "10", "4", "2", "11", "5", "5", "1", "5", "4", "1", "90.00", "71.43"],
        ["1", A, "Sở Xây dựng", "12", "6", "4", "2", "9", "3", "5", "1", "3", "2", "1", "87.50", "60.00"],
        ["2", B, "Sở Tài chính", "4", "4", "0", "0", "2", "2", "0", "0", "2", "2", "0", "100.00", "100.00"],
        ["II", "", "Cấp xã", "6", "1", "4", "1", "4", "1", "2", "1", "2", "0", "2", "100.00", "20.00"],
        ["1", "X.TV", "UBND Phường Thành Vinh", *COMMUNE_CELLS, "100.00", "20.00"],
        ["2", "X.AS", "UBND Xã Anh Sơn", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "", ""],
        ["", "", "Tổng cộng", "22", "11", "8", "3", "15", "6", "7", "2", "7", "4", "3", "92.31", "57.89"],
    ]


def test_the_excel_vi_dialect_writes_semicolons_and_decimal_commas() -> None:
    default, vi = render.to_csv(agency_doc(), {}), render.to_csv(agency_doc(), {}, "excel-vi")
    rows = _csv(vi, ";")
    assert rows[3] == CSV_HEADINGS
    assert rows[4] == ["I", "", "Cấp tỉnh", *PROVINCE_CELLS, "90,00", "71,43"]
    assert vi.decode("utf-8-sig").splitlines()[4] == "I;;Cấp tỉnh;16;10;4;2;11;5;5;1;5;4;1;90,00;71,43"
    # The same cells, only the separator and the decimal mark differ.
    assert [[c.replace(",", ".") for c in r] for r in rows[3:]] == [
        [c.replace(",", ".") for c in r] for r in _csv(default)[3:]
    ]


# --- Through the endpoint -----------------------------------------------------------------------------


def _finished(code: str, received: str, due: str | None, resolved: str, **over: Any) -> dict[str, Any]:
    return rec(code, received_at=received, due_at=due, resolved_at=resolved, updated_at=resolved, **over)


# September 2025 (reporting: 15 August – 14 September). Sở Xây dựng: one carried over from 10 August
# and finished late on 5 September; one received online on 20 August and finished early; one received
# on 1 September, still open and overdue since the 10th. Sở Tài chính: one online, no deadline,
# finished on 3 September (on time). No withdrawals, so closed = finished.
SEPTEMBER = [
    _finished(
        "S-carried", "2025-08-10T09:00:00+07:00", "2025-08-20T17:00:00+07:00", "2025-09-05T10:00:00+07:00"
    ),
    _finished(
        "S-early",
        "2025-08-20T08:00:00+07:00",
        "2025-08-30T17:00:00+07:00",
        "2025-08-25T10:00:00+07:00",
        channel="online",
    ),
    open_rec("S-overdue", received_at="2025-09-01T09:00:00+07:00", due_at="2025-09-10T17:00:00+07:00"),
    _finished(
        "T-free",
        "2025-09-02T09:00:00+07:00",
        None,
        "2025-09-03T09:00:00+07:00",
        agency_code=B,
        channel="online",
    ),
]


def ingest(client: TestClient, records: list[dict[str, Any]]) -> None:
    r = client.post("/v1/dossiers", json=records)
    assert r.status_code == 200 and r.json()["rejected"] == 0, r.text


def test_the_endpoints_xlsx_carries_the_jsons_figures_in_the_form(client: TestClient) -> None:
    ingest(client, SEPTEMBER)
    body = client.get(URL, params={"period": "2025-09"}).json()
    r = client.get(URL, params={"period": "2025-09", "format": "xlsx"})
    assert r.status_code == 200
    assert r.headers["content-type"] == render.XLSX_MEDIA_TYPE
    assert (
        r.headers["content-disposition"]
        == 'attachment; filename="bao-cao-giai-quyet-ho-so_2025-09_agency.xlsx"'
    )
    ws = _sheet(r.content)
    assert ws["A5"].value == "Kỳ báo cáo: Tháng 9 năm 2025"
    assert ws["A6"].value == "(Từ ngày 15/8/2025 đến ngày 14/9/2025)"
    # The default settings; the clock's 1 October 2025, 08:00 in Vietnam.
    assert ws["A8"].value == "Đơn vị báo cáo: Văn phòng Ủy ban nhân dân tỉnh Nghệ An"
    assert ws["A9"].value == "Đơn vị nhận báo cáo: Văn phòng Chính phủ"
    lines = [tuple(r) for r in ws.iter_rows(min_row=15, values_only=True)]
    assert [s["level"] for s in body["subtotals"]] == ["province", "commune"]
    n = len(body["rows"]) + len(body["subtotals"]) + 1
    table = lines[:n]
    assert table[-1][1] == "Tổng cộng"
    json_lines: list[dict[str, Any]] = []
    for sub in body["subtotals"]:
        json_lines.append(sub)
        json_lines += [row for row in body["rows"] if row["level"] == sub["level"]]
    json_lines.append(body["totals"])
    for line, figs in zip(table, json_lines, strict=True):
        assert line[2:] == form.form_values(figs)
    # Sở Xây dựng, the 7th province agency: received 2 (1 online) + 1 carried over = 3; closed 2 (1 early,
    # 1 late); pending 1, overdue. On time 1 of 2, online 1 of 2.
    row = next(line for line in table if line[1] == "Sở Xây dựng")
    assert row == ("7", "Sở Xây dựng", 3, 1, 1, 1, 2, 1, 0, 1, 1, 0, 1, 0.5, 0.5)
    assert table[0][:3] == ("I", body["subtotals"][0]["level_name"], 4)
    assert table[-1][2:] == (4, 2, 1, 1, 3, 1, 1, 1, 1, 0, 1, 2 / 3, 2 / 3)
    place = next(v for v in (ws.cell(r, 8).value for r in range(15 + n, ws.max_row + 1)) if v)
    assert place == "Nghệ An, ngày 01 tháng 10 năm 2025"


def test_one_agencys_sector_report_names_that_agency_as_the_reporting_unit(client: TestClient) -> None:
    ingest(client, SEPTEMBER)
    ws = _sheet(
        client.get(URL, params={"period": "2025-09", "unit": "sector", "agency": A, "format": "xlsx"}).content
    )
    assert ws["A8"].value == "Đơn vị báo cáo: Sở Xây dựng"
    assert ws["A9"].value == "Đơn vị nhận báo cáo: Văn phòng Ủy ban nhân dân tỉnh Nghệ An"
    assert [tuple(r)[:3] for r in ws.iter_rows(min_row=15, max_row=16, values_only=True)] == [
        ("1", "(chưa xác định lĩnh vực)", 3),
        (None, "Tổng cộng", 3),
    ]


@pytest.fixture
def configured(engine: Engine, settings: Settings, clock: Clock) -> Iterator[TestClient]:
    own = settings.model_copy(
        update={
            "report_reporting_unit": "UBND tỉnh Nghệ An",
            "report_head": "Trần Thị Trưởng",
            "report_place": "Vinh",
        }
    )
    with TestClient(create_app(own, engine=engine, clock=clock), base_url="http://testserver") as c:
        c.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        yield c


def test_the_letterhead_settings_reach_the_file(configured: TestClient) -> None:
    ws = _sheet(
        configured.get(URL, params={"period": "2025-09", "unit": "commune", "format": "xlsx"}).content
    )
    assert ws["A8"].value == "Đơn vị báo cáo: UBND tỉnh Nghệ An"
    assert ws["B11"].value == "Xã, phường"
    values = [ws.cell(r, 8).value for r in range(15, ws.max_row + 1)]
    assert "Vinh, ngày 01 tháng 10 năm 2025" in values
    assert values[-1] == "Trần Thị Trưởng"


def test_the_endpoints_csv_dialects(client: TestClient) -> None:
    ingest(client, SEPTEMBER)
    default = client.get(URL, params={"period": "2025-09", "format": "csv"})
    excel = client.get(URL, params={"period": "2025-09", "format": "csv", "csv_dialect": "excel"})
    vi = client.get(URL, params={"period": "2025-09", "format": "csv", "csv_dialect": "excel-vi"})
    assert default.content == excel.content
    assert default.headers["content-type"] == vi.headers["content-type"] == "text/csv; charset=utf-8"
    assert default.headers["etag"] != vi.headers["etag"]
    total = _csv(default.content)[-1]
    assert total == [
        "",
        "",
        "Tổng cộng",
        "4",
        "2",
        "1",
        "1",
        "3",
        "1",
        "1",
        "1",
        "1",
        "0",
        "1",
        "66.67",
        "66.67",
    ]
    assert _csv(vi.content, ";")[-1] == [*total[:14], "66,67", "66,67"]


@pytest.mark.parametrize(
    ("params", "msg"),
    [
        ({"format": "csv", "csv_dialect": "excel-de"}, None),
        ({"format": "xlsx", "csv_dialect": "excel-vi"}, "csv_dialect applies to format=csv only"),
        ({"csv_dialect": "excel"}, "csv_dialect applies to format=csv only"),  # format=json by default
    ],
)
def test_csv_dialect_is_checked_and_only_goes_with_csv(
    client: TestClient, params: dict[str, str], msg: str | None
) -> None:
    r = client.get(URL, params={"period": "2025-09", **params})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    errors = r.json()["errors"]
    assert [e["loc"] for e in errors] == [["query", "csv_dialect"]]
    if msg is not None:
        assert errors[0]["msg"] == msg


def test_the_xlsx_is_drawn_up_afresh_each_day_and_answers_304(client: TestClient, clock: Clock) -> None:
    ingest(client, SEPTEMBER)
    params = {"period": "2025-09", "format": "xlsx"}
    first = client.get(URL, params=params)
    again = client.get(URL, params=params, headers={"If-None-Match": first.headers["etag"]})
    assert (again.status_code, again.headers["x-cache"]) == (304, "miss")  # never kept: it carries the day
    clock.now = datetime(2025, 10, 1, 16, 59, tzinfo=UTC)  # 23:59 the same day in Vietnam
    assert client.get(URL, params=params).content == first.content
    clock.now = datetime(2025, 10, 1, 17, 0, tzinfo=UTC)  # 00:00 on 2 October in Vietnam
    next_day = client.get(URL, params=params)
    assert next_day.headers["etag"] != first.headers["etag"]
    cells = [c.value for row in _sheet(next_day.content).iter_rows() for c in row]
    assert "Nghệ An, ngày 02 tháng 10 năm 2025" in cells
    # The CSV carries no day: it stays in the cache.
    csv_params = {"period": "2025-09", "format": "csv"}
    client.get(URL, params=csv_params)
    assert client.get(URL, params=csv_params).headers["x-cache"] == "hit"


# Codes and names a spreadsheet would read as formulas, and one that genuinely starts with '.
TRICKY = {
    "-1.H41": ("=1+2", "'-1.H41", "'=1+2"),
    "-X": ("@SUM(A1:A9)", "'-X", "'@SUM(A1:A9)"),
    "T.PLUS": ("+84 912 345 678", "T.PLUS", "'+84 912 345 678"),
    "T.MINUS": ("-Ban quản lý dự án", "T.MINUS", "'-Ban quản lý dự án"),
    "T.QUOTE": ("'Ban trích dẫn", "T.QUOTE", "''Ban trích dẫn"),
    "T.PLAIN": ("Ban bình thường", "T.PLAIN", "Ban bình thường"),
}


def unescape(cell: str) -> str:
    """The value of a CSV text cell: the service adds one ' to a cell starting with = + - @ tab CR or '."""
    return cell[1:] if cell.startswith("'") else cell


def test_csv_and_xlsx_cells_that_could_start_a_formula_stay_text(client: TestClient) -> None:
    for code, (name, _, _) in TRICKY.items():
        r = client.put(f"/v1/agencies/{code}", json={"name": name, "level": "province"})
        assert r.status_code in (200, 201), r.text
    ingest(
        client,
        [
            _finished(
                f"Z{i}", "2025-09-02T09:00:00+07:00", None, "2025-09-03T09:00:00+07:00", agency_code=code
            )
            for i, code in enumerate(TRICKY)
        ],
    )
    for dialect, sep in (("excel", ","), ("excel-vi", ";")):
        data = _csv(
            client.get(URL, params={"period": "2025-09", "format": "csv", "csv_dialect": dialect}).content,
            sep,
        )
        by_code = {unescape(line[1]): line for line in data[4:] if line[1]}
        for code, (_, code_cell, name_cell) in TRICKY.items():
            line = by_code[code]
            assert line[1:3] == [code_cell, name_cell]
            # Figures are numbers, never escaped: 1 received in person, 1 closed on time (no deadline).
            rates = ["100.00", "0.00"] if sep == "," else ["100,00", "0,00"]
            assert line[3:] == ["1", "0", "1", "0", "1", "0", "1", "0", "0", "0", "0", *rates]

    ws = _sheet(client.get(URL, params={"period": "2025-09", "format": "xlsx"}).content)
    rows = {ws.cell(r, 2).value: r for r in range(15, ws.max_row + 1) if ws.cell(r, 2).value}
    for name, _, _ in TRICKY.values():
        name_cell, received = ws.cell(rows[name], 2), ws.cell(rows[name], 3)
        # XLSX: typed string cells as written, no ' added; counts stay numbers.
        assert (name_cell.value, name_cell.data_type) == (name, "s")
        assert (received.value, received.data_type) == (1, "n")


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'quoted", "''quoted"),
        ("'=1+2", "''=1+2"),
        ("''", "'''"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("it's", "it's"),
        ("", ""),
    ],
)
def test_the_csv_escape_is_undone_only_where_it_was_added(value: str, cell: str) -> None:
    assert render.csv_text(value) == cell
    assert unescape(render.csv_text(value)) == value
