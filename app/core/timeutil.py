"""Vietnam local time. Asia/Ho_Chi_Minh has been a fixed UTC+7 since 1975, so a fixed offset is exact."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

VN_OFFSET = timedelta(hours=7)
VN_TZ = timezone(VN_OFFSET, "+07:00")


def to_utc(value: datetime) -> datetime:
    """An aware UTC datetime; a naive value is Vietnam local time (contract §1)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=VN_TZ)
    return value.astimezone(UTC)


def local_date(value: datetime) -> date:
    """The Vietnam calendar date of an instant."""
    if value.tzinfo is UTC:  # the stored and validated instants: no conversion needed
        return (value + VN_OFFSET).date()
    return to_utc(value).astimezone(VN_TZ).date()


def start_of_day(day: date) -> datetime:
    """The instant a local day starts, in UTC."""
    return datetime.combine(day, time(0), VN_TZ).astimezone(UTC)


def end_of_day(day: date) -> datetime:
    """ "End of day D" is the instant D+1 00:00 local time (contract §1)."""
    return start_of_day(day + timedelta(days=1))


def to_local(value: datetime) -> datetime:
    """An instant expressed with the +07:00 offset, for responses."""
    return to_utc(value).astimezone(VN_TZ)


def utcnow() -> datetime:
    return datetime.now(UTC)
