"""Fixtures of the reliability tests: a database of their own and the real server on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.trust.live import Database, LiveServer, fresh_database, start_server


@pytest.fixture(params=["sqlite", "postgresql"])
def live_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A freshly migrated database (SQLite file or PostgreSQL database) for one test."""
    pg = request.getfixturevalue("pg_template") if request.param == "postgresql" else None
    yield from fresh_database(request.param, pg, tmp_path)


@pytest.fixture
def pg_db(pg_template: str, tmp_path: Path) -> Iterator[Database]:
    """A freshly migrated PostgreSQL database, for tests of the production setup."""
    yield from fresh_database("postgresql", pg_template, tmp_path)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    yield from fresh_database("sqlite", None, tmp_path)


@pytest.fixture
def live(sqlite_db: Database, tmp_path: Path) -> Iterator[LiveServer]:
    """The real server, one worker, on a fresh SQLite file."""
    server = start_server(sqlite_db.url, tmp_path / "server.log")
    yield server
    server.stop()
