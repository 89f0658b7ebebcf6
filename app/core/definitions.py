"""The catalogue of every count and rate (contract §4.2–4.3), with the Vietnamese wording of the reports.

Each rate is defined here once, as data: its numerator and its denominator are sums of counts, each
count with a sign (`Term`). Everything else derives from these terms: the `numerator`/`denominator`
strings of the definitions endpoint, `calculator.rates`, the scorecard's targets, and the dashboard
(which reads `numerator_terms`/`denominator_terms` from the endpoint).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

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
    basis: Literal["received", "finished", "state", "rate"]
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
    name: str, basis: Literal["received", "finished", "state"], label_vi: str, label_en: str, description: str
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
        "Tỷ lệ hồ sơ xử lý đúng hạn (Chỉ số 766)",
        "On-time rate (national index)",
        plus("finished_early", "finished_on_time") + PENDING_WITHIN_DEADLINE,
        plus("finished", "pending"),
        "Finished on time plus in progress within the deadline, over all handled dossiers.",
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


_check_terms()
