"""Counts to rates (pure). A rate is a fraction in [0, 1], unrounded, null on a zero denominator."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from app.core.counters import COUNTERS
from app.core.definitions import COUNT_NAMES, FORM_TERMS, RATES, Definition, Terms

# Counts read straight from a counter of the same name (`closed` is also a counter, but as a count it
# is its terms, finished + withdrawn, like every form count).
FLOW_COUNTS = tuple(c for c in COUNT_NAMES if c in COUNTERS and c not in FORM_TERMS)


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
    _form(out, flows)
    return {name: out[name] for name in COUNT_NAMES}


def term_sum(terms: Terms, c: Mapping[str, int]) -> int:
    """A numerator or denominator: the signed sum of its counts (every count must be present)."""
    return sum(t.sign * int(c[t.count]) for t in terms)


def fraction(rate: Definition, c: Mapping[str, int]) -> tuple[int, int]:
    """(numerator, denominator) of a rate of the catalogue, from its terms."""
    assert rate.numerator_terms is not None and rate.denominator_terms is not None, rate.name
    return term_sum(rate.numerator_terms, c), term_sum(rate.denominator_terms, c)


def _sum_expr(terms: Terms, term_of: Callable[[str], str] = lambda count: f"c[{count!r}]") -> str:
    """A signed sum of counts as Python source: "c['finished_early'] + c['finished_on_time']"."""
    out = ""
    for t in terms:
        term = term_of(t.count)
        out += (
            (term if t.sign == 1 else f"-{term}")
            if not out
            else (f" + {term}" if t.sign == 1 else f" - {term}")
        )
    return out


def _compile_rates() -> Callable[[Mapping[str, int]], dict[str, float | None]]:
    """rates() written out from the catalogue's terms once, at import.

    It runs for every row of every answer (100,000 rows at most): a loop over the definitions costs
    several times the arithmetic, so the loop is unrolled into source, as namedtuple does. The terms
    stay the one definition; this is only their fastest reading.
    """
    lines = ["def rates(c):", "    out = {}"]
    for d in RATES:
        assert d.numerator_terms and d.denominator_terms, d.name
        lines.append(f"    den = {_sum_expr(d.denominator_terms)}")
        lines.append(f"    out[{d.name!r}] = ({_sum_expr(d.numerator_terms)}) / den if den else None")
    lines.append("    return out")
    namespace: dict[str, Any] = {}
    exec("\n".join(lines), namespace)
    compiled: Callable[[Mapping[str, int]], dict[str, float | None]] = namespace["rates"]
    return compiled


_rates = _compile_rates()


def _compile_form() -> Callable[[dict[str, int], Mapping[str, int]], None]:
    """form(c, f): add the form counts to the counts `c`, from their terms (FORM_TERMS), written out as
    rates() is. A term that is no count (the withdrawn-by-class counters) is read from the flows `f`."""

    def term_of(name: str) -> str:
        return f"c[{name!r}]" if name in COUNT_NAMES else f"int(f.get({name!r}, 0))"

    lines = ["def form(c, f):"]
    lines += [f"    c[{name!r}] = {_sum_expr(terms, term_of)}" for name, terms in FORM_TERMS.items()]
    namespace: dict[str, Any] = {}
    exec("\n".join(lines), namespace)
    compiled: Callable[[dict[str, int], Mapping[str, int]], None] = namespace["form"]
    return compiled


_form = _compile_form()


def rates(c: Mapping[str, int]) -> dict[str, float | None]:
    """Every rate of contract §4.3, each from its numerator and denominator terms in the catalogue."""
    return _rates(c)
