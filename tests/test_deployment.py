"""What a deployment starts from, checked without a container engine: the Python versions the lock
installs on, the Dockerfile, compose.yaml and the nginx site file (which tests/ci/test_nginx.py also
runs for real in CI)."""

from __future__ import annotations

import re
import shlex
import tomllib
from typing import Any

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import parse_wheel_filename
from sqlalchemy.engine import make_url

from app.api.bodies import MAX_JSON_BYTES
from app.config import Settings
from app.main import create_app
from tests.conftest import ROOT

COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
NGINX_SITE = ROOT / "deploy" / "nginx" / "tthc-metrics.conf"
ENV_EXAMPLE = ROOT / "deploy" / "compose.env.example"
SUPPORTED = ("3.11", "3.12", "3.13")


def setting_names() -> set[str]:
    """Every environment variable Settings reads."""
    names: set[str] = set()
    for field in Settings.model_fields.values():
        alias: Any = field.validation_alias
        names.update(alias.choices)
    return names


def paths(method: str) -> set[str]:
    """The app's documented paths that answer `method`."""
    document = create_app(Settings(DATABASE_URL="sqlite://")).openapi()
    return {path for path, operations in document["paths"].items() if method.lower() in operations}


# --- Python versions ----------------------------------------------------------------------------


def test_the_project_and_its_lock_cover_python_3_11_to_3_13() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    declared = SpecifierSet(project["requires-python"])
    locked = SpecifierSet(lock["requires-python"])
    assert declared == locked, "uv.lock was resolved for another requires-python: run `uv lock`"
    for version in ("3.11.0", "3.11.7", "3.12.0", "3.12.1", "3.13.0", "3.13.9"):
        assert version in declared
    for version in ("3.10.13", "3.14.0"):
        assert version not in declared


def _linux_tags(minor: int) -> set[Tag]:
    platforms = [f"manylinux_2_{m}_x86_64" for m in range(36, 4, -1)]
    platforms += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"]
    version = (3, minor)
    return set(cpython_tags(version, platforms=platforms)) | set(
        compatible_tags(version, platforms=platforms)
    )


def test_every_locked_package_installs_on_linux_for_each_supported_python() -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    tags = {v: _linux_tags(int(v.split(".")[1])) for v in SUPPORTED}
    missing = []
    for package in lock["package"]:
        if "registry" not in package["source"] or "sdist" in package:
            continue  # the project itself, or a package uv can build from its source
        wheel_tags: set[Tag] = set()
        for wheel in package.get("wheels", []):
            wheel_tags |= parse_wheel_filename(wheel["url"].rsplit("/", 1)[1])[3]
        missing += [f"{package['name']} on {v}" for v in SUPPORTED if not wheel_tags & tags[v]]
    assert missing == []


# --- Dockerfile --------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments left out."""
    joined = re.sub(r"\\\n(\s*#[^\n]*\n)*", " ", DOCKERFILE.read_text())
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def runtime_stage() -> list[tuple[str, str]]:
    steps = dockerfile_instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def env_of(steps: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for word, args in steps:
        if word == "ENV":
            for pair in shlex.split(args):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def test_the_image_keeps_its_data_on_a_declared_volume() -> None:
    steps = runtime_stage()
    volumes = [args for word, args in steps if word == "VOLUME"]
    assert volumes == ["/var/lib/tthc"]
    # The SQLite database is inside it, and the volume is declared after the folder is given to the
    # service's user, so a new named volume starts with that owner.
    assert env_of(steps)["DATABASE_URL"] == "sqlite:////var/lib/tthc/tthc.db"
    chown = next(i for i, (w, a) in enumerate(steps) if w == "RUN" and "chown tthc:tthc /var/lib/tthc" in a)
    assert chown < next(i for i, (w, _) in enumerate(steps) if w == "VOLUME")


def test_the_image_runs_as_an_unprivileged_user_with_a_health_check_on_readyz() -> None:
    steps = runtime_stage()
    users = [args for word, args in steps if word == "USER"]
    assert users == ["tthc"]
    assert any(w == "RUN" and "useradd --system --gid tthc" in a for w, a in steps)
    user_at = next(i for i, (w, _) in enumerate(steps) if w == "USER")
    assert all(w != "RUN" for w, _ in steps[user_at:]), "a RUN after USER would not run as root"
    env = env_of(steps)
    assert [a for w, a in steps if w == "EXPOSE"] == [env["PORT"]] == ["8000"]
    [check] = [a for w, a in steps if w == "HEALTHCHECK"]
    assert re.findall(r"127\.0\.0\.1:\{[^}]+\}(/[a-z]+)", check) == ["/readyz"]
    assert "/readyz" in paths("GET")
    # The image runs the same commands as a host: migrate, then serve; `tthc-metrics` is on its PATH.
    [cmd] = [a for w, a in steps if w == "CMD"]
    assert "tthc-metrics migrate && exec tthc-metrics serve" in cmd
    assert any(w == "RUN" and "/usr/local/bin/tthc-metrics" in a for w, a in steps)


def test_the_image_is_built_from_the_lock_on_a_supported_python() -> None:
    steps = dockerfile_instructions()
    bases = [a for w, a in steps if w == "FROM"]
    assert bases == ["python:3.11-slim-bookworm AS build", "python:3.11-slim-bookworm"]
    assert ("RUN", "uv sync --locked --no-dev --no-install-project") in steps
    copied = [p for w, a in steps if w == "COPY" and not a.startswith("--from") for p in a.split()[:-1]]
    assert copied == ["pyproject.toml", "uv.lock", "app", "migrations", "alembic.ini"]
    for path in copied:
        assert (ROOT / path).exists()
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".venv-*", ".env", ".git", "data"} <= set(ignored)


