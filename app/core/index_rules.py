"""The national index's rule sets (Decision 766/QĐ-TTg) as data, and the scoring. Pure: no database,
no web.

A rule set names the groups and the indicators with their point maximums and saturation points
(the ratio at which full points are reached): points = max × clamp(ratio / saturation, 0, 1).
Each indicator is computed from a unit's counts for a period (the `idx21_` counts: `numerator` over
`denominator`) or declared (a numerator and denominator, or a ratio, entered by an admin).

Rounding is the portal's: each indicator's points are rounded half-up to 2 decimals on their exact
decimal value; group points and the total are sums of the rounded indicator points.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError

from app.core.definitions import INDEX_COUNTS as INDEX_COUNT_DEFINITIONS
from app.core.errors import ValidationFailed, clean_loc

# The counts a computed indicator may name (a unit's counts for a period, built from the rollups).
INDEX_COUNTS: tuple[str, ...] = tuple(d.name for d in INDEX_COUNT_DEFINITIONS)
UNCATALOGUED = "idx21_uncatalogued"
# Counts that make an average, not a share, over their denominator (2.2's working days per finished
# dossier): points = max × ratio / saturation would reward the slower unit, so an indicator with one of
# them as numerator carries 0 points (it is shown, not scored).
AVERAGE_COUNTS = frozenset({"idx21_work_days"})

GROUP_CODES = ("transparency", "progress", "online_service", "online_payment", "digitisation", "satisfaction")
RULE_SET_ID_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$"
INDICATOR_CODE_PATTERN = r"^[1-9][0-9]?\.[0-9][0-9]?[a-z]?$"
_CENT = Decimal("0.01")

Source = Literal["computed", "declared"]
ResultSource = Literal["computed", "declared", "missing"]
ZeroDenominator = Literal["zero", "full"]
DeclaredScope = Literal["province", "unit"]

Text = Annotated[StrictStr, Field(min_length=1, max_length=4000)]
Points = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]


class Variant(BaseModel):
    """Another reading of an indicator, recorded beside the one the rule set applies."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Text = Field(description="where the reading comes from")
    text: Text = Field(description="what it says")


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Annotated[StrictStr, Field(pattern=r"^[a-z][a-z_]{0,31}$")]
    label_vi: Text
    max_points: Points


