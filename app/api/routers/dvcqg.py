"""POST /v1/integrations/dvcqg/dossiers (the portal's sync format) and the sector mapping endpoints."""

from __future__ import annotations

import re
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine, select

from app.api.auth import AdminDep, IngestDep, ReadDep
from app.api.bodies import (
    JSON_TYPES,
    MAX_JSON_BYTES,
    REQUEST_TIMEOUT_RESPONSE,
    at_clock,
    load_registry,
    media_type,
    read_body_limited,
)
from app.api.deps import SessionDep, WriteSessionDep
from app.api.observability import ObservedTotals
from app.api.openapi_docs import problem_responses
from app.api.state import state_of
from app.core.access import Principal
from app.core.errors import BadRequest, NotFound, UnsupportedMediaType, ValidationFailed
from app.core.jsonutil import dumps
from app.core.timeutil import to_local
from app.core.vocabulary import CODE_PATTERN
from app.integrations.dvcqg.mapping import FieldError, MappingContext, text
from app.integrations.dvcqg.schemas import (
    EXAMPLE_ENVELOPE,
    EXAMPLE_RECORD,
    DvcqgIngestReport,
    SectorIn,
    SectorOut,
)
from app.integrations.dvcqg.sectors import SECTOR_CODE_PATTERN, sector_map
from app.integrations.dvcqg.service import ingest_portal_chunk
from app.models import Agency, SectorMapping

router = APIRouter(prefix="/v1/integrations/dvcqg", tags=["integrations"])
sectors_router = APIRouter(prefix="/v1/sectors", tags=["reference"])

SectorCode = Annotated[
    str,
    Path(
        pattern=SECTOR_CODE_PATTERN,
        description="The portal's procedure-field code (MaLinhVuc) as its records carry it, 1-64 of "
        "A-Z a-z 0-9 . _ -.",
    ),
]

MAX_RECORDS = 5000
SERVICE = "DongBoHoSoMC"

INGEST_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"$ref": "#/components/schemas/DvcqgEnvelope"},
                    {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_RECORDS,
                        "items": {"$ref": "#/components/schemas/DvcqgRecord"},
                    },
                ]
            },
            "examples": {
                "envelope": {"summary": "The portal's envelope", "value": EXAMPLE_ENVELOPE},
                "bare_array": {
                    "summary": "A bare array of records (the agency from the query or the token)",
                    "value": [EXAMPLE_RECORD],
                },
            },
        }
    },
}


def _invalid(field: str, msg: str, kind: str) -> ValidationFailed:
    return ValidationFailed(f"{field} {msg}.", errors=[{"loc": [field], "msg": msg, "type": kind}])


def _envelope_text(fields: dict[str, Any], name: str) -> str:
    try:
        return text(fields.get(name))
    except FieldError as exc:
        raise _invalid(name, exc.msg, exc.kind) from exc


def read_envelope(payload: Any) -> tuple[list[Any], str | None]:
    """The records and the envelope's madonvi; a bare array has no madonvi."""
    records: list[Any]
    agency: str | None
    if isinstance(payload, list):
        records, agency = payload, None
    elif isinstance(payload, dict):
        fields = {k.lower(): v for k, v in payload.items() if isinstance(k, str)}
        service = _envelope_text(fields, "service")
        agency = _envelope_text(fields, "madonvi") or None
        if service and service.lower() != SERVICE.lower():
            raise _invalid("service", f"must be {SERVICE} (or left out)", "literal_error")
        data = fields.get("data")
        if not isinstance(data, list):
            raise _invalid("data", "must be the array of records", "list_type")
        records = data
    else:
        raise ValidationFailed(
            "The body must be the portal's envelope (an object with `data`) or an array of records.",
            errors=[{"loc": [], "msg": "must be an object or an array", "type": "model_type"}],
        )
    if not 1 <= len(records) <= MAX_RECORDS:
        raise _invalid(
            "data", f"must hold 1 to {MAX_RECORDS} records", "too_long" if records else "too_short"
        )
    return records, agency


