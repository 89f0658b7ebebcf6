"""Engines: SQLite (WAL, busy timeout, explicit BEGIN) or PostgreSQL (psycopg 3), each process's pools."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from app.config import Settings


def normalise_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use psycopg 3 for them."""
    u = make_url(url)
    if u.drivername in {"postgresql", "postgres"}:
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def is_memory_sqlite(url: str) -> bool:
    u = make_url(normalise_url(url))
    return u.get_backend_name() == "sqlite" and (u.database or "") in {"", ":memory:"}


def make_engine(
    url: str,
    *,
    pool_size: int | None = None,
    pool_timeout: float | None = None,
    busy_timeout: float = 30.0,
    **kwargs: Any,
) -> Engine:
    """An engine for SQLite (WAL, busy timeout, explicit BEGIN) or PostgreSQL (psycopg 3).

    With `pool_size`, the pool holds at most that many connections (no overflow) and a request that
    finds none free within `pool_timeout` seconds gets sqlalchemy's pool TimeoutError (answered 503).
    An in-memory SQLite database is one shared connection (StaticPool): sizes do not apply.
    """
    url = normalise_url(url)
    u = make_url(url)
    # A failed statement's parameters are record values; keep them out of exception texts and logs.
    kwargs.setdefault("hide_parameters", True)
    if pool_timeout is not None:
        kwargs.setdefault("pool_timeout", pool_timeout)
    if u.get_backend_name() == "sqlite":
        database = u.database or ""
        memory = database in {"", ":memory:"}
        if not memory:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"check_same_thread": False, "timeout": busy_timeout}
        extra: dict[str, Any] = {"poolclass": StaticPool} if memory else {}
        if memory:
            kwargs.pop("pool_timeout", None)
        elif pool_size is not None:
            extra.update(pool_size=pool_size, max_overflow=0)
        engine = create_engine(url, connect_args=connect_args, **extra, **kwargs)
        _configure_sqlite(engine, busy_timeout)
        return engine
    sizes: dict[str, Any] = (
        {"pool_size": 10, "max_overflow": 10}
        if pool_size is None
        else {"pool_size": pool_size, "max_overflow": 0}
    )
    return create_engine(url, pool_pre_ping=True, **sizes, **kwargs)


def make_probe_engine(url: str, timeout: float) -> Engine:
    """A one-connection engine for /readyz: it never waits behind the request pools, and each step
    (pool, connect, statement, SQLite lock) gives up after about `timeout` seconds."""
    u = make_url(normalise_url(url))
    if u.get_backend_name() == "sqlite":
        return make_engine(url, pool_size=1, pool_timeout=timeout, busy_timeout=timeout)
    ms = max(1, int(timeout * 1000))
    return make_engine(
        url,
        pool_size=1,
        pool_timeout=timeout,
        # libpq counts connect_timeout in whole seconds (and takes at least 2).
        connect_args={"connect_timeout": max(2, round(timeout)), "options": f"-c statement_timeout={ms}"},
    )


@dataclass
class Engines:
    """The engines of one server process: writes, reads and the readiness probe, each its own pool."""

    write: Engine
    read: Engine
    probe: Engine
    owned: list[Engine]

    def dispose(self) -> None:
        for engine in self.owned:
            engine.dispose()


def open_engines(settings: Settings, engine: Engine | None = None) -> Engines:
    """Writers and readers get pools of their own (TTHC_WRITE_POOL_SIZE, TTHC_READ_POOL_SIZE), on the
    same database unless DATABASE_READ_URL names a replica, so heavy reads cannot take every connection
    a writer needs; /readyz has a third, one-connection engine with short timeouts.

    A given `engine` (tests) is used for writes and, without DATABASE_READ_URL, for reads too; an
    in-memory SQLite database stays one engine for everything.
    """
    owned: list[Engine] = []
    timeout = settings.pool_timeout
    write = engine
    if write is None:
        write = make_engine(settings.database_url, pool_size=settings.write_pool_size, pool_timeout=timeout)
        owned.append(write)
    url = write.url.render_as_string(hide_password=False)
    memory = isinstance(write.pool, StaticPool) or is_memory_sqlite(url)
    read = write
    if settings.database_read_url:
        read = make_engine(
            settings.database_read_url, pool_size=settings.read_pool_size, pool_timeout=timeout
        )
        owned.append(read)
    elif engine is None and not memory:
        read = make_engine(settings.database_url, pool_size=settings.read_pool_size, pool_timeout=timeout)
        owned.append(read)
    probe = write
    if not memory:
        probe = make_probe_engine(url, settings.ready_timeout)
        owned.append(probe)
    return Engines(write=write, read=read, probe=probe, owned=owned)


def _configure_sqlite(engine: Engine, busy_timeout: float = 30.0) -> None:
    busy_ms = max(1, int(busy_timeout * 1000))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin (see _on_begin).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.execute("PRAGMA cache_size=-65536")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front, so two writers queue instead of failing on upgrade.
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
