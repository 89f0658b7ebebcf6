"""The scorecard's six named targets: fixed comparators, default thresholds, per-year overrides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection, Table, delete, insert, select

from app.models import Target

Comparator = Literal[">=", ">", "="]
TargetName = Literal[
    "on_time",
    "online",
    "satisfaction",
    "satisfaction_land_construction_investment",
    "apology",
    "pending_overdue",
]
# Sectors pooled by the land, construction and investment satisfaction target.
LAND_CONSTRUCTION_INVESTMENT = ("dat_dai", "dau_tu", "xay_dung")


@dataclass(frozen=True, slots=True)
class TargetDef:
    name: TargetName
    comparator: Comparator
    default: float
    kind: Literal["rate", "count"]  # a rate's threshold lies in [0, 1]; a count's is a whole number
    label_vi: str
    description: str


TARGETS: tuple[TargetDef, ...] = (
    TargetDef(
        "on_time",
        ">=",
        0.95,
        "rate",
        "Tỷ lệ hồ sơ giải quyết đúng hạn",
        "rates.on_time: finished early or on time over finished.",
    ),
    TargetDef(
        "online",
        ">=",
        0.60,
        "rate",
        "Tỷ lệ hồ sơ tiếp nhận trực tuyến",
        "rates.online: received online over received.",
    ),
    TargetDef(
        "satisfaction",
        ">",
        0.87,
        "rate",
        "Mức độ hài lòng của người dân, doanh nghiệp",
        "rates.satisfaction: satisfied over rated, all sectors.",
    ),
    TargetDef(
        "satisfaction_land_construction_investment",
        ">",
        0.85,
        "rate",
        "Mức độ hài lòng trong lĩnh vực đất đai, xây dựng, đầu tư",
        "satisfied over rated, dossiers of sectors dat_dai, xay_dung and dau_tu pooled.",
    ),
    TargetDef(
        "apology",
        "=",
        1.0,
        "rate",
        "Tỷ lệ hồ sơ quá hạn có văn bản xin lỗi",
        "rates.apology: late or overdue dossiers with an apology letter over all late or overdue.",
    ),
    TargetDef(
        "pending_overdue",
        "=",
        0,
        "count",
        "Số hồ sơ đang giải quyết quá hạn",
        "counts.pending_overdue: dossiers pending past their deadline at the end of the range.",
    ),
)
BY_NAME: dict[str, TargetDef] = {t.name: t for t in TARGETS}


@dataclass(frozen=True, slots=True)
class EffectiveTarget:
    name: TargetName
    comparator: Comparator
    threshold: float
    is_default: bool


def _table() -> Table:
    t: Table = Target.__table__  # type: ignore[assignment]
    return t


def targets_for_year(conn: Connection, year: int) -> list[EffectiveTarget]:
    """The year's six targets, in catalogue order: the stored threshold where set, else the default."""
    t = _table()
    stored = {
        name: thr for name, thr in conn.execute(select(t.c.name, t.c.threshold).where(t.c.year == year))
    }
    out: list[EffectiveTarget] = []
    for d in TARGETS:
        if d.name in stored:
            out.append(EffectiveTarget(d.name, d.comparator, _number(d, stored[d.name]), False))
        else:
            out.append(EffectiveTarget(d.name, d.comparator, _number(d, d.default), True))
    return out


def _number(d: TargetDef, value: float) -> float:
    # A count threshold reads back as an int, so JSON shows 0, not 0.0.
    return int(value) if d.kind == "count" else float(value)


def replace_targets(conn: Connection, year: int, thresholds: Mapping[str, float]) -> None:
    """The year's targets become exactly `thresholds`; names left out fall back to their defaults."""
    t = _table()
    conn.execute(delete(t).where(t.c.year == year))
    rows = [
        {"year": year, "name": name, "comparator": BY_NAME[name].comparator, "threshold": float(thr)}
        for name, thr in thresholds.items()
    ]
    if rows:
        conn.execute(insert(t), rows)


def passes(value: float | None, comparator: str, threshold: float) -> bool | None:
    """Whether a value meets a target; None when there is no value to judge."""
    if value is None:
        return None
    if comparator == ">=":
        return value >= threshold
    if comparator == ">":
        return value > threshold
    return value == threshold