def choose_agency(principal: Principal, named: list[str | None]) -> str:
    """The agency of the request: the one named (body or query), or the token's only agency."""
    given = {n for n in named if n}
    if len(given) > 1:
        raise _invalid("madonvi", "differs between the body and the query", "value_error")
    if given:
        agency = given.pop()
        if not re.match(CODE_PATTERN, agency):
            raise _invalid(
                "madonvi", "must be an agency code of 1 to 64 of A-Z a-z 0-9 . _ -", "string_pattern_mismatch"
            )
        return agency
    if principal.agencies is not None and len(principal.agencies) == 1:
        return next(iter(principal.agencies))
    raise _invalid("madonvi", "is required unless the token is limited to exactly one agency", "missing")


@router.post(
    "/dossiers",
    operation_id="ingest_dvcqg_dossiers",
    summary="Upsert dossiers sent in the national portal's sync format (DongBoHoSoMC)",
    description=(
        "Accepts the body a one-stop system already sends to the National Public Service Portal: the "
        "envelope `{madonvi, service: DongBoHoSoMC, data: [...]}` or a bare array of records. Each "
        "record is mapped onto the contract's dossier record (see docs/DVCQG.md) and upserted like "
        "POST /v1/dossiers, with the same token rules. The version of a record is its latest event "
        "time and status: an older one is `stale`, the same content `unchanged`, anything else "
        "`updated` (never a conflict). Records in status 1 or 3 were never received: they are "
        "`skipped`. Errors name the portal's fields; repairs of missing close times are reported "
        "as `warnings`. The applicant's personal data is dropped on arrival."
    ),
    response_model=DvcqgIngestReport,
    openapi_extra={"requestBody": INGEST_BODY},
    responses={
        **problem_responses(
            400,
            401,
            403,
            413,
            415,
            422,
            descriptions={
                422: "The body is neither the envelope nor an array of 1 to 5,000 records, its `service` "
                "is not DongBoHoSoMC, or the agency is missing (no `madonvi` in the body or the query, "
                "and a token not limited to exactly one agency), differs between body and query, or is "
                "not registered. Records inside a valid body are judged one by one in the 200 report."
            },
        ),
        **REQUEST_TIMEOUT_RESPONSE,
    },
)
async def ingest_dvcqg_dossiers(
    request: Request,
    principal: IngestDep,
    madonvi: Annotated[
        str | None,
        Query(
            max_length=64,
            description="The registered agency's code, for senders that put it in the query (or send a "
            "bare array). If the envelope's madonvi is also given, they must be equal. Absent everywhere: "
            "the token's agency when it is limited to exactly one, else a 422.",
        ),
    ] = None,
    MaDinhDanhDV: Annotated[  # the portal's own parameter name
        str | None,
        Query(max_length=64, description="The portal's own name for `madonvi`; the same rules apply."),
    ] = None,
) -> Response:
    if media_type(request) not in JSON_TYPES:
        raise UnsupportedMediaType("Send the portal's JSON body as application/json.")
    body = await read_body_limited(request, MAX_JSON_BYTES)
    payload = await run_in_threadpool(_parse_json, body)
    del body
    records, envelope_agency = read_envelope(payload)
    agency_code = choose_agency(principal, [envelope_agency, madonvi, MaDinhDanhDV])

    engine: Engine = state_of(request).engine
    ctx = await run_in_threadpool(_mapping_context, engine, agency_code)
    registry = await load_registry(request, engine)
    chunk_size: int = state_of(request).settings.ingest_chunk_size

    totals = ObservedTotals()
    skipped: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    try:
        for start in range(0, len(records), chunk_size):
            items = list(enumerate(records[start : start + chunk_size], start))
            chunk_registry = at_clock(request, registry)
            outcome = await run_in_threadpool(
                ingest_portal_chunk, engine, items, ctx, principal, chunk_registry
            )
            totals.add(outcome.verdicts)
            skipped += outcome.skipped
            totals.skip(len(outcome.skipped))
            warnings += outcome.warnings
    except Exception:
        # The audit middleware records the chunks already committed.
        request.state.audit_counts = {**totals.counts(), "skipped": len(skipped)}
        raise
    totals.received += len(skipped)
    request.state.audit_counts = {**totals.counts(), "skipped": len(skipped)}
    report = {
        **totals.as_dict(),
        "skipped": len(skipped),
        "skipped_records": sorted(skipped, key=lambda s: s["index"]),
        "warnings": sorted(warnings, key=lambda w: w["index"]),
    }
    return Response(dumps(report), media_type="application/json")


