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


def department_code(number: str, unit_suffix: str) -> str:
    """A department's unit code in the national shape, `000.00.NN.<suffix>` (e.g. 000.00.07.H41)."""
    return f"000.00.{number}.{unit_suffix}"


def seed_agencies(
    province_code: int, seed_file: str | None = None, unit_suffix: str | None = None
) -> list[AgencySeed]:
    """The province's departments (from the data file, when there is one) and one committee per ward.

    A department is given either its whole `code` or a `number`, which makes the code
    `000.00.<number>.<suffix>` with the file's `unit_suffix` (Nghệ An: H41), or `unit_suffix` when set
    (TTHC_UNIT_SUFFIX).
    """
    path = Path(seed_file) if seed_file else DATA_DIR / f"agencies-{province_code}.json"
    out: list[AgencySeed] = []
    if path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
        suffix = unit_suffix or data.get("unit_suffix")
        for d in data.get("departments", []):
            if "code" in d:
                code = d["code"]
            elif suffix:
                code = department_code(d["number"], suffix)
            else:
                raise ValueError(f"{path}: department {d['name']!r} has a number but no unit_suffix is set")
            out.append(AgencySeed(code, d["name"], "province", None))
    for commune in communes_of(province_code).values():
        out.append(
            AgencySeed(commune_committee_code(commune), f"UBND {commune.name}", "commune", commune.code)
        )
    return out


def load_seed(
    session: Session, province_code: int, seed_file: str | None = None, unit_suffix: str | None = None
) -> int:
    """Fill an empty registry from the seed; a registry that has any agency is left as it is.

    So a database made with other codes (an earlier seed's, or the province's real ones entered by an
    admin) keeps them and gains no second set.
    """
    if session.scalar(select(Agency.code).limit(1)) is not None:
        return 0
    now = utcnow()
    added = 0
    for seed in seed_agencies(province_code, seed_file, unit_suffix):
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
