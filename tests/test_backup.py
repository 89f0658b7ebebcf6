"""`tthc-metrics backup` and `restore`: a checked copy, put back whole, migrated when older; bad sources
are one clear line. SQLite files of their own; PostgreSQL databases of their own when pg_dump exists."""

from __future__ import annotations

import re
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.cli import main
from app.config import get_settings
from app.migrate import head_revision, upgrade
from app.store.engine import make_engine
from tests.factory import open_rec, rec
from tests.ingesting import ndjson

HEAD = head_revision()


@pytest.fixture
def point(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Point the command line at a database, as DATABASE_URL does in production."""

    def to(url: str) -> None:
        monkeypatch.setenv("DATABASE_URL", url)
        get_settings.cache_clear()

    monkeypatch.delenv("TTHC_ADMIN_TOKEN", raising=False)
    yield to
    get_settings.cache_clear()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def load(tmp_path: Path, capsys: pytest.CaptureFixture[str], records: list[dict[str, object]]) -> None:
    path = tmp_path / f"{uuid.uuid4().hex}.ndjson"
    path.write_bytes(ndjson(records))
    assert run(capsys, "import", str(path))[0] == 0


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


FIRST = [
    rec("B-1"),
    rec("B-2", received_at="2025-07-02T08:00:00+07:00", resolved_at="2025-07-11T09:00:00+07:00"),
    open_rec("B-3"),
]
LATER = [rec("B-4"), rec("B-5")]


def test_sqlite_backup_and_restore_put_back_the_database_as_it_was(
    point: Callable[[str], None], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'live' / 'tthc.db'}"
    point(url)
    assert run(capsys, "migrate")[0] == 0
    load(tmp_path, capsys, FIRST)
    backups = tmp_path / "backups"
    backups.mkdir()

    code, out, err = run(capsys, "backup", str(backups))
    assert (code, err) == (0, "")
    match = re.fullmatch(
        r"backup written to (\S+/tthc-\d{8}T\d{6}Z\.db): 3 dossiers, schema revision (\w+), "
        r"[\d.,]+ (?:MB|bytes) in [\d.]+ s \(integrity checked\)\n",
        out,
    )
    assert match is not None, out
    assert match.group(2) == HEAD
    copy = Path(match.group(1))
    assert sorted(p.name for p in backups.iterdir()) == [copy.name]  # no temporary file left behind
    assert run(capsys, "backup", str(copy))[:3] == (
        1,
        "",
        f"tthc-metrics: {copy} exists; give another name, a directory, or --force to replace it\n",
    )
    assert run(capsys, "backup", str(copy), "--force")[0] == 0

    load(tmp_path, capsys, LATER)
    version_before = int(str(query(url, "SELECT version FROM data_state")[0][0]))
    code, out, err = run(capsys, "restore", str(copy))
    assert (code, err) == (0, "")
    assert re.fullmatch(
        rf"restored {re.escape(str(copy))}: 3 dossiers, schema revision {HEAD}, in [\d.]+ s; "
        r"run `tthc-metrics rollups verify` to check the figures\n",
        out,
    ), out
    # One file, no WAL, shared memory or journal of the replaced database beside it.
    assert sorted(p.name for p in (tmp_path / "live").iterdir()) == ["tthc.db"]
    assert query(url, "SELECT code FROM dossiers ORDER BY code") == [("B-1",), ("B-2",), ("B-3",)]
    # The data version moves on, never back: no cached answer of the replaced data is served again.
    assert query(url, "SELECT version FROM data_state") == [(version_before + 1,)]
    assert run(capsys, "rollups", "verify")[:2] == (
        0,
        "rollups match a recomputation from the stored dossiers\n",
    )


def test_restore_refuses_while_the_database_is_open_elsewhere(
    point: Callable[[str], None], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "source.db"
    point(f"sqlite:///{source}")
    assert run(capsys, "migrate")[0] == 0
    load(tmp_path, capsys, FIRST)
    target = tmp_path / "target.db"
    url = f"sqlite:///{target}"
    point(url)
    assert run(capsys, "migrate")[0] == 0
    load(tmp_path, capsys, LATER)

    server = make_engine(url)  # a server's pool: a connection open, idle between requests
    with server.connect() as conn:
        conn.execute(text("SELECT count(*) FROM dossiers"))
        conn.rollback()
        assert run(capsys, "restore", str(source)) == (
            1,
            "",
            f"tthc-metrics: the database {target} is in use (a server or another command has it open): "
            "stop the server, then restore\n",
        )
    server.dispose()
    assert query(url, "SELECT code FROM dossiers ORDER BY code") == [("B-4",), ("B-5",)]
    assert run(capsys, "restore", str(source))[0] == 0
    assert query(url, "SELECT code FROM dossiers ORDER BY code") == [("B-1",), ("B-2",), ("B-3",)]


def test_a_backup_of_an_older_revision_is_migrated_when_restored(
    point: Callable[[str], None], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.db"
    upgrade(f"sqlite:///{old}", "0002")
    conn = sqlite3.connect(old, isolation_level=None)
    conn.execute(
        "INSERT INTO agencies (code, name, level, commune_code, updated_at) "
        "VALUES ('000.00.07.H40', 'Sở Xây dựng', 'province', NULL, '2025-01-01 00:00:00.000000')"
    )
    conn.close()
    target = tmp_path / "data" / "tthc.db"  # not there yet: the restore creates it
    url = f"sqlite:///{target}"
    point(url)
    code, out, err = run(capsys, "restore", str(old))
    assert (code, err) == (0, "")
    assert f"0 dossiers, schema revision {HEAD}, migrated from revision 0002, in " in out
    assert query(url, "SELECT version_num FROM alembic_version") == [(HEAD,)]
    assert query(url, "SELECT code FROM agencies") == [("000.00.07.H40",)]
    assert query(url, "SELECT count(*), max(rollups_verified_at) FROM data_state") == [(1, None)]
    assert query(url, "SELECT count(*) FROM calendar_days") == [(0,)]
    # The source is read, never changed.
    assert sqlite3.connect(old).execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]


def test_a_bad_source_is_one_clear_line_and_the_target_is_left_alone(
    point: Callable[[str], None], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.db"
    upgrade(f"sqlite:///{good}")
    newer = tmp_path / "newer.db"
    shutil.copy(good, newer)
    with sqlite3.connect(newer) as c:
        c.execute("UPDATE alembic_version SET version_num = '0099'")
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as c:
        c.execute("CREATE TABLE notes (x TEXT)")
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database\n" * 400)
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(good.read_bytes()[: 4096 * 3])

    target = tmp_path / "target.db"
    url = f"sqlite:///{target}"
    point(url)
    assert run(capsys, "migrate")[0] == 0
    load(tmp_path, capsys, LATER)
    expected = {
        tmp_path / "absent.db": f"the backup {tmp_path / 'absent.db'} does not exist or is not a file",
        tmp_path: f"the backup {tmp_path} does not exist or is not a file",
        garbage: f"the backup {garbage} is not a readable SQLite database (file is not a database)",
        truncated: f"the backup {truncated} is not a readable SQLite database "
        "(database disk image is malformed)",
        foreign: f"the backup {foreign} has no alembic revision: it is not a tthc-metrics database",
        newer: f"the backup {newer} is at schema revision 0099, which this release does not know (its head "
        f"is {HEAD}): restore it with the release that made it, or a later one",
    }
    for source, message in expected.items():
        assert run(capsys, "restore", str(source)) == (1, "", f"tthc-metrics: {message}\n"), source
    assert query(url, "SELECT code FROM dossiers ORDER BY code") == [("B-4",), ("B-5",)]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []

    point(f"sqlite:///{tmp_path / 'nothing.db'}")
    assert run(capsys, "backup", str(tmp_path / "b.db")) == (
        1,
        "",
        f"tthc-metrics: there is no database at {tmp_path / 'nothing.db'} (DATABASE_URL)\n",
    )


@pytest.fixture
def pg_database(pg_template: str) -> Iterator[str]:
    """An empty PostgreSQL database of its own (the restore makes it whatever the backup holds)."""
    base = make_url(pg_template).set(database="postgres")
    name = f"tthc_backup_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
def test_postgresql_backup_and_restore_round_trip(
    point: Callable[[str], None], pg_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    point(pg_database)
    assert run(capsys, "migrate")[0] == 0
    load(tmp_path, capsys, FIRST)
    code, out, err = run(capsys, "backup", str(tmp_path))
    assert (code, err) == (0, "")
    match = re.fullmatch(
        rf"backup written to (\S+/tthc_backup_\w+-\d{{8}}T\d{{6}}Z\.dump): 3 dossiers, "
        rf"schema revision {HEAD}, "
        r"[\d.,]+ (?:MB|bytes) in [\d.]+ s \(integrity checked\)\n",
        out,
    )
    assert match is not None, out
    load(tmp_path, capsys, LATER)
    version_before = int(str(query(pg_database, "SELECT version FROM data_state")[0][0]))

    other = make_engine(pg_database)
    with other.connect() as conn:
        conn.execute(text("SELECT 1"))
        assert run(capsys, "restore", match.group(1)) == (
            1,
            "",
            "tthc-metrics: the database is in use (1 other connections): stop the server, then restore\n",
        )
    other.dispose()

    code, out, err = run(capsys, "restore", match.group(1))
    assert (code, err) == (0, ""), err
    assert f": 3 dossiers, schema revision {HEAD}, in " in out
    assert query(pg_database, "SELECT code FROM dossiers ORDER BY code") == [("B-1",), ("B-2",), ("B-3",)]
    assert query(pg_database, "SELECT version FROM data_state") == [(version_before + 1,)]
    assert run(capsys, "rollups", "verify")[:2] == (
        0,
        "rollups match a recomputation from the stored dossiers\n",
    )


def test_without_pg_dump_the_commands_to_run_are_printed(
    point: Callable[[str], None],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    point("postgresql://tthc:s3cret-pass@db.example:5433/tthc?sslmode=require")
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without the PostgreSQL client programs
    dest = tmp_path / "tthc.dump"
    assert run(capsys, "backup", str(dest)) == (
        2,
        "",
        "tthc-metrics: pg_dump is not on PATH (Debian/Ubuntu: apt-get install postgresql-client); "
        "run by hand:\n"
        f"  pg_dump --format=custom --file={dest} "
        "'--dbname=postgresql://tthc@db.example:5433/tthc?sslmode=require'\n",
    )
    assert run(capsys, "restore", str(dest)) == (
        2,
        "",
        "tthc-metrics: pg_restore is not on PATH (Debian/Ubuntu: apt-get install postgresql-client); "
        "run by hand:\n"
        "  pg_restore --clean --if-exists --no-owner --single-transaction "
        f"'--dbname=postgresql://tthc@db.example:5433/tthc?sslmode=require' {dest}\n"
        "  tthc-metrics migrate\n",
    )
