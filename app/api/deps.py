"""Request dependencies: sessions from the unit of work, typed as readers or writers.

A write endpoint gets a `WriteSession` in one write transaction, committed before the response is
sent; a read endpoint gets a `ReadSession` on the read engine (a replica when configured).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy import Engine

from app.api.state import state_of
from app.core.vocabulary import Channel
from app.dossiers.schemas import AgencyParam, CommuneParam, ProcedureParam, SectorParam
from app.metrics.reads import MAX_VALUES
from app.store.uow import ReadSession, WriteSession, read_session, write_session


def write_engine(request: Request) -> Engine:
    engine: Engine = state_of(request).engine
    return engine


def read_engine(request: Request) -> Engine:
    """Figures, reports and lists: DATABASE_READ_URL when set (a replica), else the primary."""
    engine: Engine = state_of(request).read_engine
    return engine


def get_session(request: Request) -> Iterator[ReadSession]:
    """A session for one request that only reads."""
    with read_session(read_engine(request)) as session:
        yield session


def get_write_session(request: Request) -> Iterator[WriteSession]:
    """A session for a request that writes through it: one unit of work, committed when the endpoint
    returns. On SQLite it holds the write lock from its first statement, so a request that reads
    first and writes later never fails when another writer committed in between."""
    with write_session(write_engine(request)) as session:
        yield session


# scope="function": the commit happens before the response is sent. With FastAPI's default
# ("request") it would run after, so a client could be told 201 for a token or an agency that is not
# yet visible to its next request, or that a failed commit then loses.
SessionDep = Annotated[ReadSession, Depends(get_session, scope="function")]
WriteSessionDep = Annotated[WriteSession, Depends(get_write_session, scope="function")]


class FigureFilters:
    """The filters a read of figures takes (the metrics, the report): each dimension repeatable."""

    def __init__(
        self,
        agency: Annotated[list[AgencyParam] | None, Query(max_length=MAX_VALUES)] = None,
        commune: Annotated[list[CommuneParam] | None, Query(max_length=MAX_VALUES)] = None,
        sector: Annotated[list[SectorParam] | None, Query(max_length=MAX_VALUES)] = None,
        procedure: Annotated[list[ProcedureParam] | None, Query(max_length=MAX_VALUES)] = None,
        channel: Annotated[list[Channel] | None, Query(max_length=3)] = None,
    ) -> None:
        self.values: dict[str, list[str] | None] = {
            "agency": agency,
            "commune": commune,
            "sector": sector,
            "procedure": procedure,
            "channel": list(channel) if channel else None,
        }


FiltersDep = Annotated[FigureFilters, Depends()]
