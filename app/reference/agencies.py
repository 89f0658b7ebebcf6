"""The agency registry: seeded from a data file, editable by admins."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.communes import Commune, communes_of
from app.core.timeutil import utcnow
from app.models import Agency

DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True, slots=True)
class AgencySeed:
    code: str
    name: str
    level: str
    commune_code: str | None


def commune_committee_code(commune: Commune) -> str:
    """Placeholder code of a commune People's Committee, derived from the official ward code."""
    return f"UBND-{commune.code}"


def seed_agencies(province_code: int, seed_file: str | None = None) -> list[AgencySeed]:
    """The province's departments (from the data file, when there is one) and one committee per ward."""
    path = Path(seed_file) if seed_file else DATA_DIR / f"agencies-{province_code}.json"
    out: list[AgencySeed] = []
    if path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
        out += [AgencySeed(d["code"], d["name"], "province", None) for d in data.get("departments", [])]
    for commune in communes_of(province_code).values():
        out.append(
            AgencySeed(commune_committee_code(commune), f"UBND {commune.name}", "commune", commune.code)
        )
    return out


def load_seed(session: Session, province_code: int, seed_file: str | None = None) -> int:
    """Insert seed agencies that are not registered yet (never overwrite an admin's edit)."""
    existing = set(session.scalars(select(Agency.code)))
    now = utcnow()
    added = 0
    for seed in seed_agencies(province_code, seed_file):
        if seed.code in existing:
            continue
        session.add(
            Agency(
                code=seed.code,
                name=seed.name,
                level=seed.level,
                commune_code=seed.commune_code,
                updated_at=now,
            )
        )
        added += 1
    return added
