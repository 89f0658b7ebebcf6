"""Contract fuzzing: schemathesis, every check and every phase, against the served document."""

from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import text

from app.store import rollups
from app.store.engine import make_engine
from tests.trust.fuzz import run_schemathesis
from tests.trust.live import ADMIN_TOKEN, LiveServer

# Bounded for `make test`: about as many generated examples in all as 15 for each of the 27 operations the
# API had when this budget was set, spread over the operations served now (at least 8 each), so the
# suite's time does not grow with every endpoint added; `make fuzz` runs many more with a fresh seed.
EXAMPLES_BUDGET = 15 * 27
MIN_EXAMPLES_PER_OPERATION = 8
SEED = 20250714
METHODS = ("get", "put", "post", "delete", "patch")


def examples_per_operation() -> int:
    document = orjson.loads((Path(__file__).parents[2] / "openapi.json").read_bytes())
    operations = sum(1 for item in document["paths"].values() for method in item if method in METHODS)
    return max(MIN_EXAMPLES_PER_OPERATION, EXAMPLES_BUDGET // operations)


def test_every_operation_passes_every_check(live: LiveServer, tmp_path: Path) -> None:
    examples = examples_per_operation()
    run = run_schemathesis(live, examples=examples, seed=SEED, report=tmp_path / "junit.xml")
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
    print(f"schemathesis: {examples} examples an operation, {run.cases} cases; {stored} dossiers stored")
