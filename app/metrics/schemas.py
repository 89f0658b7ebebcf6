"""Response models of the metric endpoints: every count and every rate, named."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from app.core.definitions import COUNTS, RATE_NAMES

GroupKey = Literal["agency", "commune", "sector", "procedure", "channel", "day", "month", "quarter", "year"]

Counts: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "Counts",
    __config__=ConfigDict(extra="forbid"),
    **{d.name: (int, Field(..., description=f"{d.label_vi}: {d.description}")) for d in COUNTS},
)
Rates: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "Rates",
    __config__=ConfigDict(extra="forbid"),
    **{name: (float | None, Field(..., ge=0, le=1)) for name in RATE_NAMES},
)


class Figures(BaseModel):
    counts: Counts
    rates: Rates


class MetricRowOut(Figures):
    agency: str | None = None
    agency_name: str | None = None
    commune: str | None = None
    commune_name: str | None = None
    sector: str | None = None
    procedure: str | None = None
    channel: str | None = None
    day: str | None = Field(None, examples=["2025-07-14"])
    month: str | None = Field(None, examples=["2025-07"])
    quarter: str | None = Field(None, examples=["2025-Q3"])
    year: str | None = Field(None, examples=["2025"])


class MetricsResponse(BaseModel):
    from_: date = Field(alias="from")
    to: date
    group_by: list[GroupKey]
    data_as_of: datetime | None = Field(description="when the stored data last changed")
    rows: list[MetricRowOut]
    totals: Figures


class TermOut(BaseModel):
    """One count of a rate's numerator or denominator, with its sign."""

    count: str = Field(description="the name of a count of the catalogue", examples=["finished_early"])
    sign: Literal[1, -1] = Field(description="1: the count is added; -1: it is subtracted")


class DefinitionOut(BaseModel):
    name: str
    kind: Literal["count", "rate"]
    basis: Literal["received", "finished", "state", "form", "rate", "index"] = Field(
        description="which dossiers a count takes: received in the period, finished (or withdrawn) in it, "
        "a state at its edges, a form count (a sum of others: the periodic report's balance), a rate, "
        "or a count of the national index"
    )
    label_vi: str
    label_en: str
    numerator: str | None = Field(
        description="a rate's numerator as text, written from `numerator_terms` "
        '("finished_early + finished_on_time"); null for a count'
    )
    denominator: str | None = Field(
        description="a rate's denominator as text, written from `denominator_terms`; null for a count"
    )
    numerator_terms: list[TermOut] | None = Field(
        description="a rate's numerator: the sum of these counts, each times its sign; null for a count"
    )
    denominator_terms: list[TermOut] | None = Field(
        description="a rate's denominator: the sum of these counts, each times its sign; null for a count. "
        "The rate is numerator / denominator, null when the denominator is 0"
    )
    description: str


class DefinitionsResponse(BaseModel):
    counts: list[DefinitionOut]
    rates: list[DefinitionOut]
    index_counts: list[DefinitionOut] = Field(
        description="the national index's counts per unit and period (GET /v1/index), idx21_ prefixed"
    )
