"""The national index's response documents (GET /v1/index), as the OpenAPI document describes them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.core.index_rules import RuleSet


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


class RuleSetOut(RuleSet):
    shipped: bool = Field(description="shipped with the service (true) or added by an administrator")
    created_at: str | None = Field(description="when an administrator added it; null for a shipped one")
    created_by: str | None = Field(description="the token that added it; null for a shipped one")


class RuleSetList(BaseModel):
    items: list[RuleSetOut] = Field(description="every rule set, by effective date then id")


class DeclaredOut(BaseModel):
    period: str = Field(description="YYYY-MM, YYYY-Qn or YYYY")
    unit: Literal["province", "agency"] = Field(description="the province, or one agency")
    code: str | None = Field(description="the agency's code; null for the province")
    indicator: str = Field(description="a declared indicator's code, e.g. 1.4")
    numerator: float | None = Field(description="the declared numerator, or null when a ratio was given")
    denominator: float | None = Field(description="the declared denominator, or null when a ratio was given")
    ratio: float | None = Field(
        description="the declared ratio (0–1), or null when the two numbers were given"
    )
    set_at: str = Field(description="when it was set")
    set_by: str | None = Field(description="the id of the token that set it")


class DeclaredList(BaseModel):
    items: list[DeclaredOut] = Field(description="by period, unit and indicator")


class DeclaredIn(BaseModel):
    """One declared value (the PUT body is an array of these)."""

    period: str = Field(pattern=r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$", description="YYYY-MM, YYYY-Qn or YYYY")
    unit: Literal["province", "agency"] = Field(description="the province, or one agency")
    code: str | None = Field(
        None, description="a registered agency's code with unit agency; null for the province"
    )
    indicator: str = Field(description="a declared indicator's code: 1.1–1.4, 4.5b, 4.6, 5.2, 5.3")
    numerator: float | None = Field(None, ge=0, description="with denominator, instead of ratio")
    denominator: float | None = Field(None, ge=0, description="with numerator, instead of ratio")
    ratio: float | None = Field(None, ge=0, le=1, description="instead of numerator and denominator")


class DeclaredStored(BaseModel):
    stored: int = Field(description="how many values were stored (all of the array)")


class JobOut(BaseModel):
    id: int = Field(description="the job's id")
    state: Literal["running", "done", "failed"] = Field(description="running, done or failed")
    reason: str = Field(description="what started it")
    started_at: str | None = Field(description="when it started")
    finished_at: str | None = Field(description="when it ended; null while running")
    total: int = Field(description="stored dossiers when it started")
    done: int = Field(description="dossiers seen so far")
    changed: int = Field(description="dossiers whose derivation changed")
    error: str | None = Field(description="why it failed; null otherwise")


class JobList(BaseModel):
    items: list[JobOut] = Field(description="the latest jobs, newest first")


_INDICATOR_EXAMPLE: dict[str, Any] = {
    "code": "2.1",
    "group": "progress",
    "label": "Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn",
    "ratio": 0.9685,
    "numerator": 5373,
    "denominator": 5548,
    "points": 19.3691,
    "points_rounded": 19.37,
    "max_points": 20,
    "source": "computed",
    "provisional": False,
    "uncatalogued": None,
}
INDEX_EXAMPLE: dict[str, Any] = {
    "period": "2025-Q3",
    "start": "2025-07-01",
    "end": "2025-09-30",
    "judged_at": "2025-10-01T00:00:00+07:00",
    "in_progress": False,
    "unit": "province",
    "rule_set": {
        "id": "766-2022",
        "label": "Bộ chỉ số theo Quyết định 766/QĐ-TTg",
        "effective_from": "2022-06-23",
    },
    "derivation_behind": False,
    "data_as_of": "2025-12-31T17:05:00+07:00",
    "rows": [
        {
            "code": "40",
            "name": "Tỉnh Nghệ An",
            "rank": 1,
            "total": 73.97,
            "reachable": 73.97,
            "groups": [
                {
                    "code": "progress",
                    "label": "Tiến độ, kết quả giải quyết",
                    "points": 19.37,
                    "max_points": 20,
                }
            ],
            "indicators": [_INDICATOR_EXAMPLE],
            "counts": {"idx21_handled": 5548, "idx21_judged": 5548, "idx21_on_time": 5373},
        }
    ],
}
RULE_SET_EXAMPLE: dict[str, Any] = {
    "id": "766-2026",
    "effective_from": "2026-07-01",
    "label": "Bộ chỉ số sửa đổi",
    "notes": None,
    "groups": [{"code": "progress", "label_vi": "Tiến độ, kết quả giải quyết", "max_points": 20}],
    "indicators": [
        {
            "code": "2.1",
            "group": "progress",
            "label_vi": "Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn",
            "max_points": 20,
            "saturation": 1.0,
            "source": "computed",
            "numerator": "idx21_on_time",
            "denominator": "idx21_judged",
            "zero_denominator": "zero",
            "provisional": False,
            "declared_scope": None,
            "catalogue": False,
            "variants": [],
            "notes": None,
        }
    ],
}
DECLARED_EXAMPLE: dict[str, Any] = {
    "period": "2025-07",
    "unit": "agency",
    "code": "000.00.07.H41",
    "indicator": "1.4",
    "numerator": 412,
    "denominator": 430,
    "ratio": None,
    "set_at": "2025-08-02T09:15:00+07:00",
    "set_by": "482daf95e7b97ea4",
}
JOB_EXAMPLE: dict[str, Any] = {
    "id": 3,
    "state": "running",
    "reason": "calendar 2025 changed",
    "started_at": "2025-09-03T10:00:00+00:00",
    "finished_at": None,
    "total": 120000,
    "done": 46000,
    "changed": 812,
    "error": None,
}
