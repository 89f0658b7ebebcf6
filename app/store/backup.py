"""Backups and restores of the whole database, checked before they count.

SQLite: `VACUUM INTO` on a read-only connection of its own. It runs inside one read transaction, so
the copy is the database as of one instant (WAL lets the server's writers go on meanwhile, and a
transaction the server commits during the copy is either wholly in it or not at all); the output
is a compact, self-contained file in rollback-journal mode, with no `-wal` beside it to forget.
(The online backup API gives the same snapshot only when it copies in one step; copied in several
steps, every write by another process restarts it, so a busy importer can keep it from finishing.)
The copy is written under a temporary name, synced, checked (integrity check, the alembic revision
read back, the dossiers counted) and only then renamed into place.

Restore (SQLite) checks the source the same way, copies it next to the target, migrates the copy
when it is older than this release, moves data_state.version past the target's (no cached answer or
ETag of the replaced data survives), refuses when another connection has the target open, removes
the target's stale `-wal`, `-shm` and `-journal` and renames the copy over the target.

PostgreSQL: `pg_dump -Fc` in the snapshot of a transaction whose dossiers are counted (so the count
printed is the dump's), and `pg_restore --clean --if-exists --no-owner --single-transaction`, when
those programs are on PATH; without them `ToolMissing` carries the commands to run by hand.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from app.migrate import alembic_config, head_revision, upgrade
from app.store.engine import make_engine, normalise_url
from app.store.uow import write_transaction


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is one line saying what and why."""


class ToolMissing(BackupError):
    """pg_dump or pg_restore is not on PATH; `commands` are what to run instead."""

    def __init__(self, message: str, commands: list[str]) -> None:
        super().__init__(message)
        self.commands = commands


@dataclass(frozen=True)
class Outcome:
    """What a backup wrote or a restore installed, as checked afterwards."""

    path: Path
    revision: str
    dossiers: int
    size: int
    seconds: float
    migrated_from: str | None = None


def known_revisions() -> list[str]:
    """This release's alembic revisions, oldest first."""
    script = ScriptDirectory.from_config(alembic_config(""))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def check_revision(revision: str | None, what: str) -> None:
    """A revision this release knows (at or before its head); otherwise one line saying why not."""
    if revision is None:
        raise BackupError(f"{what} has no alembic revision: it is not a tthc-metrics database")
    if revision not in known_revisions():
        raise BackupError(
            f"{what} is at schema revision {revision}, which this release does not know (its head is "
            f"{head_revision()}): restore it with the release that made it, or a later one"
        )


def is_sqlite(url: str) -> bool:
    return make_url(normalise_url(url)).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path:
    database = make_url(normalise_url(url)).database or ""
    if database in {"", ":memory:"}:
        raise BackupError("DATABASE_URL names an in-memory SQLite database: there is nothing to back up")
    return Path(database)


def timestamped(dest: Path, stem: str, suffix: str) -> Path:
    """A directory given as DEST gets a file named after the database and the UTC time."""
    if dest.is_dir():
        return dest / f"{stem}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}{suffix}"
    return dest


def _prepare_dest(dest: Path, overwrite: bool) -> Path:
    if dest.exists() and not overwrite:
        raise BackupError(f"{dest} exists; give another name, a directory, or --force to replace it")
    if not dest.parent.is_dir():
        raise BackupError(f"the directory {dest.parent} does not exist")
    return dest.parent / f".{dest.name}.tmp-{os.getpid()}"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _install(tmp: Path, dest: Path) -> None:
    """Rename the checked copy into place and make the rename itself durable."""
    _fsync(tmp)
    os.replace(tmp, dest)
    _fsync(dest.parent)


@contextmanager
def _removed_on_error(*paths: Path) -> Iterator[None]:
    try:
        yield
    except BaseException:
        for p in paths:
            with suppress(FileNotFoundError):
                p.unlink()
        raise


# SQLite ----------------------------------------------------------------------------------------


def _open_ro(path: Path, timeout: float = 30.0) -> sqlite3.Connection:
    conn = sqlite3.connect(
        f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=timeout, isolation_level=None
    )
    conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    return conn


@dataclass(frozen=True)
class SqliteState:
    revision: str | None
    dossiers: int


def check_sqlite_file(path: Path, what: str) -> SqliteState:
    """Open `path` read-only: an SQLite database that passes its integrity check, with a revision."""
    if not path.is_file():
        raise BackupError(f"{what} {path} does not exist or is not a file")
    try:
        conn = _open_ro(path)
        try:
            problems = [r[0] for r in conn.execute("PRAGMA integrity_check(5)")]
            if problems != ["ok"]:
                raise BackupError(f"{what} {path} fails SQLite's integrity check: {problems[0]}")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            revision: str | None = None
            if "alembic_version" in tables:
                row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
                revision = row[0] if row else None
            dossiers = 0
            if "dossiers" in tables:
                dossiers = conn.execute("SELECT count(*) FROM dossiers").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{what} {path} is not a readable SQLite database ({exc})") from None
    return SqliteState(revision, int(dossiers))


