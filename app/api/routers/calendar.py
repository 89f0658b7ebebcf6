"""The working-day calendar: the national one (weekends, public holidays) and the province's own days
off and make-up working days, per year."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from app.api.auth import AdminDep, ReadDep
from app.api.deps import SessionDep
from app.api.openapi_docs import problem_responses
from app.api.state import state_of
from app.dossiers.reindex import start_in_background
from app.dossiers.schemas import IsoDate
from app.dossiers.service import bump_data_version
from app.reference.calendar import DayException, check_exceptions, replace_year, year_calendar
from app.reference.index_inputs import reference_changed
from app.store.uow import write_transaction

router = APIRouter(prefix="/v1", tags=["reference"])
MIN_YEAR, MAX_YEAR = 2000, 2100
YearParam = Annotated[
    int, Path(ge=MIN_YEAR, le=MAX_YEAR, description="the calendar year, 2000–2100", examples=[2025])
]


class CalendarDayIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"day": "2025-09-03", "working": False, "note": "Nghỉ bù"}]},
    )

    day: IsoDate = Field(description="the day, YYYY-MM-DD, in the year of the path")
    working: bool = Field(
        strict=True,
        description="true: a make-up working day on a weekend day or holiday; false: a day off on what "
        "would be a working day",
    )
    note: Annotated[
        str | None,
        Field(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$", description="why (e.g. the decision's number)"),
    ] = None


class CalendarDayOut(BaseModel):
    day: date = Field(description="the day")
    working: bool = Field(description="true: a make-up working day; false: a day off")
    note: str | None = Field(description="why, as the administrator wrote it")


class PublicHoliday(BaseModel):
    day: date = Field(description="the day")
    name: str = Field(description="its Vietnamese name", examples=["Quốc khánh"])


class MonthWorkingDays(BaseModel):
    month: str = Field(description="YYYY-MM", examples=["2025-01"])
    working_days: int = Field(description="the month's working days, the province's exceptions included")


class CalendarYear(BaseModel):
    year: int = Field(description="the calendar year")
    weekend_days: int = Field(description="Saturdays and Sundays in the year")
    public_holidays: list[PublicHoliday] = Field(
        description="the national public holidays and the government's bridging days off (from the "
        "`holidays` package), weekend ones included"
    )
    public_make_up_days: list[date] = Field(
        description="weekend days the government made working days, to bridge a holiday"
    )
    days_off: list[CalendarDayOut] = Field(description="the province's own days off")
    make_up_days: list[CalendarDayOut] = Field(description="the province's own make-up working days")
    working_days: int = Field(description="the year's working days, the province's exceptions included")
    months: list[MonthWorkingDays] = Field(description="the working days of each month, January first")


MONTHS_2025 = (17, 20, 21, 21, 20, 21, 23, 21, 20, 23, 20, 23)
CALENDAR_EXAMPLE: dict[str, Any] = {
    "year": 2025,
    "weekend_days": 104,
    "public_holidays": [
        {"day": "2025-04-30", "name": "Ngày Chiến thắng"},
        {"day": "2025-05-01", "name": "Ngày Quốc tế Lao động"},
        {"day": "2025-05-02", "name": "Ngày nghỉ (thay cho ngày 26/04/2025)"},
    ],
    "public_make_up_days": ["2025-04-26"],
    "days_off": [{"day": "2025-09-03", "working": False, "note": "Nghỉ theo quyết định của UBND tỉnh"}],
    "make_up_days": [{"day": "2025-09-06", "working": True, "note": "Làm bù cho ngày 03/09"}],
    "working_days": 250,
    "months": [{"month": f"2025-{m:02d}", "working_days": n} for m, n in enumerate(MONTHS_2025, 1)],
}
CALENDAR_200: dict[int | str, dict[str, Any]] = {
    200: {"description": "The year", "content": {"application/json": {"example": CALENDAR_EXAMPLE}}}
}


def _out(e: DayException) -> CalendarDayOut:
    return CalendarDayOut(day=e.day, working=e.working, note=e.note)


def _year_out(session: SessionDep, year: int) -> CalendarYear:
    y = year_calendar(session.connection(), year)
    return CalendarYear(
        year=y.year,
        weekend_days=y.weekend_days,
        public_holidays=[PublicHoliday(day=h.day, name=h.name) for h in y.public_holidays],
        public_make_up_days=list(y.public_make_up_days),
        days_off=[_out(e) for e in y.days_off],
        make_up_days=[_out(e) for e in y.make_up_days],
        working_days=y.working_days,
        months=[
            MonthWorkingDays(month=f"{year:04d}-{m:02d}", working_days=n) for m, n in enumerate(y.months, 1)
        ],
    )


@router.get(
    "/calendar/{year}",
    operation_id="get_calendar",
    response_model=CalendarYear,
    summary="The year's working-day calendar",
    description=(
        "Weekends, the national public holidays and make-up days, the province's own days off and "
        "make-up working days, and the working days of each month and of the year. Deadlines counted "
        "in working days use this calendar."
    ),
    responses={**CALENDAR_200, **problem_responses(401, 403, 422)},
)
def get_calendar(session: SessionDep, _reader: ReadDep, year: YearParam) -> CalendarYear:
    return _year_out(session, year)


@router.put(
    "/calendar/{year}",
    operation_id="put_calendar",
    response_model=CalendarYear,
    summary="Set the province's days off and make-up working days of a year (admin)",
    description=(
        "The body lists every exception of the year; the year's stored exceptions become exactly these, "
        "at once (an empty list removes them all). Answers the year as `GET` does."
    ),
    responses={
        **CALENDAR_200,
        **problem_responses(
            400,
            401,
            403,
            413,
            415,
            422,
            descriptions={
                422: "An item is malformed, its day is not in the year, a day repeats, a day off falls on a "
                "day that is already off (a weekend or public holiday), or a make-up day on a day that is "
                "already a working day; the error names the item (`body.<index>.day`)."
            },
        ),
    },
)
def put_calendar(
    request: Request,
    session: SessionDep,
    _admin: AdminDep,
    year: YearParam,
    body: Annotated[
        list[CalendarDayIn],
        Body(
            max_length=366,
            description="the year's exceptions, each day at most once",
            examples=[
                [
                    {"day": "2025-09-03", "working": False, "note": "Nghỉ theo quyết định của UBND tỉnh"},
                    {"day": "2025-09-06", "working": True, "note": "Làm bù cho ngày 03/09"},
                ]
            ],
        ),
    ],
) -> CalendarYear:
    items = [DayException(i.day, i.working, i.note) for i in body]
    check_exceptions(year, items)
    state = state_of(request)
    with write_transaction(state.engine) as conn:
        changed = replace_year(conn, year, items)
        if changed:
            reference_changed(conn)
        bump_data_version(conn, state.clock())
    if changed:
        # Deadlines and working days move: every stored dossier is re-derived by a background job.
        start_in_background(state.engine, f"calendar {year} changed", None)
    request.state.audit_counts = {"days": len(items)}
    return _year_out(session, year)
