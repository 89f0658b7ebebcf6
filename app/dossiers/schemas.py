"""The dossier record of contract §2, as received and as served."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    StringConstraints,
)

from app.core.periods import EPOCH, LAST_DAY
from app.core.supplements import MAX_SUPPLEMENTS
from app.core.timeutil import VN_TZ
from app.core.vocabulary import (
    CODE_PATTERN,
    COMMUNE_PATTERN,
    SECTOR_PATTERN,
    TEXT_PATTERN,
    Channel,
    OnlineLevel,
    Outcome,
    Rating,
    Status,
)

# Items of the repeatable filter parameters (drill-down, metrics, report): the document states each
# value's shape, so a malformed one is refused as such; an unknown agency or ward is refused by the
# endpoint with its own error type.
AgencyParam = Annotated[str, StringConstraints(pattern=CODE_PATTERN)]
CommuneParam = Annotated[str, StringConstraints(pattern=COMMUNE_PATTERN)]
SectorParam = Annotated[str, StringConstraints(pattern=SECTOR_PATTERN)]
ProcedureParam = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=TEXT_PATTERN)]


# YYYY-MM-DDTHH:MM:SS, then nothing, Z or ±HH:MM (19, 20, 25); the same with .ffffff (26, 27, 32).
_COMMON_LENGTHS = frozenset({19, 20, 25, 26, 27, 32})
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# ISO 8601 offsets may be written +07:00, +0700 or +07.
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?$")


# Instants whose local date and end of day stay representable (datetime ends at year 9999).
_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
_LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def _in_range(value: datetime) -> datetime:
    """The instant in UTC, refused as a value error (not a crash) when dates around it overflow."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=VN_TZ)
    try:
        utc = value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("is outside the supported range of dates") from exc
    # Only years 1 and 9999 can hold an instant out of range; comparing aware instants costs more.
    if utc.year in (1, 9999) and not _EARLIEST <= utc <= _LATEST:
        raise ValueError("is outside the supported range of dates")
    return utc