def _vacuum_into(source: Path, tmp: Path) -> None:
    """A consistent, compact copy of `source` (as of one read transaction) at `tmp`."""
    with suppress(FileNotFoundError):
        tmp.unlink()
    try:
        conn = _open_ro(source)
        try:
            conn.execute("VACUUM INTO ?", (str(tmp),))
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} could not be copied: {exc}") from None


def backup_sqlite(url: str, dest: Path, *, overwrite: bool = False) -> Outcome:
    started = time.perf_counter()
    source = sqlite_path(url)
    if not source.is_file():
        raise BackupError(f"there is no database at {source} (DATABASE_URL)")
    dest = timestamped(dest, source.stem, ".db")
    tmp = _prepare_dest(dest, overwrite)
    with _removed_on_error(tmp):
        _vacuum_into(source, tmp)
        state = check_sqlite_file(tmp, "the copy")
        check_revision(state.revision, "the copy")
        _install(tmp, dest)
    assert state.revision is not None
    return Outcome(dest, state.revision, state.dossiers, dest.stat().st_size, time.perf_counter() - started)


def _sqlite_version(path: Path) -> int:
    """data_state.version of an existing database, or 0 when there is none to read."""
    try:
        conn = _open_ro(path, timeout=5)
        try:
            row = conn.execute("SELECT max(version) FROM data_state").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return 0
    return int(row[0] or 0) if row else 0


