"""The catalogue of every count and rate (contract §4.2–4.3), with the Vietnamese wording of the reports.

Each rate is defined here once, as data: its numerator and its denominator are sums of counts, each
count with a sign (`Term`). Everything else derives from these terms: the `numerator`/`denominator`
strings of the definitions endpoint, `calculator.rates`, the scorecard's targets, and the dashboard
(which reads `numerator_terms`/`denominator_terms` from the endpoint).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from app.core.counters import WITHDRAWN_CLASS_COUNTERS

Sign = Literal[1, -1]


@dataclass(frozen=True, slots=True)
class Term:
    """One count of a rate's numerator or denominator, added (+1) or subtracted (-1)."""

    count: str
    sign: Sign = 1


Terms = tuple[Term, ...]


def plus(*counts: str) -> Terms:
    """The sum of these counts."""
    return tuple(Term(c, 1) for c in counts)


def minus(*counts: str) -> Terms:
    """These counts, subtracted."""
    return tuple(Term(c, -1) for c in counts)


def terms_text(terms: Terms) -> str:
    """As text: "finished_early + finished_on_time", "pending - pending_overdue"."""
    out = ""
    for i, t in enumerate(terms):
        if i == 0:
            out = t.count if t.sign == 1 else f"-{t.count}"
        else:
            out += f" {'+' if t.sign == 1 else '-'} {t.count}"
    return out


# Dossiers still pending at the end of the period and not yet overdue (a derived count, not in the
# catalogue): the in-progress-within-deadline part of on_time_766, and a column of the periodic report.
PENDING_WITHIN_DEADLINE: Terms = plus("pending") + minus("pending_overdue")
# Received dossiers not submitted online (in person or by post): a column of the periodic report.
RECEIVED_NOT_ONLINE: Terms = plus("received") + minus("received_online")


@dataclass(frozen=True, slots=True)
class Definition:
    name: str
    kind: Literal["count", "rate"]
    basis: Literal["received", "finished", "state", "form", "rate", "index"]
    label_vi: str
    label_en: str
    description: str
    # A rate's terms; None for a count.
    numerator_terms: Terms | None = None
    denominator_terms: Terms | None = None
    # Derived from the terms (never written by hand), so they cannot drift from them.
    numerator: str | None = field(init=False)
    denominator: str | None = field(init=False)

    def __post_init__(self) -> None:
        if self.kind == "rate" and not (self.numerator_terms and self.denominator_terms):
            raise ValueError(f"rate {self.name} needs numerator and denominator terms")
        if self.kind == "count" and (self.numerator_terms or self.denominator_terms):
            raise ValueError(f"count {self.name} has no terms")
        num, den = self.numerator_terms, self.denominator_terms
        object.__setattr__(self, "numerator", None if num is None else terms_text(num))
        object.__setattr__(self, "denominator", None if den is None else terms_text(den))


def _count(
    name: str,
    basis: Literal["received", "finished", "state", "form"],
    label_vi: str,
    label_en: str,
    description: str,
) -> Definition:
    return Definition(name, "count", basis, label_vi, label_en, description)


def _rate(
    name: str, label_vi: str, label_en: str, numerator: Terms, denominator: Terms, description: str
) -> Definition:
    return Definition(name, "rate", "rate", label_vi, label_en, description, numerator, denominator)