def _iso_date(value: Any) -> Any:
    # Pydantic alone would read "0" as 1970-01-01 (a Unix time) and take a timestamp for a date.
    if isinstance(value, str) and not _DATE_ONLY.match(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


def _date_in_range(value: date) -> date:
    # Figures are kept from EPOCH on, and the engine looks up to a year past the range it is asked.
    if not EPOCH <= value <= LAST_DAY:
        raise ValueError(f"must lie between {EPOCH.isoformat()} and {LAST_DAY.isoformat()}")
    return value


# A date query parameter: YYYY-MM-DD, and nothing else that a date could be read from.
IsoDate = Annotated[date, BeforeValidator(_iso_date), AfterValidator(_date_in_range)]


def parse_timestamp(value: Any) -> datetime:
    """An ISO 8601 timestamp as an aware UTC datetime; without an offset it is Vietnam local time."""
    if isinstance(value, datetime):
        return _in_range(value)
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 timestamp string")
    # fromisoformat is fast but lenient (it takes a bare date, or an hour alone): the shape is
    # checked first with a cheap test and the regular expression only when that test is unsure.
    if not (len(value) in _COMMON_LENGTHS and value[10] == "T") and not _TIMESTAMP.match(value):
        raise ValueError("must be an ISO 8601 timestamp such as 2025-07-14T08:30:00+07:00")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("is not a valid date and time") from exc
    return _in_range(parsed)


def parse_due(value: Any) -> datetime | None:
    """A due timestamp; a bare date D means the end of D, i.e. D+1 00:00 local time."""
    if value is None:
        return None
    if isinstance(value, str) and _DATE_ONLY.match(value):
        try:
            day = date.fromisoformat(value)
            end = datetime.combine(day + timedelta(days=1), time(0), VN_TZ)
        except ValueError as exc:
            raise ValueError("is not a valid date") from exc
        except OverflowError as exc:
            raise ValueError("is outside the supported range of dates") from exc
        return _in_range(end)
    return parse_timestamp(value)


def parse_optional_timestamp(value: Any) -> datetime | None:
    return None if value is None else parse_timestamp(value)


Timestamp = Annotated[
    datetime,
    BeforeValidator(parse_timestamp),
    Field(json_schema_extra={"type": "string", "format": "date-time"}),
]
OptionalTimestamp = Annotated[
    datetime | None,
    BeforeValidator(parse_optional_timestamp),
    Field(json_schema_extra={"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}),
]
DueTimestamp = Annotated[
    datetime | None,
    BeforeValidator(parse_due),
    Field(
        json_schema_extra={
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "string", "format": "date"},
                {"type": "null"},
            ],
        }
    ),
]

EXAMPLE_RECORD: dict[str, Any] = {
    "code": "000.00.07.H41-250714-0001",
    "procedure_code": "1.004227",
    "procedure_name": "Cấp giấy phép xây dựng",
    "sector": "xay_dung",
    "agency_code": "000.00.07.H41",
    "commune_code": "17329",
    "channel": "online",
    "online_level": "full",
    "received_at": "2025-07-14T08:30:00+07:00",
    "due_at": "2025-07-28T17:00:00+07:00",
    "resolved_at": "2025-07-25T10:00:00+07:00",
    "returned_at": "2025-07-26T09:00:00+07:00",
    "status": "returned",
    "fee_required": True,
    "paid_online": True,
    "digitised_intake": True,
    "digitised_result": True,
    "reused_digital_data": False,
    "apology_issued": False,
    "rating": "very_satisfied",
    "supplements": [
        {"requested_at": "2025-07-16T09:00:00+07:00", "supplied_at": "2025-07-17T14:00:00+07:00"}
    ],
    "complaint": False,
    "population_data": True,
    "from_personal_store": False,
    "updated_at": "2025-07-26T09:00:05+07:00",
}


class SupplementIn(BaseModel):
    """One supplement request (yêu cầu bổ sung) of a dossier. Unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid")

    requested_at: Annotated[Timestamp, Field(description="when the agency asked for the supplement")]
    supplied_at: Annotated[
        OptionalTimestamp,
        Field(description="when the applicant supplied it; null (or left out) while unanswered"),
    ] = None


class SupplementOut(BaseModel):
    """A stored supplement request, its instants in Vietnam local time (+07:00)."""

    requested_at: datetime
    supplied_at: datetime | None


class DossierIn(BaseModel):
    """One dossier record as the one-stop system sends it (contract §2). Unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_RECORD]})

    code: Annotated[StrictStr, Field(pattern=CODE_PATTERN, description="mã hồ sơ; the key")]
    procedure_code: Annotated[
        StrictStr,
        Field(
            min_length=1,
            max_length=32,
            pattern=TEXT_PATTERN,
            description="mã TTHC in the national procedure database",
        ),
    ]
    procedure_name: Annotated[StrictStr, Field(max_length=1000, pattern=TEXT_PATTERN)] | None = None
    sector: Annotated[StrictStr, Field(pattern=SECTOR_PATTERN, description="lĩnh vực slug")] | None = None
    agency_code: Annotated[StrictStr, Field(pattern=CODE_PATTERN, description="a registered agency")]
    commune_code: (
        Annotated[
            StrictStr, Field(pattern=COMMUNE_PATTERN, description="2025 official ward code in the province")
        ]
        | None
    ) = None
    channel: Channel
    online_level: OnlineLevel | None = None
    received_at: Timestamp
    due_at: DueTimestamp = None
    resolved_at: OptionalTimestamp = None
    returned_at: OptionalTimestamp = None
    status: Status
    fee_required: StrictBool = False
    paid_online: StrictBool = False
    digitised_intake: StrictBool = False
    digitised_result: StrictBool = False
    reused_digital_data: StrictBool = False
    apology_issued: StrictBool = False
    rating: Rating | None = None
    supplements: (
        Annotated[
            list[SupplementIn],
            Field(
                max_length=MAX_SUPPLEMENTS,
                description=f"the supplement requests, ordered by requested_at (at most {MAX_SUPPLEMENTS}): "
                "each at or after received_at and after the previous one was answered, each supply at "
                "or after its request, only the last one unanswered; [], null and absent are the same",
            ),
        ]
        | None
    ) = None
    complaint: Annotated[
        StrictBool,
        Field(
            description="the applicant filed a complaint or petition about this dossier, or rated it dislike"
        ),
    ] = False
    population_data: Annotated[
        StrictBool,
        Field(description="the dossier used population-database data or a VNeID-verified account"),
    ] = False
    from_personal_store: Annotated[
        StrictBool,
        Field(
            description="a component was taken from, or the result synced to, the citizen's store on the "
            "national portal"
        ),
    ] = False
    updated_at: Timestamp


