"""The comparison of two commits (benchmarks/compare.py): its arithmetic and its rules, on made-up
figures (nothing here is timed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks import compare, queries
from benchmarks.compare import Metric, Side


def _m(side: str, rps: float, p95: float, rss: float | None = 100.0) -> dict[str, Any]:
    m: dict[str, Any] = {
        "side": side,
        "load": {"records_per_s": rps},
        "latency": {"q": {"uncached": {"p95": p95}}},
    }
    if rss is not None:
        m["serve_rss_mb"] = rss
    return m


METRICS = [
    Metric("rps", "records/s", ("load", "records_per_s"), False, True, 0),
    Metric("p95", "q p95 ms", ("latency", "q", "uncached", "p95"), True, True, 2),
    Metric("rss", "RSS MB", ("serve_rss_mb",), True, False, 0),
]


def _by_key(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["metric"]: r for r in rows}


def test_medians_change_and_the_direction_of_worse() -> None:
    ms = [
        _m("old", 1000, 10.0),
        _m("new", 800, 9.0),
        _m("new", 850, 9.5),
        _m("old", 1100, 11.0),
        _m("old", 900, 30.0),  # one disturbed round: the median ignores it
        _m("new", 5000, 9.2),
    ]
    rows = _by_key(compare.summarise(ms, 10.0, METRICS))
    assert rows["rps"]["old_median"] == 1000
    assert rows["rps"]["new_median"] == 850
    assert rows["rps"]["change_pct"] == -15.0
    assert rows["rps"]["worse"]  # fewer records/s is worse
    assert rows["p95"]["old_median"] == 11.0
    assert rows["p95"]["new_median"] == 9.2
    assert not rows["p95"]["worse"]  # lower latency is better
    assert rows["p95"]["better"]
    assert rows["rps"]["old"] == [1000, 1100, 900]


def test_within_the_threshold_is_not_flagged_and_unchecked_metrics_never_are() -> None:
    ms = [_m("old", 1000, 10.0, 100), _m("new", 910, 10.9, 200)]
    rows = _by_key(compare.summarise(ms, 10.0, METRICS))
    assert not rows["rps"]["worse"]  # -9%
    assert not rows["p95"]["worse"]  # +9%
    assert rows["rss"]["change_pct"] == 100.0
    assert not rows["rss"]["worse"]  # recorded, not held to the rule
    line = compare.worse_line(list(rows.values()), 10.0)
    assert line == "WORSE > 10%: none"


def test_worse_line_names_every_offender() -> None:
    ms = [_m("old", 1000, 10.0), _m("new", 500, 20.0)]
    rows = compare.summarise(ms, 10.0, METRICS)
    line = compare.worse_line(rows, 10.0)
    assert line.startswith("WORSE > 10%: ")
    assert "records/s (-50.0%)" in line
    assert "q p95 ms (+100.0%)" in line
    table = compare.comparison_table(rows, True)
    assert table.count("✗") == 2


def test_missing_figures_give_no_change_and_no_flag() -> None:
    ms = [_m("old", 1000, 10.0, None), _m("new", 1000, 10.0, None)]
    rows = _by_key(compare.summarise(ms, 10.0, METRICS))
    assert rows["rss"]["old_median"] is None
    assert rows["rss"]["change_pct"] is None
    assert not rows["rss"]["worse"]
    assert compare.value({"a": {"b": float("nan")}}, ("a", "b")) is None
    assert compare.value({"a": {"b": True}}, ("a", "b")) is None
    assert compare.value({"a": 1}, ("a", "b")) is None


def test_rounds_alternate_which_side_goes_first() -> None:
    old = Side("old", "HEAD~1", "a" * 40, "", Path("/old"), Path("/old/.venv/bin"))
    new = Side("new", "working tree", "b" * 40, "", Path("/new"), Path("/new/.venv/bin"))
    firsts = [compare.round_order(r, old, new)[0].name for r in range(1, 5)]
    assert firsts == ["old", "new", "old", "new"]


def test_arguments() -> None:
    args = compare.parse_args(["--base", "0706e8c", "--sizes", "100_000", "--out", "/tmp/x"])
    assert args.size == 100_000
    assert args.rounds == 3
    assert args.base == "0706e8c"
    assert args.new is None
    assert compare.parse_args(["--out", "/tmp/x"]).base == "HEAD~1"
    with pytest.raises(SystemExit):
        compare.parse_args(["--rounds", "2"])
    with pytest.raises(SystemExit):
        compare.parse_args(["--sizes", "100000,1000000"])


def test_every_query_has_its_checked_latency_figures() -> None:
    keys = {m.key for m in compare.METRICS if m.checked}
    for q in queries.QUERIES:
        assert f"{q.key}_uncached_p50" in keys
        assert f"{q.key}_uncached_p95" in keys
    assert {"ingest_rps", "ingest_peak_rss_mb"} <= keys
