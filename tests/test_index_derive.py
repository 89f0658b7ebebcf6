"""Rule 2.1 per dossier and the catalogue facts of the national index (app/core/index_derive.py),
against cases computed by hand on the 2025 calendar.

2025 days used below (checked in tests/test_calendar.py): Tết Monday 27 – Friday 31 January off;
Saturday 1 and Sunday 2 February off; March 2025 has no holiday (Monday 3, 10, 17, 24, 31 March).
Times are Vietnam local time (UTC+7); "24:00 of day X" is X+1 00:00.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.calendar import WorkingCalendar
from app.core.index_counters import IndexClass
from app.core.index_derive import (
    DERIVED_KEYS,
    DOSSIER_INDICATORS,
    CatalogueEntry,
    add_months,
    derive,
    index_reason,
    is_success,
)
from app.core.supplements import Supplement, dump_supplements, load_supplements
from app.core.timeutil import VN_TZ, local_date

CAL = WorkingCalendar()
D = date


def L(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    """A Vietnam local time, as the aware UTC instant the store keeps."""
    return datetime(y, m, d, h, mi, tzinfo=VN_TZ).astimezone(UTC)


def sup(*pairs: tuple[datetime, datetime | None]) -> str | None:
    return dump_supplements([Supplement(a, b) for a, b in pairs])


def row(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "status": "processing",
        "received_at": L(2025, 3, 3, 9),  # Monday 3 March 2025, 09:00
        "due_at": None,
        "resolved_at": None,
        "returned_at": None,
        "supplements": None,
        "channel": "in_person",
        "online_level": None,
        "digitised_intake": False,
        "digitised_result": False,
        "reused_digital_data": False,
        "complaint": False,
        "population_data": False,
        "from_personal_store": False,
    }
    base.update(kw)
    return base


def entry(**kw: Any) -> CatalogueEntry:
    return CatalogueEntry(**{"level": "province", **kw})


def derived(r: dict[str, Any], e: CatalogueEntry | None = None, cal: WorkingCalendar = CAL) -> dict[str, Any]:
    out = derive(r, e, cal)
    assert tuple(out) == DERIVED_KEYS
    return out


def full(r: dict[str, Any], e: CatalogueEntry | None = None, cal: WorkingCalendar = CAL) -> dict[str, Any]:
    """The row with its derived columns and its procedure's paper_result, as the drill-down reads it."""
    return {**r, **derive(r, e, cal), "paper_result": None if e is None else e.paper_result}


def end_of(y: int, m: int, d: int) -> datetime:
    """The judging instant of a period ending on day d: 24:00 of d."""
    return L(y, m, d) + timedelta(days=1)


# --- end of processing and class -----------------------------------------------------------------


def test_withdrawn_within_and_past_the_deadline() -> None:
    due = L(2025, 3, 10, 17)  # Monday 10 March 17:00
    # Withdrawn Friday 7 March 10:00 <= due: its end counts, on time; no working days (not resolved).
    within = derived(row(status="withdrawn", due_at=due, resolved_at=L(2025, 3, 7, 10)))
    assert within == {
        "idx_end_at": L(2025, 3, 7, 10),
        "idx_end_date": D(2025, 3, 7),
        "idx_class": IndexClass.ON_TIME,
        "idx_deadline_at": due,
        "idx_late_at": None,
        "idx_late_date": None,
        "idx_work_days": None,
        "idx_catalogued": False,
        "idx_eligible": False,
        "idx_full_online": False,
        "idx_electronic": False,
        "idx_digitised": False,
    }
    # Withdrawn Tuesday 11 March 08:00 > due: late, by the working days after 10 March up to 11 March = 1.
    past = row(status="withdrawn", due_at=due, resolved_at=L(2025, 3, 11, 8))
    d = derived(past)
    assert (d["idx_class"], d["idx_end_date"]) == (IndexClass.LATE, D(2025, 3, 11))
    assert index_reason("2.1", full(past), end_of(2025, 3, 31), CAL) == "late by 1 working day"
    assert is_success("2.1", full(past), end_of(2025, 3, 31)) is False


