"""What every read of figures starts with: the data version, the unit names, the checked filters and
range. Shared by the metric, report and scorecard endpoints."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from app.core.communes import communes_of
from app.core.errors import ValidationFailed
from app.models import Agency
from app.store import repository

MAX_DAY_BUCKETS = 3700
MAX_VALUES = 500


READ_503 = (
    "The read passed its deadline (TTHC_READ_TIMEOUT, default 30 s) and was stopped; `Retry-After` says "
    "when to try again."
)
FILTERS_422 = (
    "A parameter is unknown or malformed, or an `agency` or `commune` value is not a registered agency "
    "or a ward of the configured province"
)


def _bad(field: str, msg: str, kind: str = "value_error") -> ValidationFailed:
    return ValidationFailed(f"{field}: {msg}", errors=[{"loc": ["query", field], "msg": msg, "type": kind}])


class NamesMemo:
    """Agency and ward names of one data version, shared by a process's requests.

    Replaced in one assignment, never changed in place: a reader takes `current` once and has a
    consistent (version, names) pair whatever other threads do meanwhile.
    """

    def __init__(self) -> None:
        self.current: tuple[int, dict[str, dict[str, str]]] | None = None


def unit_names(
    conn: Connection, province_code: int, version: int | None = None, memo: NamesMemo | None = None
) -> dict[str, dict[str, str]]:
    """Agency and ward names by code, and agencies' levels (`agency_level`: province or commune); with a
    memo, read once per data version (a rename or a change of level moves it)."""
    current = memo.current if memo is not None else None
    if current is not None and current[0] == version:
        return current[1]
    agencies, levels = {}, {}
    for code, name, level in conn.execute(select(Agency.code, Agency.name, Agency.level)):
        agencies[code], levels[code] = name, level
    communes = {c.code: c.name for c in communes_of(province_code).values()}
    names = {"agency": agencies, "commune": communes, "agency_level": levels}
    if memo is not None and version is not None:
        memo.current = (version, names)
    return names


def check_filters(
    names: dict[str, dict[str, str]], raw: Mapping[str, Sequence[str] | None]
) -> dict[str, list[str]]:
    """Filters with values that exist: an unknown agency or ward is a 422 (the parameters' schemas
    already refused malformed values, and channels outside the enum)."""
    out: dict[str, list[str]] = {}
    for dim, values in raw.items():
        if not values:
            continue
        if len(values) > MAX_VALUES:
            raise _bad(dim, f"at most {MAX_VALUES} values")
        for v in values:
            if dim == "agency" and v not in names["agency"]:
                raise _bad(dim, "not a registered agency", "unknown_agency")
            if dim == "commune" and v not in names["commune"]:
                raise _bad(dim, "not a ward of the configured province", "unknown_commune")
        out[dim] = sorted(set(values))
    return out


def read_context(
    conn: Connection, province_code: int, memo: NamesMemo, raw_filters: dict[str, Any]
) -> tuple[int, dict[str, dict[str, str]], dict[str, list[str]]]:
    """The data version, the unit names (read once per version) and the checked filters of a read."""
    version, _ = repository.data_state(conn)
    names = unit_names(conn, province_code, version, memo)
    return version, names, check_filters(names, raw_filters)


def check_range(start: date, end: date, group_by: list[str]) -> None:
    if end < start:
        raise _bad("to", "must not be before from")
    if (end - start).days > 366 * 30:
        raise _bad("to", "the range covers at most 30 years")
    if "day" in group_by and (end - start).days + 1 > MAX_DAY_BUCKETS:
        raise _bad("group_by", f"group_by=day covers at most {MAX_DAY_BUCKETS} days")
    if len(set(group_by)) != len(group_by):
        raise _bad("group_by", "each group key at most once")


class BoundMemo:
    """Key bounds read from rollup_keys, for one keys version; a new version starts a new table."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.current: tuple[int, dict[tuple[Any, ...], int]] = (-1, {})

    def get(self, version: int, key: tuple[Any, ...]) -> int | None:
        current = self.current
        return current[1].get(key) if current[0] == version else None

    def put(self, version: int, key: tuple[Any, ...], value: int) -> None:
        current = self.current
        if current[0] != version or len(current[1]) >= self.size:
            current = (version, {})
            self.current = current
        current[1][key] = value
