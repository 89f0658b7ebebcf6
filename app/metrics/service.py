"""Assembling metric rows: flows per bucket, states at bucket ends (or now), rates beside counts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from app.core import calculator
from app.core.counters import COUNTERS
from app.core.definitions import COUNT_NAMES
from app.core.periods import TIME_UNITS, buckets, label
from app.core.timeutil import local_date
from app.store import repository
from app.store.rollups import choose_cube

Key = repository.Key
State = dict[str, int]
ZERO_STATE: State = {"pending": 0, "pending_overdue": 0, "overdue_apologised": 0}


@dataclass(frozen=True, slots=True)
class MetricRow:
    """One row's keys and counts; the counts kept as a tuple in COUNT_NAMES order.

    An answer may hold up to the row limit (100,000 by default) of these at once, before it is
    sorted and written: a tuple of ints costs a fifth of a dict of counts, and the rates are
    derived when the row is written.
    """

    keys: dict[str, str | None]  # group key -> value (time keys as labels)
    values: tuple[int, ...]

    @property
    def counts(self) -> dict[str, int]:
        return dict(zip(COUNT_NAMES, self.values, strict=True))

    @property
    def rates(self) -> dict[str, float | None]:
        return calculator.rates(self.counts)


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
        """Only keys with something pending: a key whose dossiers are all closed has no state."""
        if day >= self.today:
            return self.now_state()
        sums = repository.prefix_sums(self.conn, self.cube, self.dims, self.filters, day)
        out: dict[Key, State] = {}
        for k, v in sums.items():
            state = calculator.state_from_sums(v)
            if any(state.values()):
                out[k] = state
        return out

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
    check: Callable[[], None] = lambda: None,
) -> MetricResult:
    """Contract §4: every count and rate per group (and time bucket), and the totals.

    The work is proportional to the rollup rows read plus the rows emitted: a bucket visits the
    keys with flows in it and the keys with something pending (each of which makes a row), never
    every key that ever had a dossier. `check` is called between buckets (a read's deadline).
    """
    time_keys = [g for g in group_by if g in TIME_UNITS]
    dims = [g for g in group_by if g not in TIME_UNITS]
    finest = min(time_keys, key=TIME_UNITS.index) if time_keys else None
    bks = buckets(finest, start, end)
    cube = choose_cube([*dims, *filters])
    flow = repository.flows(conn, cube, dims, filters, bks)
    states = StateReader(conn, cube, dims, filters, now)

    per_bucket: dict[int, dict[Key, list[int]]] = defaultdict(dict)
    for (index, key), sums in flow.items():
        per_bucket[index][key] = sums
    del flow
    check()
    carried = states.at_end_of(start - timedelta(days=1))
    first_carried = carried
    rows: list[MetricRow] = []
    total_flows: dict[str, int] = {}
    end_state: dict[Key, State] = carried
    keep = set(keep_empty_keys)
    for i, b in enumerate(bks):
        check()
        bucket_flows = {k: dict(zip(COUNTERS, v, strict=True)) for k, v in per_bucket.pop(i, {}).items()}
        if b.end >= states.today:
            end_state = states.now_state()
        else:
            # The state moves by what the bucket received and closed; keys without flows keep theirs.
            end_state = dict(carried)
            for key, counters in bucket_flows.items():
                before = carried.get(key, ZERO_STATE)
                delta = calculator.state_from_sums(counters)
                moved = {name: before[name] + delta[name] for name in ZERO_STATE}
                if any(moved.values()):
                    end_state[key] = moved
                else:
                    end_state.pop(key, None)
        keys = set(bucket_flows) | set(carried) | set(end_state) | keep
        if not dims:
            keys.add(())
        time_labels = {t: label(t, b.start) for t in time_keys}
        for key in keys:
            c = calculator.counts(
                bucket_flows.get(key, {}), carried.get(key, ZERO_STATE), end_state.get(key, ZERO_STATE)
            )
            if dims and key not in keep and not any(c.values()):
                continue
            rows.append(MetricRow({**time_labels, **dict(zip(dims, key, strict=True))}, tuple(c.values())))
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
    counts = row.counts
    out["counts"] = counts
    out["rates"] = calculator.rates(counts)
    return out