def test_one_answered_request_moves_the_effective_end_back_inside_the_deadline() -> None:
    # Received Mon 3 Mar 09:00, due Fri 7 Mar 17:00; asked Tue 4 Mar 10:00, supplied Thu 6 Mar 10:00:
    # a pause of 48 h, so D* = Sun 9 Mar 17:00. Resolved Sat 8 Mar 16:00 (after due_at, but 8 Mar 16:00
    # − 48 h = Thu 6 Mar 16:00 <= due_at): on time.
    pauses = sup((L(2025, 3, 4, 10), L(2025, 3, 6, 10)))
    r = row(status="resolved", due_at=L(2025, 3, 7, 17), resolved_at=L(2025, 3, 8, 16), supplements=pauses)
    d = derived(r)
    assert d["idx_class"] == IndexClass.ON_TIME
    assert d["idx_deadline_at"] == L(2025, 3, 9, 17)
    assert d["idx_end_at"] == L(2025, 3, 8, 16)
    assert d["idx_late_at"] is None
    # 2.2: working days after Mon 3 Mar up to Sat 8 Mar = Tue–Fri = 4; the pause covers the dates
    # [4 Mar, 6 Mar) = Tue 4, Wed 5 = 2 working days; 4 − 2 = 2.
    assert d["idx_work_days"] == 2
    # Exactly at D* is on time; a second later is late.
    assert derived({**r, "resolved_at": L(2025, 3, 9, 17)})["idx_class"] == IndexClass.ON_TIME
    late = {**r, "resolved_at": L(2025, 3, 9, 17) + timedelta(seconds=1)}
    assert derived(late)["idx_class"] == IndexClass.LATE
    # Deadline day Sun 9 Mar, ended Sun 9 Mar: no working day between.
    assert index_reason("2.1", full(late), end_of(2025, 3, 31), CAL) == "late by less than 1 working day"


def test_one_unanswered_request_ends_the_dossier_at_its_time() -> None:
    due = L(2025, 3, 7, 17)
    asked = sup((L(2025, 3, 5, 14), None))  # Wed 5 Mar 14:00, unanswered
    for status in ("supplement_requested", "processing"):
        d = derived(row(status=status, due_at=due, supplements=asked))
        assert (d["idx_end_at"], d["idx_end_date"], d["idx_class"]) == (
            L(2025, 3, 5, 14),
            D(2025, 3, 5),
            IndexClass.ON_TIME,
        )
        assert (d["idx_late_at"], d["idx_late_date"], d["idx_work_days"]) == (None, None, None)
    # Asked Mon 10 Mar 09:00, after the deadline: ended late, by 1 working day (Mon 10 after Fri 7).
    r = row(status="supplement_requested", due_at=due, supplements=sup((L(2025, 3, 10, 9), None)))
    d = derived(r)
    assert (d["idx_end_at"], d["idx_class"]) == (L(2025, 3, 10, 9), IndexClass.LATE)
    assert index_reason("2.1", full(r), end_of(2025, 3, 31), CAL) == "late by 1 working day"


def test_a_supplement_requested_record_without_history_is_judged_open() -> None:
    d = derived(row(status="supplement_requested", due_at=L(2025, 3, 7, 17)))
    assert (d["idx_end_at"], d["idx_class"], d["idx_late_at"], d["idx_late_date"]) == (
        None,
        IndexClass.OPEN,
        L(2025, 3, 7, 17),
        D(2025, 3, 7),
    )


