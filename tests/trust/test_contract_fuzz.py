"""Contract fuzzing: schemathesis, every check and every phase, against the served document."""

from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import text

from app.store import index_rollups, rollups
from app.store.engine import make_engine
from tests.trust.fuzz import run_schemathesis
from tests.trust.live import ADMIN_TOKEN, LiveServer

# Bounded for `make test` (docs/RELIABILITY.md, "The budget of make test's fuzz"): the fuzzing phase draws
# a fixed total of 250 generated cases spread over the operations served (at least 5 each), so the
# suite's time does not grow with every endpoint added; the coverage phase sends one case of each kind
# it derives from the schema (tests/trust/schemathesis_hooks.py). `make fuzz` sends every coverage case
# and 300 generated cases an operation, with a fresh seed.
EXAMPLES_BUDGET = 250
MIN_EXAMPLES_PER_OPERATION = 5
# The stateful phase costs little (a few seconds) and found the one fault no single request shows (a
# commit after the response): it keeps 15 sequences whatever the number of operations.
STATEFUL_EXAMPLES = 15
SEED = 20250714
METHODS = ("get", "put", "post", "delete", "patch")


def operations() -> int:
    document = orjson.loads((Path(__file__).parents[2] / "openapi.json").read_bytes())
    return sum(1 for item in document["paths"].values() for method in item if method in METHODS)


def examples_per_operation() -> int:
    return max(MIN_EXAMPLES_PER_OPERATION, EXAMPLES_BUDGET // operations())


def test_every_operation_passes_every_check(live: LiveServer, tmp_path: Path) -> None:
    examples = examples_per_operation()
    run = run_schemathesis(
        live, examples=examples, seed=SEED, report=tmp_path / "junit.xml", stateful_examples=STATEFUL_EXAMPLES
    )
    assert run.returncode == 0, run.failures
    assert run.cases > 500, run.output[-3000:]
    # Every phase ran, and the coverage and fuzzing phases each tested every operation.
    phases = run.phases
    assert set(phases) == {"Examples", "Coverage", "Fuzzing", "Stateful"}, run.output[-3000:]
    assert phases["Coverage"][1] == phases["Fuzzing"][1] == operations(), phases
    assert "unhandled error" not in live.log_text()
    assert ADMIN_TOKEN not in live.log_text()
    # Whatever the fuzzer managed to store, the rollups still equal a recomputation.
    engine = make_engine(live.db_url)
    try:
        with engine.connect() as conn:
            differences, rows = rollups.verify(conn)
            index_differences, index_rows = index_rollups.verify(conn)
            stored = conn.execute(text("SELECT count(*) FROM dossiers")).scalar_one()
    finally:
        engine.dispose()
    assert differences == 0, rows
    assert index_differences == 0, index_rows
    print(f"schemathesis: {examples} examples an operation, {run.cases} cases, phases (s, passed) {phases}")
    print(f"{stored} dossiers stored")
