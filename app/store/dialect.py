"""Every difference between the two stores, in one place: SQLite (embedded) and PostgreSQL.

The SQL builders (the rollup writer and reader, the ingest writer, the audit) ask the store's
`Dialect` for the piece of SQL or the way of loading that differs, instead of branching on the
dialect's name themselves. A third store would be a third subclass.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from itertools import chain
from typing import Any, ClassVar

from sqlalchemy import Connection, Engine, Table, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

# Parameters per multi-row INSERT on SQLite (its bound: 32,766 since 3.32).
_MAX_PARAMS = 32_000
# Codes are locked by bucket on PostgreSQL: a lock per code would take one of the server's shared
# lock slots each (64 per connection by default, max_locks_per_transaction) and a chunk of thousands
# of codes would fail with "out of shared memory". With 64 buckets a transaction never holds more.
LOCK_BUCKETS = 64
# Virtual-machine steps of SQLite between two looks at a read's cancel flag (microseconds of work each).
_SQLITE_STEPS = 20_000
_LOCK_NAMESPACE = 0x7443_0000  # keeps these advisory keys apart from any other use of the function


def sqlite_instant(v: datetime) -> str:
    """An instant as UTCDateTime stores it on SQLite: naive UTC text, always with microseconds."""
    if v.tzinfo is not UTC:
        v = v.astimezone(UTC)
    # "YYYY-MM-DD HH:MM:SS.ffffff+00:00" without its offset: cheaper than replace(tzinfo=None) first.
    return v.isoformat(" ", "microseconds")[:26]


class Dialect:
    """What the SQL of this service needs to know about a store."""

    name: ClassVar[str]
    # Booleans: a BOOLEAN column, or an INTEGER 0/1.
    boolean_type: ClassVar[str]
    # Staging tables that empty themselves at commit (PostgreSQL), or that the writer empties.
    temp_suffix: ClassVar[str]
    # Sums into a keyed staging table row by row (ON CONFLICT), or GROUP BY first (one row per key
    # per statement is all PostgreSQL's ON CONFLICT allows).
    accumulates_by_conflict: ClassVar[bool]
    # Upserts take their rows in key order, so concurrent writers lock rows in one order.
    orders_upserts: ClassVar[bool]
    # Stored rows read as one JSON text (one statement step) rather than row by row: see
    # app.dossiers.service.stored_rows.
    reads_rows_as_json: ClassVar[bool]
    # The isolation of a second connection that reads one snapshot while a write transaction holds
    # the writers off (a closing, app.reports.closings); None: read in the write transaction itself
    # (SQLite: its one writer's transaction is already a snapshot).
    snapshot_isolation: ClassVar[str | None]
    # A lease for one runner is a session advisory lock (held while its connection holds it), or,
    # without such locks, a row with an expiry (app.webhooks.lease).
    advisory_locks: ClassVar[bool]

    def true(self, column: str) -> str:
        """A condition that holds when the boolean `column` is true."""
        raise NotImplementedError

    def month_start(self, column: str) -> str:
        raise NotImplementedError

    def year_start(self, column: str) -> str:
        raise NotImplementedError

    def keyed_temp_end(self, keys: Sequence[str]) -> str:
        """How a staging table's column list ends: keyed by (d, keys) where rows accumulate by key."""
        return ")"

    def upsert_select(self, select_sql: str) -> str:
        """An INSERT ... SELECT source that can be followed by ON CONFLICT, in the writer's lock order."""
        raise NotImplementedError

    def instant(self, value: datetime) -> Any:
        """An instant bound as the store compares it with stored UTCDateTime values."""
        return value

    def bind_instant(self, value: datetime) -> datetime:
        """What UTCDateTime hands the driver for an aware instant."""
        return value.astimezone(UTC)

    def driver_values(
        self, values: list[Any], instants: Sequence[int], dates: Sequence[int]
    ) -> tuple[Any, ...]:
        """A row's values as the driver binds them (instants and dates at the positions given)."""
        return tuple(values)

    def insert_rows(
        self, conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        raise NotImplementedError

    def lock_codes(self, conn: Connection, codes: Sequence[str]) -> None:
        """Serialise writers of the same dossier codes for the rest of the transaction."""

    def interruptible(
        self,
        conn: Connection,
        cancelled: Callable[[], bool],
        seconds: float,
        on_cancel: Callable[[Callable[[], Any]], AbstractContextManager[None]],
    ) -> AbstractContextManager[None]:
        """While the block runs, a statement stops when `cancelled()` turns true or after `seconds`
        (`on_cancel(hook)` registers what to call when the read is cancelled from elsewhere)."""
        raise NotImplementedError

    def is_interruption(self, exc: DBAPIError) -> bool:
        """The error a statement stopped that way raises."""
        raise NotImplementedError

    def upsert(
        self, table: Table, values: dict[str, Any], keys: Sequence[str], set_: dict[str, Any]
    ) -> Executable:
        """INSERT `values`, or on a conflict over `keys` UPDATE with `set_` (both stores take the same)."""
        insert = pg_insert if self.name == "postgresql" else sqlite_insert
        stmt = insert(table).values(**values)
        return stmt.on_conflict_do_update(index_elements=[table.c[k] for k in keys], set_=set_)

    placeholder = "?"

    def upsert_rows(
        self,
        conn: Connection,
        table: str,
        columns: Sequence[str],
        keys: Sequence[str],
        rows: Sequence[Sequence[Any]],
        adding: Sequence[str] = (),
        replacing: Sequence[str] = (),
    ) -> None:
        """Multi-row `INSERT … ON CONFLICT (keys) DO UPDATE`: the `adding` columns become their sum with
        the new row's (c = c + excluded.c), the `replacing` ones the new row's value. Rows are driver
        values (see driver_values) with distinct keys (PostgreSQL refuses to update a row twice in one
        statement). Textual, hundreds of rows a statement: compiling a many-row VALUES construct costs
        far more than the statement, and executemany crawls on SQLite (see insert_rows)."""
        if not rows:
            return
        one = f"({', '.join(self.placeholder for _ in columns)})"
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        sets = [f"{c} = {table}.{c} + excluded.{c}" for c in adding] + [
            f"{c} = excluded.{c}" for c in replacing
        ]
        tail = f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {', '.join(sets)}"
        per = max(1, _MAX_PARAMS // len(columns))
        for start in range(0, len(rows), per):
            batch = rows[start : start + per]
            conn.exec_driver_sql(
                head + ", ".join(one for _ in batch) + tail, tuple(chain.from_iterable(batch))
            )


class SQLite(Dialect):
    name = "sqlite"
    boolean_type = "INTEGER"
    temp_suffix = ""
    accumulates_by_conflict = True
    orders_upserts = False
    reads_rows_as_json = True
    snapshot_isolation = None
    advisory_locks = False

    def true(self, column: str) -> str:
        return f"{column} <> 0"

    # Dates are ISO text on SQLite: cutting the text is several times cheaper than date(..., 'start of').
    def month_start(self, column: str) -> str:
        return f"substr({column}, 1, 8) || '01'"

    def year_start(self, column: str) -> str:
        return f"substr({column}, 1, 5) || '01-01'"

    def keyed_temp_end(self, keys: Sequence[str]) -> str:
        return f", PRIMARY KEY (d, {', '.join(keys)})) WITHOUT ROWID"

    def upsert_select(self, select_sql: str) -> str:
        # SQLite needs a WHERE to tell ON CONFLICT apart from a join's ON.
        return f"{select_sql} WHERE 1 = 1"

    def instant(self, value: datetime) -> Any:
        return sqlite_instant(value)

    def bind_instant(self, value: datetime) -> datetime:
        return value.astimezone(UTC).replace(tzinfo=None)

    def driver_values(
        self, values: list[Any], instants: Sequence[int], dates: Sequence[int]
    ) -> tuple[Any, ...]:
        """Instants and dates as the text UTCDateTime and Date store, so the writer binds plain values."""
        for i in instants:
            if (v := values[i]) is not None:
                values[i] = sqlite_instant(v)
        for i in dates:
            if (v := values[i]) is not None:
                values[i] = v.isoformat()
        return tuple(values)

    @contextmanager
    def interruptible(
        self,
        conn: Connection,
        cancelled: Callable[[], bool],
        seconds: float,
        on_cancel: Callable[[Callable[[], Any]], AbstractContextManager[None]],
    ) -> Iterator[None]:
        """A progress handler looks at the flag every few thousand virtual-machine steps (the
        deadline passing sets the flag too)."""
        raw = conn.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        raw.set_progress_handler(lambda: 1 if cancelled() else 0, _SQLITE_STEPS)
        try:
            yield
        finally:
            raw.set_progress_handler(None, 0)

    def is_interruption(self, exc: DBAPIError) -> bool:
        return isinstance(exc.orig, sqlite3.OperationalError) and str(exc.orig) == "interrupted"

    def insert_rows(
        self, conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Multi-row INSERTs: one statement carries hundreds of rows.

        With executemany each row is a statement step, and the driver releases and takes back the GIL
        around every step: while another thread runs Python (the next chunk being validated), each
        take-back waits for a switch interval, and the writer crawls. Few, large steps keep both
        threads going.
        """
        if not rows:
            return
        one = f"({', '.join('?' for _ in columns)})"
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        per = max(1, _MAX_PARAMS // len(columns))
        for start in range(0, len(rows), per):
            batch = rows[start : start + per]
            conn.exec_driver_sql(head + ", ".join(one for _ in batch), tuple(chain.from_iterable(batch)))


class PostgreSQL(Dialect):
    name = "postgresql"
    placeholder = "%s"
    boolean_type = "BOOLEAN"
    temp_suffix = " ON COMMIT DELETE ROWS"
    accumulates_by_conflict = False
    orders_upserts = True
    reads_rows_as_json = False
    snapshot_isolation = "REPEATABLE READ"
    advisory_locks = True

    def true(self, column: str) -> str:
        return column

    def month_start(self, column: str) -> str:
        return f"CAST(date_trunc('month', {column}) AS DATE)"

    def year_start(self, column: str) -> str:
        return f"CAST(date_trunc('year', {column}) AS DATE)"

    def upsert_select(self, select_sql: str) -> str:
        return f"{select_sql} ORDER BY code"

    @contextmanager
    def interruptible(
        self,
        conn: Connection,
        cancelled: Callable[[], bool],
        seconds: float,
        on_cancel: Callable[[Callable[[], Any]], AbstractContextManager[None]],
    ) -> Iterator[None]:
        """statement_timeout for the rest of the transaction the connection is in (SQLAlchemy begins
        one at the first statement; SET LOCAL ends with it), and the driver's cancel request when
        the read is cancelled from elsewhere."""
        ms = max(1, int(seconds * 1000))
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}")
        raw = conn.connection.driver_connection
        with on_cancel(getattr(raw, "cancel_safe", getattr(raw, "cancel", lambda: None))):
            yield

    def is_interruption(self, exc: DBAPIError) -> bool:
        # QueryCanceled (57014): raised by statement_timeout and by a cancel request.
        return getattr(exc.orig, "sqlstate", None) == "57014"

    def insert_rows(
        self, conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """COPY: an order of magnitude faster than batched INSERTs."""
        if not rows:
            return
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def lock_codes(self, conn: Connection, codes: Sequence[str]) -> None:
        """Advisory locks on buckets of the codes, keys in one order, so writers never deadlock."""
        if not codes:
            return
        keys = sorted({_LOCK_NAMESPACE + zlib.crc32(c.encode()) % LOCK_BUCKETS for c in codes})
        conn.execute(
            text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:keys AS bigint[])) AS k"),
            {"keys": keys},
        )


_DIALECTS: dict[str, Dialect] = {d.name: d for d in (SQLite(), PostgreSQL())}


def dialect_of(where: Connection | Engine | Session | str) -> Dialect:
    """The store behind a connection, engine, session or dialect name."""
    if isinstance(where, str):
        name = where
    elif isinstance(where, Session):
        name = where.get_bind().dialect.name
    else:
        name = where.dialect.name
    return _DIALECTS[name]
