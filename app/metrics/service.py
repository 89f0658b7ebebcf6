"""Assembling metric rows: flows per bucket, states at bucket ends (or now), rates beside counts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from app.metrics import calculator, repository
from app.metrics.periods import TIME_UNITS, buckets, label
from app.metrics.rollups import choose_cube
from app.timeutil import local_date

Key = repository.Key
State = dict[str, int]
ZERO_STATE: State = {"pending": 0, "pending_overdue": 0, "overdue_apologised": 0}


@dataclass(frozen=True, slots=True)
class MetricRow:
    keys: dict[str, str | None]  # group key -> value (time keys as labels)
    counts: dict[str, int]
    rates: dict[str, float | None]


@dataclass(frozen=True, slots=True)
class MetricResult:
    rows: list[MetricRow]
    totals_counts: dict[str, int]
    totals_rates: dict[str, float | None]


def _add(into: dict[str, int], other: Mapping[str, int]) -> None:
    for k, v in other.items():
        into[k] = into.get(k, 0) + v


class StateReader:
    """States at the end of a day, or now for a day that has not ended, per dimension key."""

    def __init__(
        self, conn: Connection, cube: int, dims: Sequence[str], filters: repository.Filters, now: datetime
    ) -> None:
        self.conn, self.cube, self.dims, self.filters, self.now = conn, cube, dims, filters, now
        self.today = local_date(now)
        self._now_state: dict[Key, State] | None = None

    def at_end_of(self, day: date) -> dict[Key, State]:
        if day >= self.today:
            return self.now_state()
        sums = repository.prefix_sums(self.conn, self.cube, self.dims, self.filters, day)
        return {k: calculator.state_from_sums(v) for k, v in sums.items()}

    def now_state(self) -> dict[Key, State]:
        """The state at the end of yesterday plus what happened today before now."""
        if self._now_state is None:
            state = self.at_end_of(self.today - timedelta(days=1))
            changes = repository.today_changes(self.conn, self.dims, self.filters, self.today, self.now)
            for key, ch in changes.items():
                s = state.setdefault(key, dict(ZERO_STATE))
                s["pending"] += ch["received"] - ch["closed"]
                s["pending_overdue"] += ch["due_now"] - ch["closed_overdue"]
                s["overdue_apologised"] += ch["due_now_apology"] - ch["closed_overdue_apology"]
            self._now_state = state
        return self._now_state


def compute(
    conn: Connection,
    *,
    start: date,
    end: date,
    group_by: Sequence[str],
    filters: repository.Filters,
    now: datetime,
    keep_empty_keys: Sequence[Key] = (),
) -> MetricResult:
    """Contract §4: every count and rate per group (and time bucket), and the totals."""
    time_keys = [g for g in group_by if g in TIME_UNITS]
    dims = [g for g in group_by if g not in TIME_UNITS]
    finest = min(time_keys, key=TIME_UNITS.index) if time_keys else None
    bks = buckets(finest, start, end)
    cube = choose_cube([*dims, *filters])
    flow = repository.flows(conn, cube, dims, filters, bks)
    states = StateReader(conn, cube, dims, filters, now)

    per_bucket: dict[int, dict[Key, dict[str, int]]] = defaultdict(dict)
    for (index, key), counters in flow.items():
        per_bucket[index][key] = counters
    carried = states.at_end_of(start - timedelta(days=1))
    first_carried = carried
    rows: list[MetricRow] = []
    total_flows: dict[str, int] = {}
    end_state: dict[Key, State] = carried
    for i, b in enumerate(bks):
        bucket_flows = per_bucket.get(i, {})
        if b.end >= states.today:
            end_state = states.now_state()
        else:
            # The state moves by what the bucket received and closed; keys without flows keep theirs.
            end_state = dict(carried)
            for key, counters in bucket_flows.items():
                before = carried.get(key, ZERO_STATE)
                delta = calculator.state_from_sums(counters)
                end_state[key] = {name: before[name] + delta[name] for name in ZERO_STATE}
        keys = set(bucket_flows) | set(carried) | set(end_state) | set(keep_empty_keys)
        if not dims:
            keys.add(())
        time_labels = {t: label(t, b.start) for t in time_keys}
        for key in keys:
            c = calculator.counts(
                bucket_flows.get(key, {}), carried.get(key, ZERO_STATE), end_state.get(key, ZERO_STATE)
            )
            if dims and key not in keep_empty_keys and not any(c.values()):
                continue
            rows.append(
                MetricRow({**time_labels, **dict(zip(dims, key, strict=True))}, c, calculator.rates(c))
            )
        for counters in bucket_flows.values():
            for name, value in counters.items():
                if value:
                    total_flows[name] = total_flows.get(name, 0) + value
        carried = end_state
    totals = calculator.counts(total_flows, _sum_states(first_carried), _sum_states(end_state))
    order = list(group_by)
    rows.sort(key=lambda r: tuple((r.keys[g] is None, r.keys[g] or "") for g in order))
    return MetricResult(rows, totals, calculator.rates(totals))


def _sum_states(states: Mapping[Key, State]) -> State:
    out = dict(ZERO_STATE)
    for s in states.values():
        _add(out, s)
    return out


def row_json(row: MetricRow, names: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """A row as the contract writes it: its keys (with agency_name / commune_name), counts, rates."""
    out: dict[str, Any] = {}
    for k, v in row.keys.items():
        out[k] = v
        if k in ("agency", "commune"):
            out[f"{k}_name"] = names[k].get(v, None) if v is not None else None
    out["counts"] = row.counts
    out["rates"] = row.rates
    return out
