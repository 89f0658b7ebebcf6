"""The two stores under test: a SQLite file per size, and one PostgreSQL cluster kept under the results
directory (a database per size), so `--skip-load` can reuse what an earlier run loaded.

PostgreSQL runs with its durable defaults (fsync and synchronous_commit on), unlike the test
suite's throwaway server; only memory and checkpoint settings are raised, as production would.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy import create_engine, text

from app.store.engine import make_engine
from benchmarks.common import VENV_BIN, log
from tests.pg import PgServer, find_pg_bin

PG_PORT = 55433
PG_SETTINGS = {
    "shared_buffers": "2GB",
    "work_mem": "32MB",
    "maintenance_work_mem": "256MB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "max_connections": "100",
}


class Store(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def url(self, label: str) -> str: ...

    def fresh(self, label: str, bin_dir: Path | None = None) -> None: ...

    def drop(self, label: str) -> None: ...

    def dossier_count(self, label: str) -> int | None: ...

    def db_bytes(self, label: str) -> int: ...

    def analyze(self, label: str) -> None: ...

    def db_pid(self) -> int | None: ...

    def settings(self) -> dict[str, str]: ...


def migrate(url: str, bin_dir: Path | None = None) -> None:
    """`tthc-metrics migrate` against the database, as an operator would run it; with bin_dir, the
    `tthc-metrics` of another checkout's venv (its own migrations), run from that checkout."""
    env = {**os.environ, "DATABASE_URL": url}
    cwd = None
    if bin_dir is not None:
        env.pop("PYTHONPATH", None)
        cwd = bin_dir.parent.parent
    subprocess.run(
        [str((bin_dir or VENV_BIN) / "tthc-metrics"), "migrate"],
        env=env,
        check=True,
        capture_output=True,
        cwd=cwd,
    )


def _count(url: str) -> int | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM dossiers")).scalar_one())
    except Exception:
        return None
    finally:
        engine.dispose()


@dataclass
class SqliteStore:
    root: Path
    name: str = "sqlite"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def stop(self) -> None:
        return None

    def path(self, label: str) -> Path:
        return self.root / f"sqlite-{label}.db"

    def url(self, label: str) -> str:
        return f"sqlite:///{self.path(label)}"

    def fresh(self, label: str, bin_dir: Path | None = None) -> None:
        self.drop(label)
        migrate(self.url(label), bin_dir)

    def drop(self, label: str) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path(label)}{suffix}").unlink(missing_ok=True)

    def dossier_count(self, label: str) -> int | None:
        return _count(self.url(label)) if self.path(label).exists() else None

    def db_bytes(self, label: str) -> int:
        return sum(p.stat().st_size for s in ("", "-wal") if (p := Path(f"{self.path(label)}{s}")).exists())

    def analyze(self, label: str) -> None:
        engine = make_engine(self.url(label))
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
        finally:
            engine.dispose()

    def db_pid(self) -> int | None:
        return None  # in the server's own process

    def settings(self) -> dict[str, str]:
        return {"journal_mode": "WAL", "synchronous": "NORMAL", "cache_size": "64 MiB (app defaults)"}


@dataclass
class PostgresStore:
    root: Path
    name: str = "postgresql"
    server: PgServer | None = field(default=None, init=False)

    def start(self) -> None:
        bin_dir = find_pg_bin()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL server binaries not found (apt-get install -y postgresql)")
        run_as: str | None = "postgres" if os.geteuid() == 0 else None
        self.root.mkdir(parents=True, exist_ok=True)
        sock = self.root / "sock"
        sock.mkdir(exist_ok=True)
        data = self.root / "data"
        server = PgServer(self.root, sock, PG_PORT, bin_dir, run_as)
        if run_as:
            pw = pwd.getpwnam(run_as)
            for p in (self.root, sock):
                os.chown(p, pw.pw_uid, pw.pw_gid)
            os.chmod(self.root, 0o700)
        if not (data / "PG_VERSION").exists():
            log(f"postgresql: initdb {data}")
            subprocess.run(
                server._cmd(
                    [
                        str(bin_dir / "initdb"),
                        "-D",
                        str(data),
                        "-U",
                        "postgres",
                        "-A",
                        "trust",
                        "-E",
                        "UTF8",
                        "--locale=C",
                    ]
                ),
                check=True,
                capture_output=True,
            )
        pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data)]
        opts = f"-c listen_addresses='' -c unix_socket_directories={sock} -p {PG_PORT} " + " ".join(
            f"-c {k}={v}" for k, v in PG_SETTINGS.items()
        )
        status = subprocess.run(
            server._cmd([str(bin_dir / "pg_ctl"), "-D", str(data), "status"]), capture_output=True
        )
        if status.returncode != 0:
            subprocess.run(
                server._cmd(
                    [*pg_ctl, "-o", opts, "-l", str(self.root / "server.log"), "-w", "-t", "120", "start"]
                ),
                check=True,
                capture_output=True,
            )
        self.server = server
        version = self._admin_scalar("SHOW server_version")
        log(f"postgresql {version} up on {sock} (port {PG_PORT})")

    def stop(self) -> None:
        if self.server is None:
            return
        s = self.server
        subprocess.run(
            s._cmd([str(s.bin_dir / "pg_ctl"), "-D", str(s.root / "data"), "-m", "fast", "-w", "stop"]),
            capture_output=True,
            check=False,
        )
        self.server = None

    def _server(self) -> PgServer:
        if self.server is None:
            raise RuntimeError("the PostgreSQL server is not started")
        return self.server

    def db_pid(self) -> int | None:
        pidfile = self.root / "data" / "postmaster.pid"
        try:
            return int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _admin_scalar(self, sql: str) -> str:
        engine = create_engine(self._server().url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                return str(conn.execute(text(sql)).scalar())
        finally:
            engine.dispose()

    def _admin(self, *sql: str) -> None:
        engine = create_engine(self._server().url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                for s in sql:
                    conn.execute(text(s))
        finally:
            engine.dispose()

    def database(self, label: str) -> str:
        return "bench_" + label.lower().replace("-", "_")

    def url(self, label: str) -> str:
        return self._server().url(self.database(label))

    def fresh(self, label: str, bin_dir: Path | None = None) -> None:
        db = self.database(label)
        self._admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)", f"CREATE DATABASE {db}")
        migrate(self.url(label), bin_dir)

    def drop(self, label: str) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {self.database(label)} WITH (FORCE)")

    def dossier_count(self, label: str) -> int | None:
        exists = self._admin_scalar(
            f"SELECT count(*) FROM pg_database WHERE datname = '{self.database(label)}'"
        )
        return _count(self.url(label)) if exists == "1" else None

    def db_bytes(self, label: str) -> int:
        return int(self._admin_scalar(f"SELECT pg_database_size('{self.database(label)}')"))

    def analyze(self, label: str) -> None:
        engine = create_engine(self.url(label), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text("ANALYZE"))
        finally:
            engine.dispose()

    def settings(self) -> dict[str, str]:
        return {**PG_SETTINGS, "fsync": "on", "synchronous_commit": "on", "transport": "unix socket"}
