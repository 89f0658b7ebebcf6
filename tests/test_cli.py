"""The `tthc-metrics` command: import an NDJSON file, verify and rebuild the rollups."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, func, select, text

from app.cli import main
from app.config import Settings, get_settings
from app.main import create_app
from app.models import Dossier
from tests.conftest import ADMIN_TOKEN, Clock
from tests.factory import open_rec, rec
from tests.ingesting import ndjson


@pytest.fixture
def cli_env(db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The command reads DATABASE_URL from the environment, as in production."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("TTHC_ADMIN_TOKEN", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def stored_codes(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(select(Dossier.code).order_by(Dossier.code)))


def write_file(tmp_path: Path) -> Path:
    path = tmp_path / "dossiers.ndjson"
    path.write_bytes(
        ndjson(
            [
                rec("I-1"),
                open_rec("I-2", received_at="2025-07-02T08:00:00+07:00"),
                b'{"code": "I-3",',
                rec("I-4", agency_code="000.00.99.H41"),
                rec("I-5", channel="online", online_level="full"),
            ]
        )
    )
    return path


def test_import_writes_a_file_straight_into_the_database(
    cli_env: None, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_file(tmp_path)
    assert main(["import", str(path), "--chunk", "2"]) == 1  # some lines were rejected
    assert stored_codes(engine) == ["I-1", "I-2", "I-5"]
    err = capsys.readouterr().err
    assert "received 5  created 3  updated 0  unchanged 0  stale 0  rejected 2" in err
    # Lines as editors number them, from 1 (the third and the fourth line of the file).
    assert "  line 3 (no code): record: the line is not valid JSON\n" in err
    assert "  line 4 (I-4): agency_code: agency_code is not a registered agency\n" in err


def test_importing_the_same_file_again_changes_nothing(
    cli_env: None, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "clean.ndjson"
    path.write_bytes(ndjson([rec("I-1"), rec("I-2")]))
    assert main(["import", str(path)]) == 0
    assert main(["import", str(path)]) == 0
    assert "received 2  created 0  updated 0  unchanged 2" in capsys.readouterr().err


def test_import_of_a_missing_file_exits_2(cli_env: None, tmp_path: Path) -> None:
    assert main(["import", str(tmp_path / "nothing.ndjson")]) == 2


def test_rollups_verify_finds_a_corrupted_row_and_rebuild_fixes_it(
    cli_env: None, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "clean.ndjson"
    path.write_bytes(ndjson([rec("I-1"), rec("I-2", received_at="2025-07-02T08:00:00+07:00")]))
    assert main(["import", str(path)]) == 0
    assert main(["rollups", "verify"]) == 0
    assert "rollups match a recomputation" in capsys.readouterr().out

    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        changed = conn.execute(
            text(
                "UPDATE rollups SET received = received + 1 "
                "WHERE cube = 0 AND grain = 0 AND period = :day AND received = 1"
            ),
            {"day": "2025-07-02"},
        ).rowcount
        version_before = conn.execute(text("SELECT version FROM data_state")).scalar_one()
    assert changed == 1
    assert main(["rollups", "verify"]) == 1
    out = capsys.readouterr().out
    # The corrupted row is listed as stored and as recomputed, and counted once.
    assert "1 rollup rows differ from a recomputation" in out
    assert "'side': 'stored'" in out and "'side': 'expected'" in out

    assert main(["rollups", "rebuild"]) == 0
    assert main(["rollups", "verify"]) == 0
    with engine.connect() as conn:
        # A rebuild can change figures, so cached responses and ETags must move on.
        assert conn.execute(text("SELECT version FROM data_state")).scalar_one() == version_before + 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def served(cli_env: None, engine: Engine, db_url: str, clock: Clock) -> Iterator[str]:
    """A real server (uvicorn on a free port) over the test database; its base URL."""
    app = create_app(
        Settings(DATABASE_URL=db_url, TTHC_ADMIN_TOKEN=ADMIN_TOKEN, TTHC_INGEST_CHUNK=2),
        engine=engine,
        clock=clock,
    )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_import_sends_a_file_to_the_service_in_requests_of_chunk_lines(
    served: str,
    engine: Engine,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_file(tmp_path)
    # Requests of 2 lines: lines 1-2, 3-4 and 5; the rejected lines are named in the whole file.
    assert main(["import", str(path), "--url", served, "--token", ADMIN_TOKEN, "--chunk", "2"]) == 1
    assert stored_codes(engine) == ["I-1", "I-2", "I-5"]
    err = capsys.readouterr().err
    assert "received 5  created 3  updated 0  unchanged 0  stale 0  rejected 2" in err
    assert "  line 3 (no code): record: the line is not a valid JSON object\n" in err
    assert "  line 4 (I-4): agency_code: agency_code is not a registered agency\n" in err
    # The bar's last state: every line answered, the committed and the rejected records.
    assert "5/5 lines 3 committed, 2 rejected" in err

    # The token from TTHC_TOKEN when --token is not given.
    monkeypatch.setenv("TTHC_TOKEN", ADMIN_TOKEN)
    assert main(["import", str(path), "--url", served]) == 1
    err = capsys.readouterr().err
    assert "received 5  created 0  updated 0  unchanged 3  stale 0  rejected 2" in err
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Dossier)) == 3


def test_a_refused_token_is_one_line(
    served: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_file(tmp_path)
    assert main(["import", str(path), "--url", served, "--token", "tthc_not-a-token-of-this-service"]) == 1
    assert capsys.readouterr().err == (
        "tthc-metrics: the service refused the token (401 Unauthorized: The token is not valid.); "
        "it needs the ingest scope (--token or TTHC_TOKEN)\n"
    )
    monkeypatch.delenv("TTHC_TOKEN", raising=False)
    assert main(["import", str(path), "--url", served]) == 1
    assert capsys.readouterr().err == (
        "tthc-metrics: the service refused the token (401 Unauthorized: This operation needs a bearer "
        "token with the 'ingest' scope.); it needs the ingest scope (no token was given: set TTHC_TOKEN "
        "or --token)\n"
    )
    reader = httpx.post(
        f"{served}/v1/tokens",
        json={"label": "reader", "scopes": ["read"]},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    ).json()["token"]
    monkeypatch.setenv("TTHC_TOKEN", reader)
    assert main(["demo-data", "--dossiers", "3", "--url", served]) == 1
    assert capsys.readouterr().err == (
        "tthc-metrics: the service refused the token (403 Forbidden: The token lacks the 'ingest' "
        "scope.); it needs the ingest scope (--token or TTHC_TOKEN)\n"
    )


def test_a_refused_connection_is_one_line(
    cli_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _free_port()  # bound and closed again: nothing listens there
    path = write_file(tmp_path)
    assert main(["import", str(path), "--url", f"http://127.0.0.1:{port}/", "--token", ADMIN_TOKEN]) == 1
    assert capsys.readouterr().err == (
        f"tthc-metrics: cannot connect to http://127.0.0.1:{port} ([Errno 111] Connection refused): "
        "is the service running?\n"
    )