def test_two_requests_on_an_unfinished_dossier() -> None:
    # Due Fri 14 Mar 17:00; asked Tue 4 Mar 10:00, supplied Wed 5 Mar 10:00 (24 h); asked again
    # Thu 6 Mar 15:00, unanswered. D* = 14 Mar 17:00 + 24 h = Sat 15 Mar 17:00; late from the second
    # request: idx_late_at = min(15 Mar 17:00, 6 Mar 15:00) = 6 Mar 15:00.
    pauses = sup((L(2025, 3, 4, 10), L(2025, 3, 5, 10)), (L(2025, 3, 6, 15), None))
    r = row(status="supplement_requested", due_at=L(2025, 3, 14, 17), supplements=pauses)
    d = derived(r)
    assert (d["idx_end_at"], d["idx_end_date"], d["idx_class"]) == (None, None, IndexClass.OPEN)
    assert d["idx_deadline_at"] == L(2025, 3, 15, 17)
    assert (d["idx_late_at"], d["idx_late_date"]) == (L(2025, 3, 6, 15), D(2025, 3, 6))
    assert d["idx_work_days"] is None
    f = full(r)
    # Judged at the end of 5 March: before the second request, on time.
    assert is_success("2.1", f, end_of(2025, 3, 5)) is True
    assert index_reason("2.1", f, end_of(2025, 3, 5), CAL) is None
    # Judged at the end of 6 March: late for the second request.
    assert is_success("2.1", f, end_of(2025, 3, 6)) is False
    assert index_reason("2.1", f, end_of(2025, 3, 6), CAL) == "second supplement request"
    # Judged at the end of 31 March: also past D* (its day Sat 15 Mar); working days after it up to
    # Mon 31 Mar: 17–21, 24–28, 31 = 11.
    assert (
        index_reason("2.1", f, end_of(2025, 3, 31), CAL)
        == "late by 11 working days; second supplement request"
    )
    # Without due_at nor catalogue: no deadline, still late from the second request.
    nd = derived({**r, "due_at": None})
    assert (nd["idx_class"], nd["idx_deadline_at"], nd["idx_late_at"]) == (
        IndexClass.OPEN,
        None,
        L(2025, 3, 6, 15),
    )


def test_a_finished_dossier_with_two_answered_requests() -> None:
    # Due Fri 7 Mar 17:00; pauses Tue 4 Mar 09:00 → 15:00 (6 h) and Wed 5 Mar 09:00 → Thu 6 Mar 09:00
    # (24 h): D* = 7 Mar 17:00 + 30 h = Sat 8 Mar 23:00. Resolved Sat 8 Mar 20:00: on time, and never
    # late for having two requests.
    pauses = sup((L(2025, 3, 4, 9), L(2025, 3, 4, 15)), (L(2025, 3, 5, 9), L(2025, 3, 6, 9)))
    r = row(status="resolved", due_at=L(2025, 3, 7, 17), resolved_at=L(2025, 3, 8, 20), supplements=pauses)
    d = derived(r)
    assert (d["idx_class"], d["idx_deadline_at"], d["idx_late_at"]) == (
        IndexClass.ON_TIME,
        L(2025, 3, 8, 23),
        None,
    )
    # 2.2: working days after 3 Mar up to 8 Mar = 4; the first pause covers [4 Mar, 4 Mar) = none,
    # the second [5 Mar, 6 Mar) = Wed 5 = 1; 4 − 1 = 3.
    assert d["idx_work_days"] == 3
    assert is_success("2.1", full(r), end_of(2025, 3, 31)) is True
    assert is_success("5.4", full(r), end_of(2025, 3, 31)) is True


# --- catalogue deadlines -------------------------------------------------------------------------


