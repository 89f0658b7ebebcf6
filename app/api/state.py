"""The application's state, typed: one `AppState` per app, read through `state_of`.

Made by `create_app`; the engines are opened by the lifespan (or given by a test). Shared caches
in it are replaced in one assignment, never mutated in place where readers could see them half
changed (`NamesMemo`, `BoundMemo`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp

from app.api.cache import ResponseCache
from app.config import Settings
from app.metrics.guard import HeavySlots
from app.metrics.reads import BoundMemo, NamesMemo
from app.refusals import RefusalCounter
from app.store.engine import Engines


@dataclass
class AppState:
    settings: Settings
    clock: Callable[[], datetime]
    alembic_head: str
    response_cache: ResponseCache
    heavy_slots: HeavySlots
    names_memo: NamesMemo = field(default_factory=NamesMemo)
    bound_memo: BoundMemo = field(default_factory=BoundMemo)
    refusals: RefusalCounter = field(default_factory=RefusalCounter)
    engines: Engines | None = None
    # Paths and methods the OpenAPI document lists (for 405 answers), filled on first use.
    documented_paths: list[Any] | None = None
    # The readiness probe's own threads (made on first use, under the serving event loop).
    probe_limiter: Any = None

    def _engines(self) -> Engines:
        if self.engines is None:
            raise RuntimeError("the app's engines are opened by its lifespan; none yet")
        return self.engines

    @property
    def engine(self) -> Engine:
        """Writes, token checks and everything that must see the newest state."""
        return self._engines().write

    @property
    def read_engine(self) -> Engine:
        """Figures, reports and lists: DATABASE_READ_URL when set (a replica), else the primary."""
        return self._engines().read

    @property
    def probe_engine(self) -> Engine:
        return self._engines().probe


def state_of(where: HTTPConnection | Starlette | ASGIApp) -> AppState:
    """The typed state of the app serving `where` (a request, or the app itself)."""
    app = where.app if isinstance(where, HTTPConnection) else where
    state: AppState = getattr(app, "state").tthc  # noqa: B009 - an ASGI app has no declared state
    return state
