"""What the observability middleware costs a request, in process (docs/MONITORING.md).

The app's own ASGI stack is called directly, with and without the middleware around it, for
GET /healthz (the cheapest request, so the middleware's share is the largest it can be), and
around a no-op app that only answers 200 (the middleware's own cost, nothing else); rounds
alternate between the cases, the time is the process's CPU time and the least round is kept, so
that the machine's load falls on all alike and least. Three cases:
- without the middleware;
- with it, the access log off (TTHC_LOG_LEVEL=WARNING): request id, header, series;
- with it and the access log on (INFO, JSON lines written to /dev/null).

    .venv/bin/python -m benchmarks.monitoring_overhead [requests per round] [rounds]
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from types import SimpleNamespace
from typing import Any

from fastapi import FastAPI

from app.api.observability import ObservabilityMiddleware
from app.config import Settings
from app.logs import JsonFormatter
from app.main import create_app

SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/healthz",
    "raw_path": b"/healthz",
    "root_path": "",
    "query_string": b"",
    "headers": [(b"host", b"bench"), (b"x-request-id", b"bench-0001")],
    "client": ("127.0.0.1", 1),
    "server": ("127.0.0.1", 80),
}


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(_message: dict[str, Any]) -> None:
    return None


async def _round(stack: Any, app: FastAPI, n: int) -> float:
    # CPU time of this process: on a shared machine, wall time also counts other processes' turns.
    started = time.process_time()
    for _ in range(n):
        await stack({**SCOPE, "app": app, "state": {}}, _receive, _send)
    return (time.process_time() - started) / n * 1e6


def _noop(route: Any) -> Any:
    """An ASGI app that routes (leaves `route` in the scope) and answers 200 at once."""

    async def app(scope: dict[str, Any], _receive: Any, send: Any) -> None:
        scope["route"] = route
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    return app


async def measure(n: int, rounds: int) -> dict[str, float]:
    app = create_app(Settings(DATABASE_URL="sqlite://"))
    with_mw = app.build_middleware_stack()
    without = FastAPI.build_middleware_stack(app)
    bare = _noop(SimpleNamespace(path="/healthz"))  # what the router leaves: the route, by its template
    wrapped = ObservabilityMiddleware(bare)
    access = logging.getLogger("tthc.access")
    sink = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 - closed with the process
    sink.setFormatter(JsonFormatter())
    access.propagate = False
    access.addHandler(sink)
    times: dict[str, list[float]] = {
        "app without": [],
        "app with, log off": [],
        "app with, log on": [],
        "no-op without": [],
        "no-op with, log off": [],
        "no-op with, log on": [],
    }
    for stack in (without, with_mw, bare, wrapped):  # warm up: first-call paths, series' children
        await _round(stack, app, 200)
    for _ in range(rounds):
        access.setLevel(logging.WARNING)
        times["app without"].append(await _round(without, app, n))
        times["app with, log off"].append(await _round(with_mw, app, n))
        times["no-op without"].append(await _round(bare, app, n * 10))
        times["no-op with, log off"].append(await _round(wrapped, app, n * 10))
        access.setLevel(logging.INFO)
        times["app with, log on"].append(await _round(with_mw, app, n))
        times["no-op with, log on"].append(await _round(wrapped, app, n * 10))
    # The least of the rounds: the cost with the least interference from the rest of the machine.
    return {k: min(v) for k, v in times.items()}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    result = asyncio.run(measure(n, rounds))
    for name, us in result.items():
        base = result[name.split(" with")[0].removesuffix(" without") + " without"]
        print(f"{name:>20}: {us:7.1f} µs/request {1e6 / us:9.0f} requests/s  (+{us - base:5.1f} µs)")


if __name__ == "__main__":
    main()
