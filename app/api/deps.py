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


# What each repeatable filter parameter means, said once for every endpoint that takes them (the
# metrics, the report, the drill-down list). Repeat a parameter for several values: a dossier matches
# when its value is any of them; the dimensions combine with AND; absent means no filter.
AGENCY_FILTER = (
    "Only dossiers handled by this agency: its code (1-64 of A-Z a-z 0-9 . _ -, e.g. 000.00.07.H41). "
    "Repeat for several agencies (any of them matches); absent: every agency."
)
COMMUNE_FILTER = (
    "Only dossiers handled in this ward: its 2025 official 5-digit code (e.g. 17329). Repeat for "
    "several (any of them matches); dossiers without a ward match no value. Absent: every dossier."
)
SECTOR_FILTER = (
    "Only dossiers of this sector (lĩnh vực): its slug, [a-z0-9_]{1,64} (e.g. dat_dai). Repeat for "
    "several (any of them matches); dossiers without a sector match no value. Absent: every dossier."
)
PROCEDURE_FILTER = (
    "Only dossiers of this procedure: its code in the national procedure database (mã TTHC, 1-32 "
    "printable characters, e.g. 1.004227). Repeat for several (any of them matches); absent: all."
)
CHANNEL_FILTER = (
    "Only dossiers submitted through this channel: online, in_person or postal. Repeat for several "
    "(any of them matches); absent: every channel."
)
# On the endpoints that check these filters against the registries (metrics, report).
_UNKNOWN_AGENCY = " A code that is not a registered agency is a 422 (unknown_agency)."
_UNKNOWN_COMMUNE = " A code that is not a ward of the configured province is a 422 (unknown_commune)."
_AT_MOST = f" At most {MAX_VALUES} values."


class FigureFilters:
    """The filters a read of figures takes (the metrics, the report): each dimension repeatable."""

    def __init__(
        self,
        agency: Annotated[
            list[AgencyParam] | None,
            Query(max_length=MAX_VALUES, description=AGENCY_FILTER + _UNKNOWN_AGENCY + _AT_MOST),
        ] = None,
        commune: Annotated[
            list[CommuneParam] | None,
            Query(max_length=MAX_VALUES, description=COMMUNE_FILTER + _UNKNOWN_COMMUNE + _AT_MOST),
        ] = None,
        sector: Annotated[
            list[SectorParam] | None,
            Query(max_length=MAX_VALUES, description=SECTOR_FILTER + _AT_MOST),
        ] = None,
        procedure: Annotated[
            list[ProcedureParam] | None,
            Query(max_length=MAX_VALUES, description=PROCEDURE_FILTER + _AT_MOST),
        ] = None,
        channel: Annotated[list[Channel] | None, Query(max_length=3, description=CHANNEL_FILTER)] = None,
    ) -> None:
        self.values: dict[str, list[str] | None] = {
            "agency": agency,
            "commune": commune,
            "sector": sector,
            "procedure": procedure,
            "channel": list(channel) if channel else None,
        }


FiltersDep = Annotated[FigureFilters, Depends()]