# --- compose.yaml ------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return document


INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?:(?P<op>:[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """compose's ${NAME}, ${NAME:-default} and ${NAME:?error} (the forms compose.yaml uses)."""

    def one(m: re.Match[str]) -> str:
        name, op, arg = m["name"], m["op"], m["arg"]
        if env.get(name):
            return env[name]
        if op == ":?":
            raise LookupError(f"{name}: {arg}")
        return arg if op == ":-" else ""

    return INTERPOLATION.sub(one, value)


def test_compose_runs_the_service_from_the_dockerfile_beside_postgresql_15() -> None:
    doc = compose()
    services = doc["services"]
    assert set(services) == {"tthc", "postgres"}
    tthc, pg = services["tthc"], services["postgres"]
    assert tthc["build"] == {"context": ".", "dockerfile": "Dockerfile"}
    assert (ROOT / tthc["build"]["context"] / tthc["build"]["dockerfile"]) == DOCKERFILE
    assert re.fullmatch(r"postgres:15(-[a-z]+)?", pg["image"])
    assert tthc["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert tthc["restart"] == pg["restart"] == "unless-stopped"
    # The service on the host's loopback only (nginx in front); the database not published at all.
    assert tthc["ports"] == ["127.0.0.1:8000:8000"]
    assert "ports" not in pg


def test_compose_keeps_both_stores_on_named_volumes() -> None:
    doc = compose()
    assert set(doc["volumes"]) == {"tthc-data", "postgres-data"}
    mounts = {name: s["volumes"] for name, s in doc["services"].items()}
    assert mounts == {
        "tthc": ["tthc-data:/var/lib/tthc"],  # the Dockerfile's VOLUME
        "postgres": ["postgres-data:/var/lib/postgresql/data"],  # the postgres image's PGDATA
    }


def test_compose_health_checks_ask_readyz_and_pg_isready() -> None:
    services = compose()["services"]
    tthc, pg = services["tthc"]["healthcheck"], services["postgres"]["healthcheck"]
    assert tthc["test"][:3] == ["CMD", "python", "-c"]
    assert re.findall(r"http://127\.0\.0\.1:(\d+)(/[a-z]+)", tthc["test"][3]) == [("8000", "/readyz")]
    assert "/readyz" in paths("GET")
    user, db = (
        services["postgres"]["environment"]["POSTGRES_USER"],
        services["postgres"]["environment"]["POSTGRES_DB"],
    )
    assert pg["test"] == ["CMD", "pg_isready", "--username", user, "--dbname", db]
    for check in (tthc, pg):
        assert set(check) == {"test", "interval", "timeout", "start_period", "retries"}
        assert check["retries"] >= 3


def test_compose_environment_names_settings_that_exist_and_wires_the_database() -> None:
    services = compose()["services"]
    env = services["tthc"]["environment"]
    # Every name is one the service reads (HOST and PORT the Dockerfile sets, WORKERS its CMD).
    assert set(env) - {"WORKERS"} <= setting_names()
    pg_env = services["postgres"]["environment"]
    secrets = {"POSTGRES_PASSWORD": "0123456789abcdef0123", "TTHC_ADMIN_TOKEN": "f" * 8 + "0123456789abcdef"}
    url = make_url(interpolate(env["DATABASE_URL"], secrets))
    assert (url.drivername, url.host, url.port) == ("postgresql", "postgres", 5432)
    assert (url.username, url.database) == (pg_env["POSTGRES_USER"], pg_env["POSTGRES_DB"])
    assert url.password == interpolate(pg_env["POSTGRES_PASSWORD"], secrets)
    resolved = {k: interpolate(str(v), secrets) for k, v in env.items() if k != "WORKERS"}
    settings = Settings(**resolved)  # type: ignore[arg-type]
    assert settings.admin_token == secrets["TTHC_ADMIN_TOKEN"]
    assert settings.database_url.startswith("postgresql://tthc:")


@pytest.mark.parametrize("name", ["TTHC_ADMIN_TOKEN", "POSTGRES_PASSWORD"])
def test_compose_has_no_default_secret_and_refuses_to_start_without_one(name: str) -> None:
    """No value in the repository would be accepted: each secret is `${NAME:?…}` from .env."""
    text = COMPOSE.read_text()
    uses = [m for m in INTERPOLATION.finditer(text) if m["name"] == name]
    assert uses and all(m["op"] == ":?" for m in uses)
    # The example .env names both and gives neither a value.
    example = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert example[name] == ""
    with pytest.raises(LookupError, match=name):
        interpolate(uses[0].group(0), example)
    assert ".env" in (ROOT / ".gitignore").read_text().split()


# --- nginx site file ---------------------------------------------------------------------------


def nginx_blocks() -> dict[str, str]:
    """The second server block (TLS) and, inside it, the import location and the rest."""
    text = re.sub(r"#[^\n]*", "", NGINX_SITE.read_text())
    servers = re.findall(r"\nserver \{\n(.*?)\n\}", text, re.S)
    assert len(servers) == 2
    tls = servers[1]
    imports = re.search(
        r"location ~ \^/v1/\(dossiers\|integrations/dvcqg/dossiers\)/\?\$ \{(.*?)\}", tls, re.S
    )
    assert imports is not None
    return {
        "redirect": servers[0],
        "tls": re.sub(r"location[^{]*\{.*?\}", "", tls, flags=re.S),
        "imports": imports[1],
    }


def directive(block: str, name: str) -> str:
    values: list[str] = re.findall(rf"^\s*{name}\s+([^;]+);", block, re.M)
    assert len(values) == 1, f"{name}: {values}"
    return values[0].strip()


def seconds(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([sm]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * (60 if unit == "m" else 1)


def test_nginx_redirects_http_and_forwards_the_clients_view() -> None:
    blocks = nginx_blocks()
    assert directive(blocks["redirect"], "return") == "301 https://$host$request_uri"
    tls = blocks["tls"]
    headers = dict(v.split(None, 1) for v in re.findall(r"^\s*proxy_set_header\s+([^;]+);", tls, re.M))
    assert headers["X-Forwarded-For"] == "$remote_addr"
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["Host"] == "$http_host"
    assert directive(tls, "ssl_protocols") == "TLSv1.2 TLSv1.3"


def test_nginx_timeouts_and_body_limits_agree_with_the_service() -> None:
    blocks = nginx_blocks()
    defaults = {name: field.default for name, field in Settings.model_fields.items()}
    tls, imports = blocks["tls"], blocks["imports"]
    # A piece of a body may be as late as the service allows, no later.
    assert seconds(directive(tls, "client_body_timeout")) == defaults["upload_idle_timeout"] == 30
    # A read answers within its budget plus the wait for a heavy slot; nginx waits longer than that.
    assert (
        seconds(directive(tls, "proxy_read_timeout")) > defaults["read_timeout"] + defaults["heavy_read_wait"]
    )
    # JSON bodies up to the service's own cap reach it, so a too-large one gets its problem document.
    assert int(directive(tls, "client_max_body_size").removesuffix("m")) * 1024 * 1024 > MAX_JSON_BYTES
    # Imports: any size, streamed, and not cut while the service commits a chunk.
    assert directive(imports, "client_max_body_size") == "0"
    assert directive(imports, "proxy_request_buffering") == "off"
    assert seconds(directive(imports, "proxy_send_timeout")) >= seconds(directive(tls, "proxy_read_timeout"))
    assert {"/v1/dossiers", "/v1/integrations/dvcqg/dossiers"} <= paths("POST")
