"""The service's HTTP edges: HEAD wherever GET, relative redirects (FastAPI's trailing-slash ones
too), `/` leading to the dashboard, `nosniff` on every response, `Allow` naming HEAD; and, through
app.server.serve on a real socket, forwarded headers believed only from TTHC_FORWARDED_ALLOW_IPS."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.api.http_edges import relative_location, with_head
from app.config import Settings
from app.server import uvicorn_options
from tests.conftest import ROOT
from tests.factory import rec
from tests.ingesting import post

# Headers that differ between two requests by nature, not by method.
VOLATILE = {"date", "server", "x-request-id"}

# Query parameters that make a GET answer 200 (the rest need none).
QUERIES: dict[str, dict[str, str]] = {
    "/v1/metrics": {"from": "2025-07-01", "to": "2025-07-31"},
    "/v1/reports/dossier-processing": {"period": "2025-07"},
}
PATH_VALUES = {"code": "D-1", "year": "2025"}
# Pages and files outside the API, hand-listed.
OUTSIDE_THE_API = [
    "/",
    "/dashboard",
    "/docs",
    "/redoc",
    "/docs/oauth2-redirect",
    "/openapi.json",
    "/dashboard/static/dashboard.js",
    "/dashboard/static/dashboard.css",
    "/docs-assets/1.7.7/swagger-ui-bundle.js",
    "/docs-assets/1.7.7/favicon.png",
]


def _get_paths(client: TestClient) -> list[str]:
    """Every GET operation of the OpenAPI document (path parameters filled in), and the pages and
    files outside the API."""
    paths = []
    for path, ops in client.get("/openapi.json").json()["paths"].items():
        if "get" in ops:
            paths.append(re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m.group(1), "x"), path))
    return [*paths, *OUTSIDE_THE_API]


def _same(get: httpx.Response, head: httpx.Response) -> dict[str, tuple[str | None, str | None]]:
    names = (set(get.headers) | set(head.headers)) - VOLATILE
    return {
        n: (get.headers.get(n), head.headers.get(n))
        for n in names
        if get.headers.get(n) != head.headers.get(n)
    }


def test_head_answers_wherever_get_does_with_the_same_headers(client: TestClient) -> None:
    assert post(client, [rec("D-1")])["created"] == 1
    statuses = {}
    for path in _get_paths(client):
        params = QUERIES.get(path, {})
        # The second GET, as the HEAD after it, is answered from the response cache (X-Cache: hit).
        client.get(path, params=params, follow_redirects=False)
        get = client.get(path, params=params, follow_redirects=False)
        head = client.head(path, params=params, follow_redirects=False)
        statuses[path] = (get.status_code, head.status_code)
        assert head.content == b"", path
        assert _same(get, head) == {}, path
        if "content-length" in get.headers:
            assert int(head.headers["content-length"]) == len(get.content), path
    hand_checked = {
        "/": (302, 302),
        "/dashboard": (200, 200),
        "/docs": (200, 200),
        "/redoc": (200, 200),
        "/docs/oauth2-redirect": (200, 200),
        "/openapi.json": (200, 200),
        "/healthz": (200, 200),
        "/readyz": (200, 200),
        "/v1/dossiers": (200, 200),
        "/v1/dossiers/D-1": (200, 200),
        "/v1/metrics": (200, 200),
        "/v1/metrics/definitions": (200, 200),
        "/v1/reports/dossier-processing": (200, 200),
        "/v1/scorecard": (200, 200),
        "/v1/targets": (200, 200),
        "/v1/agencies": (200, 200),
        "/v1/communes": (200, 200),
        "/v1/sectors": (200, 200),
        "/v1/tokens": (200, 200),
        "/v1/audit": (200, 200),
        "/v1/audit/refused": (200, 200),
        "/dashboard/static/dashboard.js": (200, 200),
        "/dashboard/static/dashboard.css": (200, 200),
        "/docs-assets/1.7.7/swagger-ui-bundle.js": (200, 200),
        "/docs-assets/1.7.7/favicon.png": (200, 200),
    }
    assert {p: statuses[p] for p in hand_checked} == hand_checked
    # A conditional HEAD is answered as the conditional GET: 304 on a matching ETag.
    etag = client.get("/v1/metrics", params=QUERIES["/v1/metrics"]).headers["etag"]
    again = client.head("/v1/metrics", params=QUERIES["/v1/metrics"], headers={"If-None-Match": etag})
    assert (again.status_code, again.headers["etag"], again.content) == (304, etag, b"")


def test_head_where_get_is_refused_is_refused_alike(client: TestClient, anon: TestClient) -> None:
    # Admin-only list without a token: the same 401 problem headers, no body.
    get, head = anon.get("/v1/tokens"), anon.head("/v1/tokens")
    assert (get.status_code, head.status_code, head.content) == (401, 401, b"")
    assert _same(get, head) == {}
    # No GET on a write-only path: 405 for both, naming the methods there are.
    get, head = client.get("/v1/tokens/abc"), client.head("/v1/tokens/abc")
    assert (get.status_code, head.status_code, head.content) == (405, 405, b"")
    assert get.headers["allow"] == head.headers["allow"]


def test_redirects_are_relative(client: TestClient) -> None:
    cases = [
        ("/", 302, "/dashboard"),
        ("/dashboard/", 307, "/dashboard"),
        ("/dashboard/?year=2025", 307, "/dashboard?year=2025"),
        ("/v1/metrics/definitions/", 307, "/v1/metrics/definitions"),
        ("/docs/", 307, "/docs"),
    ]
    for host in ("testserver", "tthc.example.vn:8443"):
        for path, status, location in cases:
            r = client.get(path, headers={"Host": host}, follow_redirects=False)
            assert (r.status_code, r.headers["location"]) == (status, location), (host, path)
    # Followed, the front door opens the dashboard page.
    page = client.get("/")
    assert page.status_code == 200 and '<html lang="vi">' in page.text
    assert [str(h.url) for h in page.history] == ["http://testserver/"]


def test_relative_location() -> None:
    assert relative_location("http://testserver/dashboard?a=1&b=2", "testserver") == "/dashboard?a=1&b=2"
    assert relative_location("https://TTHC.example.vn:8443/x", "tthc.example.vn:8443") == "/x"
    assert relative_location("http://testserver", "testserver") == "/"
    # A path that starts with two slashes would read as another host: its second slash is encoded.
    assert relative_location("http://testserver//evil.example/x", "testserver") == "/%2Fevil.example/x"
    # Another host's address, a relative one, or no Host header: unchanged.
    assert relative_location("https://other.example/x", "testserver") == "https://other.example/x"
    assert relative_location("/already", "testserver") == "/already"
    assert relative_location("http://testserver/x", None) == "http://testserver/x"
    assert with_head("GET") == "GET, HEAD"
    assert with_head("GET, PUT") == "GET, HEAD, PUT"
    assert with_head("GET, HEAD, PUT") == "GET, HEAD, PUT"
    assert with_head("POST") == "POST"


def test_every_response_says_nosniff(client: TestClient) -> None:
    for method, path in [
        ("GET", "/v1/metrics/definitions"),
        ("GET", "/v1/dossiers/NO-SUCH"),
        ("GET", "/no/such/path"),
        ("POST", "/"),
        ("GET", "/"),
        ("GET", "/dashboard"),
        ("GET", "/dashboard/static/dashboard.js"),
        ("GET", "/docs"),
        ("GET", "/docs-assets/1.7.7/swagger-ui.css"),
        ("GET", "/openapi.json"),
        ("POST", "/v1/dossiers"),
    ]:
        r = client.request(method, path, follow_redirects=False)
        assert r.headers.get_list("x-content-type-options") == ["nosniff"], (method, path, r.status_code)


def test_allow_names_head_wherever_it_names_get(client: TestClient) -> None:
    for path, allow in [("/", "GET, HEAD"), ("/healthz", "GET, HEAD"), ("/dashboard", "GET, HEAD")]:
        r = client.post(path)
        assert (r.status_code, r.headers["allow"]) == (405, allow), path


# --------------------------------------------------------------------------- a real server


def test_uvicorn_believes_forwarded_headers_only_from_the_configured_proxy() -> None:
    assert Settings().forwarded_allow_ips == "127.0.0.1"
    options = uvicorn_options(Settings(TTHC_FORWARDED_ALLOW_IPS="10.0.0.0/8, 192.0.2.7"))
    assert (options["proxy_headers"], options["forwarded_allow_ips"]) == (True, "10.0.0.0/8, 192.0.2.7")


@pytest.fixture
def proxied(sqlite_template: str, tmp_path: Any) -> Iterator[str]:
    """tests/edge_app.py served by app.server.serve on 127.0.0.1, trusting the proxy 127.0.0.2."""
    port = _free_port()
    code = f"from app.server import serve; serve('127.0.0.1', {port}, 1, target='tests.edge_app:app')"
    env = {
        **os.environ,
        "DATABASE_URL": sqlite_template,
        "TTHC_LOG_LEVEL": "WARNING",
        "TTHC_FORWARDED_ALLOW_IPS": "127.0.0.2",
    }
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(base + "/healthz", timeout=5).status_code == 200:
                    break
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_a_real_server_redirects_relatively_and_believes_only_its_proxy(proxied: str) -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "Host": "tthc.example.vn"}
    via_proxy = httpx.Client(base_url=proxied, transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    direct = httpx.Client(base_url=proxied)
    with via_proxy, direct:
        # From the proxy's address, its headers are believed; from any other, they are ignored.
        assert via_proxy.get("/test/peer", headers=forwarded).json() == {
            "client": "203.0.113.9",
            "scheme": "https",
        }
        assert direct.get("/test/peer", headers=forwarded).json() == {"client": "127.0.0.1", "scheme": "http"}
        # The redirects name no scheme or host, whoever asks: right behind a TLS proxy.
        for client in (via_proxy, direct):
            r = client.get("/dashboard/", headers=forwarded)
            assert (r.status_code, r.headers["location"]) == (307, "/dashboard")
            r = client.get("/", headers=forwarded)
            assert (r.status_code, r.headers["location"]) == (302, "/dashboard")
        # HEAD on the wire: the page's headers, its length, no body.
        get, head = direct.get("/dashboard"), direct.head("/dashboard")
        assert (head.status_code, head.content) == (200, b"")
        assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))
        assert head.headers["x-content-type-options"] == "nosniff"
