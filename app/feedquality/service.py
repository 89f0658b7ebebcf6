"""GET /v1/feed-quality: the feed's rejections and warnings over a range of local days, bounded.

Counts come from `feed_quality_counts` summed over the range (rejections by rule, by unit, by day and
by token; warnings per unit with their shares of the unit's base), examples from
`feed_quality_examples` (the latest codes per key seen in the range). Every list is capped; a list
cut short is named in `truncated`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select

from app.core.feed_rules import BASE, RECORDS, REJECTED, WARNING, WARNING_RULES
from app.core.timeutil import to_local
from app.feedquality.store import COUNTS, EXAMPLES

MAX_RULES = 500  # rejection keys (field, rule, type) listed
MAX_UNITS = 2000  # agencies listed (the province has a few hundred)
MAX_TOKENS = 500
MAX_EXAMPLE_KEYS = 500  # (agency, kind, field, rule, type) keys with their latest codes
MAX_CODES_PER_KEY = 100  # the largest TTHC_FEED_QUALITY_EXAMPLES


@dataclass(frozen=True, slots=True)
class Scope:
    """What the caller may see: every agency (None) or these; an optional token and agency filter."""

    agencies: Collection[str] | None
    token_id: str | None = None


def _conds(table: Any, start: date, end: date, scope: Scope) -> list[Any]:
    conds = [table.c.day >= start, table.c.day <= end]
    if scope.agencies is not None:
        conds.append(table.c.agency_code.in_(sorted(scope.agencies)))
    if scope.token_id is not None:
        conds.append(table.c.token_id == scope.token_id)
    return conds


def _grouped(
    conn: Connection, conds: list[Any], columns: list[Any], limit: int, order: list[Any] | None = None
) -> tuple[list[Any], bool]:
    total = func.sum(COUNTS.c.count).label("n")
    q = select(*columns, total).where(*conds).group_by(*columns)
    q = q.order_by(*(order if order is not None else [total.desc(), *columns])).limit(limit + 1)
    rows = list(conn.execute(q))
    return rows[:limit], len(rows) > limit


def feed_quality(
    conn: Connection, start: date, end: date, scope: Scope, share_threshold: float
) -> dict[str, Any]:
    """The answer of GET /v1/feed-quality for local days `start`..`end`."""
    truncated: list[str] = []
    conds = _conds(COUNTS, start, end, scope)
    rejected = [*conds, COUNTS.c.kind == REJECTED]
    records = [*conds, COUNTS.c.kind == RECORDS]
    c = COUNTS.c

    by_rule, cut = _grouped(conn, rejected, [c.field, c.rule, c.type], MAX_RULES)
    if cut:
        truncated.append("rejected.by_rule")
    by_unit, cut = _grouped(conn, records, [c.agency_code], MAX_UNITS)
    if cut:
        truncated.append("rejected.by_unit")
    by_day, _ = _grouped(conn, records, [c.day], (end - start).days + 1, order=[c.day])
    by_token, cut = _grouped(conn, records, [c.token_id], MAX_TOKENS)
    if cut:
        truncated.append("rejected.by_token")
    total = sum(int(r.n) for r in by_day)

    # Warnings and their bases per unit: at most (units) x (7 warnings + 3 bases) rows.
    marks, cut = _grouped(
        conn,
        [*conds, c.kind.in_((WARNING, BASE))],
        [c.agency_code, c.kind, c.rule],
        MAX_UNITS * (len(WARNING_RULES) + 3),
        order=[c.agency_code, c.kind, c.rule],
    )
    if cut:
        truncated.append("warnings.by_unit")
    per_unit: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    for r in marks:
        per_unit[r.agency_code][(r.kind, r.rule)] = int(r.n)
    warnings = []
    for rule in WARNING_RULES:
        units = []
        all_count = all_base = 0
        for agency in sorted(per_unit):
            n = per_unit[agency].get((WARNING, rule.code), 0)
            base = per_unit[agency].get((BASE, rule.base), 0)
            all_count += n
            all_base += base
            if n:
                share = _share(n, base)
                units.append(
                    {
                        "agency_code": agency,
                        "count": n,
                        "base_count": base,
                        "share": share,
                        "flagged": _flagged(rule.by_share, n, share, share_threshold),
                    }
                )
        share = _share(all_count, all_base)
        warnings.append(
            {
                "rule": rule.code,
                "field": rule.field,
                "description": rule.description,
                "base": rule.base,
                "count": all_count,
                "base_count": all_base,
                "share": share,
                "threshold": share_threshold if rule.by_share else None,
                "flagged_units": sum(1 for u in units if u["flagged"]),
                "by_unit": units,
            }
        )

    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "rejected": {
            "total": total,
            "by_rule": [
                {"field": r.field, "rule": r.rule, "type": r.type, "count": int(r.n)} for r in by_rule
            ],
            "by_unit": [{"agency_code": r.agency_code, "count": int(r.n)} for r in by_unit],
            "by_day": [{"day": r.day.isoformat(), "count": int(r.n)} for r in by_day],
            "by_token": [{"token_id": r.token_id or None, "count": int(r.n)} for r in by_token],
        },
        "warnings": warnings,
        "examples": _examples(conn, start, end, scope, truncated),
        "truncated": truncated,
    }


def _share(n: int, base: int) -> float | None:
    return round(n / base, 4) if base else None


def _flagged(by_share: bool, n: int, share: float | None, threshold: float) -> bool:
    if not by_share:
        return n > 0
    # Without a base in the range (the dossiers resolved earlier), a count alone flags.
    return share is None or share > threshold


def _examples(
    conn: Connection, start: date, end: date, scope: Scope, truncated: list[str]
) -> list[dict[str, Any]]:
    """The latest codes per key seen in the range, the keys ordered by agency, kind, field, rule, type."""
    e = EXAMPLES.c
    key = [e.agency_code, e.kind, e.field, e.rule, e.type]
    keys_q = select(*key).where(*_conds(EXAMPLES, start, end, scope)).group_by(*key).order_by(*key)
    keys = list(conn.execute(keys_q.limit(MAX_EXAMPLE_KEYS + 1)))
    if len(keys) > MAX_EXAMPLE_KEYS:
        truncated.append("examples")
        keys = keys[:MAX_EXAMPLE_KEYS]
    if not keys:
        return []
    # The rows of the listed keys, which come first in the same order; each key keeps at most
    # MAX_CODES_PER_KEY codes, so this many rows hold them all.
    rows = conn.execute(
        select(*key, e.code, e.token_id, e.day, e.seen_at)
        .where(*_conds(EXAMPLES, start, end, scope))
        .order_by(*key, e.seen_at.desc(), e.code.desc())
        .limit(len(keys) * MAX_CODES_PER_KEY)
    )
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {tuple(k): [] for k in keys}
    for r in rows:
        k = (r.agency_code, r.kind, r.field, r.rule, r.type)
        if k in groups:
            groups[k].append(
                {
                    "code": r.code,
                    "token_id": r.token_id or None,
                    "day": r.day.isoformat(),
                    "seen_at": to_local(r.seen_at).isoformat(),
                }
            )
    return [
        {"agency_code": a, "kind": k, "field": f, "rule": r, "type": t, "codes": codes}
        for (a, k, f, r, t), codes in groups.items()
    ]