def test_working_days_across_tet_2025_and_a_configured_day_off() -> None:
    five = entry(max_duration_value=5, max_duration_unit="working_days")
    # Received Wed 22 Jan 2025 10:00 (the day of receipt does not count). Working days after it:
    # Thu 23 (1), Fri 24 (2); Sat 25, Sun 26, Tết Mon 27 – Fri 31, Sat 1 and Sun 2 Feb off;
    # Mon 3 Feb (3), Tue 4 (4), Wed 5 (5): the deadline is 24:00 of Wed 5 Feb.
    r = row(status="resolved", received_at=L(2025, 1, 22, 10), resolved_at=L(2025, 2, 6, 16))
    d = derived(r, five)
    assert d["idx_deadline_at"] == L(2025, 2, 6)
    assert d["idx_class"] == IndexClass.LATE  # resolved Thu 6 Feb 16:00
    assert index_reason("2.1", full(r, five), end_of(2025, 2, 28), CAL) == "late by 1 working day"
    # 2.2: working days after 22 Jan up to 6 Feb: 23, 24, 3, 4, 5, 6 Feb = 6.
    assert d["idx_work_days"] == 6
    # The province gives Tue 4 Feb off: the 5th working day is Thu 6 Feb; resolved that day, on time.
    off = WorkingCalendar({D(2025, 2, 4): False})
    d_off = derived(r, five, off)
    assert d_off["idx_deadline_at"] == L(2025, 2, 7)
    assert d_off["idx_class"] == IndexClass.ON_TIME
    assert d_off["idx_work_days"] == 5  # 23, 24, 3, 5, 6 Feb


def test_a_pause_moves_a_catalogue_deadline_by_the_working_days_it_covers() -> None:
    ten = entry(max_duration_value=10, max_duration_unit="working_days")
    # Received Mon 3 Mar 09:00: working days 4–7 (4), 10–14 (9), Mon 17 (10): 24:00 of Mon 17 Mar.
    assert derived(row(), ten)["idx_deadline_at"] == L(2025, 3, 18)
    # Asked Wed 5 Mar 15:00, supplied Mon 10 Mar 08:00: the dates [5 Mar, 10 Mar) hold Wed 5, Thu 6,
    # Fri 7 (Sat 8, Sun 9 are off) = 3 working days; 17 Mar + 3 working days = Thu 20 Mar, 24:00.
    pauses = sup((L(2025, 3, 5, 15), L(2025, 3, 10, 8)))
    r = row(status="resolved", resolved_at=L(2025, 3, 20, 17), supplements=pauses)
    d = derived(r, ten)
    assert d["idx_deadline_at"] == L(2025, 3, 21)
    assert d["idx_class"] == IndexClass.ON_TIME
    # 2.2: working days after 3 Mar up to 20 Mar = 4 + 5 + 4 = 13, less the pause's 3 = 10.
    assert d["idx_work_days"] == 10
    # An open dossier with the same pause is late after 24:00 of 20 Mar.
    o = derived({**r, "status": "processing", "resolved_at": None}, ten)
    assert (o["idx_class"], o["idx_late_at"], o["idx_late_date"]) == (
        IndexClass.OPEN,
        L(2025, 3, 21),
        D(2025, 3, 21),
    )
    f = full({**r, "status": "processing", "resolved_at": None}, ten)
    assert is_success("2.1", f, end_of(2025, 3, 20)) is True  # J = the deadline itself: not after it
    assert is_success("2.1", f, end_of(2025, 3, 21)) is False
    # Deadline day Thu 20 Mar; judged at the end of Mon 24 Mar: Fri 21, Mon 24 = 2.
    assert index_reason("2.1", f, end_of(2025, 3, 24), CAL) == "late by 2 working days"


def test_an_hours_deadline_moves_keeping_its_time_of_day() -> None:
    # Received Mon 3 Mar 09:00 + 48 h = Wed 5 Mar 09:00.
    h48 = entry(max_duration_value=48, max_duration_unit="hours")
    assert derived(row(), h48)["idx_deadline_at"] == L(2025, 3, 5, 9)
    # A pause asked Tue 4 Mar 10:00, supplied Wed 5 Mar 08:00 covers [4 Mar, 5 Mar) = Tue 4 = 1 working
    # day: the deadline moves to Thu 6 Mar 09:00.
    r = row(supplements=sup((L(2025, 3, 4, 10), L(2025, 3, 5, 8))))
    assert derived(r, h48)["idx_deadline_at"] == L(2025, 3, 6, 9)
    # Received Thu 6 Mar 14:00 + 24 h = Fri 7 Mar 14:00; a pause over Thu 6 moves it past the weekend
    # to Mon 10 Mar 14:00.
    h24 = entry(max_duration_value=24, max_duration_unit="hours")
    r = row(received_at=L(2025, 3, 6, 14), supplements=sup((L(2025, 3, 6, 15), L(2025, 3, 7, 9))))
    assert derived(r, h24)["idx_deadline_at"] == L(2025, 3, 10, 14)


