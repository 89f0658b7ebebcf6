"""Contract fuzzing: schemathesis, every check and every phase, against the served document."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from app.store import rollups
from app.store.engine import make_engine
from tests.trust.fuzz import run_schemathesis
from tests.trust.live import ADMIN_TOKEN, LiveServer

# Bounded for `make test`; `make fuzz` runs many more with a fresh seed.
EXAMPLES_PER_OPERATION = 15
SEED = 20250714


def test_every_operation_passes_every_check(live: LiveServer, tmp_path: Path) -> None:
    run = run_schemathesis(live, examples=EXAMPLES_PER_OPERATION, seed=SEED, report=tmp_path / "junit.xml")
    assert run.returncode == 0, run.failures
    assert run.cases > 500, run.output[-3000:]
    assert "unhandled error" not in live.log_text()
    assert ADMIN_TOKEN not in live.log_text()
    # Whatever the fuzzer managed to store, the rollups still equal a recomputation.
    engine = make_engine(live.db_url)
    try:
        with engine.connect() as conn:
            differences, rows = rollups.verify(conn)
            stored = conn.execute(text("SELECT count(*) FROM dossiers")).scalar_one()
    finally:
        engine.dispose()
    assert differences == 0, rows
    print(f"schemathesis: {run.cases} cases; {stored} dossiers stored by the fuzzer")
