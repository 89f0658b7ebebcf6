"""The server under pressure: separate pools, shed reads, probes that stay fast, a capped request
head, and a SIGTERM that ends the process within its grace while threads compute."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.pool import Pool, QueuePool, StaticPool

from app.api.state import state_of
from app.config import Settings
from app.main import create_app
from app.store.engine import make_engine
from tests.conftest import ADMIN_TOKEN, ROOT
from tests.trust.live import Database, LiveServer, _env, free_port


def _settings(url: str, **extra: str) -> Settings:
    return Settings(DATABASE_URL=url, TTHC_ADMIN_TOKEN=ADMIN_TOKEN, **extra)  # type: ignore[arg-type]


def size(pool: Pool) -> int:
    assert isinstance(pool, QueuePool)
    return pool.size()


def test_reads_writes_and_the_probe_have_pools_of_their_own(sqlite_template: str) -> None:
    settings = _settings(sqlite_template, TTHC_READ_POOL_SIZE="3", TTHC_WRITE_POOL_SIZE="2")
    with TestClient(create_app(settings)) as c:
        state = state_of(c.app)
        assert state.read_engine is not state.engine
        assert state.read_engine.url == state.engine.url
        assert (size(state.read_engine.pool), size(state.engine.pool), size(state.probe_engine.pool)) == (
            3,
            2,
            1,
        )
    memory = _settings("sqlite://")
    engine = make_engine("sqlite://")
    try:
        with TestClient(create_app(memory, engine=engine)) as c:
            state = state_of(c.app)
            assert state.read_engine is state.engine is state.probe_engine is engine
            assert isinstance(engine.pool, StaticPool)
    finally:
        engine.dispose()


def test_a_read_without_a_free_connection_is_503_and_writes_and_probes_go_on(db_url: str) -> None:
    settings = _settings(db_url, TTHC_READ_POOL_SIZE="1", TTHC_POOL_TIMEOUT="0.3")
    with TestClient(create_app(settings)) as c:
        c.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        held = state_of(c.app).read_engine.connect()
        try:
            started = time.monotonic()
            r = c.get("/v1/metrics", params={"from": "2025-01-01", "to": "2025-01-31"})
            assert r.status_code == 503 and time.monotonic() - started < 5
            assert r.headers["content-type"] == "application/problem+json"
            assert int(r.headers["Retry-After"]) > 0
            assert r.json()["status"] == 503 and "SELECT" not in r.text
            # The writers' pool and the probe's are untouched by the readers'.
            body = {"name": "Sở Thử tải", "level": "province", "commune_code": None}
            assert c.put("/v1/agencies/000.00.98.H41", json=body).status_code in {200, 201}
            assert c.get("/readyz").status_code == 200
        finally:
            held.close()
        assert c.get("/v1/metrics", params={"from": "2025-01-01", "to": "2025-01-31"}).status_code == 200


def test_readyz_is_503_within_its_budget_when_the_database_hangs(pg_template: str) -> None:
    """A lock held on alembic_version makes the probe's SELECT wait: its statement_timeout ends it."""
    settings = _settings(pg_template, TTHC_READY_TIMEOUT="1")
    locker = make_engine(pg_template)
    try:
        with TestClient(create_app(settings)) as c, locker.connect() as conn:
            assert c.get("/readyz").status_code == 200
            conn.execute(text("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE"))
            started = time.monotonic()
            r = c.get("/readyz")
            took = time.monotonic() - started
            conn.rollback()
            assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
            assert took < 3, took
            assert c.get("/readyz").status_code == 200
    finally:
        locker.dispose()


def test_readyz_is_503_quickly_when_the_database_is_unreachable(tmp_path: Path) -> None:
    # Nothing listens on this port: the probe's connect fails, well inside the budget.
    settings = _settings(f"postgresql://postgres@127.0.0.1:{free_port()}/none", TTHC_READY_TIMEOUT="2")
    with TestClient(create_app(settings)) as c:
        started = time.monotonic()
        assert c.get("/healthz").json() == {"status": "ok"}
        r = c.get("/readyz")
        assert r.status_code == 503 and time.monotonic() - started < 4


def _attack(url: str, megabytes: int) -> tuple[int, float, bytes]:
    """A request whose one header grows to `megabytes` MiB; returns bytes sent, time, reply."""
    host, port = url.removeprefix("http://").split(":")
    started = time.monotonic()
    sent = 0
    reply = b""
    with socket.create_connection((host, int(port)), timeout=10) as s:
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
            block = b"a" * (1 << 20)
            while sent < megabytes << 20:
                s.sendall(block)
                sent += len(block)
            s.sendall(b"\r\n\r\n")
            reply = s.recv(100)
        except OSError:
            pass  # reset: the server closed the connection with bytes of ours unread
    return sent, time.monotonic() - started, reply