class DossierOut(BaseModel):
    """A stored dossier, timestamps in Vietnam local time, with its derived outcome (contract §4.1)."""

    code: str
    procedure_code: str
    procedure_name: str | None
    sector: str | None
    agency_code: str
    commune_code: str | None
    channel: Channel
    online_level: OnlineLevel | None
    received_at: datetime
    due_at: datetime | None
    resolved_at: datetime | None
    returned_at: datetime | None
    status: Status
    fee_required: bool
    paid_online: bool
    digitised_intake: bool
    digitised_result: bool
    reused_digital_data: bool
    apology_issued: bool
    rating: Rating | None
    supplements: list[SupplementOut] = Field(
        description="the supplement requests, ordered by requested_at; [] when there are none"
    )
    complaint: bool
    population_data: bool
    from_personal_store: bool
    updated_at: datetime
    outcome: Outcome | None = Field(
        description="early / on_time / late / pending / pending_overdue / withdrawn at the judging instant; "
        "null when the dossier was not yet received then"
    )


class DrilldownOut(DossierOut):
    """A dossier as the drill-down lists it: the stored record, its outcome, the names of its
    procedure and units, the deadline it is judged against and the working days overdue or early."""

    agency_name: str | None = Field(description="the agency's registered name; null when unregistered")
    commune_name: str | None = Field(
        description="the ward's name in the province's list; null without a ward or when not listed"
    )
    deadline_at: datetime | None = Field(
        description="the deadline the working days are counted against: due_at, else the national "
        "deadline derived from the procedure catalogue; null when neither"
    )
    deadline_source: Literal["due_at", "catalogue"] | None = Field(
        description="where deadline_at comes from; null without one"
    )
    working_days_overdue: int | None = Field(
        description="working days (the working-day calendar) after the deadline's day up to the day the "
        "dossier was resolved when finished late, or up to the judging instant's day when still open "
        "past its deadline (0: late by less than a working day); null otherwise"
    )
    working_days_early: int | None = Field(
        description="for a dossier finished by its deadline: the working days after the day it was "
        "resolved up to the deadline's day (0: resolved on the deadline's day); null otherwise"
    )


class DossierLossOut(DrilldownOut):
    """A dossier listed by the drill-down's `index_loss`, with why it costs the indicator points."""

    index_reason: str = Field(
        description="why the dossier is not a success of the indicator, e.g. late by 3 working days"
    )


class RecordError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class IngestError(BaseModel):
    index: int = Field(description="0-based position in the array, or 0-based line number in NDJSON")
    code: str | None = Field(description="the record's code when it could be read")
    errors: list[RecordError]


# The contract's example of an ingest report (§3), also the OpenAPI example of the operation.
INGEST_REPORT_EXAMPLE: dict[str, Any] = {
    "received": 3,
    "created": 1,
    "updated": 0,
    "unchanged": 1,
    "stale": 0,
    "rejected": 1,
    "errors": [
        {
            "index": 2,
            "code": "X-1",
            "errors": [{"loc": ["due_at"], "msg": "due_at is before received_at", "type": "value_error"}],
        }
    ],
    "errors_omitted": 0,
    "errors_summary": [],
}


class ErrorCount(BaseModel):
    loc: list[str | int]
    type: str
    count: int = Field(description="how many errors of the omitted records have this loc and type")


class IngestReport(BaseModel):
    """The per-request result of POST /v1/dossiers (contract §3).

    `errors` lists the first 1,000 rejected records in full, by index (a record with more than 100
    errors lists 100 and one `too_many_errors` entry saying how many more). The records past those
    are counted in `errors_omitted`, and their errors per (loc, type) in `errors_summary`, so the
    report stays small however many records are rejected. Both fields are always present: 0 and []
    when nothing was left out.
    """

    model_config = ConfigDict(json_schema_extra={"examples": [INGEST_REPORT_EXAMPLE]})

    received: int
    created: int
    updated: int
    unchanged: int
    stale: int
    rejected: int
    errors: list[IngestError] = Field(
        description="the first 1,000 rejected records (lowest indexes), in full, by index"
    )
    errors_omitted: int = Field(description="rejected records past the first 1,000, not listed in `errors`")
    errors_summary: list[ErrorCount] = Field(
        description="every error of the omitted records, counted per (loc, type), most frequent first; "
        "past 1,000 distinct pairs a new pair is counted under loc []"
    )


class PutResult(BaseModel):
    result: Literal["created", "updated", "unchanged", "stale"]
    dossier: DossierOut


class DossierPage(BaseModel):
    # A dossier listed for `index_loss` carries its `index_reason` (the more specific type comes first).
    items: list[DossierLossOut | DrilldownOut]
    next_cursor: str | None
