"""What one read may cost: a deadline that stops its SQL and its loops, and slots for heavy reads.

A read of figures runs in a worker thread. Its `Cancel` carries the deadline (TTHC_READ_TIMEOUT)
and a reason set from outside (the client left). The work checks it between time buckets, and the
store checks it inside long statements: SQLite through a progress handler called every few
thousand virtual-machine steps, PostgreSQL through `statement_timeout` for the deadline and the
driver's cancel request when the client leaves. A cancelled read raises `ReadCancelled`.

Heavy reads (a large row bound, or grouped by day or procedure) first take a slot from a
per-process limit (TTHC_HEAVY_READS); a read that cannot get one within the wait (2 s by default)
is refused with 503 and Retry-After, so a burst of them queues briefly and then sheds instead of
taking every thread and connection the cheap requests need.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import anyio
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from app.core.errors import ServiceUnavailable
from app.store.dialect import dialect_of

DEADLINE_REASON = "deadline"
CLIENT_LEFT = "client left"


class ReadCancelled(Exception):
    """The read passed its deadline or was cancelled; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Cancel:
    """A read's deadline and cancel flag, shared by the request's task and the worker thread."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self._reason: str | None = None
        self._hooks: list[Callable[[], Any]] = []
        self._lock = threading.Lock()

    @property
    def reason(self) -> str | None:
        if self._reason is None and time.monotonic() >= self.deadline:
            return DEADLINE_REASON
        return self._reason

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def set(self, reason: str) -> None:
        """Cancel the read (from any thread); a statement under way is interrupted."""
        with self._lock:
            if self._reason is not None:
                return
            self._reason = reason
            hooks = list(self._hooks)
        for hook in hooks:
            # A cancel request that fails changes nothing: the deadline still holds.
            with contextlib.suppress(Exception):
                hook()

    def check(self) -> None:
        reason = self.reason
        if reason is not None:
            raise ReadCancelled(reason)

    @contextmanager
    def on_set(self, hook: Callable[[], Any]) -> Iterator[None]:
        with self._lock:
            self._hooks.append(hook)
        try:
            yield
        finally:
            with self._lock:
                self._hooks.remove(hook)


@contextmanager
def interruptible(conn: Connection, cancel: Cancel) -> Iterator[Connection]:
    """Run the block's statements on `conn` under the read's deadline and cancel flag (each store
    interrupts a statement its own way: see Dialect.interruptible)."""
    cancel.check()
    dialect = dialect_of(conn)
    try:
        with dialect.interruptible(
            conn, lambda: cancel.reason is not None, cancel.remaining(), cancel.on_set
        ):
            yield conn
    except DBAPIError as exc:
        if dialect.is_interruption(exc):
            raise ReadCancelled(cancel.reason or DEADLINE_REASON) from None
        raise


def cancelled_problem(exc: ReadCancelled, timeout: float) -> ServiceUnavailable:
    """The 503 a cancelled read answers (the client that left never reads it)."""
    return ServiceUnavailable(
        f"The read did not finish within its deadline of {timeout:g} s and was stopped. Narrow the query "
        "(a shorter range, a coarser time unit, fewer group keys, or filters) or try again later.",
        headers={"Retry-After": str(max(1, round(timeout)))},
    )


class HeavySlots:
    """A per-process limit on heavy reads under way at once.

    A plain counter polled by the waiting task: it works the same under any event loop (the test
    client starts one per request) and costs nothing while no heavy read waits.
    """

    def __init__(self, size: int, wait: float) -> None:
        self.size = size
        self.wait = wait
        self._busy = 0
        self._lock = threading.Lock()

    @property
    def busy(self) -> int:
        return self._busy

    def _take(self) -> bool:
        with self._lock:
            if self._busy < self.size:
                self._busy += 1
                return True
            return False

    def release(self) -> None:
        with self._lock:
            self._busy -= 1

    async def acquire(self) -> None:
        """Take a slot, waiting up to `wait` seconds; else a 503 with Retry-After."""
        give_up = time.monotonic() + self.wait
        while not self._take():
            if time.monotonic() >= give_up:
                raise ServiceUnavailable(
                    f"Too many heavy reads are under way ({self.size} at once per server process); this one "
                    f"waited {self.wait:g} s for its turn. Try again shortly, or narrow the query.",
                    headers={"Retry-After": "2"},
                )
            await anyio.sleep(0.02)
