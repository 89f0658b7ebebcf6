"""The scorecard's six named targets: what each judges (the catalogue, code), each year's built-in set
of comparators, thresholds and sources (data: app/reference/data/targets), and an administrator's
per-year overrides (table `targets`).

A year uses its own built-in set, or the latest earlier one; a year before the first set uses the
first. An override replaces one target of one year (comparator, threshold, source) over that year's
built-in set; names it leaves out keep the built-in value. Overrides are never inherited by later years.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, cast, get_args

from sqlalchemy import Connection, Table, delete, insert, select

from app.models import Target
from app.reference.target_sets import shipped_target_files

Comparator = Literal[">=", ">", "="]
COMPARATORS: tuple[str, ...] = get_args(Comparator)
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
SOURCE_MAX_CHARS = 500  # an administrator's source text for an override
COUNT_THRESHOLD_LIMIT = 1_000_000_000


@dataclass(frozen=True, slots=True)
class TargetDef:
    """What a named target judges; its comparator and threshold belong to a year's set."""

    name: TargetName
    kind: Literal["rate", "count"]  # a rate's threshold lies in [0, 1]; a count's is a whole number
    label_vi: str
    description: str


TARGETS: tuple[TargetDef, ...] = (
    TargetDef(
        "on_time",
        "rate",
        "Tỷ lệ hồ sơ giải quyết đúng hạn",
        "rates.on_time: finished early or on time over finished.",
    ),
    TargetDef(
        "online",
        "rate",
        "Tỷ lệ hồ sơ tiếp nhận trực tuyến",
        "rates.online: received online over received.",
    ),
    TargetDef(
        "satisfaction",
        "rate",
        "Mức độ hài lòng của người dân, doanh nghiệp",
        "rates.satisfaction: satisfied over rated, all sectors.",
    ),
    TargetDef(
        "satisfaction_land_construction_investment",
        "rate",
        "Mức độ hài lòng trong lĩnh vực đất đai, xây dựng, đầu tư",
        "satisfied over rated, dossiers of sectors dat_dai, xay_dung and dau_tu pooled.",
    ),
    TargetDef(
        "apology",
        "rate",
        "Tỷ lệ hồ sơ quá hạn có văn bản xin lỗi",
        "rates.apology: late or overdue dossiers with an apology letter over all late or overdue.",
    ),
    TargetDef(
        "pending_overdue",
        "count",
        "Số hồ sơ đang giải quyết quá hạn",
        "counts.pending_overdue: dossiers pending past their deadline at the end of the range.",
    ),
)
BY_NAME: dict[str, TargetDef] = {t.name: t for t in TARGETS}


def threshold_error(kind: str, value: float) -> str | None:
    """Why `value` cannot be a threshold of a target of this kind; None when it can."""
    if kind == "rate" and not 0.0 <= value <= 1.0:
        return "a rate threshold lies in [0, 1]"
    if kind == "count" and not (0 <= value < COUNT_THRESHOLD_LIMIT and value == int(value)):
        return "a count threshold is a whole number >= 0"
    return None


def _number(d: TargetDef, value: float) -> float:
    # A count threshold reads back as an int, so JSON shows 0, not 0.0.
    return int(value) if d.kind == "count" else float(value)


@dataclass(frozen=True, slots=True)
class SetTarget:
    name: TargetName
    comparator: Comparator
    threshold: float
    source: str


@dataclass(frozen=True, slots=True)
class TargetSet:
    """A year's built-in set: all six targets in catalogue order, each with its source."""

    year: int
    title: str
    document: str
    verified: bool
    targets: tuple[SetTarget, ...]

    def get(self, name: str) -> SetTarget:
        return next(t for t in self.targets if t.name == name)


