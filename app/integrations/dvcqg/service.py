"""Portal records through the ingestion core: map, then validate/authorise/upsert with the portal's
version rule, then name the portal's fields in the errors."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Engine

from app.core.access import Principal
from app.core.vocabulary import FINISHED_STATUSES
from app.dossiers.service import UNREADABLE_RECORD, Result, Verdict, capped, content, process_chunk
from app.dossiers.validation import Registry
from app.integrations.dvcqg.mapping import Mapped, MappingContext, map_record, translate_errors

log = logging.getLogger("tthc.ingest")

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


def carry_over(new: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    """Keep what the format cannot carry (apology, rating, online level) from the stored version.

    A province may feed the portal format and supply these through the native API; a later
    portal record must not wipe them. Each is kept only where the new record still allows it.
    """
    if current is None:
        return new
    row = dict(new)
    row["apology_issued"] = bool(current["apology_issued"])
    row["rating"] = current["rating"] if new["status"] in FINISHED_STATUSES else None
    row["online_level"] = current["online_level"] if new["channel"] == "online" else None
    return row


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
    """Map one chunk of portal records and upsert the mappable ones in one transaction."""
    out = ChunkOutcome()
    records: list[tuple[int, Any]] = []
    sources: dict[int, dict[str, str]] = {}
    warnings: dict[int, list[dict[str, Any]]] = {}
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
            out.verdicts.append(Verdict(index, mapped.code, None, capped(mapped.errors)))
        else:
            records.append((index, mapped.record))
            sources[index] = mapped.sources
            warnings[index] = mapped.warnings
    if records:
        for v in process_chunk(engine, records, principal, registry, judge=portal_judge, prepare=carry_over):
            if v.result is None:
                v.errors = translate_errors(v.errors, sources[v.index])
            elif warnings[v.index]:
                out.warnings.append({"index": v.index, "code": v.code, "warnings": warnings[v.index]})
            out.verdicts.append(v)
    out.verdicts.sort(key=lambda v: v.index)
    return out