COUNTS: tuple[Definition, ...] = (
    _count(
        "received",
        "received",
        "Tổng số hồ sơ tiếp nhận",
        "Dossiers received",
        "Dossiers whose received_at falls in the period.",
    ),
    _count(
        "received_online",
        "received",
        "Số hồ sơ tiếp nhận trực tuyến",
        "Received online",
        "Received dossiers with channel online.",
    ),
    _count(
        "received_full_online",
        "received",
        "Số hồ sơ tiếp nhận trực tuyến toàn trình",
        "Received through a full online service",
        "Received dossiers with online_level full.",
    ),
    _count(
        "fee_required",
        "received",
        "Số hồ sơ có phí, lệ phí",
        "Received with a fee or charge",
        "Received dossiers with fee_required.",
    ),
    _count(
        "paid_online",
        "received",
        "Số hồ sơ thanh toán trực tuyến",
        "Paid online",
        "Received dossiers with paid_online.",
    ),
    _count(
        "digitised_intake",
        "received",
        "Số hồ sơ số hóa thành phần hồ sơ",
        "Digitised at intake",
        "Received dossiers whose components were digitised at intake.",
    ),
    _count(
        "reused_digital_data",
        "received",
        "Số hồ sơ tái sử dụng dữ liệu số hóa",
        "Reused digitised data",
        "Received dossiers that reused already-digitised data.",
    ),
    _count(
        "finished",
        "finished",
        "Số hồ sơ đã giải quyết",
        "Finished",
        "Finished dossiers (resolved, returned, rejected) whose resolved_at falls in the period.",
    ),
    _count(
        "finished_early",
        "finished",
        "Số hồ sơ giải quyết trước hạn",
        "Finished early",
        "Finished dossiers resolved on a local date before the due date.",
    ),
    _count(
        "finished_on_time",
        "finished",
        "Số hồ sơ giải quyết đúng hạn",
        "Finished on time",
        "Finished dossiers neither early nor late (a dossier with no deadline is on time).",
    ),
    _count(
        "finished_late",
        "finished",
        "Số hồ sơ giải quyết quá hạn",
        "Finished late",
        "Finished dossiers with resolved_at after due_at.",
    ),
    _count(
        "digitised_result",
        "finished",
        "Số hồ sơ số hóa kết quả giải quyết",
        "Result digitised",
        "Finished dossiers whose result was issued or digitised electronically.",
    ),
    _count(
        "rated",
        "finished",
        "Số hồ sơ được đánh giá",
        "Rated",
        "Finished dossiers with a rating.",
    ),
    _count(
        "satisfied",
        "finished",
        "Số hồ sơ hài lòng",
        "Satisfied",
        "Finished dossiers rated very_satisfied or satisfied.",
    ),
    _count(
        "withdrawn",
        "finished",
        "Số hồ sơ rút",
        "Withdrawn",
        "Withdrawn dossiers whose resolved_at falls in the period.",
    ),
    _count(
        "carried_over",
        "state",
        "Số hồ sơ kỳ trước chuyển qua",
        "Carried over",
        "Dossiers pending at the end of the day before the period starts.",
    ),
    _count(
        "pending",
        "state",
        "Số hồ sơ đang giải quyết",
        "Pending",
        "Dossiers pending at the end of the period, or now while the period is in progress.",
    ),
    _count(
        "pending_overdue",
        "state",
        "Số hồ sơ đang giải quyết quá hạn",
        "Pending and overdue",
        "Pending dossiers whose due_at has passed at the end of the period (or now).",
    ),
    _count(
        "late_apologised",
        "state",
        "Số hồ sơ quá hạn đã có văn bản xin lỗi",
        "Late with an apology",
        "finished_late dossiers with apology_issued plus pending_overdue dossiers with apology_issued.",
    ),
    # The periodic report's form (Biểu 06/VPCP/KSTT): sums, so that for an ended period
    # received_total = closed + pending. Their terms are FORM_TERMS below.
    _count(
        "received_total",
        "form",
        "Tổng số hồ sơ nhận giải quyết",
        "Dossiers to handle",
        "received + carried_over: the dossiers the unit had to handle in the period.",
    ),
    _count(
        "closed",
        "form",
        "Số hồ sơ đã giải quyết (gồm cả hồ sơ rút)",
        "Closed",
        "finished + withdrawn: dossiers whose processing ended (resolved_at) in the period.",
    ),
    _count(
        "closed_early",
        "form",
        "Số hồ sơ đã giải quyết trước hạn (gồm cả hồ sơ rút)",
        "Closed early",
        "finished_early plus withdrawn dossiers that ended on a local date before the deadline's day "
        "(the rule of finished ones).",
    ),
    _count(
        "closed_on_time",
        "form",
        "Số hồ sơ đã giải quyết đúng hạn (gồm cả hồ sơ rút)",
        "Closed on time",
        "finished_on_time plus withdrawn dossiers that ended neither early nor late "
        "(a withdrawn dossier with no deadline is on time).",
    ),
    _count(
        "closed_late",
        "form",
        "Số hồ sơ đã giải quyết quá hạn (gồm cả hồ sơ rút)",
        "Closed late",
        "finished_late plus withdrawn dossiers whose resolved_at is after due_at.",
    ),
)


