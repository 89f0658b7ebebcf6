"""/docs (Swagger UI) and /redoc with no network: their scripts, styles and icon are served by the
service itself from the fastapi-offline package, cacheable for good under a versioned path; and, in a
real headless Chromium whose every request to another host fails, both pages render the operations."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# The version locked in uv.lock, hand-checked: the assets' path names it.
ASSETS = "/docs-assets/1.7.7"


# --------------------------------------------------------------------------- served files (no browser)


@pytest.fixture(scope="module")
def docs_client(sqlite_template: str) -> Iterator[TestClient]:
    """The app on SQLite only: the pages and their files do not depend on the store."""
    with TestClient(create_app(Settings(DATABASE_URL=sqlite_template))) as c:
        yield c


def _refs(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_the_assets_path_names_the_locked_package_version() -> None:
    assert metadata.version("fastapi-offline") == "1.7.7"
    lock = (ROOT / "uv.lock").read_text()
    assert '[[package]]\nname = "fastapi-offline"\nversion = "1.7.7"\n' in lock


def test_docs_pages_refer_only_to_the_service(docs_client: TestClient) -> None:
    swagger = docs_client.get("/docs")
    redoc = docs_client.get("/redoc")
    for page in (swagger, redoc):
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["cache-control"] == "no-cache"
        policy = page.headers["content-security-policy"]
        assert policy.startswith("default-src 'self'; script-src 'self'")
        assert "img-src 'self' data:;" in policy and "connect-src 'self';" in policy
        assert "http://" not in page.text and "https://" not in page.text
        assert not re.search(r"""(?:src|href)\s*=\s*["']//""", page.text)
    assert _refs(swagger.text) == [
        f"{ASSETS}/swagger-ui.css",
        f"{ASSETS}/favicon.png",
        f"{ASSETS}/swagger-ui-bundle.js",
    ]
    assert "url: '/openapi.json'" in swagger.text
    assert _refs(redoc.text) == [f"{ASSETS}/favicon.png", f"{ASSETS}/redoc.standalone.js"]
    assert '<redoc spec-url="/openapi.json">' in redoc.text
    # Not part of the API: the OpenAPI document lists neither page nor their files.
    document = docs_client.get("/openapi.json").text
    assert "/docs" not in document and "/redoc" not in document


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
        ("swagger-ui.css", "text/css; charset=utf-8"),
        ("redoc.standalone.js", "text/javascript; charset=utf-8"),
        ("favicon.png", "image/png"),
    ],
)
def test_docs_assets_are_served_cacheable_for_good(
    docs_client: TestClient, name: str, media_type: str
) -> None:
    r = docs_client.get(f"{ASSETS}/{name}")
    assert r.status_code == 200
    assert r.headers["content-type"] == media_type
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert int(r.headers["content-length"]) == len(r.content) > 5000
    again = docs_client.get(f"{ASSETS}/{name}", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["cache-control"] == "public, max-age=31536000, immutable"
    head = docs_client.head(f"{ASSETS}/{name}")
    assert head.status_code == 200 and head.content == b""
    # The same headers but the request's own id.
    assert {k: v for k, v in head.headers.items() if k != "x-request-id"} == {
        k: v for k, v in r.headers.items() if k != "x-request-id"
    }
    assert head.headers["x-request-id"] != r.headers["x-request-id"]
    # Another version's path is not this one's files.
    assert docs_client.get(f"/docs-assets/0.0.1/{name}").status_code == 404


# --------------------------------------------------------------------------- the real-browser test


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _require_browser() -> None:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        if os.environ.get("TTHC_REQUIRE_BROWSER") == "1":
            pytest.fail("TTHC_REQUIRE_BROWSER=1 but chromium / chromium-driver are not installed")
        pytest.skip(
            "chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)"
        )


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    base: str
    log: Path


@pytest.fixture(scope="module")
def served(sqlite_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The real app under uvicorn on a free loopback port (the docs need no data), started before the
    browser so that the two start side by side."""
    _require_browser()
    port = _free_port()
    log = tmp_path_factory.mktemp("docs") / "server.log"
    env = {**os.environ, "DATABASE_URL": sqlite_template, "TTHC_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "uvicorn", "app.asgi:app", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "--log-level", "warning"], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        yield Served(proc, f"http://127.0.0.1:{port}", log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def base_url(served: Served, offline_browser: Any) -> str:
    """The server's address, once it answers."""
    deadline = time.monotonic() + 90
    while True:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(served.base + "/healthz", timeout=5).status_code == 200:
                return served.base
        if served.proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the server did not start: {served.log.read_text()[-2000:]}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def offline_browser(served: Served) -> Iterator[Any]:
    """Debian's headless Chromium in which every host name but 127.0.0.1 fails to resolve, with the
    network events logged (the performance log) to list every request a page made."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="tthc-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-proxy-server",
        # No network: every name resolves to nothing, except the service's own address.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--window-size=1366,768",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_script_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _until(driver: Any, script: str, timeout: float = 20) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(lambda d: bool(d.execute_script(script)))


def _requests(driver: Any) -> list[tuple[str, str]]:
    """Every URL the browser asked for since the log was last read, with how it ended: the status,
    or why it failed ("csp": the page's policy stopped it before it left the browser)."""
    urls: dict[str, str] = {}
    ends: dict[str, str] = {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message["params"]
        if message["method"] == "Network.requestWillBeSent":
            urls[params["requestId"]] = params["request"]["url"]
        elif message["method"] == "Network.responseReceived":
            ends[params["requestId"]] = str(params["response"]["status"])
        elif message["method"] == "Network.loadingFailed":
            ends[params["requestId"]] = params.get("blockedReason") or params["errorText"]
    return [(url, ends.get(key, "")) for key, url in urls.items()]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def test_the_browser_reaches_no_other_host(offline_browser: Any, base_url: str) -> None:
    """The harness itself: a request to another host fails (a CDN reference could not go unnoticed)."""
    offline_browser.get(base_url + "/healthz")
    outcome = offline_browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css', {mode: 'no-cors'})"
        ".then(() => done('reached'), e => done('failed: ' + e.name));"
    )
    assert outcome == "failed: TypeError"
    assert [end for url, end in _requests(offline_browser) if "jsdelivr" in url] == [
        "net::ERR_NAME_NOT_RESOLVED"
    ]


def _operations(base_url: str) -> list[tuple[str, str, str, bool]]:
    """(tag, operation id, summary, whether it is a webhook): the paths, and the webhooks the service
    calls (the digest), which both pages render too."""
    document = httpx.get(base_url + "/openapi.json").json()
    return [
        (op["tags"][0], op["operationId"], op["summary"], group == "webhooks")
        for group in ("paths", "webhooks")
        for ops in document.get(group, {}).values()
        for op in ops.values()
    ]


def test_swagger_ui_renders_every_operation_offline(offline_browser: Any, base_url: str) -> None:
    driver = offline_browser
    _requests(driver)
    driver.get(base_url + "/docs")
    _until(driver, "return document.querySelectorAll('.opblock').length > 0")
    operations = _operations(base_url)
    rendered = driver.execute_script(
        "return [...document.querySelectorAll('.opblock')].map(b => [b.id,"
        " b.querySelector('.opblock-summary-description').textContent])"
    )
    assert sorted(rendered) == sorted(
        [f"operations-{tag}-{op_id}", summary] for tag, op_id, summary, _ in operations
    )
    assert [
        "operations-metrics-get_metrics",
        "Every count and rate per group and time bucket, with totals",
    ] in (rendered)
    # Its own stylesheet applied (a page without it shows no coloured method badges).
    badge = driver.find_element("css selector", "#operations-metrics-get_metrics .opblock-summary-method")
    assert badge.text == "GET"
    assert badge.value_of_css_property("background-color") == "rgba(97, 175, 254, 1)"
    requests = _requests(driver)
    assert {_origin(u) for u, _ in requests if not u.startswith(("data:", "blob:"))} == {base_url}
    # Every request answered (a 304 is fine too): nothing failed, nothing was stopped.
    assert {end for _, end in requests} <= {"200", "304"}, requests
    assert {urlsplit(u).path for u, _ in requests} >= {
        "/docs",
        "/openapi.json",
        f"{ASSETS}/swagger-ui.css",
        f"{ASSETS}/swagger-ui-bundle.js",
    }


def test_redoc_renders_every_operation_offline(offline_browser: Any, base_url: str) -> None:
    driver = offline_browser
    _requests(driver)
    driver.get(base_url + "/redoc")
    _until(driver, "return document.querySelectorAll('[data-section-id^=\"operation/\"]').length > 0")
    operations = _operations(base_url)
    sections = driver.execute_script(
        "return [...document.querySelectorAll('[data-section-id^=\"operation/\"]')]"
        ".map(s => [s.dataset.sectionId, s.querySelector('h2').textContent.trim()])"
    )
    # ReDoc marks a webhook's heading with a "Webhook" badge.
    assert sorted(sections) == sorted(
        [f"operation/{op_id}", summary + ("  Webhook" if hook else "")]
        for _, op_id, summary, hook in operations
    )
    title = driver.find_element("css selector", ".api-info h1").text
    assert title == "tthc-metrics (1.0.0)"
    requests = _requests(driver)
    # ReDoc's sidebar asks its maker's CDN for a logo: the page's policy stops it in the browser
    # (never a name lookup, let alone a connection), and the sidebar shows its text without it.
    outside = [(u, end) for u, end in requests if not u.startswith(("data:", "blob:", base_url + "/"))]
    assert outside == [("https://cdn.redoc.ly/redoc/logo-mini.svg", "csp")]
    assert {end for u, end in requests if _origin(u) == base_url} <= {"200", "304"}, requests
    assert {urlsplit(u).path for u, _ in requests} >= {
        "/redoc",
        "/openapi.json",
        f"{ASSETS}/redoc.standalone.js",
    }