def test_hours_days_and_months_durations() -> None:
    # 36 hours from Mon 3 Mar 09:00: Tue 4 Mar 21:00.
    assert derived(row(), entry(max_duration_value=36, max_duration_unit="hours"))["idx_deadline_at"] == L(
        2025, 3, 4, 21
    )
    # 7 calendar days after Mon 3 Mar: Mon 10 Mar, 24:00.
    assert derived(row(), entry(max_duration_value=7, max_duration_unit="days"))["idx_deadline_at"] == L(
        2025, 3, 11
    )
    one_month = entry(max_duration_value=1, max_duration_unit="months")
    # 31 Jan 2025 + 1 month = 28 Feb (clamped), 24:00 = 1 Mar 00:00.
    assert derived(row(received_at=L(2025, 1, 31, 10)), one_month)["idx_deadline_at"] == L(2025, 3, 1)
    # 2024 is a leap year: 31 Jan 2024 + 1 month = 29 Feb 2024.
    assert derived(row(received_at=L(2024, 1, 31, 10)), one_month)["idx_deadline_at"] == L(2024, 3, 1)
    assert add_months(D(2025, 11, 30), 3) == D(2026, 2, 28)
    assert add_months(D(2025, 3, 15), 12) == D(2026, 3, 15)
    # Received 23:30 local on 31 Jan is still 31 Jan locally (16:30 UTC).
    late_evening = row(received_at=L(2025, 1, 31, 23, 30))
    assert derived(late_evening, one_month)["idx_deadline_at"] == L(2025, 3, 1)


def test_without_due_at_nor_duration_the_dossier_is_unjudged() -> None:
    for e in (None, entry(), entry(max_duration_value=None, max_duration_unit=None)):
        ended = derived(row(status="resolved", resolved_at=L(2025, 3, 5, 10)), e)
        assert (ended["idx_class"], ended["idx_end_at"], ended["idx_deadline_at"]) == (
            IndexClass.UNJUDGED,
            L(2025, 3, 5, 10),
            None,
        )
        opened = derived(row(), e)
        assert (
            opened["idx_class"],
            opened["idx_end_at"],
            opened["idx_late_at"],
            opened["idx_late_date"],
        ) == (
            IndexClass.UNJUDGED,
            None,
            None,
            None,
        )
    f = full(row())
    assert is_success("2.1", f, end_of(2025, 12, 31)) is None
    assert index_reason("2.1", f, end_of(2025, 12, 31), CAL) == "no deadline (unjudged)"
    # An unjudged dossier is not late, so it is satisfied for 5.4.
    assert is_success("5.4", f, end_of(2025, 12, 31)) is True


def test_due_at_wins_over_the_catalogue() -> None:
    r = row(due_at=L(2025, 3, 4, 17))
    assert derived(r, entry(max_duration_value=10, max_duration_unit="working_days"))["idx_deadline_at"] == L(
        2025, 3, 4, 17
    )


def test_the_late_date_is_never_before_receipt() -> None:
    # A deadline at 24:00 of Mon 17 Mar: late_date 18 Mar, the first day at whose end it is late.
    d = derived(row(due_at=L(2025, 3, 18)))
    assert (d["idx_late_at"], d["idx_late_date"]) == (L(2025, 3, 18), D(2025, 3, 18))
    # A due_at before the receipt (not accepted at ingest, but derive does not rely on it): late from
    # the receipt's day, not before.
    d = derived(row(due_at=L(2025, 3, 2, 17)))
    assert (d["idx_late_at"], d["idx_late_date"]) == (L(2025, 3, 2, 17), D(2025, 3, 3))


