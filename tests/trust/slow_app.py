"""The service with one more endpoint that computes for a given time in a worker thread, the way a
heavy sync read does, served by app.server exactly as `tthc-metrics serve` does (tests/trust/
test_server.py: SIGTERM during such a request)."""

from __future__ import annotations

import time

from fastapi import FastAPI

from app.main import create_app
from app.server import ShutdownGuard


def build() -> FastAPI:
    inner = create_app()

    @inner.get("/test/busy", include_in_schema=False)
    def busy(seconds: float) -> dict[str, float]:
        # A sync endpoint: it holds a worker thread (and, like a computation, the GIL now and then).
        deadline = time.monotonic() + seconds
        spins = 0.0
        while time.monotonic() < deadline:
            spins += sum(range(1000))
        return {"spins": spins}

    return inner


inner = build()
app = ShutdownGuard(inner)