def _claim_sqlite(target: Path) -> None:
    """Fail when another connection has the target open; leave it with no WAL or journal beside it.

    In WAL mode every open connection, idle or not, holds a shared lock on the database file, and
    leaving WAL mode needs the only one: so `journal_mode=DELETE` fails at once ("database is
    locked") while a server or another command has the database open, and otherwise checkpoints
    the WAL and removes it. A database in rollback mode is detected only while it is mid-transaction.
    """
    try:
        conn = sqlite3.connect(str(target), timeout=0, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=DELETE").fetchone()
            conn.execute("BEGIN EXCLUSIVE")
            conn.execute("ROLLBACK")
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise BackupError(
                f"the database {target} is in use (a server or another command has it open): "
                "stop the server, then restore"
            ) from None
    except sqlite3.DatabaseError:
        pass  # not a database (any more): it is being replaced anyway
    for suffix in ("-wal", "-shm", "-journal"):
        with suppress(FileNotFoundError):
            Path(f"{target}{suffix}").unlink()


def _set_rollback_mode(path: Path, version_floor: int) -> None:
    """Make the copy one self-contained file and move its data version past `version_floor`."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE").fetchone()
        conn.execute("UPDATE data_state SET version = max(version, ?) + 1", (version_floor,))
    finally:
        conn.close()


def restore_sqlite(url: str, source: Path) -> Outcome:
    started = time.perf_counter()
    target = sqlite_path(url)
    state = check_sqlite_file(source, "the backup")
    check_revision(state.revision, f"the backup {source}")
    if not target.parent.is_dir():
        target.parent.mkdir(parents=True)
    tmp = target.parent / f".{target.name}.restore-{os.getpid()}"
    head = head_revision()
    with _removed_on_error(tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        _vacuum_into(source, tmp)
        if state.revision != head:
            upgrade(f"sqlite:///{tmp}")
        _set_rollback_mode(tmp, _sqlite_version(target) if target.exists() else 0)
        restored = check_sqlite_file(tmp, "the restored copy")
        if restored.revision != head:
            raise BackupError(f"the restored copy is at revision {restored.revision}, not {head}")
        if target.exists():
            _claim_sqlite(target)
        _install(tmp, target)
    migrated = state.revision if state.revision != head else None
    return Outcome(
        target, head, restored.dossiers, target.stat().st_size, time.perf_counter() - started, migrated
    )


# PostgreSQL ------------------------------------------------------------------------------------


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The libpq connection URI of DATABASE_URL without its password, and the environment giving it."""
    u: URL = make_url(normalise_url(url))
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    bare = URL.create("postgresql", u.username, None, u.host, u.port, u.database, u.query)
    conninfo = bare.render_as_string(hide_password=False)
    return conninfo, env


def dump_command(conninfo: str, dest: Path, snapshot: str | None = None) -> list[str]:
    cmd = ["pg_dump", "--format=custom", f"--file={dest}"]
    if snapshot:
        cmd.append(f"--snapshot={snapshot}")
    return [*cmd, f"--dbname={conninfo}"]


def restore_command(conninfo: str, source: Path) -> list[str]:
    return [
        "pg_restore",
        "--clean",
        "--if-exists",
        "--no-owner",
        "--single-transaction",
        f"--dbname={conninfo}",
        str(source),
    ]


def _shell(cmd: list[str]) -> str:
    import shlex

    return " ".join(shlex.quote(c) for c in cmd)


def _run(cmd: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise BackupError(f"{what} failed: {lines[0] if lines else f'exit {done.returncode}'}")
    return done


def _need(tool: str, commands: list[list[str]]) -> None:
    if shutil.which(tool) is None:
        raise ToolMissing(
            f"{tool} is not on PATH (Debian/Ubuntu: apt-get install postgresql-client); run by hand:",
            [_shell(c) for c in commands],
        )


def archive_tables(source: Path, env: dict[str, str]) -> set[str]:
    """The tables a pg_dump archive holds (its table of contents), or one line why it is not one."""
    if not source.is_file():
        raise BackupError(f"the backup {source} does not exist or is not a file")
    listing = _run(["pg_restore", "--list", str(source)], env, f"reading the archive {source}").stdout
    return set(re.findall(r"^\d+; \d+ \d+ TABLE \S+ (\S+) ", listing, flags=re.MULTILINE))


def archive_revision(source: Path, env: dict[str, str]) -> str | None:
    """The alembic revision stored in a pg_dump archive (its alembic_version data)."""
    script = _run(
        ["pg_restore", "--data-only", "--table=alembic_version", "--file=-", str(source)],
        env,
        f"reading the archive {source}",
    ).stdout
    match = re.search(r"^COPY \S*alembic_version \(version_num\) FROM stdin;\n([^\n\\]+)\n", script, re.M)
    return match.group(1) if match else None


def backup_postgres(url: str, dest: Path, *, overwrite: bool = False) -> Outcome:
    started = time.perf_counter()
    conninfo, env = _libpq(url)
    dest = timestamped(dest, make_url(normalise_url(url)).database or "tthc", ".dump")
    _need("pg_dump", [dump_command(conninfo, dest)])
    tmp = _prepare_dest(dest, overwrite)
    engine = make_engine(url, pool_size=1)
    try:
        with (
            _removed_on_error(tmp),
            engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn,
        ):
            # pg_dump reads in this transaction's snapshot: the count below is the dump's.
            conn.execute(text("SET TRANSACTION READ ONLY"))
            snapshot = str(conn.scalar(text("SELECT pg_export_snapshot()")))
            revision = None
            if conn.scalar(text("SELECT to_regclass('alembic_version')")) is not None:
                revision = conn.scalar(text("SELECT version_num FROM alembic_version"))
            check_revision(revision, "the database")
            dossiers = int(conn.scalar(text("SELECT count(*) FROM dossiers")) or 0)
            _run(dump_command(conninfo, tmp, snapshot), env, "pg_dump")
            if archive_revision(tmp, env) != revision:
                raise BackupError(f"the dump {tmp} does not hold the revision {revision} it was taken at")
            _install(tmp, dest)
    finally:
        engine.dispose()
    assert revision is not None
    return Outcome(dest, str(revision), dossiers, dest.stat().st_size, time.perf_counter() - started)


def restore_postgres(url: str, source: Path) -> Outcome:
    started = time.perf_counter()
    conninfo, env = _libpq(url)
    _need("pg_restore", [restore_command(conninfo, source), ["tthc-metrics", "migrate"]])
    tables = archive_tables(source, env)
    revision = archive_revision(source, env)
    check_revision(revision, f"the backup {source}")
    head = head_revision()
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            others = int(
                conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
                or 0
            )
            floor = 0
            if conn.scalar(text("SELECT to_regclass('data_state')")) is not None:
                floor = int(conn.scalar(text("SELECT max(version) FROM data_state")) or 0)
        if others:
            raise BackupError(
                f"the database is in use ({others} other connections): stop the server, then restore"
            )
        _run(restore_command(conninfo, source), env, "pg_restore")
        with write_transaction(engine) as conn:
            if revision != head:
                # Tables of later revisions than the backup's stay behind --clean: the migrations
                # below create them again, so they go first.
                present = set(
                    conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))
                )
                for table in sorted(present - tables):
                    conn.execute(text(f'DROP TABLE "{table}" CASCADE'))
            conn.execute(
                text("UPDATE data_state SET version = GREATEST(version, :floor) + 1"), {"floor": floor}
            )
        if revision != head:
            upgrade(url)
        with engine.connect() as conn:
            dossiers = int(conn.scalar(text("SELECT count(*) FROM dossiers")) or 0)
            now = conn.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        engine.dispose()
    migrated = revision if revision != head else None
    return Outcome(source, str(now), dossiers, source.stat().st_size, time.perf_counter() - started, migrated)


def backup(url: str, dest: Path, *, overwrite: bool = False) -> Outcome:
    """A checked copy of the database at DATABASE_URL, written to `dest` (a file, or a directory)."""
    if is_sqlite(url):
        return backup_sqlite(url, dest, overwrite=overwrite)
    return backup_postgres(url, dest, overwrite=overwrite)


def restore(url: str, source: Path) -> Outcome:
    """Replace the database at DATABASE_URL with the backup `source`, migrated to this release."""
    if is_sqlite(url):
        return restore_sqlite(url, source)
    return restore_postgres(url, source)
