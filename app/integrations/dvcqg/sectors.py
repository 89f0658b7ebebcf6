"""The MaLinhVuc → sector slug mapping: seeded from a data file, editable by admins."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from app.core.timeutil import utcnow
from app.core.vocabulary import CODE_PATTERN, SECTOR_PATTERN
from app.models import SectorMapping

SEED_FILE = Path(__file__).parent / "sectors.json"
SECTOR_CODE_PATTERN = CODE_PATTERN
SLUG_PATTERN = SECTOR_PATTERN


@dataclass(frozen=True, slots=True)
class SectorSeed:
    code: str
    slug: str
    name: str | None


def seed_sectors(seed_file: str | None = None) -> list[SectorSeed]:
    """The mappings of the seed file (the shipped one unless another is named); refuses a bad entry."""
    path = Path(seed_file) if seed_file else SEED_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    out: list[SectorSeed] = []
    for i, entry in enumerate(data.get("sectors", [])):
        code, slug, name = entry.get("code"), entry.get("slug"), entry.get("name")
        if not isinstance(code, str) or not re.match(SECTOR_CODE_PATTERN, code):
            raise ValueError(f"{path}: sectors[{i}].code must match {SECTOR_CODE_PATTERN}")
        if not isinstance(slug, str) or not re.match(SLUG_PATTERN, slug):
            raise ValueError(f"{path}: sectors[{i}].slug must match {SLUG_PATTERN}")
        out.append(SectorSeed(code, slug, name if isinstance(name, str) else None))
    return out


def load_sector_seed(session: Session, seed_file: str | None = None) -> int:
    """Insert seed mappings whose code is not mapped yet (never overwrite an admin's edit)."""
    existing = set(session.scalars(select(SectorMapping.code)))
    now = utcnow()
    added = 0
    for seed in seed_sectors(seed_file):
        if seed.code in existing:
            continue
        session.add(SectorMapping(code=seed.code, slug=seed.slug, name=seed.name, updated_at=now))
        existing.add(seed.code)
        added += 1
    return added


def sector_map(conn: Connection) -> dict[str, str]:
    """Every mapped code and its slug."""
    return {code: slug for code, slug in conn.execute(select(SectorMapping.code, SectorMapping.slug))}
