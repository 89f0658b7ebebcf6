"""The national index table as a JSON document, CSV (UTF-8 with a byte-order mark, one line per unit
and indicator) and XLSX (the same lines, and a sheet of totals per unit)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from app.core.timeutil import to_local
from app.index.service import IndexTable
from app.reports.render import csv_text, put_cell, reproducible

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UNIT_WORDS = {"province": "Tỉnh", "agency": "Sở, ban, ngành", "commune": "UBND xã, phường"}


def _indicator(i: Any) -> dict[str, Any]:
    return {
        "code": i.code,
        "group": i.group,
        "label": i.label,
        "ratio": i.ratio,
        "numerator": i.numerator,
        "denominator": i.denominator,
        "points": i.points,
        "points_rounded": i.points_rounded,
        "max_points": i.max_points,
        "source": i.source,
        "provisional": i.provisional,
        "uncatalogued": i.uncatalogued,
    }


def document(table: IndexTable, data_as_of: datetime | None) -> dict[str, Any]:
    p = table.period
    rs = table.rule_set
    return {
        "period": p.label,
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        "judged_at": to_local(p.judged_at).isoformat(),
        "in_progress": p.in_progress,
        "unit": table.unit,
        "rule_set": {"id": rs.id, "label": rs.label, "effective_from": rs.effective_from.isoformat()},
        "derivation_behind": table.behind,
        "data_as_of": to_local(data_as_of).isoformat() if data_as_of else None,
        "rows": [
            {
                "code": r.code,
                "name": r.name,
                "rank": r.rank,
                "total": r.score.total,
                "reachable": r.score.reachable,
                "groups": [
                    {"code": g.code, "label": g.label, "points": g.points, "max_points": g.max_points}
                    for g in r.score.groups
                ],
                "indicators": [_indicator(i) for i in r.score.indicators],
                "counts": r.counts,
            }
            for r in table.rows
        ],
    }


HEADINGS = (
    "Mã đơn vị",
    "Tên đơn vị",
    "Xếp hạng",
    "Tổng điểm",
    "Chỉ số",
    "Nhóm",
    "Tên chỉ số",
    "Tử số",
    "Mẫu số",
    "Tỷ lệ",
    "Điểm",
    "Điểm tối đa",
    "Nguồn",
    "Tạm tính",
)


def _lines(doc: Mapping[str, Any]) -> list[list[Any]]:
    out = []
    for r in doc["rows"]:
        for i in r["indicators"]:
            out.append(
                [
                    r["code"],
                    r["name"],
                    r["rank"],
                    r["total"],
                    i["code"],
                    i["group"],
                    i["label"],
                    i["numerator"],
                    i["denominator"],
                    i["ratio"],
                    i["points_rounded"],
                    i["max_points"],
                    i["source"],
                    "có" if i["provisional"] else "",
                ]
            )
    return out


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}" if not v.is_integer() else str(int(v))
    return csv_text(v) if isinstance(v, str) else str(v)


def to_csv(doc: Mapping[str, Any]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(HEADINGS)
    for line in _lines(doc):
        w.writerow([_cell(v) for v in line])
    return ("\ufeff" + out.getvalue()).encode()


def to_xlsx(doc: Mapping[str, Any]) -> bytes:
    wb = Workbook()
    summary = wb.active
    summary.title = "Tổng hợp"
    groups: Sequence[Mapping[str, Any]] = doc["rows"][0]["groups"] if doc["rows"] else []
    head = ["Xếp hạng", "Mã đơn vị", "Tên đơn vị", "Tổng điểm", "Điểm còn có thể đạt"] + [
        f"{g['label']} (tối đa {g['max_points']:g})" for g in groups
    ]
    title = (
        f"Chỉ số phục vụ người dân, doanh nghiệp (QĐ 766) — {UNIT_WORDS[doc['unit']]} — kỳ {doc['period']}"
    )
    put_cell(summary, 1, 1, title).font = Font(bold=True, size=13)
    put_cell(summary, 2, 1, f"Bộ tiêu chí {doc['rule_set']['id']}; số liệu đánh giá tại {doc['judged_at']}")
    for c, h in enumerate(head, start=1):
        put_cell(summary, 4, c, h).font = Font(bold=True)
    for n, r in enumerate(doc["rows"], start=5):
        values = [r["rank"], r["code"], r["name"], r["total"], r["reachable"]] + [
            g["points"] for g in r["groups"]
        ]
        for c, v in enumerate(values, start=1):
            put_cell(summary, n, c, v)
    detail = wb.create_sheet("Chi tiết")
    for c, h in enumerate(HEADINGS, start=1):
        put_cell(detail, 1, c, h).font = Font(bold=True)
    for n, line in enumerate(_lines(doc), start=2):
        for c, v in enumerate(line, start=1):
            cell = put_cell(detail, n, c, v)
            if HEADINGS[c - 1] == "Tỷ lệ" and v is not None:
                cell.number_format = "0.00%"
    for ws in (summary, detail):
        ws.column_dimensions["B"].width = 22
        ws.column_dimensions["C"].width = 40
    wb.properties.title = title
    wb.properties.creator = "tthc-metrics"
    stamp = datetime(1980, 1, 1)
    wb.properties.created = stamp
    raw = io.BytesIO()
    wb.save(raw)
    return reproducible(raw.getvalue(), stamp)
