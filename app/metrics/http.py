"""HTTP plumbing shared by the metric and report endpoints: strict query parameters, ETags, a cache."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fastapi import Request, Response

from app.errors import ValidationFailed


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


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    tags = [t.strip() for t in if_none_match.split(",")]
    return etag in tags or f"W/{etag}" in tags


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    media_type: str
    etag: str
    headers: tuple[tuple[str, str], ...] = ()


class ResponseCache:
    """Rendered responses keyed by request and data version; only for figures that do not depend on now."""

    def __init__(self, size: int = 512) -> None:
        self._items: OrderedDict[tuple[str, int], Rendered] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, key: str, version: int) -> Rendered | None:
        with self._lock:
            hit = self._items.get((key, version))
            if hit is not None:
                self._items.move_to_end((key, version))
            return hit

    def put(self, key: str, version: int, value: Rendered) -> None:
        with self._lock:
            self._items[(key, version)] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def request_key(request: Request) -> str:
    items = sorted(request.query_params.multi_items())
    return request.url.path + "?" + "&".join(f"{k}={v}" for k, v in items)


def respond(request: Request, rendered: Rendered, cached: bool) -> Response:
    settings = request.app.state.settings
    visibility = "private" if settings.read_requires_token else "public"
    headers = {
        "ETag": rendered.etag,
        "Cache-Control": f"{visibility}, max-age={settings.cache_seconds}",
        "X-Cache": "hit" if cached else "miss",
        **dict(rendered.headers),
    }
    if _matches(request.headers.get("if-none-match"), rendered.etag):
        return Response(status_code=304, headers=headers)
    return Response(rendered.body, media_type=rendered.media_type, headers=headers)


def cached_response(
    request: Request, version: int, cacheable: bool, render: Callable[[], Rendered]
) -> Response:
    """Serve from the cache when the data have not changed since; else render (and keep it if allowed)."""
    cache: ResponseCache = request.app.state.response_cache
    key = request_key(request)
    if cacheable:
        hit = cache.get(key, version)
        if hit is not None:
            return respond(request, hit, cached=True)
    rendered = render()
    if cacheable:
        cache.put(key, version, rendered)
    return respond(request, rendered, cached=False)
