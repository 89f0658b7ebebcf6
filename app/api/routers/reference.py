"""Reference data (contract §5): the province's wards and the agency registry."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from app.api.auth import AdminDep, ReadDep
from app.api.deps import SessionDep, WriteSessionDep
from app.api.openapi_docs import problem_responses
from app.api.state import state_of
from app.core.communes import communes_of, province_name
from app.core.errors import ValidationFailed
from app.core.vocabulary import CODE_PATTERN
from app.dossiers.service import bump_data_version
from app.models import Agency

router = APIRouter(prefix="/v1", tags=["reference"])


class CommuneOut(BaseModel):
    code: str = Field(examples=["17329"])
    name: str = Field(examples=["Xã Anh Sơn"])
    division_type: str = Field(description="xã, phường or đặc khu", examples=["xã"])


class CommuneList(BaseModel):
    province_code: int
    province_name: str
    count: int
    items: list[CommuneOut]


class AgencyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Sở Xây dựng", "level": "province", "commune_code": None}]},
    )

    name: Annotated[str, Field(min_length=1, max_length=300, pattern=r"^[^\x00-\x1f\x7f]*$")]
    level: Literal["province", "commune"]
    commune_code: Annotated[str, Field(pattern=r"^[0-9]{5}$")] | None = None


class AgencyOut(BaseModel):
    code: str
    name: str
    level: Literal["province", "commune"]
    commune_code: str | None
    commune_name: str | None


@router.get(
    "/communes",
    operation_id="list_communes",
    response_model=CommuneList,
    summary="The wards of the configured province (official 2025 list)",
    description=(
        "The wards (xã, phường, đặc khu) of the province set by TTHC_PROVINCE_CODE, from the official "
        "2025 list, with their 5-digit codes: the values `commune_code` and the `commune` filter take."
    ),
    responses=problem_responses(401, 403),
)
def list_communes(request: Request, _reader: ReadDep) -> CommuneList:
    code: int = state_of(request).settings.province_code
    items = [
        CommuneOut(code=c.code, name=c.name, division_type=c.division_type)
        for c in communes_of(code).values()
    ]
    return CommuneList(province_code=code, province_name=province_name(code), count=len(items), items=items)


def _agency_out(a: Agency, province_code: int) -> AgencyOut:
    communes = communes_of(province_code)
    commune = communes.get(a.commune_code) if a.commune_code else None
    return AgencyOut(
        code=a.code,
        name=a.name,
        level=a.level,
        commune_code=a.commune_code,
        commune_name=commune.name if commune else None,
    )


@router.get(
    "/agencies",
    operation_id="list_agencies",
    response_model=list[AgencyOut],
    summary="The registered agencies",
    description=(
        "Every agency in the registry, ordered by code, with its level and, for a commune-level agency, "
        "its ward. A dossier's `agency_code` must be one of these codes."
    ),
    responses=problem_responses(401, 403),
)
def list_agencies(request: Request, session: SessionDep, _reader: ReadDep) -> list[AgencyOut]:
    code: int = state_of(request).settings.province_code
    return [_agency_out(a, code) for a in session.scalars(select(Agency).order_by(Agency.code))]


@router.put(
    "/agencies/{code}",
    operation_id="put_agency",
    response_model=AgencyOut,
    summary="Register or rename an agency (admin)",
    description=(
        "Admin only. The body `{name, level, commune_code}` replaces the agency's name, level (province "
        "or commune) and ward (a ward of the configured province, or null). 201 when registered, 200 "
        "when changed; the figures' ETags change (their rows carry the agency's name)."
    ),
    responses={
        201: {"description": "Registered", "model": AgencyOut},
        **problem_responses(
            400,
            401,
            403,
            413,
            415,
            422,
            descriptions={
                422: "The body is invalid, or its commune_code is not a ward of the configured province."
            },
        ),
    },
)
def put_agency(
    request: Request,
    session: WriteSessionDep,
    _admin: AdminDep,
    code: Annotated[
        str,
        Path(
            pattern=CODE_PATTERN,
            description="The agency's code (mã đơn vị), 1-64 of A-Z a-z 0-9 . _ -, e.g. 000.00.07.H41.",
        ),
    ],
    body: AgencyIn,
    response: Response,
) -> AgencyOut:
    province: int = state_of(request).settings.province_code
    if body.commune_code is not None and body.commune_code not in communes_of(province):
        raise ValidationFailed(
            "commune_code is not a ward of the configured province.",
            errors=[
                {
                    "loc": ["body", "commune_code"],
                    "msg": "not a ward of the configured province",
                    "type": "unknown_commune",
                }
            ],
        )
    now = state_of(request).clock()
    agency = session.get(Agency, code)
    if agency is None:
        agency = Agency(
            code=code, name=body.name, level=body.level, commune_code=body.commune_code, updated_at=now
        )
        session.add(agency)
        response.status_code = 201
    else:
        agency.name, agency.level, agency.commune_code, agency.updated_at = (
            body.name,
            body.level,
            body.commune_code,
            now,
        )
    session.flush()
    bump_data_version(session.connection(), now)
    return _agency_out(agency, province)
