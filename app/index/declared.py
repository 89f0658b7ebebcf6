"""Declared indicators of the national index: values the province enters for what its own dossiers
cannot show (publication of procedures, petitions, …), per period and unit, with who set them and when."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, select

from app.core.errors import ValidationFailed
from app.models import IndexDeclared
from app.store.dialect import dialect_of

_T = cast(Table, IndexDeclared.__table__)
PROVINCE = "province"
PERIOD_PATTERN = r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$"
_PERIOD = re.compile(PERIOD_PATTERN)
MAX_ITEMS = 1000


@dataclass(frozen=True, slots=True)
class DeclaredValue:
    numerator: float | None
    denominator: float | None
    ratio: float | None


@dataclass(frozen=True, slots=True)
class DeclaredRow:
    period: str
    unit: str  # PROVINCE or an agency code
    indicator: str
    value: DeclaredValue
    set_at: datetime
    set_by: str | None


def months_of(period: str) -> list[str]:
    """The months of a quarter or a year (empty for a month)."""
    if len(period) == 7 and period[5] == "Q":
        q = int(period[6])
        return [f"{period[:4]}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)]
    if len(period) == 4:
        return [f"{period}-{m:02d}" for m in range(1, 13)]
    return []


def check_items(
    items: Sequence[Any], declared_codes: Mapping[str, str], agencies: Iterable[str]
) -> list[DeclaredRow]:
    """The items of a PUT body as rows, or ValidationFailed naming `body.<i>.<field>` for each fault.

    `declared_codes` maps each declared indicator's code to its scope; `agencies` are the registered
    agency codes.
    """
    known = set(agencies)
    errors: list[dict[str, Any]] = []
    rows: list[DeclaredRow] = []
    seen: dict[tuple[str, str, str], int] = {}

    def bad(i: int, field: str, msg: str, kind: str = "value_error") -> None:
        errors.append({"loc": ["body", i, field] if field else ["body", i], "msg": msg, "type": kind})

    allowed = {"period", "unit", "code", "indicator", "numerator", "denominator", "ratio"}
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            bad(i, "", "each item is an object")
            continue
        n_errors = len(errors)
        for k in item:
            if k not in allowed:
                bad(i, str(k), "unknown field", "extra_forbidden")
        period, unit, code, indicator = (item.get(k) for k in ("period", "unit", "code", "indicator"))
        if not isinstance(period, str) or not _PERIOD.match(period):
            bad(i, "period", "period must be YYYY-MM, YYYY-Qn or YYYY")
        if not isinstance(unit, str) or unit not in (PROVINCE, "agency"):
            bad(i, "unit", "unit must be province or agency")
        elif unit == "agency" and (not isinstance(code, str) or code not in known):
            bad(i, "code", "code must be a registered agency's code", "unknown_agency")
        elif unit == PROVINCE and code is not None:
            bad(i, "code", "a province value has no code")
        if not isinstance(indicator, str) or indicator not in declared_codes:
            bad(
                i,
                "indicator",
                f"indicator must be one of the declared ones: {', '.join(sorted(declared_codes))}",
            )
        num, den, ratio = item.get("numerator"), item.get("denominator"), item.get("ratio")

        def number(v: Any) -> bool:
            return (
                isinstance(v, int | float) and not isinstance(v, bool) and v == v and abs(v) != float("inf")
            )

        if ratio is not None:
            if num is not None or den is not None:
                bad(i, "ratio", "give numerator and denominator, or ratio, not both")
            elif not number(ratio) or not 0 <= ratio <= 1:
                bad(i, "ratio", "ratio must be a number from 0 to 1")
        elif num is None or den is None:
            bad(i, "numerator" if num is None else "denominator", "give numerator and denominator, or ratio")
        else:
            if not number(num) or num < 0:
                bad(i, "numerator", "numerator must be a number >= 0")
            if not number(den) or den < 0:
                bad(i, "denominator", "denominator must be a number >= 0")
            elif number(num) and num > den:
                bad(i, "numerator", "numerator is larger than denominator")
        if len(errors) > n_errors:
            continue
        key = (str(period), str(code) if unit == "agency" else PROVINCE, str(indicator))
        if key in seen:
            bad(i, "indicator", f"the same period, unit and indicator as item {seen[key]}", "duplicate")
            continue
        seen[key] = i
        value = DeclaredValue(
            None if num is None else float(num),
            None if den is None else float(den),
            None if ratio is None else float(ratio),
        )
        rows.append(DeclaredRow(key[0], key[1], key[2], value, datetime.min, None))
    if errors:
        raise ValidationFailed("Some declared values are invalid; nothing was stored.", errors=errors)
    return rows


def store(conn: Connection, rows: Sequence[DeclaredRow], now: datetime, by: str | None) -> None:
    """Upsert the rows in the caller's transaction."""
    values = [
        {
            "period": r.period,
            "unit": r.unit,
            "indicator": r.indicator,
            "numerator": r.value.numerator,
            "denominator": r.value.denominator,
            "ratio": r.value.ratio,
            "set_at": now,
            "set_by": by,
        }
        for r in rows
    ]
    dialect = dialect_of(conn)
    keys = ("period", "unit", "indicator")
    for v in values:
        conn.execute(dialect.upsert(_T, v, keys, {k: x for k, x in v.items() if k not in keys}))


def _row(r: Any) -> DeclaredRow:
    return DeclaredRow(
        r.period, r.unit, r.indicator, DeclaredValue(r.numerator, r.denominator, r.ratio), r.set_at, r.set_by
    )


def list_rows(conn: Connection, *, period: str | None = None, unit: str | None = None) -> list[DeclaredRow]:
    q = select(_T).order_by(_T.c.period, _T.c.unit, _T.c.indicator)
    if period is not None:
        q = q.where(_T.c.period == period)
    if unit is not None:
        q = q.where(_T.c.unit == unit)
    return [_row(r) for r in conn.execute(q)]


def values_for(conn: Connection, period: str) -> dict[tuple[str, str], DeclaredValue]:
    """Every (unit, indicator) value that applies to `period`: its own, else its months' sums when
    every month has a numerator and denominator."""
    months = months_of(period)
    t = _T.c
    query = select(t.period, t.unit, t.indicator, t.numerator, t.denominator, t.ratio)
    own: dict[tuple[str, str], DeclaredValue] = {}
    by_key: dict[tuple[str, str], dict[str, DeclaredValue]] = {}
    for p, unit, indicator, num, den, ratio in conn.execute(query.where(t.period.in_([period, *months]))):
        if p == period:
            own[(unit, indicator)] = DeclaredValue(num, den, ratio)
        else:
            by_key.setdefault((unit, indicator), {})[p] = DeclaredValue(num, den, ratio)
    if months:
        for key, got in by_key.items():
            if key in own or len(got) != len(months):
                continue
            vals = list(got.values())
            if all(v.numerator is not None and v.denominator is not None for v in vals):
                own[key] = DeclaredValue(
                    sum(v.numerator or 0.0 for v in vals), sum(v.denominator or 0.0 for v in vals), None
                )
    return own
