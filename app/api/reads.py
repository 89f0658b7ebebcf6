"""HTTP plumbing shared by the metric and report endpoints: strict query parameters, ETags, a cache,
and the guarded read (deadline, heavy-read slot, client gone) every read of figures runs in."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import quote

import anyio
from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Connection, Engine

from app.api.cache import Rendered, ResponseCache
from app.api.state import state_of
from app.core.errors import ValidationFailed
from app.metrics.guard import CLIENT_LEFT, Cancel, HeavySlots, ReadCancelled, cancelled_problem, interruptible


def reject_unknown_params(request: Request, allowed: Iterable[str]) -> None:
    """Unknown query parameters are an error (contract §4), not silently ignored."""
    allowed_set = set(allowed)
    unknown = sorted({k for k in request.query_params if k not in allowed_set})
    if unknown:
        raise ValidationFailed(
            f"Unknown query parameter(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed_set))}.",
            errors=[
                {"loc": ["query", k], "msg": "unknown parameter", "type": "extra_forbidden"} for k in unknown
            ],
        )


def etag_of(body: bytes | Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    if isinstance(body, bytes):
        digest.update(body)
    else:
        for piece in body:
            digest.update(piece)
    return '"' + digest.hexdigest()[:32] + '"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    tags = [t.strip() for t in if_none_match.split(",")]
    return etag in tags or f"W/{etag}" in tags


def request_key(request: Request) -> str:
    """The exact request: parameters ordered by name, each name's values in the order given (the
    order of `group_by` is the order of the rows' keys), names and values percent-escaped."""
    items = sorted(request.query_params.multi_items(), key=lambda kv: kv[0])
    return request.url.path + "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in items)


def respond(request: Request, rendered: Rendered, cached: bool) -> Response:
    settings = state_of(request).settings
    visibility = "private" if settings.read_requires_token else "public"
    headers = {
        "ETag": rendered.etag,
        "Cache-Control": f"{visibility}, max-age={settings.cache_seconds}",
        "X-Cache": "hit" if cached else "miss",
        **dict(rendered.headers),
    }
    if _matches(request.headers.get("if-none-match"), rendered.etag):
        return Response(status_code=304, headers=headers)
    body = rendered.body
    if isinstance(body, bytes):
        return Response(body, media_type=rendered.media_type, headers=headers)
    return _PiecesResponse(body, media_type=rendered.media_type, headers=headers)


class _PiecesResponse(Response):
    """A body sent piece by piece, with its Content-Length known beforehand."""

    def __init__(self, pieces: tuple[bytes, ...], media_type: str, headers: dict[str, str]) -> None:
        super().__init__(b"", media_type=media_type, headers=headers)
        self.pieces = pieces
        self.headers["content-length"] = str(sum(len(p) for p in pieces))

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        batch: list[bytes] = []
        size = 0
        for piece in self.pieces:
            batch.append(piece)
            size += len(piece)
            if size >= 1 << 20:
                await send({"type": "http.response.body", "body": b"".join(batch), "more_body": True})
                batch, size = [], 0
        await send({"type": "http.response.body", "body": b"".join(batch), "more_body": False})


T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class ReadPlan(Generic[T]):
    """What the cheap first step of a read found: the data version, whether its answer may be
    cached, whether it is heavy, and whatever the rendering needs (names, checked filters)."""

    version: int
    cacheable: bool
    heavy: bool
    context: T


async def guarded_read(
    request: Request,
    plan: Callable[[Connection], ReadPlan[T]],
    render: Callable[[Connection, Cancel, ReadPlan[T]], Rendered],
) -> Response:
    """Run a read of figures within its bounds.

    1. `plan` (cheap: the data version, names, checked filters, the row bound) on a read connection;
       it raises a 422 for an answer above the row limit. A cache hit answers here; a read that is
       not heavy is rendered right away on the same connection, in the same worker thread.
    2. A heavy read takes a slot (TTHC_HEAVY_READS per process; 503 after the wait), holding no
       connection meanwhile, then `render` runs on a fresh read connection.
    All of it runs under the read's deadline (TTHC_READ_TIMEOUT: 503 with Retry-After past it), and
    while a worker thread runs, this task watches the client: when it has gone, the work is cancelled.
    """
    state = state_of(request)
    settings = state.settings
    engine: Engine = state.read_engine
    cache: ResponseCache = state.response_cache
    slots: HeavySlots = state.heavy_slots
    cancel = Cancel(settings.read_timeout)
    key = request_key(request)

    def rendered_on(conn: Connection, p: ReadPlan[T]) -> Rendered:
        rendered = render(conn, cancel, p)
        if p.cacheable:
            cache.put(key, p.version, rendered)
        return rendered

    def first() -> tuple[ReadPlan[T], Rendered | None, bool]:
        """(plan, the answer when there is one already, whether it came from the cache)."""
        with engine.connect() as conn, interruptible(conn, cancel):
            p = plan(conn)
            hit = cache.get(key, p.version) if p.cacheable else None
            if hit is not None or p.heavy:
                return p, hit, hit is not None
            return p, rendered_on(conn, p), False

    def second(p: ReadPlan[T]) -> Rendered:
        with engine.connect() as conn, interruptible(conn, cancel):
            return rendered_on(conn, p)

    try:
        p, done, cached = await _watching_client(request, cancel, first)
        if done is not None:
            return respond(request, done, cached=cached)
        await slots.acquire()
        try:
            rendered = await _watching_client(request, cancel, lambda: second(p))
        finally:
            slots.release()
    except ReadCancelled as exc:
        raise cancelled_problem(exc, settings.read_timeout) from None
    return respond(request, rendered, cached=False)


async def _watching_client(request: Request, cancel: Cancel, work: Callable[[], R]) -> R:
    """Run `work` in a worker thread; cancel it when the client disconnects. Returns when the thread
    has finished, so a slot is never given back while its work still runs."""
    result: list[R] = []
    failure: list[Exception] = []

    async def run(done: anyio.Event) -> None:
        try:
            result.append(await run_in_threadpool(work))
        except Exception as exc:
            failure.append(exc)
        finally:
            done.set()

    async def watch(done: anyio.Event) -> None:
        while not done.is_set():
            with anyio.move_on_after(0.25):
                await done.wait()
            if not done.is_set() and await request.is_disconnected():
                cancel.set(CLIENT_LEFT)
                return

    done = anyio.Event()
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(run, done)
            tg.start_soon(watch, done)
    except BaseException:
        # The request itself was cancelled (shutdown): the thread cannot be, so stop its work.
        cancel.set(CLIENT_LEFT)
        raise
    if failure:
        raise failure[0]
    return result[0]