class Indicator(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Annotated[StrictStr, Field(pattern=INDICATOR_CODE_PATTERN)]
    group: StrictStr
    label_vi: Text
    max_points: Points
    saturation: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = Field(
        description="the ratio at which full points are reached, in (0, 1]"
    )
    source: Source
    numerator: StrictStr | None = None
    denominator: StrictStr | None = None
    zero_denominator: ZeroDenominator = Field(
        default="zero", description="points on 0/0: zero, or full (the indicator's maximum)"
    )
    provisional: StrictBool = False
    declared_scope: DeclaredScope | None = None
    catalogue: StrictBool = False
    variants: tuple[Variant, ...] = ()
    notes: Annotated[StrictStr, Field(max_length=4000)] | None = None


class RuleSet(BaseModel):
    """A versioned rule set of the national index."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[StrictStr, Field(pattern=RULE_SET_ID_PATTERN)]
    effective_from: date
    label: Text
    notes: Annotated[StrictStr, Field(max_length=4000)] | None = None
    groups: tuple[Group, ...] = Field(min_length=1, max_length=50)
    indicators: tuple[Indicator, ...] = Field(min_length=1, max_length=200)

    def indicator(self, code: str) -> Indicator | None:
        return next((i for i in self.indicators if i.code == code), None)


class RuleSetInvalid(ValidationFailed):
    """A rule set that does not hold together; `errors` name each field by its path."""


def _err(loc: Sequence[str | int], msg: str, kind: str) -> dict[str, Any]:
    return {"loc": list(loc), "msg": msg, "type": kind}


def _dotted(loc: Sequence[str | int]) -> str:
    return ".".join(str(p) for p in loc)


def _consistency_errors(rs: RuleSet) -> list[dict[str, Any]]:
    """What the field rules cannot see: unique codes, known groups and counts, group sums."""
    errors: list[dict[str, Any]] = []
    group_codes: set[str] = set()
    for gi, g in enumerate(rs.groups):
        if g.code in group_codes:
            errors.append(_err(["groups", gi, "code"], f"group {g.code} is listed twice", "duplicate"))
        group_codes.add(g.code)
    codes: set[str] = set()
    sums: dict[str, Fraction] = {}
    for ii, ind in enumerate(rs.indicators):
        loc: list[str | int] = ["indicators", ii]
        if ind.code in codes:
            errors.append(_err([*loc, "code"], f"indicator {ind.code} is listed twice", "duplicate"))
        codes.add(ind.code)
        if ind.group not in group_codes:
            errors.append(_err([*loc, "group"], f"no group {ind.group} in groups", "unknown_group"))
        else:
            sums[ind.group] = sums.get(ind.group, Fraction(0)) + _exact(ind.max_points)
        for part in ("numerator", "denominator"):
            name = getattr(ind, part)
            if ind.source == "computed":
                if name is None:
                    errors.append(_err([*loc, part], "a computed indicator names its count", "missing"))
                elif name not in INDEX_COUNTS:
                    errors.append(_err([*loc, part], f"{name} is not a count of the index", "unknown_count"))
            elif name is not None:
                errors.append(_err([*loc, part], "a declared indicator names no count", "not_allowed"))
        if ind.source == "computed" and ind.numerator in AVERAGE_COUNTS and ind.max_points != 0:
            errors.append(
                _err(
                    [*loc, "max_points"],
                    f"{ind.numerator} / {ind.denominator} is an average, not a share: a higher one would "
                    "score more, so this indicator carries 0 points",
                    "not_scorable",
                )
            )
        if ind.source == "declared" and ind.declared_scope is None:
            errors.append(
                _err([*loc, "declared_scope"], "a declared indicator says province or unit", "missing")
            )
        if ind.source == "computed" and ind.declared_scope is not None:
            errors.append(
                _err([*loc, "declared_scope"], "only a declared indicator has a scope", "not_allowed")
            )
    summed: set[str] = set()
    for gi, g in enumerate(rs.groups):
        total = sums.get(g.code, Fraction(0))
        if g.code in summed:
            continue  # a group listed twice is reported once, above
        summed.add(g.code)
        if total != _exact(g.max_points):
            errors.append(
                _err(
                    ["groups", gi, "max_points"],
                    f"group {g.code} has {_show(g.max_points)} points but its indicators "
                    f"add up to {_show(float(total))}",
                    "group_sum",
                )
            )
    return errors


def _show(x: float) -> str:
    return f"{x:g}"


def rule_set_errors(raw: Any) -> tuple[RuleSet | None, list[dict[str, Any]]]:
    """The rule set `raw` (parsed JSON) describes, or its errors as {loc, msg, type}."""
    try:
        rs = RuleSet.model_validate(raw)
    except ValidationError as exc:
        return None, [_err(clean_loc(e["loc"]), e["msg"], e["type"]) for e in exc.errors(include_url=False)]
    errors = _consistency_errors(rs)
    return (None, errors) if errors else (rs, [])


def parse_rule_set(raw: Any) -> RuleSet:
    """The rule set `raw` describes; `RuleSetInvalid` naming each wrong field by its path
    (`indicators.3.saturation`) when it does not hold together."""
    rs, errors = rule_set_errors(raw)
    if rs is None:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise RuleSetInvalid(f"{_dotted(first['loc'])}: {first['msg']}{more}", errors=errors)
    return rs


def rule_set_for(day: date, sets: Iterable[RuleSet]) -> RuleSet | None:
    """The rule set in force on `day` (a period's first day): the latest `effective_from` not after
    it; of several with that date, the greatest id. None before the first one."""
    candidates = [s for s in sets if s.effective_from <= day]
    return max(candidates, key=lambda s: (s.effective_from, s.id), default=None)


# --- scoring ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Declared:
    """A declared value of an indicator: a numerator and a denominator, or a ratio in [0, 1] (the
    numerator and denominator win when both are given)."""

    numerator: float | None = None
    denominator: float | None = None
    ratio: float | None = None


@dataclass(slots=True)
class IndicatorScore:
    code: str
    group: str
    label: str
    ratio: float | None  # None on 0/0 and when missing; 2.2's is an average in working days
    numerator: float | None
    denominator: float | None
    points: float  # unrounded
    points_rounded: float  # 2 decimals, half-up on the exact decimal value
    max_points: float
    source: ResultSource
    provisional: bool
    uncatalogued: int | None  # catalogue indicators: handled dossiers of uncatalogued procedures


@dataclass(slots=True)
class GroupScore:
    code: str
    label: str
    points: float  # the sum of its indicators' rounded points
    max_points: float


@dataclass(slots=True)
class UnitScore:
    rule_set: str
    indicators: tuple[IndicatorScore, ...]
    groups: tuple[GroupScore, ...]
    total: float  # the sum of the rounded indicator points
    reachable: float  # total + the maximums of the missing (declared, not given) indicators


def _exact(x: float | int) -> Fraction:
    """A number as the decimal it prints as (0.8 is 4/5, not the binary float nearest to it)."""
    if isinstance(x, int):
        return Fraction(x)
    return _exact_float(float(x))


@functools.lru_cache(maxsize=4096)
def _exact_float(x: float) -> Fraction:
    return Fraction(repr(x))


@dataclass(frozen=True, slots=True)
class _Scale:
    """An indicator's maximum and saturation as exact integers, worked out once (every read scores
    every unit's indicators with them)."""

    top_num: int
    top_den: int
    sat_num: int
    sat_den: int
    top: float
    top_rounded: int  # the maximum in cents, rounded half-up


@functools.lru_cache(maxsize=1024)
def _scale(max_points: float, saturation: float) -> _Scale:
    top, sat = _exact(max_points), _exact(saturation)
    return _Scale(
        top.numerator,
        top.denominator,
        sat.numerator,
        sat.denominator,
        float(top),
        _cents(top),
    )


@functools.lru_cache(maxsize=1024)
def _whole_cents(max_points: float) -> int | None:
    """A maximum in whole cents; None when it is finer than a cent."""
    hundred = _exact(max_points) * 100
    return int(hundred) if hundred.denominator == 1 else None


def _counted_points(ind: Indicator, num: int, den: int) -> tuple[float | None, float, int]:
    """(ratio, points unrounded, points in cents rounded half-up) of whole counts, in integers.

    The same values as score_ratio and round_points give (points = max × clamp(num/den / saturation,
    0, 1), exact), without building fractions: the index scores every unit's indicators at each read.
    """
    sc = _scale(ind.max_points, ind.saturation)
    if den == 0:
        if ind.zero_denominator == "full":
            return None, sc.top, sc.top_rounded
        return None, 0.0, 0
    # num/den over c/d, clamped to [0, 1]: the share is (num·d) / (den·c).
    n, m = num * sc.sat_den, den * sc.sat_num
    if n >= m:
        return num / den, sc.top, sc.top_rounded
    if n <= 0:
        return num / den, 0.0, 0
    p, q = sc.top_num * n, sc.top_den * m  # points = p / q
    return num / den, p / q, (200 * p + q) // (2 * q)


def _cents(f: Fraction) -> int:
    return int((200 * f.numerator + f.denominator) // (2 * f.denominator))


def round_points(x: Fraction | float) -> Decimal:
    """Half-up to 2 decimals on the exact value: 5.555 → 5.56, 5.554999 → 5.55."""
    f = x if isinstance(x, Fraction) else _exact(x)
    # Half away from zero on the exact value, in cents (points are never negative).
    cents = math.floor(abs(f) * 100 + Fraction(1, 2))
    return (Decimal(cents if f >= 0 else -cents) / 100).quantize(_CENT)


def score_ratio(indicator: Indicator, ratio: Fraction | None) -> Fraction:
    """Points for a ratio (None: 0/0): max × clamp(ratio / saturation, 0, 1)."""
    top = _exact(indicator.max_points)
    if ratio is None:
        return top if indicator.zero_denominator == "full" else Fraction(0)
    share = ratio / _exact(indicator.saturation)
    return top * min(Fraction(1), max(Fraction(0), share))


def _ratio(num: Fraction, den: Fraction) -> Fraction | None:
    return None if den == 0 else num / den


def _missing(ind: Indicator) -> IndicatorScore:
    """A declared indicator without a value: it scores nothing."""
    return IndicatorScore(
        code=ind.code,
        group=ind.group,
        label=ind.label_vi,
        ratio=None,
        numerator=None,
        denominator=None,
        points=0.0,
        points_rounded=0.0,
        max_points=ind.max_points,
        source="missing",
        provisional=ind.provisional,
        uncatalogued=None,
    )


def _uncatalogued(ind: Indicator, counts: Mapping[str, float]) -> int | None:
    if not ind.catalogue:
        return None
    raw = counts.get(UNCATALOGUED)
    return int(raw) if raw is not None else None


def _whole_score(
    ind: Indicator, numerator: float, denominator: float, source: ResultSource, uncatalogued: int | None
) -> IndicatorScore:
    """The score of whole-number counts, in integers (_counted_points); the numbers shown as given."""
    ratio, points, cents = _counted_points(ind, int(numerator), int(denominator))
    return IndicatorScore(
        code=ind.code,
        group=ind.group,
        label=ind.label_vi,
        ratio=ratio,
        numerator=numerator,
        denominator=denominator,
        points=points,
        points_rounded=cents / 100,
        max_points=ind.max_points,
        source=source,
        provisional=ind.provisional,
        uncatalogued=uncatalogued,
    )


def _indicator_score(
    ind: Indicator, counts: Mapping[str, float], declared: Mapping[str, Declared]
) -> IndicatorScore:
    numerator: float | None = None
    denominator: float | None = None
    ratio: Fraction | None = None
    source: ResultSource
    if ind.source == "computed":
        assert ind.numerator is not None and ind.denominator is not None  # the rule set was validated
        numerator, denominator = counts[ind.numerator], counts[ind.denominator]
        if type(numerator) is int and type(denominator) is int and numerator >= 0:
            return _whole_score(ind, numerator, denominator, "computed", _uncatalogued(ind, counts))
        ratio = _ratio(_exact(numerator), _exact(denominator))
        points = score_ratio(ind, ratio)
        source = "computed"
    else:
        value = declared.get(ind.code)
        if value is None or (value.ratio is None and (value.numerator is None or value.denominator is None)):
            return _missing(ind)
        else:
            source = "declared"
            if value.numerator is not None and value.denominator is not None:
                numerator, denominator = value.numerator, value.denominator
                if float(numerator).is_integer() and float(denominator).is_integer() and numerator >= 0:
                    # Whole numbers (as declared counts are): the same exact integer path.
                    return _whole_score(ind, numerator, denominator, "declared", None)
                ratio = _ratio(_exact(numerator), _exact(denominator))
            else:
                assert value.ratio is not None
                ratio = _exact(value.ratio)
            points = score_ratio(ind, ratio)
    uncatalogued = _uncatalogued(ind, counts) if source == "computed" else None
    return IndicatorScore(
        code=ind.code,
        group=ind.group,
        label=ind.label_vi,
        ratio=float(ratio) if ratio is not None else None,
        numerator=numerator,
        denominator=denominator,
        points=float(points),
        points_rounded=float(round_points(points)),
        max_points=ind.max_points,
        source=source,
        provisional=ind.provisional,
        uncatalogued=uncatalogued,
    )


def score_unit(rule_set: RuleSet, counts: Mapping[str, float], declared: Mapping[str, Declared]) -> UnitScore:
    """One unit's score for a period: every indicator of the rule set from the unit's counts (the
    `idx21_` names; a count a computed indicator names must be there) and its declared values (by
    indicator code; one absent is `missing` and scores 0, its maximum still `reachable`)."""
    scored = tuple(_indicator_score(ind, counts, declared) for ind in rule_set.indicators)
    # Rounded points are whole cents: groups and the total add them as integers (exactly as decimals).
    by_group: dict[str, int] = {}
    total = 0
    open_cents: int | None = 0
    for sc in scored:
        cents = round(sc.points_rounded * 100)
        by_group[sc.group] = by_group.get(sc.group, 0) + cents
        total += cents
        if sc.source == "missing" and open_cents is not None:
            top_cents = _whole_cents(sc.max_points)
            open_cents = open_cents + top_cents if top_cents is not None else None
    groups = tuple(
        GroupScore(
            code=g.code, label=g.label_vi, points=by_group.get(g.code, 0) / 100, max_points=g.max_points
        )
        for g in rule_set.groups
    )
    if open_cents is None:  # a maximum finer than a cent: add it exactly
        open_points = sum((_exact(s.max_points) for s in scored if s.source == "missing"), Fraction(0))
        reachable = float(Fraction(total, 100) + open_points)
    else:
        reachable = (total + open_cents) / 100
    return UnitScore(
        rule_set=rule_set.id, indicators=scored, groups=groups, total=total / 100, reachable=reachable
    )


def rank(rows: Iterable[tuple[str, float]]) -> dict[str, int]:
    """Ranks 1, 2, 3, … of (unit code, total) rows: the highest total first; equal totals take
    consecutive ranks in the order of their unit codes."""
    ordered = sorted(rows, key=lambda r: (-Decimal(repr(float(r[1]))), r[0]))
    return {code: i for i, (code, _) in enumerate(ordered, start=1)}


def declared_for_unit(
    rule_set: RuleSet, province: Mapping[str, Declared], unit: Mapping[str, Declared]
) -> dict[str, Declared]:
    """The declared values a unit is scored with: its own, and for the indicators declared for the
    province (1.1–1.3) the province's where the unit has none of its own."""
    out: dict[str, Declared] = {}
    for ind in rule_set.indicators:
        if ind.source != "declared":
            continue
        own = unit.get(ind.code)
        if own is not None:
            out[ind.code] = own
        elif ind.declared_scope == "province" and ind.code in province:
            out[ind.code] = province[ind.code]
    return out


def declared_sum(months: Sequence[Declared | None]) -> Declared | None:
    """A quarter's or a year's declared value from its months' (when it has none of its own): the
    sums of their numerators and denominators when every month is declared with both; otherwise
    None (missing) — a month declared by its ratio alone cannot be added up."""
    if not months:
        return None
    num = den = 0.0
    for m in months:
        if m is None or m.numerator is None or m.denominator is None:
            return None
        num += m.numerator
        den += m.denominator
    return Declared(numerator=num, denominator=den)
