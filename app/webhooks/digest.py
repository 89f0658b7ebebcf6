"""The daily digest: what a subscription is sent, built from a `DigestSource` of worklist items.

A source yields, for one worklist kind, a scope and an instant, the dossiers on that list in the list's
order (deadline, then code), page by page. The digest keeps, per kind, the first `max_items` dossiers
that were never listed to the subscription under that kind (`webhook_sent`), marks them listed in the
same transaction that queues the delivery, and says whether more were left for the next day
(`truncated`). The lists are read in a read-only snapshot (`new_items`); the write transaction that
queues the delivery drops what was marked sent since (`still_new`) before marking the rest.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from datetime import date, datetime
from typing import Annotated, Protocol, cast

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Table, select

from app.core import worklist
from app.core.vocabulary import CODE_PATTERN, COMMUNE_PATTERN, SECTOR_PATTERN, TEXT_PATTERN
from app.core.worklist import Kind
from app.metrics.reads import unit_names
from app.models import WebhookSent
from app.reference.index_inputs import current_inputs
from app.worklists import service
from app.worklists.schemas import WorklistItem
from app.worklists.service import Filters, Names, Options

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
    procedure: (
        Annotated[
            list[Annotated[str, Field(min_length=1, max_length=32, pattern=TEXT_PATTERN)]],
            Field(min_length=1, max_length=100),
        ]
        | None
    ) = Field(None, description="Procedures' codes (mã TTHC); absent: every procedure.")


class DigestList(BaseModel):
    kind: Kind = Field(description="the worklist")
    items: list[WorklistItem] = Field(
        description="dossiers newly on the list, in its order (deadline, then code), as GET "
        "/v1/worklists/{kind} gives them"
    )
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
    ) -> Generator[list[WorklistItem], None, None]:
        """The dossiers on list `kind` within `scope` at `now`, in the list's order, a page at a time."""
        ...


class WorklistSource:
    """The worklists themselves (app.worklists.service): each list judged at `now` as GET
    /v1/worklists/{kind} judges it with its defaults (the period kinds over the current calendar year,
    `due_soon` within DEFAULT_DUE_WITHIN working days), items in the same shape."""

    kinds: Sequence[str] = worklist.KINDS

    def __init__(self, province_code: int) -> None:
        self.province_code = province_code

    def pages(
        self, conn: Connection, kind: str, scope: DigestScope, now: datetime
    ) -> Generator[list[WorklistItem], None, None]:
        if kind not in self.kinds:
            raise ValueError(f"not a worklist kind: {kind!r}")
        checked = cast(Kind, kind)
        options = Options(
            now, worklist.default_period(now), worklist.DEFAULT_DUE_WITHIN, current_inputs(conn).calendar
        )
        units = unit_names(conn, self.province_code)
        names = Names(units["agency"], units["commune"], service.indicators_weighed(conn, options))
        filters = Filters({dim: values for dim, values in scope.model_dump().items() if values})
        # One statement read as it is consumed (one sort of the list, bounded memory), as the exports.
        for batch in service.batches(conn, checked, filters, options, names, size=PAGE):
            yield [WorklistItem.model_validate(item) for item in batch]


def new_items(
    conn: Connection,
    source: DigestSource,
    subscription_id: str,
    kind: str,
    scope: DigestScope,
    now: datetime,
    max_items: int,
) -> tuple[list[WorklistItem], bool]:
    """The first `max_items` dossiers on the list never listed to the subscription under `kind`, and
    whether more were left; reads the list a page at a time and the marks of that page's codes only."""
    pages = source.pages(conn, kind, scope, now)
    try:
        return _first_new(conn, pages, subscription_id, kind, max_items)
    finally:
        pages.close()  # the list's statement ends with the digest, read to its end or not


def _first_new(
    conn: Connection,
    pages: Generator[list[WorklistItem], None, None],
    subscription_id: str,
    kind: str,
    max_items: int,
) -> tuple[list[WorklistItem], bool]:
    chosen: list[WorklistItem] = []
    for page in pages:
        sent = _sent_among(conn, subscription_id, kind, [i.code for i in page])
        for item in page:
            if item.code in sent:
                continue
            if len(chosen) == max_items:
                return chosen, True
            chosen.append(item)
    return chosen, False


def still_new(
    conn: Connection, subscription_id: str, kind: str, items: list[WorklistItem]
) -> list[WorklistItem]:
    """`items` (read in a snapshot by `new_items`) less those listed to the subscription under `kind`
    since; run in the transaction that marks the rest sent, so that none is ever listed twice."""
    sent: set[str] = set()
    for start in range(0, len(items), PAGE):
        sent |= _sent_among(conn, subscription_id, kind, [i.code for i in items[start : start + PAGE]])
    return [i for i in items if i.code not in sent]


def _sent_among(conn: Connection, subscription_id: str, kind: str, codes: list[str]) -> set[str]:
    """Which of `codes` were listed to the subscription under `kind`."""
    return set(
        conn.scalars(
            select(_SENT.c.code).where(
                _SENT.c.subscription_id == subscription_id, _SENT.c.kind == kind, _SENT.c.code.in_(codes)
            )
        )
    )
