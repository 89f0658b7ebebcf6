"""The national index's rule sets and scoring: validation naming the field, points against the
saturation, zero denominators, the portal's rounding, groups, totals, reachable points, ranks, the rule
set in force, declared values summed over months, and rule sets added on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from app.core.errors import Conflict
from app.core.index_rules import (
    Declared,
    RuleSet,
    RuleSetInvalid,
    declared_for_unit,
    declared_sum,
    parse_rule_set,
    rank,
    round_points,
    rule_set_errors,
    rule_set_for,
    score_unit,
)
from app.reference.rule_sets import (
    RULE_SETS_DIR,
    add_rule_set,
    list_rule_sets,
    rule_set_in_force,
    shipped_rule_sets,
)

SHIPPED: dict[str, Any] = json.loads((RULE_SETS_DIR / "766-2022.json").read_text(encoding="utf-8"))
RULES = parse_rule_set(SHIPPED)
NOW = datetime(2026, 10, 1, 3, 0, tzinfo=UTC)


def _raw() -> dict[str, Any]:
    return copy.deepcopy(SHIPPED)


def _locs(raw: Any) -> list[tuple[list[str | int], str]]:
    rs, errors = rule_set_errors(raw)
    assert rs is None
    return [(e["loc"], e["type"]) for e in errors]


def _small(*indicators: dict[str, Any], groups: list[dict[str, Any]] | None = None) -> RuleSet:
    """A rule set of a few computed indicators over idx21_handled, for the arithmetic."""
    inds = [
        {
            "group": "g",
            "label_vi": "chỉ số",
            "source": "computed",
            "numerator": "idx21_reused",
            "denominator": "idx21_handled",
            "saturation": 1.0,
            **i,
        }
        for i in indicators
    ]
    total = sum(Fraction(repr(float(i["max_points"]))) for i in inds)
    return parse_rule_set(
        {
            "id": "t",
            "effective_from": "2024-01-01",
            "label": "thử",
            "groups": groups or [{"code": "g", "label_vi": "nhóm", "max_points": float(total)}],
            "indicators": inds,
        }
    )


# --- the shipped rule set -------------------------------------------------------------------------


def test_the_shipped_rule_set() -> None:
    assert [s.id for s in shipped_rule_sets()] == ["766-2022"]
    assert RULES.effective_from == date(2022, 6, 23)
    assert [(g.code, g.max_points) for g in RULES.groups] == [
        ("transparency", 18),
        ("progress", 20),
        ("online_service", 12),
        ("online_payment", 10),
        ("digitisation", 22),
        ("satisfaction", 18),
    ]
    assert sum(g.max_points for g in RULES.groups) == 100
    table = {i.code: (i.max_points, i.saturation, i.source, i.provisional) for i in RULES.indicators}
    assert table == {
        "1.1": (6, 1.0, "declared", False),
        "1.2": (4, 1.0, "declared", False),
        "1.3": (2, 1.0, "declared", False),
        "1.4": (6, 1.0, "declared", False),
        "2.1": (20, 1.0, "computed", False),
        "2.2": (0, 1.0, "computed", False),
        "3.0": (12, 1.0, "computed", True),
        "3.6a": (6, 1.0, "computed", False),
        "3.6b": (2, 0.8, "computed", True),
        "3.6c": (2, 0.8, "computed", True),
        "4.1": (6, 1.0, "computed", False),
        "4.2": (4, 1.0, "computed", False),
        "4.3": (2, 0.8, "computed", False),
        "4.4": (4, 1.0, "computed", False),
        "4.5a": (2, 1.0, "computed", False),
        "4.5b": (2, 1.0, "declared", False),
        "4.6": (2, 1.0, "declared", False),
        "5.2": (6, 1.0, "declared", False),
        "5.3": (6, 1.0, "declared", False),
        "5.4": (6, 0.9, "computed", False),
    }
    full = {i.code for i in RULES.indicators if i.zero_denominator == "full"}
    assert full == {"5.2", "5.3"}
    province = {i.code for i in RULES.indicators if i.declared_scope == "province"}
    assert province == {"1.1", "1.2", "1.3"}
    catalogue = {i.code for i in RULES.indicators if i.catalogue}
    assert catalogue == {"3.0", "3.6b", "3.6c", "4.1", "4.2"}
    # The description's readings the published figures overrule are kept beside the rule.
    i42 = RULES.indicator("4.2")
    assert i42 is not None and "80%" in i42.variants[0].text
    i36a = RULES.indicator("3.6a")
    assert i36a is not None and "6A + min(2, 2.5B) + 2.5C" in i36a.variants[0].text
    i54 = RULES.indicator("5.4")
    assert i54 is not None and "1 − (late rate + complaint rate)" in i54.variants[0].text


# --- validation -----------------------------------------------------------------------------------


def test_errors_name_the_field_path() -> None:
    raw = _raw()
    raw["indicators"][3]["saturation"] = 0
    assert _locs(raw) == [(["indicators", 3, "saturation"], "greater_than")]
    with pytest.raises(RuleSetInvalid) as exc:
        parse_rule_set(raw)
    assert exc.value.detail == "indicators.3.saturation: Input should be greater than 0"
    assert exc.value.status == 422

    raw = _raw()
    raw["indicators"][12]["saturation"] = 1.2
    raw["indicators"][0]["max_points"] = -1
    assert _locs(raw) == [
        (["indicators", 0, "max_points"], "greater_than_equal"),
        (["indicators", 12, "saturation"], "less_than_equal"),
    ]

    raw = _raw()
    raw["indicators"][1]["extra"] = True
    del raw["indicators"][2]["source"]
    raw["effective_from"] = "2022-13-01"
    assert sorted(_locs(raw), key=str) == sorted(
        [
            (["effective_from"], "date_from_datetime_parsing"),
            (["indicators", 1, "extra"], "extra_forbidden"),
            (["indicators", 2, "source"], "missing"),
        ],
        key=str,
    )


def test_an_average_carries_no_points() -> None:
    # 2.2 is working days per finished dossier: scored as a share, the slower unit would gain points.
    raw = _raw()
    raw["indicators"][4]["max_points"] = 18  # 2.1
    raw["indicators"][5]["max_points"] = 2  # 2.2: progress still adds up to 20
    rs, errors = rule_set_errors(raw)
    assert rs is None
    assert [(e["loc"], e["type"], e["msg"]) for e in errors] == [
        (
            ["indicators", 5, "max_points"],
            "not_scorable",
            "idx21_work_days / idx21_finished is an average, not a share: a higher one would score "
            "more, so this indicator carries 0 points",
        )
    ]


def test_the_rule_set_must_hold_together() -> None:
    raw = _raw()
    raw["indicators"][4]["max_points"] = 18  # 2.1: progress now adds up to 18, not 20
    raw["indicators"][6]["code"] = "2.1"  # 3.0 takes 2.1's code
    raw["indicators"][7]["group"] = "payment"
    raw["indicators"][8]["numerator"] = "idx21_paid"
    raw["indicators"][0]["declared_scope"] = None
    raw["indicators"][9]["declared_scope"] = "unit"
    raw["indicators"][1]["numerator"] = "idx21_handled"
    rs, errors = rule_set_errors(raw)
    assert rs is None
    assert [(e["loc"], e["type"], e["msg"]) for e in errors] == [
        (["indicators", 0, "declared_scope"], "missing", "a declared indicator says province or unit"),
        (["indicators", 1, "numerator"], "not_allowed", "a declared indicator names no count"),
        (["indicators", 6, "code"], "duplicate", "indicator 2.1 is listed twice"),
        (["indicators", 7, "group"], "unknown_group", "no group payment in groups"),
        (["indicators", 8, "numerator"], "unknown_count", "idx21_paid is not a count of the index"),
        (["indicators", 9, "declared_scope"], "not_allowed", "only a declared indicator has a scope"),
        (
            ["groups", 1, "max_points"],
            "group_sum",
            "group progress has 20 points but its indicators add up to 18",
        ),
        # 3.6a left online_payment: 2 + 2 = 4 of 10.
        (
            ["groups", 3, "max_points"],
            "group_sum",
            "group online_payment has 10 points but its indicators add up to 4",
        ),
    ]
    with pytest.raises(RuleSetInvalid) as exc:
        parse_rule_set(raw)
    assert exc.value.detail == (
        "indicators.0.declared_scope: a declared indicator says province or unit (and 7 more)"
    )

    raw = _raw()
    raw["groups"].append({"code": "transparency", "label_vi": "x", "max_points": 0})
    assert _locs(raw) == [(["groups", 6, "code"], "duplicate")]


def test_group_sums_are_exact_on_decimals() -> None:
    # 0.1 + 0.2 is 0.30000000000000004 in floats; the rule set's decimals add up to 0.3 exactly.
    rs = _small({"code": "1.1", "max_points": 0.1}, {"code": "1.2", "max_points": 0.2})
    assert rs.groups[0].max_points == 0.3


# --- points ---------------------------------------------------------------------------------------


def _score(
    rs: RuleSet, counts: Mapping[str, float], declared: dict[str, Declared] | None = None
) -> dict[str, tuple[float | None, float, float]]:
    s = score_unit(rs, counts, declared or {})
    return {i.code: (i.ratio, i.points, i.points_rounded) for i in s.indicators}


def test_points_below_and_above_saturation() -> None:
    rs = _small(
        {"code": "1.1", "max_points": 2, "saturation": 0.8},
        {"code": "1.2", "max_points": 6, "saturation": 0.9, "numerator": "idx21_satisfied"},
        {"code": "1.3", "max_points": 4, "numerator": "idx21_digitised"},
    )
    counts = {"idx21_handled": 200, "idx21_reused": 120, "idx21_satisfied": 90, "idx21_digitised": 200}
    assert _score(rs, counts) == {
        "1.1": (0.6, 1.5, 1.5),  # 2 × 0.6 / 0.8
        "1.2": (0.45, 3.0, 3.0),  # 6 × 0.45 / 0.9
        "1.3": (1.0, 4.0, 4.0),
    }
    # Past the saturation: full points, never more.
    counts = {"idx21_handled": 200, "idx21_reused": 180, "idx21_satisfied": 190, "idx21_digitised": 0}
    assert _score(rs, counts) == {"1.1": (0.9, 2.0, 2.0), "1.2": (0.95, 6.0, 6.0), "1.3": (0.0, 0.0, 0.0)}


def test_zero_denominators() -> None:
    # 2.1, 4.3 and 5.4 score 0 on 0/0; 5.2 and 5.3 score their 6 points; the ratio is None for all.
    counts: dict[str, float] = {
        name: 0.0
        for ind in RULES.indicators
        if ind.source == "computed"
        for name in (ind.numerator, ind.denominator)
        if name is not None
    }
    declared = {"5.2": Declared(0, 0), "5.3": Declared(0, 0), "1.4": Declared(0, 0)}
    got = _score(RULES, counts, declared)
    assert got["2.1"] == (None, 0.0, 0.0)
    assert got["4.3"] == (None, 0.0, 0.0)
    assert got["5.4"] == (None, 0.0, 0.0)
    assert got["1.4"] == (None, 0.0, 0.0)
    assert got["5.2"] == (None, 6.0, 6.0)
    assert got["5.3"] == (None, 6.0, 6.0)


def test_rounding_is_half_up_on_the_decimal_value() -> None:
    assert round_points(Fraction("5.555")) == Decimal("5.56")
    assert round_points(5.555) == Decimal("5.56")  # the float 5.555 is 5.55499999…: read as printed
    assert round_points(1.005) == Decimal("1.01")
    assert round_points(Fraction("5.5549999")) == Decimal("5.55")
    assert round_points(0.125) == Decimal("0.13")
    assert round_points(0) == Decimal("0.00")

    # A maximum of 5.555 at full ratio: 5.56.
    rs = _small({"code": "1.1", "max_points": 5.555})
    assert _score(rs, {"idx21_handled": 1, "idx21_reused": 1}) == {"1.1": (1.0, 5.555, 5.56)}
    # 2 × 333/400 = 1.665 exactly: 1.67 (2 * (333/400) in floats is 1.66499999…).
    rs = _small({"code": "1.1", "max_points": 2})
    assert _score(rs, {"idx21_handled": 400, "idx21_reused": 333}) == {"1.1": (0.8325, 1.665, 1.67)}


def test_groups_and_the_total_add_rounded_points() -> None:
    # Two indicators of 1 point at 1/200: 0.005 each, rounded 0.01 each; the group is 0.02, not
    # round(0.01) = 0.01.
    rs = _small(
        {"code": "1.1", "max_points": 1},
        {"code": "1.2", "max_points": 1, "numerator": "idx21_population"},
    )
    s = score_unit(rs, {"idx21_handled": 200, "idx21_reused": 1, "idx21_population": 1}, {})
    assert [(i.points, i.points_rounded) for i in s.indicators] == [(0.005, 0.01), (0.005, 0.01)]
    assert [(g.code, g.points, g.max_points) for g in s.groups] == [("g", 0.02, 2)]
    assert s.total == 0.02
    assert s.reachable == 0.02


def test_a_whole_unit() -> None:
    counts: dict[str, float] = {
        "idx21_handled": 200,
        "idx21_judged": 190,
        "idx21_on_time": 171,  # 2.1: 171/190 = 0.9 → 18
        "idx21_work_days": 300,
        "idx21_finished": 120,  # 2.2: 2.5 working days on average, 0 points
        "idx21_full_online": 45,
        "idx21_eligible": 60,  # 3.0: 0.75 → 9
        "idx21_paid_online": 30,
        "idx21_fee": 40,  # 3.6a: 0.75 → 4.5
        "idx21_paid_procedures": 3,
        "idx21_fee_procedures": 5,  # 3.6b: 0.6 / 0.8 → 1.5
        "idx21_integrated_procedures": 9,
        "idx21_catalogue_fee_procedures": 10,  # 3.6c: 0.9 ≥ 0.8 → 2
        "idx21_uncatalogued": 20,
        "idx21_catalogued": 180,
        "idx21_electronic": 150,  # 4.1: 5/6 → 5
        "idx21_digitised": 99,  # 4.2: 0.55 → 2.2
        "idx21_reused": 70,  # 4.3: 0.35 / 0.8 × 2 = 0.875 → 0.88
        "idx21_personal_store": 10,  # 4.4: 0.05 → 0.2
        "idx21_population": 123,  # 4.5a: 0.615 → 1.23
        "idx21_satisfied": 171,  # 5.4: 0.855 / 0.9 × 6 = 5.7
    }
    declared = {
        "1.1": Declared(1, 47),  # 6/47 = 0.12766 → 0.13
        "1.2": Declared(ratio=0.9149),  # 3.6596 → 3.66
        "1.3": Declared(2, 2),  # 2
        # 1.4 missing: 0, 6 reachable
        "4.5b": Declared(1, 3),  # 0.6667 → 0.67
        # 4.6 missing: 0, 2 reachable
        "5.2": Declared(0, 0),  # no petitions: 6
        "5.3": Declared(3, 4),  # 4.5
    }
    s = score_unit(RULES, counts, declared)
    assert s.rule_set == "766-2022"
    got = {i.code: (i.points_rounded, i.source, i.uncatalogued) for i in s.indicators}
    assert got == {
        "1.1": (0.13, "declared", None),
        "1.2": (3.66, "declared", None),
        "1.3": (2.0, "declared", None),
        "1.4": (0.0, "missing", None),
        "2.1": (18.0, "computed", None),
        "2.2": (0.0, "computed", None),
        "3.0": (9.0, "computed", 20),
        "3.6a": (4.5, "computed", None),
        "3.6b": (1.5, "computed", 20),
        "3.6c": (2.0, "computed", 20),
        "4.1": (5.0, "computed", 20),
        "4.2": (2.2, "computed", 20),
        "4.3": (0.88, "computed", None),
        "4.4": (0.2, "computed", None),
        "4.5a": (1.23, "computed", None),
        "4.5b": (0.67, "declared", None),
        "4.6": (0.0, "missing", None),
        "5.2": (6.0, "declared", None),
        "5.3": (4.5, "declared", None),
        "5.4": (5.7, "computed", None),
    }
    by_code = {i.code: i for i in s.indicators}
    assert (by_code["2.2"].ratio, by_code["2.2"].numerator, by_code["2.2"].denominator) == (2.5, 300, 120)
    assert (by_code["1.2"].ratio, by_code["1.2"].numerator, by_code["1.2"].denominator) == (
        0.9149,
        None,
        None,
    )
    assert (by_code["1.4"].ratio, by_code["1.4"].points, by_code["1.4"].max_points) == (None, 0.0, 6)
    assert by_code["4.3"].points == 0.875
    assert by_code["3.0"].provisional and not by_code["2.1"].provisional
    assert (
        by_code["4.1"].label
        == "Tỷ lệ hồ sơ thủ tục hành chính có cấp kết quả giải quyết thủ tục hành chính điện tử"
    )
    # transparency 0.13 + 3.66 + 2 + 0; digitisation 5 + 2.2 + 0.88 + 0.2 + 1.23 + 0.67 + 0;
    # satisfaction 6 + 4.5 + 5.7.
    assert [(g.code, g.points) for g in s.groups] == [
        ("transparency", 5.79),
        ("progress", 18.0),
        ("online_service", 9.0),
        ("online_payment", 8.0),
        ("digitisation", 10.18),
        ("satisfaction", 16.2),
    ]
    assert s.total == 67.17  # 5.79 + 18 + 9 + 8 + 10.18 + 16.2
    assert s.reachable == 75.17  # + 6 (1.4) + 2 (4.6)


def test_a_computed_count_must_be_given() -> None:
    with pytest.raises(KeyError):
        score_unit(_small({"code": "1.1", "max_points": 1}), {"idx21_handled": 1}, {})


# --- ranks, rule sets in force, declared values ---------------------------------------------------


def test_ranks_follow_the_total_then_the_unit_code() -> None:
    rows = [("B", 70.5), ("A", 70.5), ("C", 80.0), ("D", 10.0), ("AA", 70.5)]
    assert rank(rows) == {"C": 1, "A": 2, "AA": 3, "B": 4, "D": 5}
    assert rank([]) == {}


def test_the_rule_set_in_force_on_a_periods_first_day() -> None:
    def rs(id_: str, day: str) -> RuleSet:
        return RuleSet.model_validate({**SHIPPED, "id": id_, "effective_from": day})

    a, b, c = rs("a", "2022-06-23"), rs("b", "2025-01-01"), rs("c", "2025-01-01")
    sets = [c, a, b]
    assert rule_set_for(date(2022, 6, 22), sets) is None
    assert rule_set_for(date(2022, 6, 23), sets) is a
    assert rule_set_for(date(2024, 12, 31), sets) is a
    # Two from the same day: the greater id.
    assert rule_set_for(date(2025, 1, 1), sets) is c
    assert rule_set_for(date(2030, 1, 1), [a, b]) is b


def test_declared_sum_of_months() -> None:
    months = [Declared(1, 2), Declared(3, 4), Declared(0, 0)]
    assert declared_sum(months) == Declared(numerator=4, denominator=6)
    assert declared_sum([Declared(1, 2), None, Declared(0, 0)]) is None  # a month missing
    assert declared_sum([Declared(1, 2), Declared(ratio=0.5), Declared(0, 0)]) is None  # ratio only
    assert declared_sum([]) is None


def test_province_values_apply_to_units_without_their_own() -> None:
    province = {"1.1": Declared(1, 2), "1.2": Declared(3, 4), "1.4": Declared(9, 9)}
    unit = {"1.2": Declared(ratio=1.0), "5.2": Declared(0, 0)}
    # 1.4 is per unit: the province's value does not reach the unit.
    assert declared_for_unit(RULES, province, unit) == {
        "1.1": Declared(1, 2),
        "1.2": Declared(ratio=1.0),
        "5.2": Declared(0, 0),
    }


# --- added rule sets, through the migrated schema -------------------------------------------------


@pytest.fixture
def store(engine: Engine) -> Engine:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM index_rule_sets"))
    return engine


def test_an_admin_adds_a_rule_set(store: Engine) -> None:
    new = _raw()
    new["id"] = "766-2026"
    new["effective_from"] = "2026-07-01"
    new["indicators"][10]["max_points"] = 5  # 4.1 5 points, 4.2 5 points
    new["indicators"][11]["max_points"] = 5
    with store.begin() as conn:
        added = add_rule_set(conn, new, "admin", NOW)
    assert added.id == "766-2026"
    with store.connect() as conn:
        known = list_rule_sets(conn)
        assert [(k.rule_set.id, k.shipped, k.created_by) for k in known] == [
            ("766-2022", True, None),
            ("766-2026", False, "admin"),
        ]
        assert known[1].created_at == NOW
        assert known[1].rule_set == added
        i41 = known[1].rule_set.indicator("4.1")
        assert i41 is not None and i41.max_points == 5
        in_force = rule_set_in_force(conn, date(2026, 6, 1))
        assert in_force is not None and in_force.id == "766-2022"
        in_force = rule_set_in_force(conn, date(2026, 7, 1))
        assert in_force is not None and in_force.id == "766-2026"
        assert rule_set_in_force(conn, date(2022, 1, 1)) is None

    # Never changed: the same id again is refused, shipped or stored.
    with pytest.raises(Conflict) as exc, store.begin() as conn:
        add_rule_set(conn, new, "admin", NOW)
    assert exc.value.detail == (
        "Rule set 766-2026 already exists; rule sets are never changed: add one with a new id."
    )
    with pytest.raises(Conflict) as exc, store.begin() as conn:
        add_rule_set(conn, _raw(), "admin", NOW)
    assert exc.value.detail == (
        "Rule set 766-2022 is shipped with the service; a new rule set takes a new id."
    )
    # An invalid one is refused before anything is written.
    bad = {**new, "id": "bad"}
    bad["indicators"] = copy.deepcopy(new["indicators"])
    bad["indicators"][3]["saturation"] = 2
    with pytest.raises(RuleSetInvalid) as invalid, store.begin() as conn:
        add_rule_set(conn, bad, None, NOW)
    assert invalid.value.errors == [
        {
            "loc": ["indicators", 3, "saturation"],
            "msg": "Input should be less than or equal to 1",
            "type": "less_than_equal",
        }
    ]
    with store.connect() as conn:
        assert conn.execute(text("SELECT id FROM index_rule_sets")).scalars().all() == ["766-2026"]


@given(st.integers(0, 10**7), st.integers(0, 10**7), st.sampled_from(range(20)))
@settings(max_examples=400, deadline=None, derandomize=True)
def test_whole_counts_score_as_the_exact_fractions_do(num: int, den: int, i: int) -> None:
    """The integer path for whole counts gives what score_ratio and round_points give."""
    from fractions import Fraction

    from app.core.index_rules import _counted_points, round_points, score_ratio
    from app.reference.rule_sets import shipped_rule_sets

    num = min(num, den)
    ind = shipped_rule_sets()[0].indicators[i]
    ratio = None if den == 0 else Fraction(num, den)
    exact = score_ratio(ind, ratio)
    got_ratio, points, cents = _counted_points(ind, num, den)
    assert got_ratio == (None if ratio is None else float(ratio))
    assert points == float(exact)
    assert cents / 100 == float(round_points(exact))


def test_rule_sets_over_http(store: Engine, client: TestClient, anon: TestClient) -> None:
    new = _raw()
    new["id"] = "766-2026"
    new["effective_from"] = "2026-07-01"
    new["indicators"][10]["max_points"] = 5  # 4.1 and 4.2 5 points each: digitisation still 22
    new["indicators"][11]["max_points"] = 5
    assert anon.put("/v1/index/rule-sets/766-2026", json=new).status_code == 401
    r = client.put("/v1/index/rule-sets/766-2026", json=new)
    assert r.status_code == 201, r.text
    assert client.put("/v1/index/rule-sets/766-2026", json=new).status_code == 409
    listed = client.get("/v1/index/rule-sets").json()["items"]
    assert [(x["id"], x["effective_from"]) for x in listed] == [
        ("766-2022", "2022-06-23"),
        ("766-2026", "2026-07-01"),
    ]
    [added] = [x for x in listed if x["id"] == "766-2026"]
    assert [i["max_points"] for i in added["indicators"] if i["code"] in ("4.1", "4.2")] == [5, 5]
    # Points for 2.2's average: a 422 naming the field, nothing stored.
    bad = {**new, "id": "766-bad", "indicators": copy.deepcopy(new["indicators"])}
    bad["indicators"][4]["max_points"] = 18
    bad["indicators"][5]["max_points"] = 2
    r = client.put("/v1/index/rule-sets/766-bad", json=bad)
    assert r.status_code == 422
    assert [(e["loc"], e["type"]) for e in r.json()["errors"]] == [
        (["indicators", 5, "max_points"], "not_scorable")
    ]
    assert [x["id"] for x in client.get("/v1/index/rule-sets").json()["items"]] == ["766-2022", "766-2026"]
