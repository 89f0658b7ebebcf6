"""The working-day calendar (app/core/calendar.py), against days checked by hand on the 2024–2026
calendars and the government's announcements of the holidays."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.core.calendar import (
    WorkingCalendar,
    holidays_of,
    is_national_working_day,
    national_make_up_days,
)

D = date


def test_the_public_holidays_of_2025_with_their_names() -> None:
    assert [(h.day, h.name) for h in holidays_of(2025)] == [
        (D(2025, 1, 1), "Tết Dương lịch"),
        (D(2025, 1, 27), "29 Tết"),
        (D(2025, 1, 28), "Giao thừa Tết Nguyên Đán"),
        (D(2025, 1, 29), "Tết Nguyên Đán"),
        (D(2025, 1, 30), "Mùng hai Tết Nguyên Đán"),
        (D(2025, 1, 31), "Mùng ba Tết Nguyên Đán"),
        (D(2025, 2, 1), "Mùng bốn Tết Nguyên Đán"),
        (D(2025, 4, 7), "Ngày Giỗ Tổ Hùng Vương"),
        (D(2025, 4, 30), "Ngày Chiến thắng"),
        (D(2025, 5, 1), "Ngày Quốc tế Lao động"),
        (D(2025, 5, 2), "Ngày nghỉ (thay cho ngày 26/04/2025)"),
        (D(2025, 9, 1), "Quốc khánh"),
        (D(2025, 9, 2), "Quốc khánh"),
    ]
    # Saturday 26 April 2025 was worked so that Friday 2 May was a day off.
    assert national_make_up_days(2025) == (D(2025, 4, 26),)


def test_2025_day_by_day() -> None:
    cal = WorkingCalendar()
    # Tết: Monday 27 January to Friday 31 January off; Monday 3 February back at work.
    assert [cal.is_working_day(D(2025, 1, d)) for d in range(24, 32)] == [
        True,  # Fri 24
        False,  # Sat 25
        False,  # Sun 26
        False,
        False,
        False,
        False,
        False,  # Mon 27 – Fri 31
    ]
    assert cal.is_working_day(D(2025, 2, 3))
    assert not cal.is_working_day(D(2025, 4, 7))  # Giỗ Tổ Hùng Vương (10/3 lunar), a Monday
    assert cal.is_working_day(D(2025, 4, 26))  # the make-up Saturday
    assert not cal.is_working_day(D(2025, 4, 27))  # its Sunday stays off
    for d in (D(2025, 4, 30), D(2025, 5, 1), D(2025, 5, 2), D(2025, 9, 1), D(2025, 9, 2)):
        assert not cal.is_working_day(d), d
    assert cal.is_working_day(D(2025, 9, 3))
    assert cal.is_working_day(D(2025, 12, 31))


def test_2025_working_days_per_month_and_year() -> None:
    cal = WorkingCalendar()
    months = [
        cal.working_days_in(D(2025, m, 1), D(2025 + (m == 12), m % 12 + 1, 1) - timedelta(days=1))
        for m in range(1, 13)
    ]
    # January: 23 weekdays less 1 January and 27–31 January; April: 22 less 7 and 30 April, plus the
    # make-up Saturday; May: 22 less 1 and 2 May; September: 22 less 1 and 2 September.
    assert months == [17, 20, 21, 21, 20, 21, 23, 21, 20, 23, 20, 23]
    # 261 weekdays, 12 of them holidays, one make-up Saturday.
    assert cal.working_days_in_year(2025) == sum(months) == 250


def test_other_years_holidays_and_bridges() -> None:
    # 2024: Tết 8–14 February; Monday 29 April off for Saturday 4 May; National Day 2 and 3 September.
    off_2024 = {h.day for h in holidays_of(2024)}
    assert {D(2024, 2, d) for d in range(8, 15)} <= off_2024
    assert {D(2024, 4, 18), D(2024, 4, 29), D(2024, 4, 30), D(2024, 5, 1), D(2024, 9, 2), D(2024, 9, 3)} <= (
        off_2024
    )
    assert national_make_up_days(2024) == (D(2024, 5, 4),)
    assert is_national_working_day(D(2024, 5, 4)) and not is_national_working_day(D(2024, 4, 29))
    # 2026: Giỗ Tổ falls on Sunday 26 April, so Monday 27 April is off instead.
    assert not is_national_working_day(D(2026, 4, 27))
    assert is_national_working_day(D(2026, 4, 28))


def test_add_working_days_across_a_holiday() -> None:
    cal = WorkingCalendar()
    # From Tuesday 29 April 2025: 30/4, 1/5, 2/5 off, then the weekend; the first working day is 5 May.
    assert cal.add_working_days(D(2025, 4, 29), 1) == D(2025, 5, 5)
    assert cal.add_working_days(D(2025, 4, 29), 3) == D(2025, 5, 7)
    # From Friday 24 January 2025, 5 working days: 3, 4, 5, 6, 7 February.
    assert cal.add_working_days(D(2025, 1, 24), 5) == D(2025, 2, 7)
    # The make-up Saturday counts: from Friday 25 April, the first is Saturday 26 April.
    assert cal.add_working_days(D(2025, 4, 25), 1) == D(2025, 4, 26)
    assert cal.add_working_days(D(2025, 4, 25), 2) == D(2025, 4, 28)
    # From a day off, counting starts with the next working day.
    assert cal.add_working_days(D(2025, 5, 3), 1) == D(2025, 5, 5)
    assert cal.add_working_days(D(2025, 5, 3), 0) == D(2025, 5, 3)
    # Across the new year: 31 December 2025 (Wednesday) + 1 skips 1 January 2026 (a holiday).
    assert cal.add_working_days(D(2025, 12, 31), 1) == D(2026, 1, 2)
    # A whole year ahead: 250 working days in 2025 after 31 December 2024.
    assert cal.add_working_days(D(2024, 12, 31), 250) == D(2025, 12, 31)
    with pytest.raises(ValueError):
        cal.add_working_days(D(2025, 1, 1), -1)


def test_working_days_between_inverts_add_working_days() -> None:
    cal = WorkingCalendar()
    assert cal.working_days_between(D(2025, 4, 29), D(2025, 5, 5)) == 1
    assert cal.working_days_between(D(2025, 5, 5), D(2025, 4, 29)) == -1
    assert cal.working_days_between(D(2025, 5, 5), D(2025, 5, 5)) == 0
    assert cal.working_days_between(D(2024, 12, 31), D(2025, 12, 31)) == 250
    assert cal.working_days_between(D(2024, 12, 31), D(2026, 12, 31)) == 250 + cal.working_days_in_year(2026)
    start = D(2024, 11, 20)
    for n in range(0, 400, 7):
        end = cal.add_working_days(start, n)
        assert cal.working_days_between(start, end) == n
        assert n == 0 or cal.is_working_day(end)


def test_the_provinces_exceptions() -> None:
    # A provincial day off on Wednesday 3 September 2025; a make-up Saturday 6 September.
    cal = WorkingCalendar({D(2025, 9, 3): False, D(2025, 9, 6): True})
    assert not cal.is_working_day(D(2025, 9, 3))
    assert cal.is_working_day(D(2025, 9, 6))
    assert cal.working_days_in_year(2025) == 250
    assert cal.add_working_days(D(2025, 8, 29), 1) == D(2025, 9, 4)  # 1, 2, 3 September off
    assert cal.add_working_days(D(2025, 9, 5), 1) == D(2025, 9, 6)
    assert cal.working_days_in(D(2025, 9, 1), D(2025, 9, 30)) == 20
    # Only the year of an exception changes; the national calendar is unchanged.
    assert WorkingCalendar().is_working_day(D(2025, 9, 3))
    assert cal.working_days_in_year(2024) == WorkingCalendar().working_days_in_year(2024)
