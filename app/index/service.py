"""The national index table: per unit and period, every indicator with its numerator, denominator and
points under the rule set in force, the groups, the total, what is still reachable, and the rank."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, cast

from sqlalchemy import Connection, Table, select

from app.core.communes import province_name
from app.core.index_rules import Declared, RuleSet, UnitScore, declared_for_unit, rank, score_unit
from app.index.counts import IndexPeriod, counts_by_unit
from app.index.declared import PROVINCE, DeclaredValue, values_for
from app.models import Agency
from app.reference.index_inputs import current_inputs, reference_revs
from app.reference.rule_sets import rule_set_in_force

UnitKind = Literal["province", "agency", "commune"]
_AGENCIES = cast(Table, Agency.__table__)
# unit=agency lists the provincial departments, unit=commune the communes' People's Committees; each
# is ranked within its level.
LEVEL_OF_UNIT = {"agency": "province", "commune": "commune"}


@dataclass(frozen=True, slots=True)
class IndexRow:
    code: str
    name: str
    score: UnitScore
    counts: dict[str, int]
    rank: int


@dataclass(frozen=True, slots=True)
class IndexTable:
    period: IndexPeriod
    unit: UnitKind
    rule_set: RuleSet
    rows: list[IndexRow]
    behind: bool  # the catalogue or calendar changed and stored dossiers are still being re-derived


def _declared_by_unit(values: Mapping[tuple[str, str], DeclaredValue]) -> dict[str, dict[str, Declared]]:
    """The declared values of a period by unit, then indicator."""
    out: dict[str, dict[str, Declared]] = {}
    for (unit, indicator), v in values.items():
        out.setdefault(unit, {})[indicator] = Declared(
            numerator=v.numerator, denominator=v.denominator, ratio=v.ratio
        )
    return out


class NoRuleSet(ValueError):
    """No rule set is in force on the period's first day."""


def index_table(conn: Connection, period: IndexPeriod, unit: UnitKind, province_code: int) -> IndexTable:
    rule_set = rule_set_in_force(conn, period.start)
    if rule_set is None:
        raise NoRuleSet(f"no rule set of the national index is in force on {period.start.isoformat()}")
    inputs = current_inputs(conn)
    agencies = conn.execute(select(_AGENCIES.c.code, _AGENCIES.c.name, _AGENCIES.c.level)).all()
    if unit == "province":
        units = {str(province_code): tuple(a.code for a in agencies)}
        names = {str(province_code): province_name(province_code)}
        levels: dict[str, str | None] = {str(province_code): None}
        declared_key = {str(province_code): PROVINCE}
    else:
        chosen = [a for a in agencies if a.level == LEVEL_OF_UNIT[unit]]
        units = {a.code: (a.code,) for a in chosen}
        names = {a.code: a.name for a in chosen}
        levels = {a.code: a.level for a in chosen}
        declared_key = {a.code: a.code for a in chosen}
    counts = counts_by_unit(conn, period, units, levels, inputs.catalogue)
    by_unit = _declared_by_unit(values_for(conn, period.label))
    province = by_unit.get(PROVINCE, {})
    scored = {
        code: score_unit(
            rule_set, counts[code], declared_for_unit(rule_set, province, by_unit.get(declared_key[code], {}))
        )
        for code in units
    }
    ranks = rank((code, s.total) for code, s in scored.items())
    rows = [
        IndexRow(code, names[code], scored[code], counts[code], ranks[code])
        for code in sorted(units, key=lambda c: (ranks[c], c))
    ]
    ref, idx = reference_revs(conn)
    return IndexTable(period, unit, rule_set, rows, idx < ref)
