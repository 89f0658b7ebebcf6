"""Test fixtures: real SQLite and a real PostgreSQL server, schemas built by the alembic migrations."""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.config import Settings
from app.integrations.dvcqg.sectors import load_sector_seed
from app.migrate import upgrade
from app.models.tables import Agency, SectorMapping
from app.reference.agencies import load_seed
from app.store.engine import make_engine, normalise_url
from tests import pg

warnings.filterwarnings("ignore", message=".*httpx2.*")
from fastapi.testclient import TestClient  # noqa: E402

from app.main import create_app  # noqa: E402

ADMIN_TOKEN = "test-admin-token-0123456789abcdef"
TABLES_TO_CLEAR = (
    "dossiers",
    "rollups",
    "rollup_keys",
    "agencies",
    "sector_mappings",
    "api_tokens",
    "audit_log",
    "refused_requests",
    "targets",
    "calendar_days",
    "procedures",
    "index_rollups",
    "index_rule_sets",
    "index_declared",
    "index_jobs",
    "dossier_history",
    "report_closings",
    "report_closing_files",
    "feed_quality_counts",
    "feed_quality_examples",
    "webhook_subscriptions",
    "webhook_deliveries",
    "webhook_sent",
    "job_leases",
)

_pg_state: dict[str, Any] = {"server": None, "error": None, "skipped": False}


def _postgres_base_url() -> str | None:
    """A server URL (database 'postgres'): DATABASE_URL when it points at PostgreSQL, else our own server."""
    env = os.environ.get("DATABASE_URL", "")
    if env.startswith("postgres"):
        return normalise_url(env)
    if _pg_state["server"] is None and _pg_state["error"] is None:
        bin_dir = pg.find_pg_bin()
        if bin_dir is None:
            _pg_state["error"] = "PostgreSQL server binaries (initdb, pg_ctl) were not found"
        else:
            try:
                _pg_state["server"] = pg.start_server(bin_dir)
            except Exception as exc:  # the message says what is missing
                _pg_state["error"] = str(exc)
    server = _pg_state["server"]
    return server.url("postgres") if server else None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _pg_state["server"] is not None:
        _pg_state["server"].stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _pg_state["skipped"]:
        terminalreporter.write_sep("!", "PostgreSQL half SKIPPED", red=True, bold=True)
        terminalreporter.write_line(
            f"  reason: {_pg_state['error']}\n"
            "  The suite ran against SQLite only. To run it against PostgreSQL too, install the server\n"
            "  (Debian/Ubuntu: apt-get install -y postgresql) or set DATABASE_URL=postgresql://user@host/db.\n"
            "  CI sets TTHC_REQUIRE_POSTGRES=1, under which a missing PostgreSQL fails the run.",
            red=True,
        )


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database, created once per session."""
    base = _postgres_base_url()
    if base is None:
        if os.environ.get("TTHC_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"TTHC_REQUIRE_POSTGRES=1 but PostgreSQL is unavailable: {_pg_state['error']}")
        _pg_state["skipped"] = True
        pytest.skip(f"PostgreSQL unavailable: {_pg_state['error']}")
    name = f"tthc_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("sqlite") / "tthc.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    return url


_engines: dict[str, Engine] = {}


def _engine_for(url: str) -> Engine:
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


# The seed's rows as the first reset of each database stored them (app.reference.agencies.load_seed and
# app.integrations.dvcqg.sectors.load_sector_seed, run once), inserted again by later resets in the
# same transaction as the deletes: one commit a test instead of three and an ORM flush.
_SEED_TABLES = (Agency, SectorMapping)
_seed_rows: dict[str, list[list[dict[str, Any]]]] = {}


def clear_dossiers(engine: Engine) -> None:
    """Remove every dossier and what is counted from them (the rollups, their keys, the index's
    rollups), and move the data version on so that no response cached earlier is served: a property
    test's example starts without dossiers, the reference tables kept (cheaper than reset_database)."""
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        for table in ("dossiers", "rollups", "rollup_keys", "index_rollups"):
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("UPDATE data_state SET version = version + 1"))


def reset_database(engine: Engine) -> None:
    """Empty every table and load the reference seed again: each test starts from the same state."""
    key = engine.url.render_as_string(hide_password=False)
    seeded = _seed_rows.get(key)
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        for table in TABLES_TO_CLEAR:
            conn.execute(text(f"DELETE FROM {table}"))
        # Move the version on (never back), as every write does, so no cached response survives.
        conn.execute(
            text(
                "UPDATE data_state SET version = version + 1, "
                "rollups_verified_at = NULL, rollups_verify_differences = NULL, "
                # The catalogue and calendar were emptied: a new revision (cached inputs are dropped),
                # which the (empty) index follows.
                "reference_rev = reference_rev + 1, index_rev = reference_rev + 1"
            )
        )
        if seeded is not None:
            for seed_table, rows in zip(_SEED_TABLES, seeded, strict=True):
                conn.execute(insert(seed_table), rows)
    if seeded is None:
        with Session(engine) as session:
            load_seed(session, 40)
            load_sector_seed(session)
            session.commit()
        with engine.connect() as conn:
            _seed_rows[key] = [
                [dict(r._mapping) for r in conn.execute(select(t.__table__))] for t in _SEED_TABLES
            ]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        url: str = request.getfixturevalue("sqlite_template")
    else:
        url = request.getfixturevalue("pg_template")
    return url


@pytest.fixture
def engine(db_url: str) -> Engine:
    eng = _engine_for(db_url)
    reset_database(eng)
    return eng


@dataclass
class Clock:
    """A settable clock for the app under test."""

    now: datetime = field(default_factory=lambda: datetime(2025, 10, 1, 1, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(db_url: str) -> Settings:
    # The job runner stays out of the tests' apps unless a test starts it (tests/test_webhooks.py).
    return Settings(DATABASE_URL=db_url, TTHC_ADMIN_TOKEN=ADMIN_TOKEN, TTHC_JOBS_IN_SERVER=False)


@pytest.fixture
def client(engine: Engine, settings: Settings, clock: Clock) -> Iterator[TestClient]:
    app = create_app(settings, engine=engine, clock=clock)
    with TestClient(app, base_url="http://testserver") as c:
        c.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        yield c


@pytest.fixture
def anon(client: TestClient) -> TestClient:
    """The same app, without a token."""
    c = TestClient(client.app, base_url="http://testserver")
    return c


ROOT = Path(__file__).resolve().parent.parent