def _index(name: str, label_vi: str, label_en: str, description: str) -> Definition:
    return Definition(name, "count", "index", label_vi, label_en, description)


# The national index's counts per unit and period (GET /v1/index, docs/INDEX.md). "Handled" is the
# index's universe: dossiers whose national end of processing (rule 2.1) falls in the period, plus those
# still in processing at its judging instant (the end of its last day, or now).
INDEX_COUNTS: tuple[Definition, ...] = (
    _index(
        "idx21_handled",
        "Số hồ sơ đã và đang xử lý",
        "Handled",
        "Ended in the period (rule 2.1's end: "
        "resolved, returned, rejected or withdrawn; or a single unanswered supplement request) plus in "
        "processing at the judging instant.",
    ),
    _index(
        "idx21_ended",
        "Số hồ sơ kết thúc xử lý trong kỳ",
        "Ended",
        "Handled dossiers whose national end falls in the period.",
    ),
    _index(
        "idx21_open",
        "Số hồ sơ đang xử lý",
        "In processing",
        "Handled dossiers still in processing at the judging instant.",
    ),
    _index(
        "idx21_judged",
        "Số hồ sơ được đánh giá tiến độ",
        "Judged",
        "Handled dossiers with a deadline (idx21_handled - idx21_unjudged): 2.1's denominator.",
    ),
    _index(
        "idx21_on_time",
        "Số hồ sơ xử lý trước hạn, đúng hạn",
        "On time (rule 2.1)",
        "Judged dossiers "
        "not late under rule 2.1: ended no later than the effective deadline, or in processing and "
        "not past it.",
    ),
    _index(
        "idx21_late",
        "Số hồ sơ quá hạn (quy tắc 2.1)",
        "Late (rule 2.1)",
        "Judged dossiers late under "
        "rule 2.1: ended after the effective deadline, in processing past it, or unfinished with a "
        "second supplement request.",
    ),
    _index(
        "idx21_unjudged",
        "Số hồ sơ không xác định được hạn",
        "Unjudged",
        "Handled dossiers without due_at and without a catalogue duration: out of 2.1.",
    ),
    _index(
        "idx21_uncatalogued",
        "Số hồ sơ của thủ tục chưa có trong danh mục",
        "Uncatalogued",
        "Handled dossiers whose procedure is not in the catalogue: out of 3.0, 4.1 and 4.2.",
    ),
    _index(
        "idx21_catalogued",
        "Số hồ sơ của thủ tục có trong danh mục",
        "Catalogued",
        "idx21_handled - idx21_uncatalogued: 4.1's and 4.2's denominator.",
    ),
    _index(
        "idx21_eligible",
        "Số hồ sơ của thủ tục đủ điều kiện trực tuyến toàn trình",
        "Eligible for full-online",
        "Handled dossiers of procedures eligible for full-online service: 3.0's denominator.",
    ),
    _index(
        "idx21_full_online",
        "Số hồ sơ trực tuyến toàn trình",
        "Full-online",
        "Of those eligible, "
        "online_level full, or online without a level for a procedure offered full-online.",
    ),
    _index(
        "idx21_electronic",
        "Số hồ sơ có kết quả điện tử",
        "Electronic result",
        "Handled dossiers with digitised_result of procedures whose result is on paper (4.1).",
    ),
    _index(
        "idx21_digitised",
        "Số hồ sơ được số hóa",
        "Digitised",
        "Handled dossiers with digitised_intake "
        "and, for procedures with a paper result, digitised_result (4.2).",
    ),
    _index(
        "idx21_reused",
        "Số hồ sơ sử dụng lại dữ liệu số hóa",
        "Reused digital data",
        "Handled dossiers with reused_digital_data (4.3).",
    ),
    _index(
        "idx21_personal_store",
        "Số hồ sơ kết nối kho dữ liệu cá nhân",
        "From the personal store",
        "Handled dossiers with from_personal_store (4.4).",
    ),
    _index(
        "idx21_population",
        "Số hồ sơ sử dụng dữ liệu dân cư",
        "Population data",
        "Handled dossiers with population_data (4.5a).",
    ),
    _index(
        "idx21_complaint",
        "Số hồ sơ có phản ánh, kiến nghị",
        "With a complaint",
        "Handled dossiers with complaint.",
    ),
    _index(
        "idx21_satisfied",
        "Số hồ sơ hài lòng",
        "Satisfied",
        "Handled dossiers neither late under rule 2.1 nor with a complaint (5.4).",
    ),
    _index(
        "idx21_fee",
        "Số hồ sơ có phí, lệ phí",
        "With a fee",
        "Dossiers received in the period with fee_required: 3.6a's denominator.",
    ),
    _index("idx21_paid_online", "Số hồ sơ thanh toán trực tuyến", "Paid online", "Of those, paid_online."),
    _index(
        "idx21_fee_procedures",
        "Số thủ tục có phí phát sinh hồ sơ",
        "Fee procedures with dossiers",
        "Catalogue procedures with a fee, of the unit's level, with a dossier received in the period.",
    ),
    _index(
        "idx21_paid_procedures",
        "Số thủ tục có hồ sơ thanh toán trực tuyến",
        "Fee procedures paid online",
        "Of those, with a dossier paid online (3.6b).",
    ),
    _index(
        "idx21_catalogue_fee_procedures",
        "Số thủ tục có phí trong danh mục",
        "Fee procedures",
        "Catalogue procedures with a fee, of the unit's level (the province: every level).",
    ),
    _index(
        "idx21_integrated_procedures",
        "Số thủ tục tích hợp thanh toán trực tuyến",
        "Integrated for online payment",
        "Of those, online_payment_integrated (3.6c).",
    ),
    _index(
        "idx21_finished",
        "Số hồ sơ đã giải quyết",
        "Finished",
        "Resolved or returned dossiers received in the period (2.2).",
    ),
    _index(
        "idx21_work_days",
        "Tổng số ngày làm việc giải quyết",
        "Working days",
        "Their working days from "
        "receipt to the end, answered pauses taken off (2.2's average = idx21_work_days / "
        "idx21_finished).",
    ),
)

