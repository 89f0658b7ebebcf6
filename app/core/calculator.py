"""Counts to rates (pure). A rate is a fraction in [0, 1], unrounded, null on a zero denominator."""

from __future__ import annotations

from collections.abc import Mapping

from app.core.counters import COUNTERS
from app.core.definitions import COUNT_NAMES, RATES, Definition, Terms

FLOW_COUNTS = tuple(c for c in COUNT_NAMES if c in COUNTERS)


def ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def state_from_sums(sums: Mapping[str, int]) -> dict[str, int]:
    """pending, pending_overdue and the overdue ones with an apology, from running counter sums."""
    return {
        "pending": sums.get("received", 0) - sums.get("closed", 0),
        "pending_overdue": sums.get("due", 0) - sums.get("due_closed", 0),
        "overdue_apologised": sums.get("due_apology", 0) - sums.get("due_closed_apology", 0),
    }


def counts(flows: Mapping[str, int], carried: Mapping[str, int], end: Mapping[str, int]) -> dict[str, int]:
    """Every count of contract §4.2 from a period's flows, the state before it and the state at its end."""
    out = {name: int(flows.get(name, 0)) for name in FLOW_COUNTS}
    out["carried_over"] = int(carried.get("pending", 0))
    out["pending"] = int(end.get("pending", 0))
    out["pending_overdue"] = int(end.get("pending_overdue", 0))
    out["late_apologised"] = int(flows.get("finished_late_apologised", 0)) + int(
        end.get("overdue_apologised", 0)
    )
    return {name: out[name] for name in COUNT_NAMES}


def term_sum(terms: Terms, c: Mapping[str, int]) -> int:
    """A numerator or denominator: the signed sum of its counts (every count must be present)."""
    return sum(t.sign * int(c[t.count]) for t in terms)


def fraction(rate: Definition, c: Mapping[str, int]) -> tuple[int, int]:
    """(numerator, denominator) of a rate of the catalogue, from its terms."""
    assert rate.numerator_terms is not None and rate.denominator_terms is not None, rate.name
    return term_sum(rate.numerator_terms, c), term_sum(rate.denominator_terms, c)


def rates(c: Mapping[str, int]) -> dict[str, float | None]:
    """Every rate of contract §4.3, each from its numerator and denominator terms in the catalogue."""
    return {d.name: ratio(*fraction(d, c)) for d in RATES}
