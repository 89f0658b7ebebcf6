"""Request and response models of the report, scorecard and target endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from app.core.vocabulary import TEXT_PATTERN
from app.metrics.schemas import Counts, Figures, Rates
from app.reports.targets import SOURCE_MAX_CHARS, Comparator, TargetName

ReportUnit = Literal["agency", "commune", "sector"]
ScorecardUnit = Literal["agency", "commune"]
Basis = Literal["reporting", "calendar"]
ReportFormat = Literal["json", "csv", "xlsx"]


AgencyLevel = Literal["province", "commune"]


class ReportRow(Figures):
    agency: str | None = None
    agency_name: str | None = None
    level: AgencyLevel | None = Field(
        None,
        description="unit=agency only: the agency's level, province (a department, sở, ban, ngành) or "
        "commune (a People's Committee of a ward, UBND cấp xã); rows come province-level first",
        examples=["province"],
    )
    commune: str | None = None
    commune_name: str | None = None
    sector: str | None = None
    sector_name: str | None = Field(None, description="Vietnamese name of the sector, where known")


class LevelSubtotal(Figures):
    """The figures of one level's agencies: counts summed over its rows, rates from those sums."""

    level: AgencyLevel = Field(examples=["province"])
    level_name: str = Field(
        description="the level's heading on the form: Sở, ban, ngành cấp tỉnh; UBND cấp xã",
        examples=["Sở, ban, ngành cấp tỉnh"],
    )


class ReportResponse(BaseModel):
    period: str = Field(examples=["2025-09"])
    basis: Basis
    from_: date = Field(alias="from", examples=["2025-08-15"])
    to: date = Field(examples=["2025-09-14"])
    unit: ReportUnit
    group_by: list[ReportUnit]
    data_as_of: datetime | None = Field(description="when the stored data last changed")
    rows: list[ReportRow] = Field(
        description="one per unit; by agency, the province-level agencies and then the commune-level ones, "
        "each group in code order"
    )
    subtotals: list[LevelSubtotal] = Field(
        description="unit=agency: one per level that has rows, province then commune, each the sum of "
        "its rows' counts with the rates of that sum (so they add up to `totals`); unit=commune or "
        "sector: empty"
    )
    totals: Figures


class TargetOut(BaseModel):
    name: TargetName
    comparator: Comparator
    threshold: int | float
    default: bool = Field(
        description="true when no administrator override is set for this year: the built-in set's "
        "target (of `target_set_year`) applies"
    )
    source: str = Field(
        description="where the comparator and threshold come from: the decision (or press report) of the "
        "built-in set, or the source text an administrator gave with an override"
    )
    label_vi: str
    description: str


class TargetsResponse(BaseModel):
    year: int
    target_set_year: int = Field(
        description="the year of the built-in target set this year uses: its own, else the latest "
        "earlier one; a year before the first set uses the first"
    )
    targets: list[TargetOut]


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: TargetName
    # Strict: `false` or "0.9" is not a threshold (lax mode would read them as 0.0 and 0.9).
    threshold: Annotated[float, Field(allow_inf_nan=False, strict=True)]
    comparator: Comparator | None = Field(
        None, description="optional; default the comparator of the year's built-in set for this target"
    )
    source: Annotated[StrictStr, Field(max_length=SOURCE_MAX_CHARS, pattern=TEXT_PATTERN)] | None = Field(
        None,
        description="optional; where this threshold comes from (a decision's number and date), "
        f"at most {SOURCE_MAX_CHARS} characters",
    )


class TargetResult(BaseModel):
    name: TargetName
    value: float | None = Field(description="the unit's figure; null when there is nothing to judge")
    comparator: Comparator
    threshold: int | float
    passed: bool | None
    numerator: int | None = Field(description="the figure's numerator (the count itself for a count)")
    denominator: int | None = Field(description="the figure's denominator; null for a count")


class ScorecardRow(BaseModel):
    agency: str | None = None
    agency_name: str | None = None
    commune: str | None = None
    commune_name: str | None = None
    rank: int = Field(ge=1)
    counts: Counts
    rates: Rates
    targets: list[TargetResult]
    passed: int = Field(ge=0, description="targets passed")
    failed: int = Field(ge=0, description="targets failed (targets with no value count in neither)")


class ScorecardResponse(BaseModel):
    year: int | None = Field(description="the year asked for; null when from/to were given")
    basis: Basis | None = Field(description="how `year` was turned into dates; null with from/to")
    from_: date = Field(alias="from")
    to: date
    unit: ScorecardUnit
    targets_year: int = Field(description="the year whose targets were applied")
    target_set_year: int = Field(
        description="the year of the built-in target set those targets rest on (`targets_year` itself, "
        "else the latest earlier set; before the first set, the first)"
    )
    data_as_of: datetime | None = Field(description="when the stored data last changed")
    rows: list[ScorecardRow]
