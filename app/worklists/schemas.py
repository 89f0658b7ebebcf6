"""The worklists' JSON documents, for the OpenAPI description (the bodies are written from dicts)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.core.worklist import Kind


class WeighsOn(BaseModel):
    rates: list[str] = Field(
        description="The rates of GET /v1/metrics this dossier keeps from their numerator "
        "(from the catalogue of GET /v1/metrics/definitions)."
    )
    index: list[str] = Field(
        description="The national index's indicators (codes of the rule set in force at the period's "
        "start) this dossier keeps from their numerator."
    )


class WorklistItem(BaseModel):
    code: str = Field(description="The dossier's code (mã hồ sơ).")
    procedure_code: str = Field(description="mã TTHC.")
    procedure_name: str | None = Field(
        description="The catalogue's name of the procedure, else the record's."
    )
    agency_code: str
    agency_name: str | None = Field(description="The registered agency's name.")
    commune_code: str | None
    commune_name: str | None = Field(description="The ward's name, when the dossier has a ward.")
    sector: str | None
    status: str
    received_at: datetime
    deadline_at: datetime | None = Field(
        description="due_at, else the national deadline derived from the procedure catalogue; null: neither."
    )
    deadline_source: Literal["due_at", "catalogue"] | None
    resolved_at: datetime | None
    clock: Literal["agency", "applicant"] | None = Field(
        description="Whose clock runs: applicant while the only supplement request is unanswered, agency "
        "for any other open dossier, null once closed."
    )
    working_days_left: int | None = Field(
        description="Before the deadline: the working days after today up to the deadline's day "
        "(0: due today)."
    )
    working_days_late: int | None = Field(
        description="After the deadline: the working days after the deadline's day up to today (a finished "
        "dossier: up to the day it was resolved); 0: late by less than one working day."
    )
    supplement_requests: int = Field(description="How many supplement requests the dossier had.")
    apology_issued: bool
    apology_owed: bool = Field(
        description="due_soon, overdue, late_without_apology: no letter of apology issued yet."
    )
    weighs_on: WeighsOn


class WorklistPage(BaseModel):
    kind: Kind
    as_of: datetime = Field(description="The instant the list was judged at (now).")
    period_from: date = Field(alias="from", description="The period of the period kinds (first day).")
    period_to: date = Field(alias="to", description="The period of the period kinds (last day).")
    due_within: int
    items: list[WorklistItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class SummaryRow(BaseModel):
    agency: str | None = Field(None, description="With unit=agency: the agency's code.")
    agency_name: str | None = None
    commune: str | None = Field(None, description="With unit=commune: the ward's code (null: no ward).")
    commune_name: str | None = None
    counts: dict[Kind, int]


class WorklistSummary(BaseModel):
    unit: Literal["agency", "commune"]
    as_of: datetime
    period_from: date = Field(alias="from")
    period_to: date = Field(alias="to")
    due_within: int
    rows: list[SummaryRow] = Field(description="One per unit with at least one listed dossier, by code.")
    totals: dict[Kind, int]
