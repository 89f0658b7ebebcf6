"""Counts to rates (pure). A rate is a fraction in [0, 1], unrounded, null on a zero denominator."""

from __future__ import annotations

from collections.abc import Mapping

from app.metrics.counters import COUNTERS
from app.metrics.definitions import COUNT_NAMES

FLOW_COUNTS = tuple(c for c in COUNT_NAMES if c in COUNTERS)
STATE_KEYS = ("pending", "pending_overdue", "overdue_apologised")


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


def rates(c: Mapping[str, int]) -> dict[str, float | None]:
    """Every rate of contract §4.3."""
    return {
        "on_time": ratio(c["finished_early"] + c["finished_on_time"], c["finished"]),
        "on_time_766": ratio(
            c["finished_early"] + c["finished_on_time"] + c["pending"] - c["pending_overdue"],
            c["finished"] + c["pending"],
        ),
        "online": ratio(c["received_online"], c["received"]),
        "full_online": ratio(c["received_full_online"], c["received"]),
        "online_payment": ratio(c["paid_online"], c["fee_required"]),
        "intake_digitisation": ratio(c["digitised_intake"], c["received"]),
        "result_digitisation": ratio(c["digitised_result"], c["finished"]),
        "data_reuse": ratio(c["reused_digital_data"], c["received"]),
        "apology": ratio(c["late_apologised"], c["finished_late"] + c["pending_overdue"]),
        "satisfaction": ratio(c["satisfied"], c["rated"]),
    }
