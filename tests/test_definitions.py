"""Each rate is defined once, as data: its terms name counts, and every use derives from them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.calculator import counts, rates
from app.core.definitions import (
    COUNT_NAMES,
    COUNTS,
    RATE_NAMES,
    RATES,
    Definition,
    Term,
    minus,
    plus,
    terms_text,
)
from app.reports import form
from app.reports.service import _target_figure
from app.reports.targets import TARGETS

# The catalogue's text forms as they were written by hand before the terms (the API must not change).
TEXT_BEFORE_TERMS: dict[str, tuple[str, str]] = {
    "on_time": ("finished_early + finished_on_time", "finished"),
    "on_time_766": ("finished_early + finished_on_time + pending - pending_overdue", "finished + pending"),
    "online": ("received_online", "received"),
    "full_online": ("received_full_online", "received"),
    "online_payment": ("paid_online", "fee_required"),
    "intake_digitisation": ("digitised_intake", "received"),
    "result_digitisation": ("digitised_result", "finished"),
    "data_reuse": ("reused_digital_data", "received"),
    "apology": ("late_apologised", "finished_late + pending_overdue"),
    "satisfaction": ("satisfied", "rated"),
}


def _r(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def naive_rates(c: Mapping[str, int]) -> dict[str, float | None]:
    """Contract §4.3 written out by hand, independently of the catalogue."""
    return {
        "on_time": _r(c["finished_early"] + c["finished_on_time"], c["finished"]),
        "on_time_766": _r(
            c["finished_early"] + c["finished_on_time"] + c["pending"] - c["pending_overdue"],
            c["finished"] + c["pending"],
        ),
        "online": _r(c["received_online"], c["received"]),
        "full_online": _r(c["received_full_online"], c["received"]),
        "online_payment": _r(c["paid_online"], c["fee_required"]),
        "intake_digitisation": _r(c["digitised_intake"], c["received"]),
        "result_digitisation": _r(c["digitised_result"], c["finished"]),
        "data_reuse": _r(c["reused_digital_data"], c["received"]),
        "apology": _r(c["late_apologised"], c["finished_late"] + c["pending_overdue"]),
        "satisfaction": _r(c["satisfied"], c["rated"]),
    }


ZERO = dict.fromkeys(COUNT_NAMES, 0)
TYPICAL = {
    **ZERO,
    "received": 200,
    "received_online": 130,
    "received_full_online": 70,
    "fee_required": 40,
    "paid_online": 25,
    "digitised_intake": 150,
    "reused_digital_data": 33,
    "finished": 180,
    "finished_early": 120,
    "finished_on_time": 51,
    "finished_late": 9,
    "digitised_result": 160,
    "rated": 90,
    "satisfied": 83,
    "withdrawn": 2,
    "carried_over": 12,
    "pending": 30,
    "pending_overdue": 7,
    "late_apologised": 10,
}
# Nothing finished, rated or fee-bearing, but pending dossiers: some rates null, on_time_766 not.
ONLY_PENDING = {**ZERO, "received": 5, "received_online": 2, "pending": 5, "pending_overdue": 2}


def test_every_rate_has_terms_naming_only_counts_of_the_catalogue() -> None:
    assert len(RATES) == 10 and len(COUNTS) == 24
    for d in RATES:
        assert d.kind == "rate" and d.numerator_terms and d.denominator_terms, d.name
        for t in (*d.numerator_terms, *d.denominator_terms):
            assert t.count in COUNT_NAMES and t.sign in (1, -1), (d.name, t)
    for d in COUNTS:
        assert d.numerator_terms is None and d.denominator_terms is None, d.name
        assert d.numerator is None and d.denominator is None, d.name


def test_the_text_forms_derived_from_the_terms_are_those_written_before() -> None:
    assert {d.name: (d.numerator, d.denominator) for d in RATES} == TEXT_BEFORE_TERMS
    assert list(RATE_NAMES) == list(TEXT_BEFORE_TERMS)


def test_on_time_766_subtracts_the_overdue_pending_dossiers() -> None:
    d = next(d for d in RATES if d.name == "on_time_766")
    assert d.numerator_terms == (
        Term("finished_early", 1),
        Term("finished_on_time", 1),
        Term("pending", 1),
        Term("pending_overdue", -1),
    )
    assert d.denominator_terms == (Term("finished", 1), Term("pending", 1))


def test_terms_text_and_the_definition_guards() -> None:
    assert terms_text(plus("a", "b") + minus("c")) == "a + b - c"
    assert terms_text(minus("a") + plus("b")) == "-a + b"
    with pytest.raises(ValueError, match="needs numerator and denominator"):
        Definition("x", "rate", "rate", "x", "x", "x", plus("received"), None)
    with pytest.raises(ValueError, match="has no terms"):
        Definition("x", "count", "received", "x", "x", "x", plus("received"), None)


def test_rates_from_the_terms_equal_the_hand_written_formulas_exactly() -> None:
    assert rates(TYPICAL) == naive_rates(TYPICAL)
    assert rates(TYPICAL)["on_time_766"] == (120 + 51 + 30 - 7) / (180 + 30)
    assert rates(TYPICAL)["on_time"] == 171 / 180
    assert rates(TYPICAL)["apology"] == 10 / 16

    assert rates(ZERO) == dict.fromkeys(RATE_NAMES, None)

    only_pending = rates(ONLY_PENDING)
    assert only_pending == naive_rates(ONLY_PENDING)
    assert only_pending["on_time_766"] == 3 / 5  # the minus term: 5 pending, 2 of them overdue
    assert only_pending["on_time"] is None and only_pending["satisfaction"] is None
    assert only_pending["online"] == 2 / 5 and only_pending["apology"] == 0.0


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({name: st.integers(0, 50) for name in COUNT_NAMES}))
def test_rates_equal_the_hand_written_formulas_for_any_counts(c: dict[str, int]) -> None:
    assert rates(c) == naive_rates(c)


def test_the_form_counts_are_sums_of_counts_and_withdrawn_by_class() -> None:
    assert [d.name for d in COUNTS if d.basis == "form"] == [
        "received_total",
        "closed",
        "closed_early",
        "closed_on_time",
        "closed_late",
    ]
    # A period's flows (finished 9: 5 early, 3 on time, 1 late; withdrawn 4: 2 early, 0 on time, 2 late;
    # the counter `closed` is not read for the count), 6 pending before it and 7 at its end.
    flows = {
        "received": 14,
        "finished": 9,
        "finished_early": 5,
        "finished_on_time": 3,
        "finished_late": 1,
        "withdrawn": 4,
        "withdrawn_early": 2,
        "withdrawn_late": 2,
        "closed": 999,
    }
    c = counts(flows, {"pending": 6}, {"pending": 7})
    form = {k: c[k] for k in ("received_total", "closed", "closed_early", "closed_on_time", "closed_late")}
    # received_total 14 + 6 = 20 = closed 9 + 4 = 13, plus 7 pending; closed 13 = 7 + 3 + 3.
    assert form == {
        "received_total": 20,
        "closed": 13,
        "closed_early": 7,
        "closed_on_time": 3,
        "closed_late": 3,
    }
    assert list(c) == list(COUNT_NAMES)


def test_scorecard_targets_take_their_fractions_from_the_rates() -> None:
    assert {t.name for t in TARGETS} == {
        "on_time",
        "online",
        "satisfaction",
        "satisfaction_land_construction_investment",
        "apology",
        "pending_overdue",
    }
    lci = {"rated": 7, "satisfied": 6}
    c = TYPICAL
    assert _target_figure("on_time", c, lci) == (171 / 180, 171, 180)
    assert _target_figure("online", c, lci) == (130 / 200, 130, 200)
    assert _target_figure("satisfaction", c, lci) == (83 / 90, 83, 90)
    assert _target_figure("satisfaction_land_construction_investment", c, lci) == (6 / 7, 6, 7)
    assert _target_figure("apology", c, lci) == (10 / 16, 10, 16)
    assert _target_figure("pending_overdue", c, lci) == (7, 7, None)
    # A unit with no dossier in the pooled sectors, and an idle unit.
    assert _target_figure("satisfaction_land_construction_investment", c, {}) == (None, 0, 0)
    assert _target_figure("on_time", ZERO, {}) == (None, 0, 0)
    assert _target_figure("pending_overdue", ZERO, {}) == (None, None, None)


def test_the_report_derived_columns() -> None:
    new = ("received_total", "closed", "closed_early", "closed_on_time", "closed_late")
    form_counts = dict.fromkeys(new, 0)
    figures: dict[str, Mapping[str, Any]] = {"counts": {**TYPICAL, **form_counts}, "rates": rates(TYPICAL)}
    by_number = dict(zip((c.number for c in form.COLUMNS), form.form_values(figures), strict=True))
    assert by_number["(3)"] == 200 - 130  # Trực tiếp và dịch vụ bưu chính
    assert by_number["(10)"] == 30 - 7  # đang giải quyết, trong hạn
    assert by_number["(12)"] == 171 / 180
    assert by_number["(13)"] == 130 / 200


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_definitions_endpoint_lists_the_terms(client: TestClient) -> None:
    body = client.get("/v1/metrics/definitions").json()
    by_name = {d["name"]: d for d in body["rates"]}
    assert by_name["on_time_766"]["numerator_terms"] == [
        {"count": "finished_early", "sign": 1},
        {"count": "finished_on_time", "sign": 1},
        {"count": "pending", "sign": 1},
        {"count": "pending_overdue", "sign": -1},
    ]
    assert by_name["on_time_766"]["denominator_terms"] == [
        {"count": "finished", "sign": 1},
        {"count": "pending", "sign": 1},
    ]
    for d in body["rates"]:
        text = (d["numerator"], d["denominator"])
        assert text == TEXT_BEFORE_TERMS[d["name"]]
        for side in ("numerator_terms", "denominator_terms"):
            assert d[side] and all(set(t) == {"count", "sign"} for t in d[side]), d["name"]
            assert all(t["count"] in COUNT_NAMES for t in d[side])
    bases = {d["name"]: d["basis"] for d in body["counts"]}
    assert [n for n, b in bases.items() if b == "form"] == [
        "received_total",
        "closed",
        "closed_early",
        "closed_on_time",
        "closed_late",
    ]
    for d in body["counts"]:
        assert d["numerator_terms"] is None and d["denominator_terms"] is None
        assert d["numerator"] is None and d["denominator"] is None
    # on_time_766 keeps its contract meaning; its labels say it is the provincial approximation and its
    # description points at the national index's own 2.1.
    assert (by_name["on_time_766"]["label_vi"], by_name["on_time_766"]["label_en"]) == (
        "Tỷ lệ hồ sơ xử lý đúng hạn (Chỉ số 766, ước tính theo quy tắc báo cáo tỉnh)",
        "On-time rate (national index, the provincial report's approximation)",
    )
    assert "idx21_on_time over idx21_judged" in by_name["on_time_766"]["description"]
    # The national index's counts are explained beside them, each on the index basis.
    index_counts = {d["name"]: d for d in body["index_counts"]}
    assert list(index_counts)[:7] == [
        "idx21_handled",
        "idx21_ended",
        "idx21_open",
        "idx21_judged",
        "idx21_on_time",
        "idx21_late",
        "idx21_unjudged",
    ]
    assert len(index_counts) == 26
    assert {d["basis"] for d in index_counts.values()} == {"index"}
    assert index_counts["idx21_handled"]["label_vi"] == "Số hồ sơ đã và đang xử lý"