def test_a_huge_request_head_is_cut_off_while_probes_stay_fast(live: LiveServer) -> None:
    # A large but legitimate header still passes.
    assert httpx.get(live.url + "/healthz", headers={"X-Fine": "a" * 32_000}).status_code == 200
    results: list[tuple[int, float, bytes]] = []
    stop = threading.Event()

    def attacker() -> None:
        while not stop.is_set():
            results.append(_attack(live.url, 150))

    attackers = [threading.Thread(target=attacker) for _ in range(4)]
    for t in attackers:
        t.start()
    latencies = []
    with httpx.Client(base_url=live.url, timeout=10) as http:
        for _ in range(30):
            started = time.monotonic()
            assert http.get("/healthz").status_code == 200
            latencies.append(time.monotonic() - started)
            time.sleep(0.05)
    stop.set()
    for t in attackers:
        t.join(timeout=60)
    assert results, "no attack completed"
    # Each attack ends after a few MiB (what the socket buffers took), never the 150 MiB.
    assert all(sent < 32 << 20 and took < 5 for sent, took, _ in results), results[:5]
    assert all(reply in (b"",) or reply.startswith(b"HTTP/1.1 400") for _, _, reply in results)
    assert max(latencies) < 1.0, latencies
    # A request line of 4 MiB: the same (the cap bounds what is buffered of an incomplete head; a
    # head that arrives whole in one read of the socket, at most 256 KiB, is parsed as it is).
    host, port = live.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        try:
            s.sendall(b"GET /healthz?q=" + b"a" * (4 << 20) + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = s.recv(100)
        except OSError:
            reply = b""
        assert reply == b"" or reply.startswith(b"HTTP/1.1 400"), reply
    print(f"\n{len(results)} attacks, healthz max {max(latencies) * 1000:.0f} ms")


@pytest.fixture
def slow_server(sqlite_db: Database, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """tests/trust/slow_app.py served by app.server.serve (as `tthc-metrics serve`), grace 2 s."""
    workers: int = request.param
    port = free_port()
    target = "tests.trust.slow_app:app"
    code = f"from app.server import serve; serve('127.0.0.1', {port}, {workers}, target={target!r})"
    log = tmp_path / "slow.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=_env(sqlite_db.url, TTHC_SHUTDOWN_GRACE="2"),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", sqlite_db.url, proc, log)
    deadline = time.monotonic() + 60
    while True:
        assert time.monotonic() < deadline and proc.poll() is None, server.log_text()[-2000:]
        try:
            if httpx.get(server.url + "/readyz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    yield server
    server.kill()


@pytest.mark.parametrize(
    ("slow_server", "sig"),
    [(2, signal.SIGTERM), (1, signal.SIGTERM), (1, signal.SIGINT)],
    indirect=["slow_server"],
    ids=["2-workers-SIGTERM", "1-worker-SIGTERM", "1-worker-SIGINT"],
)
def test_a_signal_ends_the_server_within_its_grace_while_threads_compute(
    slow_server: LiveServer, sig: signal.Signals
) -> None:
    answers: list[httpx.Response | str] = []

    def long_request() -> None:
        try:
            answers.append(httpx.get(slow_server.url + "/test/busy", params={"seconds": 60}, timeout=90))
        except httpx.HTTPError as exc:
            answers.append(type(exc).__name__)

    clients = [threading.Thread(target=long_request) for _ in range(3)]
    for t in clients:
        t.start()
    time.sleep(1.5)
    started = time.monotonic()
    os.kill(slow_server.proc.pid, sig)  # to the server's process only, as a container runtime does
    slow_server.proc.wait(timeout=30)
    took = time.monotonic() - started
    for t in clients:
        t.join(timeout=10)
    # Grace 2 s, then at most ShutdownGuard's 2 s: never the 60 s the threads would take.
    assert took < 2 + 2 + 2, took
    for a in answers:
        # Cut by the shutdown: a 503 to send again (or, for a request not yet read, a closed connection).
        assert isinstance(a, str) or (a.status_code == 503 and a.headers["Retry-After"]), a
    assert any(not isinstance(a, str) for a in answers)
    print(f"\nexit {slow_server.proc.returncode} {took:.2f} s after {sig.name}")
