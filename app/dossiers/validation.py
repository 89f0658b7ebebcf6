"""Record validation (contract §2): types and formats, cross-field rules, registry, clock."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from app.core.errors import validation_errors
from app.core.feed_rules import FeedConfig
from app.core.supplements import Supplement, supplement_errors
from app.core.timeutil import VN_TZ
from app.core.vocabulary import CLOSED_STATUSES, FINISHED_STATUSES, OPEN_STATUSES
from app.dossiers.schemas import DossierIn
from app.reference.index_inputs import IndexInputs

FUTURE_TOLERANCE = timedelta(minutes=5)
EARLIEST_RECEIVED = datetime(1900, 1, 1, tzinfo=VN_TZ)

Errors = list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Registry:
    """What a record is checked against besides itself: registered agencies, the province's wards, now."""

    agencies: Collection[str]
    communes: Collection[str]
    now: datetime
    # The catalogue and calendar the national index is derived with (re-read inside the write when
    # they changed since; None: read there).
    inputs: IndexInputs | None = None
    feed: FeedConfig = field(default_factory=FeedConfig)  # the feed's quality settings


def _err(field: str, msg: str, kind: str = "value_error") -> dict[str, Any]:
    return {"loc": [field], "msg": msg, "type": kind}


def cross_field_errors(d: DossierIn, registry: Registry) -> Errors:
    """Every rule of contract §2 that involves more than one field, the registry or the clock."""
    errors: Errors = []
    if d.due_at is not None and d.due_at < d.received_at:
        errors.append(_err("due_at", "due_at is before received_at"))
    if d.resolved_at is not None and d.resolved_at < d.received_at:
        errors.append(_err("resolved_at", "resolved_at is before received_at"))
    if d.returned_at is not None:
        if d.resolved_at is None:
            errors.append(_err("returned_at", "returned_at is set but resolved_at is not"))
        elif d.returned_at < d.resolved_at:
            errors.append(_err("returned_at", "returned_at is before resolved_at"))
    if d.status in OPEN_STATUSES and d.resolved_at is not None:
        errors.append(_err("resolved_at", f"an open dossier (status {d.status}) has no resolved_at"))
    if d.status in CLOSED_STATUSES and d.resolved_at is None:
        errors.append(_err("resolved_at", f"status {d.status} needs resolved_at"))
    if d.status == "returned" and d.returned_at is None:
        errors.append(_err("returned_at", "status returned needs returned_at"))
    if d.paid_online and not d.fee_required:
        errors.append(_err("paid_online", "paid_online is only allowed when fee_required is true"))
    if d.online_level is not None and d.channel != "online":
        errors.append(_err("online_level", "online_level is only allowed with channel online"))
    if d.digitised_result and d.status not in FINISHED_STATUSES:
        errors.append(_err("digitised_result", "digitised_result is only allowed on a finished dossier"))
    if d.rating is not None and d.status not in FINISHED_STATUSES:
        errors.append(_err("rating", "rating is only allowed on a finished dossier"))
    if d.supplements:
        for i, name, msg in supplement_errors(d.received_at, supplements_of(d)):
            errors.append({"loc": ["supplements", i, name], "msg": msg, "type": "value_error"})
    if d.received_at < EARLIEST_RECEIVED:
        # The running sums behind pending and overdue start on 1900-01-01 (every later instant of a
        # dossier is at or after its received_at).
        errors.append(_err("received_at", "received_at is before 1900"))
    limit = registry.now + FUTURE_TOLERANCE
    if d.received_at > limit:
        errors.append(_err("received_at", "received_at is more than 5 minutes in the future"))
    if d.updated_at > limit:
        errors.append(_err("updated_at", "updated_at is more than 5 minutes in the future"))
    if d.agency_code not in registry.agencies:
        errors.append(_err("agency_code", "agency_code is not a registered agency", "unknown_agency"))
    if d.commune_code is not None and d.commune_code not in registry.communes:
        errors.append(
            _err("commune_code", "commune_code is not a ward of the configured province", "unknown_commune")
        )
    return errors


def supplements_of(d: DossierIn) -> tuple[Supplement, ...]:
    """The record's supplement requests as the core reads them (none for [], null or absent)."""
    return tuple(Supplement(s.requested_at, s.supplied_at) for s in d.supplements or ())


def validate_record(raw: Any, registry: Registry) -> tuple[DossierIn | None, Errors]:
    """The parsed record, or None with every error found, each naming its field."""
    if not isinstance(raw, dict):
        return None, [{"loc": [], "msg": "a record must be a JSON object", "type": "model_type"}]
    try:
        record = DossierIn.model_validate(raw)
    except ValidationError as exc:
        return None, validation_errors(list(exc.errors(include_url=False, include_input=False)))
    errors = cross_field_errors(record, registry)
    return (None, errors) if errors else (record, [])


def record_code(raw: Any) -> str | None:
    """The code of a raw record, for error reports, when it is a plausible code."""
    if isinstance(raw, dict):
        code = raw.get("code")
        if isinstance(code, str) and 0 < len(code) <= 64 and all(c.isalnum() or c in "._-" for c in code):
            return code if code.isascii() else None
    return None
