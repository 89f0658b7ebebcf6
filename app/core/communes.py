"""The wards (xã, phường) of the configured province, from the official 2025 list in `vietnam-provinces`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import vietnam_provinces as vp


@dataclass(frozen=True, slots=True)
class Commune:
    code: str
    name: str
    division_type: str  # "xã", "phường" or "đặc khu"
    codename: str


@lru_cache
def province_name(province_code: int) -> str:
    return str(vp.Province.from_code(vp.ProvinceCode(province_code)).name)


@lru_cache
def communes_of(province_code: int) -> dict[str, Commune]:
    """Ward code (5 digits, as a string) → ward, in the official order by code."""
    wards = sorted(vp.Ward.iter_by_province(vp.ProvinceCode(province_code)), key=lambda w: int(w.code))
    return {
        f"{int(w.code):05d}": Commune(
            code=f"{int(w.code):05d}",
            name=str(w.name),
            division_type=str(w.division_type.value),
            codename=str(w.codename),
        )
        for w in wards
    }
