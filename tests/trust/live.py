"""The real server as a separate process: `tthc-metrics migrate`, then `tthc-metrics serve`.

Tests here talk to it over a loopback TCP port exactly as the one-stop system and dashboards do, so
what they show (concurrency across worker processes, a SIGKILL mid-import) holds for the service as
deployed, not for an in-process test client.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import ROOT

# `make test` runs the live tests at a size that proves the point in seconds; `make fuzz` sets
# TTHC_TRUST_FULL=1 and runs them at the size they were written for.
FULL = os.environ.get("TTHC_TRUST_FULL") == "1"
ADMIN_TOKEN = "live-admin-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _env(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TTHC_")}
    env.update(DATABASE_URL=db_url, TTHC_ADMIN_TOKEN=ADMIN_TOKEN, TTHC_LOG_LEVEL="WARNING")
    env.update(extra)  # a test may ask for another log level
    return env


def migrate(db_url: str) -> None:
    """The deployment's first command: migrations and the reference seeds."""
    subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        cwd=ROOT,
        env=_env(db_url),
        check=True,
        capture_output=True,
    )


@dataclass
class LiveServer:
    url: str
    db_url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def client(self, token: str | None = ADMIN_TOKEN, timeout: float = 120.0) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL to the server and its worker processes at once: a crash, with no clean-up at all."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def start_server(
    db_url: str, log: Path, *, workers: int = 1, env: dict[str, str] | None = None
) -> LiveServer:
    """`tthc-metrics serve` on a free loopback port, in its own process group; returns once /readyz is 200."""
    port = free_port()
    out = log.open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT,
        env=_env(db_url, HOST="127.0.0.1", **(env or {})),
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so a kill reaches the workers too
    )
    out.close()
    server = LiveServer(f"http://127.0.0.1:{port}", db_url, proc, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}:\n{server.log_text()[-3000:]}")
        try:
            if httpx.get(server.url + "/readyz", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"the server did not become ready:\n{server.log_text()[-3000:]}")


@dataclass
class Database:
    """A database of its own for one live test, dropped afterwards."""

    url: str
    kind: str


def fresh_database(kind: str, pg_template: str | None, tmp: Path) -> Iterator[Database]:
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'live.db'}"
        migrate(url)
        yield Database(url, kind)
        return
    assert pg_template is not None
    base = make_url(pg_template).set(database="postgres")
    name = f"tthc_live_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
        migrate(url)
        yield Database(url, kind)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
