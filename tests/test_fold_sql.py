"""The SQL the rollup writer runs, kept in the repository: a change to it shows in review.

`tests/golden/fold_<dialect>.sql` holds, for each store, the statements one ingest chunk runs to
turn staged dossier versions into rollup rows: the staging DDL, the contributions, the key table,
each cube and grain. Run with TTHC_UPDATE_GOLDEN=1 to rewrite them after a deliberate change.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.store import rollups
from app.store.dialect import dialect_of

GOLDEN = Path(__file__).parent / "golden"


def fold_statements(name: str) -> str:
    dialect = dialect_of(name)
    parts = [
        "-- staging tables (per connection)",
        *rollups._temp_ddl(dialect),
        "-- contributions of the staged versions (+1 new, -1 replaced)",
        rollups._fill_contrib_sql(dialect, [("_delta", "s.sign")]),
        "-- the key table, then every cube and grain",
        *rollups._fold_sql(dialect, "rollups"),
    ]
    return "\n\n".join(f"{p};" if not p.startswith("--") else p for p in parts) + "\n"


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_fold_sql_is_the_reviewed_one(dialect: str) -> None:
    path = GOLDEN / f"fold_{dialect}.sql"
    now = fold_statements(dialect)
    if os.environ.get("TTHC_UPDATE_GOLDEN") == "1":
        path.write_text(now, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == now, (
        f"the fold SQL for {dialect} changed; review it and rewrite {path} with TTHC_UPDATE_GOLDEN=1"
    )