def test_work_days_only_for_resolved_and_returned() -> None:
    # Received Mon 3 Mar, resolved Fri 7 Mar: Tue–Fri = 4; returned Mon 10 Mar keeps the end (7 Mar).
    assert derived(row(status="resolved", resolved_at=L(2025, 3, 7, 10)))["idx_work_days"] == 4
    returned = derived(row(status="returned", resolved_at=L(2025, 3, 7, 10), returned_at=L(2025, 3, 10, 8)))
    assert (returned["idx_work_days"], returned["idx_end_at"]) == (4, L(2025, 3, 7, 10))
    for status in ("rejected", "withdrawn"):
        assert derived(row(status=status, resolved_at=L(2025, 3, 7, 10)))["idx_work_days"] is None
    # Resolved the day of receipt: 0.
    assert derived(row(status="resolved", resolved_at=L(2025, 3, 3, 16)))["idx_work_days"] == 0
    # A pause covering as many working days as the processing gives 0, never a negative count: asked
    # Mon 3 Mar 10:00 (the day of receipt), supplied Tue 11 Mar 09:00, resolved Tue 11 Mar 10:00.
    # Working days after 3 Mar up to 11 Mar = 4 + 2 = 6; the pause covers [3 Mar, 11 Mar) = Mon 3 – Fri 7
    # and Mon 10 = 6; 6 − 6 = 0 (the receipt day counts in the pause, not in the processing).
    paused = sup((L(2025, 3, 3, 10), L(2025, 3, 11, 9)))
    r = row(status="resolved", resolved_at=L(2025, 3, 11, 10), supplements=paused)
    assert derived(r)["idx_work_days"] == 0


# --- catalogue flags -----------------------------------------------------------------------------


def test_uncatalogued_flags_are_false() -> None:
    r = row(channel="online", online_level="full", digitised_intake=True, digitised_result=True)
    d = derived(r, None)
    assert [
        d[k] for k in ("idx_catalogued", "idx_eligible", "idx_full_online", "idx_electronic", "idx_digitised")
    ] == [False] * 5
    f = full(r)
    for code in ("3.0", "4.1", "4.2"):
        assert is_success(code, f, end_of(2025, 3, 31)) is None
        assert index_reason(code, f, end_of(2025, 3, 31), CAL) == "uncatalogued procedure"


@pytest.mark.parametrize(
    ("eligible", "offered", "channel", "level", "expected"),
    [
        (True, False, "in_person", "full", True),  # the record's level decides
        (True, True, "online", "partial", False),  # a level other than full is not full-online
        (True, True, "online", None, True),  # no level: channel online and the catalogue's offer
        (True, False, "online", None, False),  # no level, not offered
        (True, True, "in_person", None, False),  # no level, not online
        (False, True, "online", "full", False),  # not eligible: outside 3.0
    ],
)
def test_full_online(eligible: bool, offered: bool, channel: str, level: str | None, expected: bool) -> None:
    e = entry(full_online_eligible=eligible, full_online_offered=offered)
    d = derived(row(channel=channel, online_level=level), e)
    assert (d["idx_catalogued"], d["idx_eligible"], d["idx_full_online"]) == (True, eligible, expected)


@pytest.mark.parametrize(
    ("paper", "intake", "result", "electronic", "digitised"),
    [
        (True, True, True, True, True),
        (True, True, False, False, False),  # paper result required and none electronic
        (True, False, True, True, False),
        (False, True, False, False, True),  # no paper result: intake alone digitises
        (False, True, True, False, True),  # an electronic result of a procedure without paper result
        (False, False, False, False, False),
    ],
)
def test_electronic_and_digitised(
    paper: bool, intake: bool, result: bool, electronic: bool, digitised: bool
) -> None:
    d = derived(row(digitised_intake=intake, digitised_result=result), entry(paper_result=paper))
    assert (d["idx_electronic"], d["idx_digitised"]) == (electronic, digitised)


# --- reasons -------------------------------------------------------------------------------------

J = end_of(2025, 3, 31)


def reason(code: str, r: dict[str, Any], e: CatalogueEntry | None = None) -> str | None:
    f = full(r, e)
    got = index_reason(code, f, J, CAL)
    assert (got is None) == (is_success(code, f, J) is True)
    return got


