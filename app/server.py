"""Serving the app with uvicorn: bounded request heads, and a shutdown that ends within its grace.

- **Request line and headers.** uvicorn's default HTTP parser (httptools) has no size limit: a 150 MB
  header is buffered, and parsed on the event loop, while every other request waits. The server runs
  uvicorn's h11 parser with `h11_max_incomplete_event_size` = TTHC_MAX_HEADER_BYTES (64 KiB): a
  request head larger than that is answered `400` and its connection closed as soon as that many
  bytes have arrived. docs/RELIABILITY.md gives the throughput this costs.
- **SIGTERM.** uvicorn stops accepting, lets the requests in flight finish for TTHC_SHUTDOWN_GRACE
  seconds (`timeout_graceful_shutdown`), cancels the rest and runs the lifespan's shutdown. A request
  computing in a worker thread cannot be cancelled: its task waits for the thread, and at exit the
  interpreter joins the (non-daemon) thread, so a process busy with a long read would outlive its
  grace by the whole read. `ShutdownGuard` arms a timer when the lifespan's shutdown begins; if the
  process is still alive EXIT_DELAY seconds later, it ends it with `os._exit(0)`. What the abandoned
  threads were doing is safe to cut: reads change nothing, and a write is a transaction that the
  database rolls back when its connection dies (SQLite's WAL, PostgreSQL's backend), exactly as after
  the SIGKILLs of tests/trust/test_crash.py; a client whose request was cut gets no response and
  sends again.
- **Behind a proxy.** `X-Forwarded-For` and `X-Forwarded-Proto` set the client's address and the
  scheme only on connections from TTHC_FORWARDED_ALLOW_IPS (the reverse proxy; `127.0.0.1` by
  default, `*` for any); from anywhere else they are ignored, so a client cannot pose as another.
- **Logs and metrics.** Every process logs through `app.logs.logging_config` (JSON lines by default;
  uvicorn's own access log is off, the app writes one line a request with its id), and the workers
  write their Prometheus series to one directory (`metrics_directory`) that GET /metrics adds up.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings, get_settings
from app.core.errors import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE
from app.core.jsonutil import dumps
from app.logs import logging_config

log = logging.getLogger("tthc.server")

# Seconds between the start of the lifespan's shutdown and a forced exit of a process that is still
# alive then (only threads abandoned after the grace keep it alive that long).
EXIT_DELAY = 2.0
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _exit_if_still_alive(delay: float) -> None:
    timer = threading.Timer(delay, _force_exit)
    timer.daemon = True
    timer.name = "tthc-exit-watchdog"
    timer.start()


def _force_exit() -> None:
    busy = [t.name for t in threading.enumerate() if not t.daemon and t is not threading.main_thread()]
    log.warning("exiting with %d thread(s) still running past the shutdown grace", len(busy))
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class ShutdownGuard:
    """ASGI wrapper of the served app, for what happens at shutdown.

    - A request still running when the grace runs out is cancelled by uvicorn, which would answer it
      `500`; it is answered `503` with `Retry-After` and `Connection: close` instead (the service is
      going away; sent again, the request reaches another process or the restarted one).
    - When uvicorn asks the app to shut down, the process is made to end EXIT_DELAY seconds later if
      it is still alive then (see the module's docstring).
    """

    def __init__(self, app: ASGIApp, delay: float = EXIT_DELAY) -> None:
        self.app = app
        self.delay = delay

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
            return
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def watched() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                _exit_if_still_alive(self.delay)
            return message

        await self.app(scope, watched, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except asyncio.CancelledError:
            # Only uvicorn's shutdown cancels a request's task (a client that goes away does not).
            if started:
                raise
            body = dumps(
                {
                    "type": PROBLEM_TYPE_BASE + "service-unavailable",
                    "title": "Service unavailable",
                    "status": 503,
                    "detail": "The server is shutting down; send the request again.",
                }
            )
            headers = [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"1"),
                (b"connection", b"close"),
            ]
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": body})


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What `tthc-metrics serve` gives uvicorn besides the address and the number of workers."""
    return {
        "http": "h11",
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "timeout_graceful_shutdown": settings.shutdown_grace,
        # X-Forwarded-For / X-Forwarded-Proto are believed only from these addresses (the proxy's).
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
    }


def serve(
    host: str,
    port: int,
    workers: int,
    settings: Settings | None = None,
    *,
    target: str = "app.server:app",
) -> None:
    """uvicorn with the options above; `target` is another app only in tests (a slow endpoint)."""
    import uvicorn

    settings = settings or get_settings()
    with metrics_directory():
        uvicorn.run(
            target,
            host=host,
            port=port,
            workers=workers,
            log_config=logging_config(settings.log_level, settings.log_format),
            log_level=settings.log_level.lower(),
            access_log=False,  # the app writes the access lines, with request ids (app.api.observability)
            **uvicorn_options(settings),
        )


@contextmanager
def metrics_directory() -> Iterator[str]:
    """The directory where every worker process writes its Prometheus series (prometheus_client's
    multiprocess mode), named in PROMETHEUS_MULTIPROC_DIR before uvicorn starts any worker.

    A fresh temporary directory, removed when the server stops; or the one PROMETHEUS_MULTIPROC_DIR
    already names (on a tmpfs, say), emptied of the last run's files: counters start at zero with
    each start of the server, as Prometheus expects of a restarted target.
    """
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        yield given
        return
    path = tempfile.mkdtemp(prefix="tthc-metrics-")
    os.environ[MULTIPROC_ENV] = path
    try:
        yield path
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(path, ignore_errors=True)


def __getattr__(name: str) -> Any:
    # `app.server:app`, built on first access only: the supervisor of several workers imports this
    # module to serve, and only the workers need the application itself.
    if name == "app":
        from app.asgi import app as inner

        wrapped = ShutdownGuard(inner)
        globals()["app"] = wrapped
        return wrapped
    raise AttributeError(name)
