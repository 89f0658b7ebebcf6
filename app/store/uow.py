"""The unit of work: the one way into a write transaction, and the two kinds of session.

Every write — a request's, each ingest chunk's, the audit's, the command line's — runs in
`write_transaction` (or `run_write`, which retries it when the store asks, or `write_session` for
ORM work): BEGIN (IMMEDIATE on SQLite, so writers queue for the lock instead of failing on an
upgrade), commit once when the block ends, roll back when it raises. Nothing else in the service
begins or commits a transaction (a test checks).

Reads get a `ReadSession` on the read engine (a replica when DATABASE_READ_URL is set), or a plain
connection from it for the SQL of figures; a read never commits. A long read that must see one state
of the database without holding the writers off takes `read_snapshot`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.store.dialect import dialect_of

T = TypeVar("T")

# How often a write is tried when the store asks for it (a deadlock or serialization failure on
# PostgreSQL, a lock held past the busy timeout on SQLite).
WRITE_ATTEMPTS = 5


class ReadSession(Session):
    """A session on the read engine; it never writes (closing it rolls its transaction back)."""


class WriteSession(Session):
    """A session inside one write transaction; what it flushes is committed when the unit ends."""


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction on `engine`: committed once when the block ends, rolled back on error."""
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        yield conn


def retryable(exc: Exception) -> bool:
    """The store asks for the transaction to be run again: deadlock, serialization, a held lock."""
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return sqlstate in {"40P01", "40001"} or "database is locked" in str(exc)


def run_write(
    engine: Engine,
    work: Callable[[Connection], T],
    *,
    before_retry: Callable[[], None] = lambda: None,
    attempts: int = WRITE_ATTEMPTS,
) -> T:
    """`work` in one write transaction, run again from the start (after `before_retry`, which undoes
    what the attempt left in memory) when the store asks, up to `attempts` times."""
    for attempt in range(attempts):
        try:
            with write_transaction(engine) as conn:
                return work(conn)
        except DBAPIError as exc:
            if attempt == attempts - 1 or not retryable(exc):
                raise
            before_retry()
    raise AssertionError("unreachable")


@contextmanager
def write_session(engine: Engine) -> Iterator[WriteSession]:
    """An ORM session in one write transaction; flushed and committed when the block ends."""
    with write_transaction(engine) as conn, WriteSession(bind=conn, expire_on_commit=False) as session:
        yield session
        session.flush()


@contextmanager
def read_session(engine: Engine) -> Iterator[ReadSession]:
    """An ORM session for reads on `engine` (the read engine)."""
    with ReadSession(engine, expire_on_commit=False) as session:
        yield session


@contextmanager
def snapshot_read(engine: Engine, beside: Connection) -> Iterator[Connection]:
    """One consistent read taken while the write transaction `beside` holds the writers off: a second
    connection in the store's snapshot isolation (`read_snapshot`: PostgreSQL's repeatable read, read
    only), or, where a write transaction is one snapshot already (SQLite: its single writer), that
    transaction itself."""
    if dialect_of(beside).snapshot_isolation is None:
        yield beside
        return
    with read_snapshot(engine) as snap:
        yield snap


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """One read-only transaction that sees one state of the database from its first statement to its
    end and takes no write lock, so writers go on meanwhile: SQLite's deferred BEGIN (in WAL mode a
    reader keeps its snapshot while writers commit), PostgreSQL's repeatable read, read only. Rolled
    back at the end: a read never commits."""
    with engine.connect() as conn:
        isolation = dialect_of(conn).snapshot_isolation
        if isolation is not None:
            conn.execution_options(isolation_level=isolation, postgresql_readonly=True)
        transaction = conn.begin()
        try:
            yield conn
        finally:
            transaction.rollback()
