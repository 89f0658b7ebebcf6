"""The daily digest: what a subscription is sent, built from a `DigestSource` of worklist items.

A source yields, for one worklist kind, a scope and an instant, the dossiers on that list in the list's
order (deadline, then code), page by page. The digest keeps, per kind, the first `max_items` dossiers
that were never listed to the subscription under that kind (`webhook_sent`), marks them listed in the
same transaction that queues the delivery, and says whether more were left for the next day
(`truncated`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Annotated, Literal, Protocol, cast

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Table, and_, func, or_, select

from app.core.counters import deadline_day
from app.core.timeutil import local_date, to_local
from app.core.vocabulary import CODE_PATTERN, COMMUNE_PATTERN, SECTOR_PATTERN
from app.models import Agency, Dossier, Procedure, WebhookSent
from app.reference.calendar import working_calendar

PAGE = 1000  # dossiers a source reads at a time
MAX_SCOPE_VALUES = 100

_SENT = cast(Table, WebhookSent.__table__)


class DigestScope(BaseModel):
    """Which dossiers a subscription hears of: each list narrows (any value matches), absent: all."""

    model_config = ConfigDict(extra="forbid")

    agency: (
        Annotated[list[Annotated[str, Field(pattern=CODE_PATTERN)]], Field(min_length=1, max_length=100)]
        | None
    ) = Field(None, description="Agencies' codes; absent: every agency.")
    commune: (
        Annotated[list[Annotated[str, Field(pattern=COMMUNE_PATTERN)]], Field(min_length=1, max_length=100)]
        | None
    ) = Field(None, description="Wards' codes (the province's); absent: every ward and none.")
    sector: (
        Annotated[list[Annotated[str, Field(pattern=SECTOR_PATTERN)]], Field(min_length=1, max_length=100)]
        | None
    ) = Field(None, description="Sector slugs; absent: every sector.")


class DigestItem(BaseModel):
    """One dossier on a list, with what the person acting on it needs."""

    code: str
    procedure_code: str
    procedure_name: str | None = Field(description="the catalogue's name, else the record's")
    agency_code: str
    agency_name: str | None
    commune_code: str | None
    sector: str | None
    deadline: datetime | None = Field(description="`due_at`, else the national deadline derived")
    working_days_overdue: int | None = Field(
        None, description="working days after the deadline's day up to today (overdue lists)"
    )
    working_days_left: int | None = Field(
        None, description="working days from today to the deadline's day (lists of dossiers not yet due)"
    )
    apology_issued: bool


class DigestList(BaseModel):
    kind: str = Field(description="the worklist")
    items: list[DigestItem] = Field(description="dossiers newly on the list, in deadline then code order")
    truncated: bool = Field(
        description="more dossiers were new on the list than a digest carries (TTHC_WEBHOOK_MAX_ITEMS); "
        "they come in the next digests"
    )


class Digest(BaseModel):
    """The body POSTed to a subscription's URL once a day (signed; see X-TTHC-Signature)."""

    subscription_id: str
    day: date = Field(description="the local day of the digest")
    generated_at: datetime = Field(description="when the lists were read (Vietnam time)")
    scope: DigestScope
    lists: list[DigestList] = Field(description="one per subscribed kind, in the subscription's order")


class DigestSource(Protocol):
    """Where the digest's lists come from."""

    kinds: Sequence[str]

    def pages(
        self, conn: Connection, kind: str, scope: DigestScope, now: datetime
    ) -> Iterator[list[DigestItem]]:
        """The dossiers on list `kind` within `scope` at `now`, in the list's order, a page at a time."""
        ...


class OverdueSource:
    """The `overdue` list read with one keyset query: open dossiers (status `processing`; a dossier in
    `supplement_requested` is on the applicant's clock) whose deadline — `due_at`, else the national
    deadline derived at ingest — is before `now`, with the working days after the deadline's day up
    to today (the province's calendar)."""

    kinds: Sequence[str] = ("overdue",)

    def pages(
        self, conn: Connection, kind: str, scope: DigestScope, now: datetime
    ) -> Iterator[list[DigestItem]]:
        if kind not in self.kinds:
            raise ValueError(f"unknown kind {kind!r}")
        d = Dossier
        deadline = func.coalesce(d.due_at, d.idx_deadline_at)
        calendar = working_calendar(conn)
        today = local_date(now)
        conds = [d.status == "processing", deadline.is_not(None), deadline < now]
        if scope.agency:
            conds.append(d.agency_code.in_(scope.agency))
        if scope.commune:
            conds.append(d.commune_code.in_(scope.commune))
        if scope.sector:
            conds.append(d.sector.in_(scope.sector))
        after: tuple[datetime, str] | None = None
        while True:
            keyset = list(conds)
            if after is not None:
                keyset.append(or_(deadline > after[0], and_(deadline == after[0], d.code > after[1])))
            rows = conn.execute(
                select(
                    d.code,
                    d.procedure_code,
                    func.coalesce(Procedure.name, d.procedure_name).label("procedure_name"),
                    d.agency_code,
                    Agency.name.label("agency_name"),
                    d.commune_code,
                    d.sector,
                    deadline.label("deadline"),
                    d.apology_issued,
                )
                .select_from(d)
                .outerjoin(Procedure, Procedure.code == d.procedure_code)
                .outerjoin(Agency, Agency.code == d.agency_code)
                .where(*keyset)
                .order_by(deadline, d.code)
                .limit(PAGE)
            ).all()
            if not rows:
                return
            yield [
                DigestItem(
                    code=r.code,
                    procedure_code=r.procedure_code,
                    procedure_name=r.procedure_name,
                    agency_code=r.agency_code,
                    agency_name=r.agency_name,
                    commune_code=r.commune_code,
                    sector=r.sector,
                    deadline=to_local(r.deadline),
                    working_days_overdue=calendar.working_days_between(deadline_day(r.deadline), today),
                    apology_issued=bool(r.apology_issued),
                )
                for r in rows
            ]
            if len(rows) < PAGE:
                return
            after = (rows[-1].deadline, rows[-1].code)


DEFAULT_SOURCE: DigestSource = OverdueSource()
Kind = Literal["overdue"]  # the kinds DEFAULT_SOURCE lists


def new_items(
    conn: Connection,
    source: DigestSource,
    subscription_id: str,
    kind: str,
    scope: DigestScope,
    now: datetime,
    max_items: int,
) -> tuple[list[DigestItem], bool]:
    """The first `max_items` dossiers on the list never listed to the subscription under `kind`, and
    whether more were left; reads the list a page at a time and the marks of that page's codes only."""
    chosen: list[DigestItem] = []
    for page in source.pages(conn, kind, scope, now):
        codes = [i.code for i in page]
        sent = set(
            conn.scalars(
                select(_SENT.c.code).where(
                    _SENT.c.subscription_id == subscription_id, _SENT.c.kind == kind, _SENT.c.code.in_(codes)
                )
            )
        )
        for item in page:
            if item.code in sent:
                continue
            if len(chosen) == max_items:
                return chosen, True
            chosen.append(item)
    return chosen, False