def parse_target_set(raw: Mapping[str, Any]) -> TargetSet:
    """One shipped set, checked: every catalogue name exactly once, a known comparator, a threshold in
    its kind's range and a non-empty source. ValueError names what is wrong."""
    year = raw.get("year")
    if not isinstance(year, int) or isinstance(year, bool):
        raise ValueError(f"target set: year must be a whole number, not {year!r}")
    entries = raw.get("targets")
    if not isinstance(entries, list):
        raise ValueError(f"target set {year}: targets must be a list")
    by_name: dict[str, SetTarget] = {}
    for e in entries:
        name, comparator, threshold, source = (
            e.get(k) for k in ("name", "comparator", "threshold", "source")
        )
        d = BY_NAME.get(name)
        if d is None or name in by_name:
            raise ValueError(f"target set {year}: {name!r} is unknown or repeated")
        if comparator not in COMPARATORS:
            msg = f"comparator {comparator!r} is not one of {', '.join(COMPARATORS)}"
            raise ValueError(f"target set {year}: {name}: {msg}")
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise ValueError(f"target set {year}: {name}: threshold must be a number")
        err = threshold_error(d.kind, threshold)
        if err:
            raise ValueError(f"target set {year}: {name}: {err}")
        if not isinstance(source, str) or not source.strip():
            raise ValueError(f"target set {year}: {name}: every target names its source")
        by_name[name] = SetTarget(d.name, comparator, _number(d, threshold), source)
    if set(by_name) != set(BY_NAME):
        missing = ", ".join(n for n in BY_NAME if n not in by_name)
        raise ValueError(f"target set {year}: every target is set; missing {missing}")
    return TargetSet(
        year=year,
        title=str(raw.get("title", "")),
        document=str(raw.get("document", "")),
        verified=raw.get("verified") is True,
        targets=tuple(by_name[d.name] for d in TARGETS),
    )


@lru_cache(maxsize=1)
def builtin_sets() -> tuple[TargetSet, ...]:
    """The shipped sets by year; at least one, one a year."""
    sets = sorted((parse_target_set(raw) for raw in shipped_target_files()), key=lambda s: s.year)
    years = [s.year for s in sets]
    if not sets or len(set(years)) != len(years):
        raise ValueError(f"target sets: one a year, at least one; found years {years}")
    return tuple(sets)


def set_for_year(year: int, sets: Sequence[TargetSet] | None = None) -> TargetSet:
    """The built-in set a year uses: its own, else the latest earlier one; before the first, the first."""
    sets = builtin_sets() if sets is None else sets
    i = bisect.bisect_right([s.year for s in sets], year)
    return sets[max(i - 1, 0)]


@dataclass(frozen=True, slots=True)
class EffectiveTarget:
    name: TargetName
    comparator: Comparator
    threshold: float
    source: str
    is_default: bool  # no override for this year: the built-in set's target applies


@dataclass(frozen=True, slots=True)
class YearTargets:
    """The targets that judge a year: `set_year` is the year of the built-in set they rest on."""

    year: int
    set_year: int
    targets: tuple[EffectiveTarget, ...]


def _table() -> Table:
    t: Table = Target.__table__  # type: ignore[assignment]
    return t


def override_source(year: int, source: str | None) -> str:
    """How an override's source reads when the administrator gave none."""
    return source if source else f"Set by an administrator for {year}; no source given"


def targets_for_year(conn: Connection, year: int) -> YearTargets:
    """The year's six targets, in catalogue order: each stored override over the year's built-in set."""
    t = _table()
    stored = {
        r.name: r
        for r in conn.execute(
            select(t.c.name, t.c.comparator, t.c.threshold, t.c.source).where(t.c.year == year)
        )
    }
    builtin = set_for_year(year)
    out: list[EffectiveTarget] = []
    for d in TARGETS:
        row = stored.get(d.name)
        if row is not None:
            # Written only by replace_targets, from a checked comparator.
            comparator = cast(Comparator, row.comparator)
            source = override_source(year, row.source)
            out.append(EffectiveTarget(d.name, comparator, _number(d, row.threshold), source, False))
        else:
            b = builtin.get(d.name)
            out.append(EffectiveTarget(d.name, b.comparator, b.threshold, b.source, True))
    return YearTargets(year, builtin.year, tuple(out))


@dataclass(frozen=True, slots=True)
class Override:
    threshold: float
    comparator: Comparator | None = None  # None: the built-in set's comparator for that year
    source: str | None = None


def replace_targets(conn: Connection, year: int, overrides: Mapping[str, Override]) -> None:
    """The year's overrides become exactly `overrides`; names left out use the year's built-in set.
    An override without a comparator takes the built-in one of that year, stored with it."""
    t = _table()
    builtin = set_for_year(year)
    conn.execute(delete(t).where(t.c.year == year))
    rows = [
        {
            "year": year,
            "name": name,
            "comparator": o.comparator or builtin.get(name).comparator,
            "threshold": float(o.threshold),
            "source": o.source or None,
        }
        for name, o in overrides.items()
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
