"""`tthc-metrics tokens create|list|revoke` on the database; the start-up warning; bad settings."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from app.cli import main
from app.cli_tokens import warn_without_tokens
from app.config import Settings, get_settings
from app.models import ApiToken
from tests.conftest import ADMIN_TOKEN, Clock
from tests.factory import AGENCY, rec
from tests.ingesting import app_client, with_token

ROOT = Path(__file__).resolve().parent.parent
WARNING = (
    "tthc-metrics: warning: no admin token and no usable stored token: every write will be refused; "
    "create one with `tthc-metrics tokens create --label NAME --scopes admin` or set TTHC_ADMIN_TOKEN "
    "to a random value of at least 16 characters\n"
)


@pytest.fixture
def cli_env(db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The command reads DATABASE_URL from the environment, as in production; no admin token."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("TTHC_ADMIN_TOKEN", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def created(out: str) -> dict[str, str]:
    """The `name value` lines `tokens create` prints."""
    return dict(line.split(None, 1) for line in out.splitlines())


def test_a_token_created_on_the_database_works_until_it_is_revoked(
    cli_env: None, engine: Engine, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    before = datetime.now(UTC)
    argv = ["tokens", "create", "--label", "Sở Xây dựng", "--scopes", "read,ingest", "--agencies", AGENCY]
    assert main(argv) == 0
    after = datetime.now(UTC)
    out, err = capsys.readouterr()
    token = created(out)
    assert list(token) == ["id", "label", "scopes", "agencies", "expires_at", "token"]
    assert re.fullmatch(r"[0-9a-f]{16}", token["id"])
    assert re.fullmatch(r"tthc_[A-Za-z0-9_-]{43}", token["token"])
    assert {k: token[k] for k in ("label", "scopes", "agencies", "expires_at")} == {
        "label": "Sở Xây dựng",
        "scopes": "ingest,read",
        "agencies": AGENCY,
        "expires_at": "never",
    }
    assert err == "The token is shown this once; keep it now (e.g. `export TTHC_TOKEN=…`).\n"

    # The app knows no admin token: the stored token alone lets it write, as the API's tokens do.
    with app_client(engine, clock, TTHC_ADMIN_TOKEN=None) as c:
        writer = with_token(c, token["token"])
        assert writer.post("/v1/dossiers", json=[rec("T-1")]).json()["created"] == 1

        assert main(["tokens", "list", "--json"]) == 0
        [listed] = json.loads(capsys.readouterr().out)
        assert before <= datetime.fromisoformat(listed.pop("created_at")) <= after
        assert listed == {
            "id": token["id"],
            "label": "Sở Xây dựng",
            "scopes": ["ingest", "read"],
            "agencies": [AGENCY],
            "expires_at": None,
            "revoked_at": None,
        }

        assert main(["tokens", "revoke", token["id"]]) == 0
        out = capsys.readouterr().out
        assert re.fullmatch(rf"token {token['id']} \(Sở Xây dựng\) revoked at \S+\+07:00\n", out)
        r = writer.post("/v1/dossiers", json=[rec("T-2")])
        assert r.status_code == 401
        assert r.json()["detail"] == "The token has been revoked."

    assert main(["tokens", "revoke", token["id"]]) == 0
    assert "was already revoked at" in capsys.readouterr().out
    assert main(["tokens", "revoke", "0123456789abcdef"]) == 1
    assert capsys.readouterr().err == "tthc-metrics: tokens revoke: No token has id 0123456789abcdef.\n"
    assert main(["tokens", "revoke", "nope"]) == 2
    assert capsys.readouterr().err == (
        "tthc-metrics: tokens revoke: 'nope' is not a token id (16 hexadecimal digits)\n"
    )


def test_the_list_shows_what_the_api_shows_and_never_a_secret(
    cli_env: None, engine: Engine, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    with app_client(engine, clock) as c:
        body = {"label": "cổng DVC", "scopes": ["ingest"], "expires_at": "2026-01-01T00:00:00+07:00"}
        first = c.post("/v1/tokens", json=body).json()
        clock.now += timedelta(minutes=5)
        second = c.post("/v1/tokens", json={"label": "reader", "scopes": ["read"]}).json()
        clock.now += timedelta(minutes=5)
        assert c.delete(f"/v1/tokens/{second['id']}").status_code == 204
        api = c.get("/v1/tokens").json()
    assert main(["tokens", "list", "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == api
    assert main(["tokens", "list"]) == 0
    out = capsys.readouterr().out
    assert first["token"] not in out and second["token"] not in out
    # Sorted by creation; times in Vietnam time (the app's clock stands at 08:00 on 1 October 2025).
    a, b = first["id"], second["id"]
    assert out == (
        "id                label     scopes  agencies  created                    expires"
        "                    revoked\n"
        f"{a}  cổng DVC  ingest  all       2025-10-01T08:00:00+07:00  2026-01-01T00:00:00+07:00  -\n"
        f"{b}  reader    read    all       2025-10-01T08:05:00+07:00  never                      "
        "2025-10-01T08:10:00+07:00\n"
    )


def test_create_checks_its_arguments_as_the_api_checks_its_body(
    cli_env: None, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["tokens", "create", "--label", "x", "--scopes", "ingest", "owner", "--expires-at", "soon"]
    assert main([*argv, "--agencies", "not a code"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "tthc-metrics tokens create: --scopes: Input should be 'ingest', 'read' or 'admin'",
        "tthc-metrics tokens create: --agencies: String should match pattern '^[A-Za-z0-9._-]{1,64}$'",
        "tthc-metrics tokens create: --expires-at: must be an ISO 8601 timestamp such as "
        "2025-07-14T08:30:00+07:00",
    ]
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ApiToken)) == 0

    assert main(["tokens", "create", "--label", "x", "--scopes", "admin", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert re.fullmatch(r"tthc_[A-Za-z0-9_-]{43}\n", out)
    assert err == ""


def test_tokens_on_a_database_not_migrated_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/new.db")
    monkeypatch.delenv("TTHC_ADMIN_TOKEN", raising=False)
    get_settings.cache_clear()
    try:
        assert main(["tokens", "list"]) == 1
    finally:
        get_settings.cache_clear()
    assert capsys.readouterr().err == (
        "tthc-metrics: the database at DATABASE_URL cannot be used (no such table: api_tokens); "
        "is it running, and has `tthc-metrics migrate` been run?\n"
    )


def test_start_up_warns_when_no_token_can_write(
    cli_env: None, db_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = Settings(DATABASE_URL=db_url)
    assert warn_without_tokens(bare) == WARNING.rstrip("\n")
    assert capsys.readouterr().err == WARNING
    # Only an expired and a revoked token: still no way to write.
    expired = ["--expires-at", "2025-01-01T00:00:00+07:00"]
    assert main(["tokens", "create", "--label", "old", "--scopes", "admin", *expired]) == 0
    assert main(["tokens", "create", "--label", "gone", "--scopes", "admin"]) == 0
    gone = created(capsys.readouterr().out)["id"]
    assert main(["tokens", "revoke", gone]) == 0
    capsys.readouterr()
    assert warn_without_tokens(bare) is not None
    assert capsys.readouterr().err == WARNING
    # An admin token, or one usable stored token: no warning.
    assert warn_without_tokens(Settings(DATABASE_URL=db_url, TTHC_ADMIN_TOKEN=ADMIN_TOKEN)) is None
    assert main(["tokens", "create", "--label", "live", "--scopes", "ingest", "--quiet"]) == 0
    capsys.readouterr()
    assert warn_without_tokens(bare) is None
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("changeme-changeme-changeme", "it is a placeholder (one character or one group repeated)"),
        ("short", "it is shorter than 16 characters"),
    ],
)
def test_a_bad_admin_token_is_one_line_and_exit_2(
    value: str, reason: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TTHC_ADMIN_TOKEN", value)
    get_settings.cache_clear()
    try:
        assert main(["tokens", "list"]) == 2
    finally:
        get_settings.cache_clear()
    assert capsys.readouterr().err == (
        f"tthc-metrics: invalid setting TTHC_ADMIN_TOKEN: {reason}; use a random value, e.g. from "
        "`openssl rand -hex 32`\n"
    )


def test_the_command_with_a_placeholder_admin_token_prints_no_traceback(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TTHC_ADMIN_TOKEN": "password-password",
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
    }
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "tthc-metrics: invalid setting TTHC_ADMIN_TOKEN: it is a placeholder (one character or one group "
        "repeated); use a random value, e.g. from `openssl rand -hex 32`\n"
    )