RATES: tuple[Definition, ...] = (
    _rate(
        "on_time",
        "Tỷ lệ hồ sơ giải quyết đúng hạn",
        "On-time rate",
        plus("finished_early", "finished_on_time"),
        plus("finished"),
        "The periodic-report basis: finished on time or early.",
    ),
    _rate(
        "on_time_766",
        "Tỷ lệ hồ sơ xử lý đúng hạn (Chỉ số 766, ước tính theo quy tắc báo cáo tỉnh)",
        "On-time rate (national index, the provincial report's approximation)",
        plus("finished_early", "finished_on_time") + PENDING_WITHIN_DEADLINE,
        plus("finished", "pending"),
        "Finished on time plus in progress within the deadline, over all handled dossiers, by the "
        "provincial report's rules (§4.1): withdrawn dossiers, supplement requests and dossiers without a "
        "deadline are treated as the report treats them. The national index's own indicator 2.1 "
        "(idx21_on_time over idx21_judged, GET /v1/index) follows the national rule 2.1.",
    ),
    _rate(
        "online",
        "Tỷ lệ hồ sơ tiếp nhận trực tuyến",
        "Online rate",
        plus("received_online"),
        plus("received"),
        "Share of received dossiers submitted online.",
    ),
    _rate(
        "full_online",
        "Tỷ lệ hồ sơ trực tuyến toàn trình",
        "Full online rate",
        plus("received_full_online"),
        plus("received"),
        "Share of received dossiers handled through a full online service.",
    ),
    _rate(
        "online_payment",
        "Tỷ lệ thanh toán trực tuyến",
        "Online payment rate",
        plus("paid_online"),
        plus("fee_required"),
        "Share of fee-bearing dossiers paid online.",
    ),
    _rate(
        "intake_digitisation",
        "Tỷ lệ số hóa hồ sơ",
        "Intake digitisation rate",
        plus("digitised_intake"),
        plus("received"),
        "Share of received dossiers digitised at intake.",
    ),
    _rate(
        "result_digitisation",
        "Tỷ lệ số hóa kết quả giải quyết",
        "Result digitisation rate",
        plus("digitised_result"),
        plus("finished"),
        "Share of finished dossiers with an electronic result.",
    ),
    _rate(
        "data_reuse",
        "Tỷ lệ tái sử dụng dữ liệu số hóa",
        "Data reuse rate",
        plus("reused_digital_data"),
        plus("received"),
        "Share of received dossiers that reused digitised data.",
    ),
    _rate(
        "apology",
        "Tỷ lệ hồ sơ quá hạn có văn bản xin lỗi",
        "Apology rate",
        plus("late_apologised"),
        plus("finished_late", "pending_overdue"),
        "Share of late dossiers (finished late or overdue) with an apology.",
    ),
    _rate(
        "satisfaction",
        "Tỷ lệ hài lòng",
        "Satisfaction rate",
        plus("satisfied"),
        plus("rated"),
        "Share of rated dossiers rated satisfied or very satisfied.",
    ),
)
# Each form count is the sum of these: counts of the catalogue and the rollups' withdrawn-by-class
# counters (app/core/counters.py WITHDRAWN_CLASS_COUNTERS), which are no count of their own.
FORM_TERMS: dict[str, Terms] = {
    "received_total": plus("received", "carried_over"),
    "closed": plus("finished", "withdrawn"),
    "closed_early": plus("finished_early", "withdrawn_early"),
    "closed_on_time": plus("finished_on_time", "withdrawn_on_time"),
    "closed_late": plus("finished_late", "withdrawn_late"),
}
RATES_BY_NAME: dict[str, Definition] = {d.name: d for d in RATES}
COUNT_NAMES: tuple[str, ...] = tuple(d.name for d in COUNTS)
RATE_NAMES: tuple[str, ...] = tuple(d.name for d in RATES)


def _check_terms() -> None:
    """Every term names a count of the catalogue (checked at import: a typo cannot ship)."""
    for d in RATES:
        for t in (*(d.numerator_terms or ()), *(d.denominator_terms or ())):
            if t.count not in COUNT_NAMES:
                raise ValueError(f"rate {d.name}: {t.count!r} is not a count")
    for terms in (PENDING_WITHIN_DEADLINE, RECEIVED_NOT_ONLINE):
        for t in terms:
            if t.count not in COUNT_NAMES:
                raise ValueError(f"{t.count!r} is not a count")
    if set(FORM_TERMS) != {d.name for d in COUNTS if d.basis == "form"}:
        raise ValueError("every form count, and only they, has FORM_TERMS")
    for name, terms in FORM_TERMS.items():
        for t in terms:
            if t.count in FORM_TERMS or not (t.count in COUNT_NAMES or t.count in WITHDRAWN_CLASS_COUNTERS):
                raise ValueError(f"{name}: {t.count!r} is neither a count nor a withdrawn-by-class counter")


_check_terms()