def test_reasons_of_each_indicator() -> None:
    e = entry(paper_result=True, full_online_eligible=True, full_online_offered=False)
    ok = row(
        status="resolved",
        due_at=L(2025, 3, 7, 17),
        resolved_at=L(2025, 3, 6, 10),
        channel="online",
        online_level="full",
        digitised_intake=True,
        digitised_result=True,
        reused_digital_data=True,
        from_personal_store=True,
        population_data=True,
    )
    for code in DOSSIER_INDICATORS:
        assert reason(code, ok, e) is None, code
    bad = {
        **ok,
        "resolved_at": L(2025, 3, 12, 10),  # Wed 12 Mar: after Fri 7 Mar, Mon 10, Tue 11, Wed 12 = 3
        "online_level": "partial",
        "digitised_intake": False,
        "digitised_result": False,
        "reused_digital_data": False,
        "from_personal_store": False,
        "population_data": False,
        "complaint": True,
    }
    assert {code: reason(code, bad, e) for code in DOSSIER_INDICATORS} == {
        "2.1": "late by 3 working days",
        "3.0": "not full-online",
        "4.1": "no electronic result, paper result required",
        "4.2": "not digitised at intake; no electronic result",
        "4.3": "no reuse of digitised data",
        "4.4": "not from the personal data store",
        "4.5a": "no population data",
        "5.4": "late by 3 working days; complaint",
    }
    # A procedure without paper result: 4.1 counts no electronic result for it.
    no_paper = entry(paper_result=False, full_online_eligible=False)
    assert reason("4.1", bad, no_paper) == "no electronic result"
    assert reason("4.1", {**bad, "digitised_result": True}, no_paper) == "procedure requires no paper result"
    assert reason("4.2", bad, no_paper) == "not digitised at intake"
    assert reason("3.0", bad, no_paper) == "procedure not eligible for full-online service"
    assert is_success("3.0", full(bad, no_paper), J) is None
    # Digitised at intake but no electronic result where a paper result is required.
    assert reason("4.2", {**bad, "digitised_intake": True}, e) == "no electronic result"
    # 5.4 with a complaint only, and late only.
    assert reason("5.4", {**ok, "complaint": True}, e) == "complaint"
    assert reason("5.4", {**bad, "complaint": False}, e) == "late by 3 working days"
    # An open dossier late at J: judged against J's day (31 Mar), after its deadline day Fri 7 Mar:
    # 10–14, 17–21, 24–28, 31 = 16.
    opened = {**ok, "status": "processing", "resolved_at": None}
    assert reason("2.1", opened, e) == "late by 16 working days"
    # Without the catalogue's paper_result in the row, the flags settle it where they can: digitised at
    # intake without an electronic result and not idx_digitised means a paper result is required.
    f = full({**bad, "digitised_intake": True}, e)
    del f["paper_result"]
    assert index_reason("4.1", f, J, CAL) == "no electronic result, paper result required"
    assert index_reason("4.2", f, J, CAL) == "no electronic result"
    # ... and where they cannot (nothing digitised), the plainer wording.
    f = full(bad, e)
    del f["paper_result"]
    assert index_reason("4.1", f, J, CAL) == "no electronic result"
    assert index_reason("4.2", f, J, CAL) == "not digitised at intake"
    with pytest.raises(ValueError, match=r"3\.6a"):
        is_success("3.6a", f, J)


# --- invariants ----------------------------------------------------------------------------------

