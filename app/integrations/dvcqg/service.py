"""Portal records through the ingestion core: map, then validate/authorise/upsert with the portal's
version rule, then name the portal's fields in the errors."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Engine

from app.core.access import Principal
from app.core.feed_rules import agency_key
from app.core.supplements import load_supplements, supplement_errors
from app.core.vocabulary import FINISHED_STATUSES
from app.dossiers.service import (
    KNOWN_FIELDS,
    UNREADABLE_RECORD,
    Result,
    Verdict,
    capped,
    content,
    prepare_chunk,
    write_chunk,
)
from app.dossiers.validation import Registry
from app.integrations.dvcqg.mapping import (
    PORTAL_NAMES,
    Mapped,
    MappingContext,
    map_record,
    translate_errors,
)

log = logging.getLogger("tthc.ingest")

# The names a portal record's errors may keep in the feed's quality: the portal's (the mapping's own
# errors, and the validation's translated as the reply gives them) and the contract's (a field the
# portal format does not carry, e.g. a registry check of a derived field).
FEED_FIELDS: Final = KNOWN_FIELDS | PORTAL_NAMES

# How far a dossier has progressed. The open statuses share a rank: the format carries no date for
# a move between them (received → supplement requested → back to processing), so a same-time record
# in either may replace the other; the figures do not tell them apart.
STATUS_RANK: Final = {
    "processing": 0,
    "supplement_requested": 0,
    "resolved": 1,
    "rejected": 1,
    "withdrawn": 1,
    "returned": 2,
}


def portal_judge(new: dict[str, Any], current: dict[str, Any] | None) -> Result:
    """The portal's version rule: (latest event time, status rank); older is stale, never a conflict."""
    if current is None:
        return "created"
    new_version = (new["updated_at"], STATUS_RANK[new["status"]])
    stored_version = (current["updated_at"], STATUS_RANK.get(current["status"], 0))
    if new_version < stored_version:
        return "stale"
    return "unchanged" if content(new) == content(current) else "updated"


def carry_over(
    new: dict[str, Any], current: dict[str, Any] | None, keep: Collection[str] = ()
) -> dict[str, Any]:
    """Keep what the format cannot carry (apology, rating, online level, complaint) from the stored
    version, and the fields in `keep` this record sent no value for (supplements, population_data,
    from_personal_store).

    A province may feed the portal format and supply these through the native API; a later
    portal record must not wipe them. Each is kept only where the new record still allows it.
    """
    if current is None:
        return new
    row = dict(new)
    row["apology_issued"] = bool(current["apology_issued"])
    row["rating"] = current["rating"] if new["status"] in FINISHED_STATUSES else None
    row["online_level"] = current["online_level"] if new["channel"] == "online" else None
    row["complaint"] = bool(current["complaint"])
    for name in ("population_data", "from_personal_store"):
        if name in keep:
            row[name] = bool(current[name])
    if "supplements" in keep and current["supplements"] is not None:
        stored = load_supplements(current["supplements"])
        # Kept only while they still fit the record (a corrected NgayTiepNhan may come after them).
        if not supplement_errors(new["received_at"], stored):
            row["supplements"] = current["supplements"]
    return row


class _CarryOver:
    """The ingestion core's `prepare` hook for a chunk: carry_over with each row's own `keep`."""

    def __init__(self, keep: dict[int, frozenset[str]]) -> None:
        self.keep = keep  # id(row) → the fields its record sent no value for

    def __call__(self, new: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        return carry_over(new, current, self.keep.get(id(new), frozenset()))


@dataclass(slots=True)
class ChunkOutcome:
    verdicts: list[Verdict] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)


def ingest_portal_chunk(
    engine: Engine,
    items: Sequence[tuple[int, Any]],
    ctx: MappingContext,
    principal: Principal,
    registry: Registry,
) -> ChunkOutcome:
    """Map one chunk of portal records and upsert the mappable ones in one transaction, which also
    counts every rejected record of the chunk for the feed's quality, the unmappable ones included."""
    out = ChunkOutcome()
    records: list[tuple[int, Any]] = []
    unmapped: list[Verdict] = []
    sources: dict[int, dict[str, str]] = {}
    warnings: dict[int, list[dict[str, Any]]] = {}
    keep: dict[int, frozenset[str]] = {}
    agency = agency_key(ctx.agency_code, registry.agencies)  # for the feed's quality
    for index, raw in items:
        try:
            mapped = map_record(raw, ctx)
        except Exception as exc:
            # A record the mapping cannot read is that record's error; the others go on.
            log.error("portal record %d could not be mapped: %s", index, type(exc).__name__, exc_info=exc)
            mapped = Mapped(None, errors=[{"loc": [], "msg": UNREADABLE_RECORD, "type": "value_error"}])
        if mapped.skipped_status is not None:
            out.skipped.append({"index": index, "code": mapped.code, "status": mapped.skipped_status})
        elif mapped.record is None:
            # Its errors name the portal's fields already; counted under the request's agency.
            unmapped.append(Verdict(index, mapped.code, None, capped(mapped.errors), agency))
        else:
            records.append((index, mapped.record))
            sources[index] = mapped.sources
            warnings[index] = mapped.warnings
            keep[index] = mapped.keep_stored
    if records or unmapped:
        prepared = prepare_chunk(records, registry, engine.dialect.name)
        # A mapped record the validation refuses is counted, as it is answered, in the portal's names.
        for v in prepared.verdicts:
            v.errors = translate_errors(v.errors, sources[v.index])
        prepared.verdicts = sorted([*prepared.verdicts, *unmapped], key=lambda v: v.index)
        hook = _CarryOver({id(row): keep[v.index] for v, row, _ in prepared.valid})
        verdicts = write_chunk(
            engine, prepared, principal, judge=portal_judge, prepare=hook, known_fields=FEED_FIELDS
        )
        for v in verdicts:
            if v.index not in sources:
                continue  # not mapped: its errors are the mapping's, in the portal's names
            if v.result is None:  # the writer's own refusals too (translating twice changes nothing)
                v.errors = translate_errors(v.errors, sources[v.index])
            elif warnings[v.index]:
                out.warnings.append({"index": v.index, "code": v.code, "warnings": warnings[v.index]})
        out.verdicts = verdicts  # in index order
    return out
