"""The shipped rule set against the portal's published figures: the Gia Lai capture of 10/10/2026
(tests/data/index/gia_lai_10102026.json, trimmed from duynghiaqn/Crawler-766; its `source` says how).

Every non-provisional indicator whose numerator and denominator the portal publishes is scored again
from them with the shipped rule set (maximum, saturation, zero-denominator rule) and must come within
0.015 of the published points; 4.6, published as a ratio alone, is scored from that ratio. The
published totals must be the sums of the published points, and our totals (our points for every
indicator re-scored, the published group score for online service and online payment, which the
portal publishes without their parts) must equal them.

Not checkable from the capture: 3.0 (only the group's score is published), 3.6a (its numerator and
denominator are published but only the group's score), 3.6b and 3.6c (provisional; 3.6c's counts are
not published), 2.2 (0 points).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.core.index_rules import Declared, IndicatorScore, score_unit
from app.reference.rule_sets import shipped_rule_sets

CAPTURE = Path(__file__).parent / "data" / "index" / "gia_lai_10102026.json"
DATA: dict[str, Any] = json.loads(CAPTURE.read_text(encoding="utf-8"))
UNITS: list[dict[str, Any]] = DATA["units"]
GROUPS: dict[str, str] = DATA["source"]["group_codes"]
RULES = next(s for s in shipped_rule_sets() if s.id == "766-2022")
COMPUTED = ("2.1", "4.1", "4.2", "4.3", "4.4", "4.5a", "5.4")
DECLARED = ("1.1", "1.2", "1.3", "1.4", "4.5b", "5.2", "5.3")
# The groups the portal publishes without their indicators' points: their published score is taken.
UNCHECKED_GROUPS = ("online_service", "online_payment")
TOLERANCE = 0.015


def _d(x: float | int | None) -> Decimal:
    return Decimal(repr(x)) if x is not None else Decimal(0)


def _inputs(unit: dict[str, Any]) -> tuple[dict[str, float], dict[str, Declared]]:
    """The unit's published numerators and denominators as the index's counts and declared values."""
    ind = unit["indicators"]
    handled = ind["5.4"][1]
    # Every dossier indicator of the capture has the handled dossiers as its denominator.
    assert all(ind[c][1] == handled for c in ("2.1", "4.1", "4.2", "4.3", "4.4", "4.5a", "5.4"))
    pay = unit["payment"]
    counts: dict[str, float] = {
        "idx21_handled": handled,
        "idx21_judged": ind["2.1"][1],
        "idx21_on_time": ind["2.1"][0],
        "idx21_uncatalogued": 0,
        "idx21_catalogued": ind["4.1"][1],
        "idx21_electronic": ind["4.1"][0],
        "idx21_digitised": ind["4.2"][0],
        "idx21_reused": ind["4.3"][0],
        "idx21_personal_store": ind["4.4"][0],
        "idx21_population": ind["4.5a"][0],
        "idx21_satisfied": ind["5.4"][0],
        "idx21_paid_online": pay["totalDossierOnlinePaymentSuccess"],
        "idx21_fee": pay["totalDossierFinancialObligation"],
        # Not published per indicator (their groups are taken as published).
        "idx21_full_online": 0,
        "idx21_eligible": 0,
        "idx21_paid_procedures": 0,
        "idx21_fee_procedures": 0,
        "idx21_integrated_procedures": 0,
        "idx21_catalogue_fee_procedures": 0,
        "idx21_work_days": 0,
        "idx21_finished": 0,
    }
    declared = {c: Declared(numerator=ind[c][0], denominator=ind[c][1]) for c in DECLARED}
    declared["4.6"] = Declared(ratio=unit["ratio_4_6"] / 100)
    return counts, declared


def _ours(unit: dict[str, Any]) -> dict[str, IndicatorScore]:
    counts, declared = _inputs(unit)
    return {s.code: s for s in score_unit(RULES, counts, declared).indicators}


def test_the_capture_is_what_the_extract_says() -> None:
    assert DATA["source"]["repository"] == "duynghiaqn/Crawler-766"
    assert len(UNITS) == 13
    assert [u["rank"] for u in UNITS] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 146, 147, 148, 149]
    # Ranked by the published total, highest first.
    totals = [u["total"] for u in UNITS]
    assert totals == sorted(totals, reverse=True)


@pytest.mark.parametrize("unit", UNITS, ids=[u["code"] for u in UNITS])
def test_published_totals_are_sums_of_published_points(unit: dict[str, Any]) -> None:
    points = {c: _d(v[2]) for c, v in unit["indicators"].items()}  # a null score counts 0
    by_group: dict[str, Decimal] = {}
    for code, p in points.items():
        ind = RULES.indicator(code)
        assert ind is not None
        by_group[ind.group] = by_group.get(ind.group, Decimal(0)) + p
    for portal_code, group in GROUPS.items():
        published = _d(unit["groups"][portal_code])
        if group in UNCHECKED_GROUPS:
            by_group[group] = published
        else:
            assert abs(by_group[group] - published) <= Decimal("0.01"), (group, by_group[group], published)
    assert abs(sum(by_group.values(), Decimal(0)) - _d(unit["total"])) <= Decimal("0.01")


@pytest.mark.parametrize("unit", UNITS, ids=[u["code"] for u in UNITS])
def test_every_published_indicator_scores_the_same(unit: dict[str, Any]) -> None:
    ours = _ours(unit)
    for code in (*COMPUTED, *DECLARED, "4.6"):
        ind = RULES.indicator(code)
        assert ind is not None and not ind.provisional
        published = unit["indicators"][code][2] or 0.0
        assert abs(ours[code].points - published) <= TOLERANCE, (code, ours[code].points, published)
        # As the portal rounds: the same 2 decimals.
        assert ours[code].points_rounded == published, (code, ours[code].points_rounded, published)


@pytest.mark.parametrize("unit", UNITS, ids=[u["code"] for u in UNITS])
def test_our_totals_are_the_published_ones(unit: dict[str, Any]) -> None:
    counts, declared = _inputs(unit)
    score = score_unit(RULES, counts, declared)
    ours = {g.code: _d(g.points) for g in score.groups}
    for portal_code, group in GROUPS.items():
        if group in UNCHECKED_GROUPS:
            ours[group] = _d(unit["groups"][portal_code])
        else:
            assert ours[group] == _d(unit["groups"][portal_code]), group
    assert sum(ours.values(), Decimal(0)) == _d(unit["total"])
    # Nothing declared is missing, so nothing more is reachable.
    assert score.reachable == score.total


def test_worst_difference_and_coverage() -> None:
    """The worst |ours - published| over the 13 units × 15 indicators re-scored: under 0.005, i.e.
    every indicator rounds to the published points (the tolerance 0.015 is never approached)."""
    worst = 0.0
    checked = 0
    for unit in UNITS:
        ours = _ours(unit)
        for code in (*COMPUTED, *DECLARED, "4.6"):
            worst = max(worst, abs(ours[code].points - (unit["indicators"][code][2] or 0.0)))
            checked += 1
    assert checked == 13 * 15
    assert worst < 0.005, worst


def test_the_zero_denominators_the_capture_shows() -> None:
    """H21.20 (no dossiers, no petitions): 2.1, 4.x and 5.4 score 0 on 0/0; 5.2 and 5.3 score 6."""
    unit = next(u for u in UNITS if u["code"] == "H21.20")
    ours = _ours(unit)
    assert {c: (ours[c].ratio, ours[c].points) for c in ("2.1", "4.1", "5.4", "5.2", "5.3", "1.4")} == {
        "2.1": (None, 0.0),
        "4.1": (None, 0.0),
        "5.4": (None, 0.0),
        "5.2": (None, 6.0),
        "5.3": (None, 6.0),
        "1.4": (None, 0.0),
    }
