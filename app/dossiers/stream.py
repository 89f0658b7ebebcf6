"""An NDJSON import: lines cut into chunks by count and bytes, each validated, authorised, judged
and committed in its own transaction, the next validated while the previous one is written."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson
from anyio import to_thread
from sqlalchemy import Engine

from app.core.access import Principal
from app.dossiers.service import IngestTotals, Unreadable, Verdict, drain, prepare_chunk, write_chunk
from app.dossiers.validation import Registry

# The longest NDJSON line taken (a record is a few hundred bytes).
MAX_LINE_BYTES = 1024 * 1024
# A UTF-8 byte order mark, which some Windows tools write at the start of a file.
BOM = b"\xef\xbb\xbf"


BROKEN_LINE = {"loc": [], "msg": "the line is not a valid JSON object", "type": "json_invalid"}
LONG_LINE = Unreadable(
    [{"loc": [], "msg": f"the line is longer than {MAX_LINE_BYTES} bytes", "type": "too_long"}]
)


def parse_lines(items: Iterable[tuple[int, bytes | Unreadable]]) -> Iterator[tuple[int, Any]]:
    """Each line parsed only when its chunk is validated (in the worker thread), then let go."""
    for index, line in items:
        if isinstance(line, Unreadable):
            yield index, line
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            yield index, Unreadable([dict(BROKEN_LINE)])
            continue
        del line
        yield index, record


async def ingest_ndjson(
    pieces: AsyncIterator[bytes],
    *,
    engine: Engine,
    principal: Principal,
    registry: Registry,
    clock: Callable[[], datetime],
    chunk_size: int,
    chunk_bytes: int,
    totals: IngestTotals,
) -> None:
    """Read the stream line by line; lines form one committed chunk every `TTHC_INGEST_CHUNK` lines or
    `TTHC_INGEST_CHUNK_BYTES` bytes of lines, whichever comes first.

    Lines are kept as raw bytes until their chunk is validated, so a chunk costs its bytes, not the
    many times more of its parsed objects. Chunks are written one after another (a later line sees an
    earlier one), but the next chunk is read and validated while the previous one is being written,
    so both cores are used. Each chunk is judged against the clock when it is validated.
    """
    pending: list[tuple[int, bytes | Unreadable]] = []
    pending_bytes = 0
    writing: asyncio.Future[list[Verdict]] | None = None
    buffer = b""
    line_no = 0
    skipping = False  # inside an over-long line

    async def flush() -> None:
        nonlocal pending, pending_bytes, writing
        lines = parse_lines(drain(pending))
        chunk_registry = replace(registry, now=clock())
        prepared = await to_thread.run_sync(prepare_chunk, lines, chunk_registry, engine.dialect.name)
        pending, pending_bytes = [], 0
        if writing is not None:
            totals.add(await writing)
        writing = asyncio.ensure_future(to_thread.run_sync(write_chunk, engine, prepared, principal))

    def take(line: bytes) -> None:
        nonlocal line_no, pending_bytes
        index = line_no
        line_no += 1
        if index == 0 and line.startswith(BOM):
            line = line[len(BOM) :]
        if not line or line.isspace():
            return
        # The same limit whether the line arrived whole or spread over several pieces of the stream.
        if len(line) > MAX_LINE_BYTES:
            pending.append((index, LONG_LINE))
            return
        pending.append((index, line))
        pending_bytes += len(line)

    try:
        async for chunk in pieces:
            # Split each network chunk once; slicing the buffer line by line would copy it per line.
            lines = (buffer + chunk).split(b"\n")
            buffer = lines.pop()
            for line in lines:
                if skipping:
                    skipping = False
                    line_no += 1
                    continue
                take(line)
                if len(pending) >= chunk_size or pending_bytes >= chunk_bytes:
                    await flush()
            del lines
            if len(buffer) > MAX_LINE_BYTES and not skipping:
                pending.append((line_no, LONG_LINE))
                buffer, skipping = b"", True
            elif skipping:
                buffer = b""
        if buffer and not buffer.isspace() and not skipping:
            take(buffer)
        buffer = b""
        if pending:
            await flush()
    finally:
        if writing is not None:
            totals.add(await writing)
