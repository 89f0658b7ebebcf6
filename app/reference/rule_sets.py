"""The national index's rule sets: the shipped ones (JSON files of app/reference/data/rule_sets) and
those an admin added (table index_rule_sets). A rule set is never changed once known, only added:
a new one with a later `effective_from` takes over from that day."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Table, insert, select

from app.core.errors import Conflict
from app.core.index_rules import RuleSet, parse_rule_set, rule_set_for
from app.models.tables import IndexRuleSet

_T = cast(Table, IndexRuleSet.__table__)
RULE_SETS_DIR = Path(__file__).parent / "data" / "rule_sets"


@dataclass(frozen=True, slots=True)
class KnownRuleSet:
    """A rule set with where it comes from: shipped with the code, or added by `created_by`."""

    rule_set: RuleSet
    shipped: bool
    created_at: datetime | None = None
    created_by: str | None = None


@lru_cache(maxsize=1)
def shipped_rule_sets() -> tuple[RuleSet, ...]:
    """The rule sets shipped with the code, by effective date then id."""
    out = [
        parse_rule_set(json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(RULE_SETS_DIR.glob("*.json"))
    ]
    return tuple(sorted(out, key=lambda s: (s.effective_from, s.id)))


def _stored(conn: Connection) -> list[KnownRuleSet]:
    rows = conn.execute(select(_T).order_by(_T.c.effective_from, _T.c.id)).all()
    return [KnownRuleSet(parse_rule_set(json.loads(r.body)), False, r.created_at, r.created_by) for r in rows]


def list_rule_sets(conn: Connection) -> list[KnownRuleSet]:
    """Every rule set known: shipped and added, by effective date then id."""
    known = [KnownRuleSet(s, True) for s in shipped_rule_sets()] + _stored(conn)
    return sorted(known, key=lambda k: (k.rule_set.effective_from, k.rule_set.id))


def add_rule_set(conn: Connection, body: Any, by: str | None, now: datetime) -> RuleSet:
    """Validate `body` (parsed JSON) and store it, in the caller's transaction. `RuleSetInvalid`
    (422) naming the wrong fields; `Conflict` (409) when its id is already taken."""
    rs = parse_rule_set(body)
    if any(s.id == rs.id for s in shipped_rule_sets()):
        raise Conflict(f"Rule set {rs.id} is shipped with the service; a new rule set takes a new id.")
    if conn.execute(select(_T.c.id).where(_T.c.id == rs.id)).first() is not None:
        raise Conflict(
            f"Rule set {rs.id} already exists; rule sets are never changed: add one with a new id."
        )
    conn.execute(
        insert(_T).values(
            id=rs.id,
            effective_from=rs.effective_from,
            body=rs.model_dump_json(),
            created_at=now,
            created_by=by,
        )
    )
    return rs


def rule_set_in_force(conn: Connection, day: date) -> RuleSet | None:
    """The rule set scoring a period whose first day is `day`; None before the first one."""
    return rule_set_for(day, (k.rule_set for k in list_rule_sets(conn)))
