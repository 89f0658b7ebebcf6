"""Running the alembic migrations from code (the CLI, `make run`, tests)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


@cache
def head_revision() -> str:
    """The newest revision of the migrations shipped (read once a process: the files do not change
    under a running process)."""
    return ScriptDirectory.from_config(alembic_config("")).get_current_head() or ""
