"""The national index's response documents (GET /v1/index), as the OpenAPI document describes them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class RuleSetRef(BaseModel):
    id: str = Field(description="the rule set's id, e.g. 766-2022")
    label: str = Field(description="its title")
    effective_from: str = Field(description="the first day it scores (YYYY-MM-DD)")


class GroupOut(BaseModel):
    code: str = Field(
        description="transparency, progress, online_service, online_payment, digitisation or satisfaction"
    )
    label: str = Field(description="the group's Vietnamese name")
    points: float = Field(description="the sum of its indicators' rounded points")
    max_points: float = Field(description="the group's maximum")


class IndicatorOut(BaseModel):
    code: str = Field(description="1.1 … 5.4, as NATIONAL_INDEX names them")
    group: str = Field(description="the group's code")
    label: str = Field(description="the indicator's Vietnamese name")
    ratio: float | None = Field(
        description="numerator / denominator (2.2: average working days); null on 0/0"
    )
    numerator: float | None = Field(description="computed: an idx21_ count; declared: the declared one")
    denominator: float | None = Field(description="computed: an idx21_ count; declared: the declared one")
    points: float = Field(description="max × clamp(ratio / saturation, 0, 1), unrounded")
    points_rounded: float = Field(description="points rounded half-up to 2 decimals, as the portal shows")
    max_points: float = Field(description="the indicator's maximum")
    source: Literal["computed", "declared", "missing"] = Field(
        description="computed from the dossiers; declared; missing (a declared indicator without a value)"
    )
    provisional: bool = Field(description="the sources do not settle its reading (docs/INDEX.md)")
    uncatalogued: int | None = Field(
        description="for the indicators reading the catalogue: handled dossiers of procedures not in it"
    )


class IndexRowOut(BaseModel):
    code: str = Field(description="the unit's code (an agency's, or the province's number)")
    name: str = Field(description="the unit's name")
    rank: int = Field(description="1 … n within the listed level: total descending, ties by code")
    total: float = Field(description="the sum of the rounded indicator points, of 100")
    reachable: float = Field(description="the total plus the maxima of the missing indicators")
    groups: list[GroupOut] = Field(description="the six groups")
    indicators: list[IndicatorOut] = Field(description="every indicator of the rule set")
    counts: dict[str, int] = Field(
        description="the idx21_ counts (GET /v1/metrics/definitions, index_counts)"
    )


class IndexResponse(BaseModel):
    period: str = Field(description="the period asked for")
    start: str = Field(description="its first day")
    end: str = Field(description="its last day")
    judged_at: str = Field(description="the instant open dossiers are judged at: the end of `end`, or now")
    in_progress: bool = Field(description="the period has not ended")
    unit: Literal["province", "agency", "commune"] = Field(description="the unit kind listed")
    rule_set: RuleSetRef = Field(description="the rule set in force on the period's first day")
    derivation_behind: bool = Field(
        description="stored dossiers are still being re-derived after a catalogue or calendar change"
    )
    data_as_of: str | None = Field(description="when the stored data last changed")
    rows: list[IndexRowOut] = Field(description="one per unit, by rank")
