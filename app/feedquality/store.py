"""The feed's quality counts and latest examples, added once per ingest chunk and pruned by age.

A chunk's rejections, warnings and bases are gathered in memory (`ChunkQuality`) and written in the
chunk's own transaction as one multi-row upsert of counts (count = count + excluded.count, keys
sorted so concurrent writers lock them in one order) and one of examples, then the examples of the
chunk's agencies are trimmed to the newest `cap` codes per key.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, text

from app.core.feed_rules import MAX_CODE, RECORDS, REJECTED, rejection_keys
from app.core.timeutil import local_date
from app.models import FeedQualityCount, FeedQualityExample
from app.store.dialect import dialect_of

COUNTS = cast(Table, FeedQualityCount.__table__)
EXAMPLES = cast(Table, FeedQualityExample.__table__)
NO_TOKEN = ""  # the token id of writes made without a token (the command line's direct import)

# (agency, kind, field, rule, type)
Key = tuple[str, str, str, str, str]
_COUNT_KEYS = ("day", "token_id", "agency_code", "kind", "field", "rule", "type")
_COUNT_COLUMNS = (*_COUNT_KEYS, "count")
_EXAMPLE_KEYS = ("agency_code", "kind", "field", "rule", "type", "code")
_EXAMPLE_COLUMNS = (*_EXAMPLE_KEYS, "token_id", "day", "seen_at")


@dataclass(slots=True)
class ChunkQuality:
    """What one chunk adds: counts per key, and the latest `cap` distinct codes per key, oldest first."""

    cap: int
    counts: Counter[Key] = field(default_factory=Counter)
    examples: dict[Key, dict[str, None]] = field(default_factory=dict)

    def reject(
        self,
        agency: str,
        code: str | None,
        errors: Iterable[Mapping[str, Any]],
        known_fields: Collection[str],
    ) -> None:
        """A rejected record counts once as a record, and once under each distinct (field, rule, type)
        of its errors."""
        self.counts[(agency, RECORDS, "", "", "")] += 1
        for f, rule, kind in rejection_keys(errors, known_fields):
            self.add((agency, REJECTED, f, rule, kind), code)

    def add(self, key: Key, code: str | None) -> None:
        self.counts[key] += 1
        if code is None or len(code) > MAX_CODE:
            return
        codes = self.examples.setdefault(key, {})
        codes.pop(code, None)  # seen again: now the latest
        codes[code] = None
        if len(codes) > self.cap:
            del codes[next(iter(codes))]

    def __bool__(self) -> bool:
        return bool(self.counts)


def record_chunk(conn: Connection, quality: ChunkQuality, token_id: str | None, now: datetime) -> None:
    """Add a chunk's counts and examples under the local day of `now`, in the caller's transaction."""
    if not quality:
        return
    dialect = dialect_of(conn)
    day, token = local_date(now), token_id or NO_TOKEN
    counts = [
        dialect.driver_values([day, token, *key, n], (), (0,)) for key, n in sorted(quality.counts.items())
    ]
    dialect.upsert_rows(conn, "feed_quality_counts", _COUNT_COLUMNS, _COUNT_KEYS, counts, adding=("count",))
    if not quality.examples:
        return
    examples = [
        dialect.driver_values([*key, code, token, day, now], (8,), (7,))
        for key, codes in sorted(quality.examples.items())
        for code in sorted(codes)
    ]
    replacing = ("token_id", "day", "seen_at")
    dialect.upsert_rows(
        conn, "feed_quality_examples", _EXAMPLE_COLUMNS, _EXAMPLE_KEYS, examples, replacing=replacing
    )
    trim_examples(conn, sorted({key[0] for key in quality.examples}), quality.cap)


_TRIM = text(
    "DELETE FROM feed_quality_examples WHERE (agency_code, kind, field, rule, type, code) IN ("
    " SELECT agency_code, kind, field, rule, type, code FROM ("
    "  SELECT agency_code, kind, field, rule, type, code, ROW_NUMBER() OVER ("
    "   PARTITION BY agency_code, kind, field, rule, type ORDER BY seen_at DESC, code DESC) AS rn"
    "  FROM feed_quality_examples WHERE agency_code IN :agencies) ranked"
    " WHERE rn > :cap)"
).bindparams(bindparam("agencies", expanding=True))


def trim_examples(conn: Connection, agencies: list[str], cap: int) -> int:
    """Keep the newest `cap` codes per key of these agencies; returns the rows deleted."""
    if not agencies:
        return 0
    return int(conn.execute(_TRIM, {"agencies": agencies, "cap": cap}).rowcount)


def prune(conn: Connection, now: datetime, days: int) -> int:
    """Delete counts and examples of local days before the last `days` (today is the first of them);
    returns the rows deleted. Called with the audit trail's pruning (app/api/audit.py `Pruner`) and by
    whatever runs the service's periodic jobs."""
    cutoff = cutoff_day(now, days)
    gone = conn.execute(delete(COUNTS).where(COUNTS.c.day < cutoff)).rowcount
    gone += conn.execute(delete(EXAMPLES).where(EXAMPLES.c.day < cutoff)).rowcount
    return int(gone)


def cutoff_day(now: datetime, days: int) -> date:
    """The oldest local day kept: today and the `days` - 1 before it."""
    return local_date(now) - timedelta(days=days - 1)
