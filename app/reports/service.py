"""The periodic report and the scorecard, assembled from the metric engine's rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from app.core import calculator
from app.core.calculator import fraction, ratio
from app.core.definitions import COUNT_NAMES, RATES_BY_NAME
from app.core.periods import ReportPeriod
from app.core.timeutil import to_local
from app.metrics import service as metrics
from app.reports.targets import LAND_CONSTRUCTION_INVESTMENT, EffectiveTarget, YearTargets, passes
from app.store import repository

Names = Mapping[str, Mapping[str, str]]

# Vietnamese names of the common sector slugs, for the report's name column; other slugs show as is.
SECTOR_NAMES: dict[str, str] = {
    "bao_tro_xa_hoi": "Bảo trợ xã hội",
    "chung_thuc": "Chứng thực",
    "dat_dai": "Đất đai",
    "dau_tu": "Đầu tư",
    "doanh_nghiep": "Thành lập và hoạt động doanh nghiệp",
    "giao_duc": "Giáo dục và đào tạo",
    "giao_thong": "Giao thông vận tải",
    "ho_tich": "Hộ tịch",
    "lao_dong": "Lao động, việc làm",
    "moi_truong": "Môi trường",
    "nong_nghiep": "Nông nghiệp",
    "tu_phap": "Tư pháp",
    "xay_dung": "Xây dựng",
    "y_te": "Y tế",
}


def _data_as_of(conn: Connection) -> str | None:
    _, changed = repository.data_state(conn)
    return to_local(changed).isoformat() if changed else None


def _every_unit(unit: str, names: Names, filters: Mapping[str, Sequence[str]]) -> list[repository.Key]:
    """Every registered agency or ward (those the unit's own filter allows), so empty units show too."""
    wanted = filters.get(unit)
    if unit == "sector":
        return [(s,) for s in wanted or ()]
    return [(code,) for code in names[unit] if not wanted or code in wanted]


# The agency levels of the form, in its order (Biểu 06/VPCP/KSTT files departments first, then the
# People's Committees), with the heading of each level's subtotal.
LEVEL_NAMES: dict[str, str] = {
    "province": "Sở, ban, ngành cấp tỉnh",
    "commune": "UBND cấp xã",
}


def _by_level(rows: list[dict[str, Any]], levels: Mapping[str, str]) -> list[dict[str, Any]]:
    """Agency rows with their `level`, province-level first, then commune-level, each in the order
    given; an agency of no known level (not possible through the API) last, with level null."""
    order = {level: i for i, level in enumerate(LEVEL_NAMES)}
    out = []
    for row in rows:
        level = levels.get(row["agency"])
        out.append(
            {
                "agency": row["agency"],
                "agency_name": row["agency_name"],
                "level": level if level in order else None,
                "counts": row["counts"],
                "rates": row["rates"],
            }
        )
    return sorted(out, key=lambda row: order.get(row["level"], len(order)))


def _subtotals(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per level with rows, in the form's order: the sum of its rows' counts, and the rates of that sum
    as the totals' are made (calculator.rates)."""
    out = []
    for level, level_name in LEVEL_NAMES.items():
        of_level = [row["counts"] for row in rows if row["level"] == level]
        if not of_level:
            continue
        counts = {name: sum(c[name] for c in of_level) for name in COUNT_NAMES}
        out.append(
            {"level": level, "level_name": level_name, "counts": counts, "rates": calculator.rates(counts)}
        )
    return out


def report_document(
    conn: Connection,
    *,
    period: ReportPeriod,
    basis: str,
    unit: str,
    filters: Mapping[str, Sequence[str]],
    names: Names,
    now: datetime,
    check: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """The periodic report as JSON: /v1/metrics grouped by the unit over the period, plus the period.

    By agency, rows are grouped by level (departments, then People's Committees) and `subtotals` has
    one entry per level; by commune or sector, `subtotals` is empty.
    """
    result = metrics.compute(
        conn,
        start=period.start,
        end=period.end,
        group_by=[unit],
        filters=filters,
        now=now,
        keep_empty_keys=_every_unit(unit, names, filters),
        check=check,
    )
    rows = []
    for r in result.rows:
        row = metrics.row_json(r, names)
        if unit == "sector":
            key = r.keys["sector"]
            row = {"sector": key, "sector_name": SECTOR_NAMES.get(key) if key else None, **row}
        rows.append(row)
    subtotals: list[dict[str, Any]] = []
    if unit == "agency":
        rows = _by_level(rows, names["agency_level"])
        subtotals = _subtotals(rows)
    return {
        "period": period.label,
        "basis": basis,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "unit": unit,
        "group_by": [unit],
        "data_as_of": _data_as_of(conn),
        "rows": rows,
        "subtotals": subtotals,
        "totals": {"counts": result.totals_counts, "rates": result.totals_rates},
    }


def _idle(c: Mapping[str, int]) -> bool:
    """Nothing received, carried over, finished, withdrawn or pending: there is nothing to score."""
    return not any(c[k] for k in ("received", "carried_over", "finished", "withdrawn", "pending"))


# The scorecard's targets that are rates of the catalogue: (the rate, whether over the pooled land,
# construction and investment sectors instead of all of the unit's dossiers). Their numerator and
# denominator come from the rate's terms (app/metrics/definitions.py), never written again here.
_RATE_TARGETS: dict[str, tuple[str, bool]] = {
    "on_time": ("on_time", False),
    "online": ("online", False),
    "satisfaction": ("satisfaction", False),
    "satisfaction_land_construction_investment": ("satisfaction", True),
    "apology": ("apology", False),
}


def _target_figure(
    name: str, c: Mapping[str, int], lci: Mapping[str, int]
) -> tuple[float | None, int | None, int | None]:
    """(value, numerator, denominator) of one named target for one unit."""
    if name in _RATE_TARGETS:
        rate, pooled = _RATE_TARGETS[name]
        # A unit with no dossier in the pooled sectors has no row there: every count is 0.
        counts = {k: lci.get(k, 0) for k in COUNT_NAMES} if pooled else c
        num, den = fraction(RATES_BY_NAME[rate], counts)
        return ratio(num, den), num, den
    # pending_overdue: a count, judged only for a unit that handled something
    if _idle(c):
        return None, None, None
    return c["pending_overdue"], c["pending_overdue"], None


def _rank_key(row: Mapping[str, Any], unit: str) -> tuple[Any, ...]:
    """Targets passed (more first); among as many passed, targets failed (fewer first); then on_time,
    then online, both descending with null below any number; then the code."""
    rates = row["rates"]
    on_time, online = rates["on_time"], rates["online"]
    return (
        -row["passed"],
        row["failed"],
        on_time is None,
        -(on_time or 0.0),
        online is None,
        -(online or 0.0),
        row[unit],
    )


def scorecard_rows(
    conn: Connection,
    *,
    unit: str,
    start: date,
    end: date,
    targets: Sequence[EffectiveTarget],
    names: Names,
    now: datetime,
    check: Callable[[], None] = lambda: None,
) -> list[dict[str, Any]]:
    """One row per registered agency (or ward of the province), each target judged, ranked 1..n."""
    every = _every_unit(unit, names, {})
    main = metrics.compute(
        conn, start=start, end=end, group_by=[unit], filters={}, now=now, keep_empty_keys=every, check=check
    )
    lci = metrics.compute(
        conn,
        start=start,
        end=end,
        group_by=[unit],
        filters={"sector": list(LAND_CONSTRUCTION_INVESTMENT)},
        now=now,
        check=check,
    )
    lci_counts = {r.keys[unit]: r.counts for r in lci.rows}
    rows: list[dict[str, Any]] = []
    for r in main.rows:
        code = r.keys[unit]
        if code is None:
            # Dossiers with no commune are in no ward's figures; they are not a unit to rank.
            continue
        judged = []
        for t in targets:
            value, num, den = _target_figure(t.name, r.counts, lci_counts.get(code, {}))
            judged.append(
                {
                    "name": t.name,
                    "value": value,
                    "comparator": t.comparator,
                    "threshold": t.threshold,
                    "passed": passes(value, t.comparator, t.threshold),
                    "numerator": num,
                    "denominator": den,
                }
            )
        rows.append(
            {
                unit: code,
                f"{unit}_name": names[unit].get(code),
                "rank": 0,
                "counts": r.counts,
                "rates": r.rates,
                "targets": judged,
                "passed": sum(1 for j in judged if j["passed"] is True),
                "failed": sum(1 for j in judged if j["passed"] is False),
            }
        )
    rows.sort(key=lambda row: _rank_key(row, unit))
    for i, row in enumerate(rows, start=1):
        row["rank"] = i
    return rows


def scorecard_document(
    conn: Connection,
    *,
    unit: str,
    year: int | None,
    basis: str | None,
    start: date,
    end: date,
    targets: YearTargets,
    names: Names,
    now: datetime,
    check: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    return {
        "year": year,
        "basis": basis,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "unit": unit,
        "targets_year": targets.year,
        "target_set_year": targets.set_year,
        "data_as_of": _data_as_of(conn),
        "rows": scorecard_rows(
            conn,
            unit=unit,
            start=start,
            end=end,
            targets=targets.targets,
            names=names,
            now=now,
            check=check,
        ),
    }
