"""Helpers shared by the ingestion tests: posting records, reading reports, apps with other settings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.config import Settings
from app.main import create_app
from tests.conftest import ADMIN_TOKEN, Clock

NDJSON = {"Content-Type": "application/x-ndjson"}


def post(client: TestClient, records: list[Any]) -> dict[str, Any]:
    """POST a JSON array and return the ingest report, which must be a 200."""
    r = client.post("/v1/dossiers", json=records)
    assert r.status_code == 200, r.text
    report: dict[str, Any] = r.json()
    return report


def wait_for_index_jobs(client: TestClient) -> None:
    """Wait (up to 20 s) until no re-derivation job of the national index is running; each must be done."""
    for _ in range(1000):
        jobs = client.get("/v1/index/jobs").json()["items"]
        if all(j["state"] != "running" for j in jobs):
            assert all(j["state"] == "done" for j in jobs), jobs
            return
        time.sleep(0.02)
    raise AssertionError("the re-derivation job did not end")


def ndjson(lines: Iterable[Any]) -> bytes:
    """An NDJSON body: objects are encoded, bytes are sent as they are (for broken lines)."""
    return b"".join((x if isinstance(x, bytes) else orjson.dumps(x)) + b"\n" for x in lines)


def post_ndjson(client: TestClient, body: bytes | Iterator[bytes]) -> dict[str, Any]:
    r = client.post("/v1/dossiers", content=body, headers=NDJSON)
    assert r.status_code == 200, r.text
    report: dict[str, Any] = r.json()
    return report


def counts(report: dict[str, Any]) -> dict[str, int]:
    """The report's counts without its errors (listed, omitted and summarised)."""
    return {k: v for k, v in report.items() if k not in ("errors", "errors_omitted", "errors_summary")}


def errors_of(client: TestClient, record: Any) -> list[dict[str, Any]]:
    """The errors of one rejected record, posted alone."""
    report = post(client, [record])
    assert report["rejected"] == 1, report
    assert report["errors"][0]["index"] == 0
    errors: list[dict[str, Any]] = report["errors"][0]["errors"]
    return errors


def locs(errors: list[dict[str, Any]]) -> list[list[str | int]]:
    return [e["loc"] for e in errors]


def stored(client: TestClient, code: str) -> dict[str, Any]:
    r = client.get(f"/v1/dossiers/{code}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@contextmanager
def app_client(engine: Engine, clock: Clock, **env: Any) -> Iterator[TestClient]:
    """A client (admin token preset) over an app built with extra settings, e.g. TTHC_INGEST_CHUNK=3."""
    settings = Settings(**{"DATABASE_URL": str(engine.url), "TTHC_ADMIN_TOKEN": ADMIN_TOKEN, **env})
    app = create_app(settings, engine=engine, clock=clock)
    with TestClient(app, base_url="http://testserver") as c:
        c.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        yield c


def metric_totals(client: TestClient, start: str, end: str) -> dict[str, int]:
    r = client.get("/v1/metrics", params={"from": start, "to": end})
    assert r.status_code == 200, r.text
    totals: dict[str, int] = r.json()["totals"]["counts"]
    return totals


def new_token(client: TestClient, scopes: list[str], agencies: list[str] | None = None, **extra: Any) -> str:
    """Create a token through the admin API and return its secret."""
    r = client.post("/v1/tokens", json={"label": "test", "scopes": scopes, "agencies": agencies, **extra})
    assert r.status_code == 201, r.text
    secret: str = r.json()["token"]
    return secret


def with_token(client: TestClient, secret: str) -> TestClient:
    """Another client over the same app, presenting `secret`."""
    c = TestClient(client.app, base_url="http://testserver")
    c.headers["Authorization"] = f"Bearer {secret}"
    return c


def post_in_pieces(client: TestClient, pieces: Iterable[bytes], content_type: str) -> httpx.Response:
    """POST a body that reaches the app as a stream of separate pieces, as it would over a network
    (the TestClient hands the app the whole body at once)."""

    async def body() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            headers = {"Content-Type": content_type, "Authorization": client.headers["Authorization"]}
            return await c.post("/v1/dossiers", content=body(), headers=headers)

    return asyncio.run(send())
