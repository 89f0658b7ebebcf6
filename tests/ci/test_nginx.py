"""deploy/nginx/tthc-metrics.conf as deployed: Debian's nginx on loopback with a self-signed certificate,
in front of a real `tthc-metrics serve` on a migrated SQLite database.

The repository's file is used as it is, except for the lines a deployment edits anyway (the listen
addresses, the upstream's port, the certificate paths): each is replaced exactly once, so a change to
the file that this test does not expect fails here instead of being silently skipped. CI only
(`make ci-extra`); without nginx or openssl the tests skip, unless TTHC_REQUIRE_NGINX=1 (.ci/run).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import orjson
import pytest

from app.migrate import head_revision
from tests.conftest import ROOT
from tests.factory import rec
from tests.trust.live import ADMIN_TOKEN, LiveServer, free_port, migrate, start_server

SITE = ROOT / "deploy" / "nginx" / "tthc-metrics.conf"
# Blank lines between the records of the import: 2,002 lines make a body of about 17 MB, above the
# 16 MB every other location allows, so only the import location's `client_max_body_size 0` lets it in.
PADDING = b" " * 8192 + b"\n"
INSTALL = "Debian: apt-get install nginx openssl"


def _nginx() -> str | None:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _require_tools() -> tuple[str, str]:
    nginx, openssl = _nginx(), shutil.which("openssl")
    if nginx and openssl:
        return nginx, openssl
    missing = " and ".join(name for name, path in (("nginx", nginx), ("openssl", openssl)) if not path)
    if os.environ.get("TTHC_REQUIRE_NGINX") == "1":
        pytest.fail(f"TTHC_REQUIRE_NGINX=1 but {missing} not installed ({INSTALL})")
    pytest.skip(f"{missing} not installed ({INSTALL})")


def site_for_test(
    text: str, *, http_port: int, https_port: int, upstream_port: int, cert: Path, key: Path
) -> str:
    """The repository's site file with loopback ports and the test's certificate."""
    edits = {
        "    listen 80;\n": f"    listen 127.0.0.1:{http_port};\n",
        "    listen [::]:80;\n": "",
        "    listen 443 ssl;\n": f"    listen 127.0.0.1:{https_port} ssl;\n",
        "    listen [::]:443 ssl;\n": "",
        "    server 127.0.0.1:8000;\n": f"    server 127.0.0.1:{upstream_port};\n",
        " /etc/ssl/certs/tthc-metrics.crt;": f" {cert};",
        " /etc/ssl/private/tthc-metrics.key;": f" {key};",
    }
    for old, new in edits.items():
        assert text.count(old) == 1, f"{SITE.name} no longer has exactly one {old.strip()!r}"
        text = text.replace(old, new)
    return text


@dataclass
class Proxy:
    https: str  # https://127.0.0.1:PORT
    http: str  # http://127.0.0.1:PORT
    cert: Path
    server: LiveServer

    def client(self, token: str | None = None, timeout: float = 120.0) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        verify = ssl.create_default_context(cafile=str(self.cert))  # the certificate is checked, IP SAN
        return httpx.Client(base_url=self.https, headers=headers, timeout=timeout, verify=verify)


def _start_nginx(nginx: str, conf: Path, prefix: Path, https_port: int) -> subprocess.Popen[bytes]:
    args = [nginx, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf)]
    checked = subprocess.run([*args, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, f"nginx -t refused the configuration:\n{checked.stderr}"
    proc = subprocess.Popen(
        [*args, "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=(prefix / "stderr.log").open("wb"),
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited with {proc.returncode}:\n{(prefix / 'error.log').read_text()}")
        try:
            socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError("nginx did not start listening")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    nginx, openssl = _require_tools()
    tmp = tmp_path_factory.mktemp("nginx")
    cert, key = tmp / "tls.crt", tmp / "tls.key"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    db_url = f"sqlite:///{tmp / 'tthc.db'}"
    migrate(db_url)
    # Chunks of 500 records: the service commits the first ones while the import is still uploading.
    server = start_server(db_url, tmp / "server.log", env={"TTHC_INGEST_CHUNK": "500"})
    http_port, https_port = free_port(), free_port()
    site = site_for_test(
        SITE.read_text(),
        http_port=http_port,
        https_port=https_port,
        upstream_port=int(server.url.rsplit(":", 1)[1]),
        cert=cert,
        key=key,
    )
    (tmp / "site.conf").write_text(site)
    # As root, the workers would switch to an account that cannot enter pytest's private temporary folder.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    (tmp / "nginx.conf").write_text(
        f"{user}worker_processes 1;\npid {tmp}/nginx.pid;\nevents {{ worker_connections 64; }}\n"
        f"http {{\n  access_log {tmp}/access.log;\n  client_body_temp_path {tmp}/client_body;\n"
        f"  proxy_temp_path {tmp}/proxy_temp;\n  fastcgi_temp_path {tmp}/fastcgi_temp;\n"
        f"  uwsgi_temp_path {tmp}/uwsgi_temp;\n  scgi_temp_path {tmp}/scgi_temp;\n"
        f"  include {tmp}/site.conf;\n}}\n"
    )
    proc = _start_nginx(nginx, tmp / "nginx.conf", tmp, https_port)
    try:
        yield Proxy(f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}", cert, server)
    finally:
        proc.send_signal(signal.SIGQUIT)  # graceful: the workers finish, then the master exits
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
        server.stop()


def test_readyz_answers_through_tls(proxy: Proxy) -> None:
    with proxy.client() as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "sqlite", "revision": head_revision()}
    assert response.headers["strict-transport-security"] == "max-age=31536000"
    assert response.http_version == "HTTP/1.1"


def test_plain_http_redirects_to_the_same_path_on_https(proxy: Proxy) -> None:
    response = httpx.get(proxy.http + "/v1/metrics?from=2025-07-01&to=2025-07-31", timeout=30)
    assert response.status_code == 301
    # The production file redirects to the standard HTTPS port of the same host name.
    assert response.headers["location"] == "https://127.0.0.1/v1/metrics?from=2025-07-01&to=2025-07-31"


def test_dashboard_redirects_stay_on_https(proxy: Proxy) -> None:
    with proxy.client() as client:
        for path in ("/dashboard", "/dashboard/"):
            url, hops = path, 0
            response = client.get(url)
            while response.is_redirect:
                hops += 1
                assert hops <= 2, f"{path}: more than two redirects"
                location = response.headers["location"]
                url = urljoin(f"{proxy.https}{url}", location)
                # Relative, or absolute on the client's scheme, host and port: never the upstream's view.
                assert url.startswith(proxy.https + "/dashboard"), f"{path} redirects to {location}"
                response = client.get(url)
            assert response.status_code == 200, path
            assert response.headers["content-type"].startswith("text/html")


def _records() -> list[bytes]:
    lines = []
    for i in range(2000):
        late = i % 4 == 3  # 500 of the 2,000: resolved two days after the deadline
        resolved = "2025-07-12T10:00:00+07:00" if late else "2025-07-08T10:00:00+07:00"
        lines.append(orjson.dumps(rec(f"NGX-{i:05d}", resolved_at=resolved, updated_at=resolved)))
    lines.insert(1000, b'{"code": "NGX-BAD-1"}')  # line 1001 (index 2000 with the padding): no fields
    lines.append(b"not json")
    return lines


def test_a_large_ndjson_import_streams_through_nginx(proxy: Proxy) -> None:
    with proxy.client(ADMIN_TOKEN) as admin:
        created = admin.post("/v1/tokens", json={"label": "nginx ci", "scopes": ["ingest", "read"]})
        assert created.status_code == 201, created.text
    token = created.json()["token"]
    lines = _records()
    body_bytes = sum(len(line) + 1 + len(PADDING) for line in lines)
    assert body_bytes > 16 * 1024 * 1024
    seen_mid_upload: dict[str, Any] = {}

    def body() -> Iterator[bytes]:
        for n, line in enumerate(lines):
            yield line + b"\n" + PADDING
            if n == 1500:
                # The upload is three quarters through: the service has already committed its first
                # chunks: nginx passes the body on as it comes (`proxy_request_buffering off`).
                # (Within 20 s: after 30 s without a piece of the body, nginx and the service give up.)
                with proxy.client(token, timeout=5) as reader:
                    deadline = time.monotonic() + 20
                    while time.monotonic() < deadline:
                        status = reader.get("/v1/dossiers/NGX-00000").status_code
                        if status == 200:
                            break
                        time.sleep(0.2)
                seen_mid_upload["first_record"] = status

    with proxy.client(token, timeout=300) as client:
        response = client.post(
            "/v1/dossiers", content=body(), headers={"Content-Type": "application/x-ndjson"}
        )
    assert seen_mid_upload == {"first_record": 200}
    assert response.status_code == 200, response.text[:2000]
    report = response.json()
    counts = (report["received"], report["created"], report["updated"], report["unchanged"])
    assert counts == (2002, 2000, 0, 0)
    # Line numbers count the padding lines: record n is line 2n (0-based), the bad ones 2000 and 4002.
    assert [e["index"] for e in report["errors"]] == [2000, 4002]

    with proxy.client(token) as client:
        metrics = client.get("/v1/metrics", params={"from": "2025-07-01", "to": "2025-07-31"})
        assert metrics.status_code == 200
        totals = metrics.json()["totals"]
        assert totals["counts"]["received"] == 2000
        assert totals["counts"]["finished"] == 2000
        assert totals["counts"]["finished_late"] == 500
        assert totals["rates"]["on_time"] == 0.75
        # A conditional read through the proxy: the service's ETag survives nginx.
        again = client.get(
            "/v1/metrics",
            params={"from": "2025-07-01", "to": "2025-07-31"},
            headers={"If-None-Match": metrics.headers["etag"]},
        )
        assert again.status_code == 304