def _parse_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("The body is not valid JSON.") from exc


def _mapping_context(engine: Engine, agency_code: str) -> MappingContext:
    """The agency (422 when unregistered) and the sector mapping: database reads, for a worker thread."""
    with engine.connect() as conn:
        agency = conn.execute(
            select(Agency.code, Agency.commune_code).where(Agency.code == agency_code)
        ).first()
        sectors = sector_map(conn)
    if agency is None:
        raise _invalid(
            "madonvi", "is not a registered agency (PUT /v1/agencies/{code} registers one)", "unknown_agency"
        )
    return MappingContext(agency_code=agency.code, commune_code=agency.commune_code, sectors=sectors)


def _sector_out(m: SectorMapping) -> SectorOut:
    return SectorOut(code=m.code, slug=m.slug, name=m.name, updated_at=to_local(m.updated_at))


@sectors_router.get(
    "",
    operation_id="list_sectors",
    response_model=list[SectorOut],
    summary="The mapping of the portal's procedure-field codes (MaLinhVuc) to sector slugs",
    description=(
        "Every mapping, ordered by code. A portal record's MaLinhVuc found here takes the mapped slug as "
        "its `sector`; a code not mapped is made a slug of itself (ASCII, lower case, `_` between "
        "words: `Dat Dai` gives `dat_dai`)."
    ),
    responses=problem_responses(401, 403),
)
def list_sectors(session: SessionDep, _reader: ReadDep) -> list[SectorOut]:
    return [_sector_out(m) for m in session.scalars(select(SectorMapping).order_by(SectorMapping.code))]


@sectors_router.put(
    "/{code}",
    operation_id="put_sector",
    response_model=SectorOut,
    summary="Map a MaLinhVuc code to a sector slug (admin)",
    description=(
        "Applies to portal records ingested from now on; a dossier already stored keeps its sector "
        "until its record is sent again (re-sending it then counts as `updated`). Admin only; 201 when "
        "the code is new, 200 when its mapping changed."
    ),
    responses={
        201: {"description": "Mapped", "model": SectorOut},
        **problem_responses(400, 401, 403, 413, 415, 422),
    },
)
def put_sector(
    request: Request,
    session: WriteSessionDep,
    _admin: AdminDep,
    code: SectorCode,
    body: SectorIn,
    response: Response,
) -> SectorOut:
    now = state_of(request).clock()
    mapping = session.get(SectorMapping, code)
    if mapping is None:
        mapping = SectorMapping(code=code, slug=body.slug, name=body.name, updated_at=now)
        session.add(mapping)
        response.status_code = 201
    else:
        mapping.slug, mapping.name, mapping.updated_at = body.slug, body.name, now
    session.flush()
    return _sector_out(mapping)


@sectors_router.delete(
    "/{code}",
    operation_id="delete_sector",
    status_code=204,
    summary="Remove a mapping (admin); the code then becomes a slug of itself again",
    description=(
        "Admin only. Applies to portal records ingested from now on; dossiers already stored keep their "
        "sector. 204 when removed, 404 when the code has no mapping."
    ),
    responses=problem_responses(401, 403, 404, 422),
)
def delete_sector(session: WriteSessionDep, _admin: AdminDep, code: SectorCode) -> Response:
    mapping = session.get(SectorMapping, code)
    if mapping is None:
        raise NotFound(f"No mapping has code {code}.")
    session.delete(mapping)
    return Response(status_code=204)
