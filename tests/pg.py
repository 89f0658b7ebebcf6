"""A throwaway PostgreSQL server for the test session, started from the machine's pg_ctl/initdb.

Works as root (the server runs as the `postgres` user, which refuses to run as root) and as an
ordinary user. Listens on a Unix socket in its own temporary directory, no TCP port.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def find_pg_bin() -> Path | None:
    """The directory holding initdb and pg_ctl, or None when the server binaries are not installed."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(os.path.realpath(on_path)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


@dataclass
class PgServer:
    root: Path
    socket_dir: Path
    port: int
    bin_dir: Path
    run_as: str | None

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}&port={self.port}"

    def _cmd(self, args: list[str]) -> list[str]:
        return ["runuser", "-u", self.run_as, "--", *args] if self.run_as else args

    def stop(self) -> None:
        subprocess.run(
            self._cmd(
                [str(self.bin_dir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop"]
            ),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start_server(bin_dir: Path, port: int = 55432) -> PgServer:
    root = Path(tempfile.mkdtemp(prefix="tthc-pg-"))
    run_as: str | None = None
    if os.geteuid() == 0:
        run_as = "postgres"
        try:
            pw = pwd.getpwnam(run_as)
        except KeyError as exc:
            raise RuntimeError(
                "running as root needs a 'postgres' user (apt-get install postgresql)"
            ) from exc
        os.chown(root, pw.pw_uid, pw.pw_gid)
        os.chmod(root, 0o700)
    server = PgServer(root, root / "sock", port + os.getpid() % 1000, bin_dir, run_as)
    (root / "sock").mkdir()
    if run_as:
        pw = pwd.getpwnam(run_as)
        os.chown(root / "sock", pw.pw_uid, pw.pw_gid)
    data = root / "data"
    init = subprocess.run(
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
                "--no-sync",
                "--locale=C",
            ]
        ),
        capture_output=True,
        text=True,
    )
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {init.stderr[-2000:]}")
    opts = (
        f"-c listen_addresses='' -c unix_socket_directories={server.socket_dir} -p {server.port} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    start = subprocess.run(
        server._cmd(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                opts,
                "-l",
                str(root / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ]
        ),
        capture_output=True,
        text=True,
    )
    if start.returncode != 0:
        log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"pg_ctl start failed: {start.stderr[-1000:]} {log[-2000:]}")
    return server