STATUSES = ["processing", "supplement_requested", "resolved", "returned", "rejected", "withdrawn"]
T0 = L(2024, 12, 20)


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], CatalogueEntry | None, WorkingCalendar]:
    minutes = st.integers(0, 60 * 24 * 40)
    received = T0 + timedelta(minutes=draw(st.integers(0, 60 * 24 * 400)))
    status = draw(st.sampled_from(STATUSES))
    # Supplement requests: ordered, each after the previous answer, only the last unanswered.
    items: list[Supplement] = []
    t = received
    for i in range(draw(st.integers(0, 3))):
        asked = t + timedelta(minutes=draw(minutes))
        last = i == 2
        if last and draw(st.booleans()):
            items.append(Supplement(asked, None))
            t = asked
            break
        supplied = asked + timedelta(minutes=draw(minutes))
        items.append(Supplement(asked, supplied))
        t = supplied
    resolved = None
    if status not in ("processing", "supplement_requested"):
        resolved = t + timedelta(minutes=draw(minutes))
    due = received + timedelta(minutes=draw(minutes)) if draw(st.booleans()) else None
    r = row(
        status=status,
        received_at=received,
        due_at=due,
        resolved_at=resolved,
        returned_at=resolved + timedelta(hours=1) if resolved and status == "returned" else None,
        supplements=dump_supplements(items),
        channel=draw(st.sampled_from(["online", "in_person", "postal"])),
        online_level=draw(st.sampled_from([None, "full", "partial"])),
        digitised_intake=draw(st.booleans()),
        digitised_result=draw(st.booleans()),
    )
    e = None
    if draw(st.booleans()):
        unit = draw(st.sampled_from([None, "working_days", "days", "hours", "months"]))
        e = entry(
            max_duration_value=None if unit is None else draw(st.integers(0, 60)),
            max_duration_unit=unit,
            paper_result=draw(st.booleans()),
            full_online_eligible=draw(st.booleans()),
            full_online_offered=draw(st.booleans()),
        )
    offs = draw(st.lists(st.integers(0, 500), max_size=5))
    cal = WorkingCalendar({local_date(T0) + timedelta(days=k): draw(st.booleans()) for k in offs})
    return r, e, cal


@settings(max_examples=300, deadline=None)
@given(cases(), st.integers(0, 60 * 24 * 500))
def test_derive_invariants(
    case: tuple[dict[str, Any], CatalogueEntry | None, WorkingCalendar], j: int
) -> None:
    r, e, cal = case
    d = derive(r, e, cal)
    assert tuple(d) == DERIVED_KEYS
    end = d["idx_end_at"]
    if end is not None:
        assert d["idx_class"] in (IndexClass.ON_TIME, IndexClass.LATE, IndexClass.UNJUDGED)
        assert d["idx_end_date"] == local_date(end)
        assert (d["idx_late_at"], d["idx_late_date"]) == (None, None)
        assert (d["idx_class"] == IndexClass.UNJUDGED) == (d["idx_deadline_at"] is None)
    else:
        assert d["idx_class"] in (IndexClass.OPEN, IndexClass.UNJUDGED)
        assert d["idx_end_date"] is None
        assert (d["idx_class"] == IndexClass.OPEN) == (d["idx_late_at"] is not None)
        if d["idx_late_at"] is not None:
            assert d["idx_late_date"] >= local_date(r["received_at"])
    if r["status"] in ("resolved", "returned"):
        assert d["idx_work_days"] is not None and d["idx_work_days"] >= 0
    else:
        assert d["idx_work_days"] is None
    if r["due_at"] is not None and end is not None:
        paused = sum(
            (s.supplied_at - s.requested_at for s in load_supplements(r["supplements"]) if s.supplied_at),
            timedelta(0),
        )
        assert (d["idx_class"] == IndexClass.ON_TIME) == (end - paused <= r["due_at"])
    # The deadline, when there is one, is not before the legal start (receipt) for catalogue ones.
    if r["due_at"] is None and d["idx_deadline_at"] is not None:
        assert d["idx_deadline_at"] >= r["received_at"]
    # Every indicator answers, and a reason is given exactly when the dossier is not a success.
    f = {**r, **d}
    judged = r["received_at"] + timedelta(minutes=j)
    for code in DOSSIER_INDICATORS:
        ok = is_success(code, f, judged)
        why = index_reason(code, f, judged, cal)
        assert (why is None) == (ok is True), (code, ok, why)
        assert why != ""
