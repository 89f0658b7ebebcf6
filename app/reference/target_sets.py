"""The scorecard's built-in target sets as shipped: one JSON file a year in app/reference/data/targets.
What a set means (its names, comparators and thresholds checked against the catalogue) is read in
app/reports/targets.py; this module only says where the files are and reads them."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

TARGET_SETS_DIR = Path(__file__).parent / "data" / "targets"


@lru_cache(maxsize=1)
def shipped_target_files() -> tuple[dict[str, Any], ...]:
    """Every shipped target set as parsed JSON, in file-name order (one file a year)."""
    return tuple(
        json.loads(path.read_text(encoding="utf-8")) for path in sorted(TARGET_SETS_DIR.glob("*.json"))
    )
