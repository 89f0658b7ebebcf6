"""A backup taken while an import commits: the real server, a real NDJSON upload, the real command line.

`tthc-metrics serve` (on a migrated SQLite file, or a PostgreSQL database) takes an upload of
TOTAL generated dossiers that it commits in chunks of CHUNK records; once a quarter of them are in,
`tthc-metrics backup` runs. The backup is then restored into a database of its own and must:
pass `tthc-metrics rollups verify`; give, through /v1/metrics served from it, what plain SQL counts
over its own dossiers; and hold a whole number of committed chunks: more than none, fewer than all,
and exactly the first records of the upload (a chunk is wholly in the backup or not at all).

Heavy (a minute or two): run by `make ci-extra`, not by `make test`.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.demo import generate_demo, write_ndjson
from app.store.engine import make_engine
from tests.conftest import ROOT
from tests.trust.live import ADMIN_TOKEN, Database, LiveServer, fresh_database, start_server

TOTAL = 80_000
CHUNK = 2_000
FINISHED = ("resolved", "returned", "rejected")


def cli(db_url: str, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TTHC_")}
    env["DATABASE_URL"] = db_url
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *argv], cwd=ROOT, env=env, capture_output=True, text=True
    )


def count(db_url: str) -> int:
    if db_url.startswith("sqlite"):
        path = make_url(db_url).database
        lite = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            return int(lite.execute("SELECT count(*) FROM dossiers").fetchone()[0])
        finally:
            lite.close()
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(text("SELECT count(*) FROM dossiers")) or 0)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def upload(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """TOTAL dossiers of 2025 as NDJSON, and their codes in file order."""
    path = tmp_path_factory.mktemp("upload") / "dossiers.ndjson"
    write_ndjson(generate_demo(TOTAL, seed=14, year=2025, now=datetime(2026, 1, 1, tzinfo=UTC)), path)
    codes = [orjson.loads(line)["code"] for line in path.read_bytes().splitlines()]
    assert len(codes) == len(set(codes)) == TOTAL
    return path, codes


@pytest.fixture(params=["sqlite", "postgresql"])
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    return str(request.param)


@pytest.fixture
def source(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A freshly migrated database for the server (`tthc-metrics migrate`)."""
    pg = request.getfixturevalue("pg_template") if kind == "postgresql" else None
    yield from fresh_database(kind, pg, tmp_path)


@pytest.fixture
def empty_target(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where the backup is restored: a file not there yet, or an empty PostgreSQL database."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored' / 'tthc.db'}"
        return
    base = make_url(request.getfixturevalue("pg_template")).set(database="postgres")
    name = f"tthc_restored_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def post_file(server: LiveServer, path: Path, out: dict[str, Any]) -> None:
    def body() -> Iterator[bytes]:
        with path.open("rb") as fh:
            while block := fh.read(256 * 1024):
                yield block

    with server.client(ADMIN_TOKEN, timeout=600) as client:
        r = client.post("/v1/dossiers", content=body(), headers={"Content-Type": "application/x-ndjson"})
    out["status"], out["body"] = r.status_code, r.text


def naive(db_url: str) -> tuple[dict[str, int], dict[str, int]]:
    """Received and finished dossiers of 2025 by agency, counted straight from the dossiers."""
    engine = make_engine(db_url)
    finished = ", ".join(f"'{s}'" for s in FINISHED)
    try:
        with engine.connect() as conn:
            received = {
                str(agency): int(n)
                for agency, n in conn.execute(
                    text(
                        "SELECT agency_code, count(*) FROM dossiers WHERE received_date "
                        "BETWEEN '2025-01-01' AND '2025-12-31' GROUP BY agency_code"
                    )
                )
            }
            done = {
                str(agency): int(n)
                for agency, n in conn.execute(
                    text(
                        f"SELECT agency_code, count(*) FROM dossiers WHERE status IN ({finished}) "
                        "AND close_date BETWEEN '2025-01-01' AND '2025-12-31' GROUP BY agency_code"
                    )
                )
            }
    finally:
        engine.dispose()
    return received, done


def test_a_backup_during_an_import_holds_whole_chunks_and_verifies(
    kind: str, source: Database, upload: tuple[Path, list[str]], empty_target: str, tmp_path: Path
) -> None:
    path, codes = upload
    db = source
    server = start_server(db.url, tmp_path / "server.log", env={"TTHC_INGEST_CHUNK": str(CHUNK)})
    result: dict[str, Any] = {}
    try:
        started = time.perf_counter()
        importer = threading.Thread(target=post_file, args=(server, path, result))
        importer.start()
        while (seen := count(db.url)) < TOTAL // 4:
            assert importer.is_alive(), result
            time.sleep(0.2)
        backups = tmp_path / "backups"
        backups.mkdir()
        began = time.perf_counter()
        made = cli(db.url, "backup", str(backups))
        took = time.perf_counter() - began
        still_importing = importer.is_alive()
        importer.join(timeout=900)
        imported = time.perf_counter() - started
    finally:
        server.stop()
    assert made.returncode == 0, made.stderr
    assert still_importing, "the import ended before the backup did: it was not taken mid-import"
    assert result["status"] == 200, result
    assert orjson.loads(result["body"])["created"] == TOTAL
    match = re.fullmatch(r"backup written to (\S+): ([\d,]+) dossiers, .*\n", made.stdout)
    assert match is not None, made.stdout
    backup, in_backup = Path(match.group(1)), int(match.group(2).replace(",", ""))

    restored = cli(empty_target, "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    verified = cli(empty_target, "rollups", "verify")
    assert (verified.returncode, verified.stdout) == (
        0,
        "rollups match a recomputation from the stored dossiers\n",
    ), verified.stdout + verified.stderr

    n = count(empty_target)
    assert n == in_backup
    # Whole committed chunks only: more than none, fewer than all, and exactly the upload's first n.
    assert 0 < n < TOTAL and n % CHUNK == 0, n
    engine = make_engine(empty_target)
    try:
        with engine.connect() as conn:
            stored = set(conn.scalars(text("SELECT code FROM dossiers")))
    finally:
        engine.dispose()
    assert stored == set(codes[:n])

    received, finished = naive(empty_target)
    assert sum(received.values()) == n
    served = start_server(empty_target, tmp_path / "restored.log")
    try:
        with served.client(None) as client:
            r = client.get(
                "/v1/metrics", params={"from": "2025-01-01", "to": "2025-12-31", "group_by": "agency"}
            )
    finally:
        served.stop()
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert {row["agency"]: row["counts"]["received"] for row in rows if row["counts"]["received"]} == received
    assert {row["agency"]: row["counts"]["finished"] for row in rows if row["counts"]["finished"]} == finished
    print(
        f"\n{kind}: backup of {n:,} of {TOTAL:,} dossiers ({n // CHUNK} chunks of {CHUNK:,}; {seen:,} seen "
        f"when it began) in {took:.1f} s, {backup.stat().st_size / 1e6:.1f} MB; the import took "
        f"{imported:.1f} s\n  {made.stdout.strip()}\n  {restored.stdout.strip()}"
    )
