"""A whole list sent as CSV (streamed as it is read) or XLSX (written to a temporary file, then sent),
under a heavy-read slot, from one statement whose rows are fetched as they are consumed: the export
machinery of every exported list (the worklists, the drill-down), written once. The table itself is
app.reports.table."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import IO, Any

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy import Connection
from starlette.background import BackgroundTask

from app.api.state import state_of
from app.core.errors import ValidationFailed
from app.metrics.guard import Cancel, ReadCancelled, cancelled_problem, interruptible
from app.reports import table

# The largest list sent as XLSX (a spreadsheet holds 1,048,576 rows); CSV has no limit.
XLSX_MAX_ROWS = 1_000_000
# An export's statement runs as long as the client reads (a large CSV takes minutes), up to this.
EXPORT_TIMEOUT = 3600.0
_CHUNK = 1 << 20

Rows = Callable[[Connection], Iterator[list[Sequence[Any]]]]


def on_connection(request: Request, cancel: Cancel, work: Callable[[Connection], Any]) -> Any:
    with state_of(request).read_engine.connect() as conn, interruptible(conn, cancel):
        return work(conn)


async def prepared(request: Request, work: Callable[[Connection], Any]) -> Any:
    """`work` on a read connection in a worker thread, under the read timeout (an export's checks and
    count, before its slot is taken)."""
    timeout = state_of(request).settings.read_timeout
    try:
        return await run_in_threadpool(on_connection, request, Cancel(timeout), work)
    except ReadCancelled as exc:
        raise cancelled_problem(exc, timeout) from None


def check_xlsx_rows(n: int, limit: int | None = None) -> None:
    """The 422 of an XLSX above `limit` rows (default XLSX_MAX_ROWS), naming `format`."""
    limit = XLSX_MAX_ROWS if limit is None else limit
    if n > limit:
        msg = f"the list has {n:,} dossiers, above the XLSX limit of {limit:,} rows"
        raise ValidationFailed(
            f"{msg[0].upper()}{msg[1:]}. Ask for format=csv (no limit), or narrow the filters.",
            errors=[{"loc": ["query", "format"], "msg": msg, "type": "too_large"}],
        )


class Slot:
    """A heavy-read slot given back once, by whichever of the body's end or the response's end comes first."""

    def __init__(self, request: Request) -> None:
        self.slots = state_of(request).heavy_slots
        self.held = False

    async def take(self) -> None:
        await self.slots.acquire()
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.slots.release()


async def send(
    request: Request,
    fmt: str,
    filename: str,
    headings: Sequence[str],
    rows: Rows,
    sheet: str,
) -> Response:
    """The list as an attachment: `rows(conn)` yields its rows of cells (app.reports.table.cell) a
    block at a time, from one statement; CSV streams them as they are read (the connection and the slot
    are held while the client reads, under EXPORT_TIMEOUT), XLSX writes them to a temporary file first."""
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    slot = Slot(request)
    await slot.take()
    engine = state_of(request).read_engine
    if fmt == "xlsx":

        def write(conn: Connection) -> IO[bytes]:
            return table.xlsx_file(headings, _flat(rows(conn)), sheet)

        try:
            file = await run_in_threadpool(on_connection, request, Cancel(EXPORT_TIMEOUT), write)
        except ReadCancelled as exc:
            raise cancelled_problem(exc, EXPORT_TIMEOUT) from None
        finally:
            slot.release()
        return StreamingResponse(
            _file_pieces(file),
            media_type=table.XLSX_MEDIA_TYPE,
            headers=headers,
            background=BackgroundTask(file.close),
        )

    def body() -> Iterator[bytes]:
        """Run a step at a time in worker threads (Starlette iterates a sync body so); the connection and
        the slot are given back when the body ends, fails, or is dropped with the client."""
        try:
            cancel = Cancel(EXPORT_TIMEOUT)
            with engine.connect() as conn, interruptible(conn, cancel):
                yield table.csv_head(headings)
                for part in rows(conn):
                    yield table.csv_lines(part)
        finally:
            slot.release()

    return StreamingResponse(
        body(), media_type=table.CSV_MEDIA_TYPE, headers=headers, background=BackgroundTask(slot.release)
    )


def _flat(parts: Iterable[list[Sequence[Any]]]) -> Iterator[Sequence[Any]]:
    for part in parts:
        yield from part


async def _file_pieces(file: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        while True:
            piece = await run_in_threadpool(file.read, _CHUNK)
            if not piece:
                return
            yield piece
    finally:
        file.close()
