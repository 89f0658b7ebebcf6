"""Rendered responses of reads of figures, and the in-process cache that keeps them by bytes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rendered:
    """A response body with its media type and ETag.

    A large body stays in the pieces it was written in (`body` a tuple of bytes): joining them
    would hold it twice at the moment of the join.
    """

    body: bytes | tuple[bytes, ...]
    media_type: str
    etag: str
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def size(self) -> int:
        return len(self.body) if isinstance(self.body, bytes) else sum(len(p) for p in self.body)


class ResponseCache:
    """Rendered responses keyed by request and data version; only for figures that do not depend on now.

    Bounded by bytes (the bodies' sizes summed), least recently used out first; a body larger than
    `max_body` is not kept at all, so one huge answer cannot push out every small one.
    """

    def __init__(self, max_bytes: int = 64 * 1024 * 1024, max_body: int | None = None) -> None:
        self._items: OrderedDict[tuple[str, int], Rendered] = OrderedDict()
        self._lock = threading.Lock()
        self.max_bytes = max_bytes
        self.max_body = max_bytes // 8 if max_body is None else max_body
        self.bytes = 0

    def get(self, key: str, version: int) -> Rendered | None:
        with self._lock:
            hit = self._items.get((key, version))
            if hit is not None:
                self._items.move_to_end((key, version))
            return hit

    def put(self, key: str, version: int, value: Rendered) -> None:
        size = value.size
        if size > self.max_body:
            return
        with self._lock:
            old = self._items.pop((key, version), None)
            if old is not None:
                self.bytes -= old.size
            self._items[(key, version)] = value
            self.bytes += size
            while self.bytes > self.max_bytes and self._items:
                _, dropped = self._items.popitem(last=False)
                self.bytes -= dropped.size

    def __len__(self) -> int:
        return len(self._items)
