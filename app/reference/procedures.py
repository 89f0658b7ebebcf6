"""The procedure catalogue (table procedures): per procedure code, its name, sector, level, legal
maximum duration and the flags the national index reads. One entry's rules are the pydantic models
below, used by the HTTP body, the bulk body and the files `tthc-metrics procedures load` reads."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal, cast

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)
from sqlalchemy import Connection, Table, and_, delete, insert, select, update

from app.core.vocabulary import SECTOR_PATTERN, TEXT_PATTERN
from app.models.tables import Procedure

_T = cast(Table, Procedure.__table__)

Level = Literal["province", "commune"]
DurationUnit = Literal["working_days", "days", "hours", "months"]
# A procedure code as a dossier's procedure_code takes it.
CODE_MAX = 32
ProcedureCode = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=CODE_MAX,
        pattern=TEXT_PATTERN,
        description="mã TTHC in the national procedure database, as dossiers' `procedure_code`",
    ),
]
MAX_BULK = 10_000
FLAGS = ("paper_result", "fee", "full_online_eligible", "full_online_offered", "online_payment_integrated")
# The columns of a CSV file, in the order `procedures load` documents them.
CSV_COLUMNS = ("code", "name", "sector", "level", "max_duration_value", "max_duration_unit", *FLAGS)


def _whole(value: Any) -> Any:
    """JSON's 15.0 is the integer 15 (JSON Schema says so); other floats stay and are refused."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


class MaxDuration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Annotated[StrictInt, BeforeValidator(_whole)] = Field(
        ge=1, le=100_000, description="how many units, at least 1"
    )
    unit: DurationUnit = Field(description="working_days, days, hours or months")


ENTRY_EXAMPLE: dict[str, Any] = {
    "name": "Cấp giấy phép xây dựng",
    "sector": "xay_dung",
    "level": "province",
    "max_duration": {"value": 15, "unit": "working_days"},
    "paper_result": True,
    "fee": True,
    "full_online_eligible": True,
    "full_online_offered": False,
    "online_payment_integrated": True,
}


class ProcedureIn(BaseModel):
    """One catalogue entry without its code (the body of PUT /v1/procedures/{code})."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [ENTRY_EXAMPLE]})

    name: Annotated[StrictStr, Field(min_length=1, max_length=1000, pattern=TEXT_PATTERN)] = Field(
        description="the procedure's name"
    )
    sector: Annotated[StrictStr, Field(pattern=SECTOR_PATTERN)] | None = Field(
        default=None, description="its sector slug (lĩnh vực), as dossiers' `sector`; null: none"
    )
    level: Level = Field(description="the level of the agencies that handle it: province or commune")
    max_duration: MaxDuration | None = Field(
        default=None, description="the legal maximum processing time; null: none set"
    )
    paper_result: StrictBool = Field(default=False, description="the result must be issued on paper")
    fee: StrictBool = Field(default=False, description="a fee or charge is due")
    full_online_eligible: StrictBool = Field(
        default=False, description="eligible for full-online service (dịch vụ công trực tuyến toàn trình)"
    )
    full_online_offered: StrictBool = Field(default=False, description="offered as a full-online service")
    online_payment_integrated: StrictBool = Field(
        default=False, description="online payment is integrated for it"
    )


class ProcedureEntryIn(ProcedureIn):
    """One catalogue entry with its code (an item of bulk PUT /v1/procedures and of a loaded file)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"code": "1.004227", **ENTRY_EXAMPLE}]}
    )

    code: ProcedureCode


@dataclass(frozen=True, slots=True)
class Entry:
    """A stored catalogue entry."""

    code: str
    name: str
    sector: str | None
    level: str
    max_duration_value: int | None
    max_duration_unit: str | None
    paper_result: bool
    fee: bool
    full_online_eligible: bool
    full_online_offered: bool
    online_payment_integrated: bool

    @classmethod
    def of(cls, code: str, body: ProcedureIn) -> Entry:
        d = body.max_duration
        return cls(
            code=code,
            name=body.name,
            sector=body.sector,
            level=body.level,
            max_duration_value=d.value if d else None,
            max_duration_unit=d.unit if d else None,
            **{f: getattr(body, f) for f in FLAGS},
        )

    def columns(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__slots__}


_COLUMNS = tuple(Entry.__slots__)


@dataclass(frozen=True, slots=True)
class RowError:
    index: int  # 0-based position in the batch
    code: str | None  # the row's code when it could be read
    field: str | None  # the field at fault, dotted (max_duration.value); None: the row as a whole
    msg: str
    type: str


@dataclass(slots=True)
class BulkReport:
    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    index_job: int | None = None  # the re-derivation job the change started, if any


def field_errors(exc: ValidationError) -> list[tuple[str | None, str, str]]:
    """(field, msg, type) per error of a validated entry, the field dotted from pydantic's loc."""
    out: list[tuple[str | None, str, str]] = []
    for e in exc.errors(include_url=False):
        loc = [str(p) for p in e["loc"]]
        out.append((".".join(loc) or None, e["msg"], e["type"]))
    return out


def check_row(index: int, raw: Any) -> Entry | list[RowError]:
    """One bulk item (or a file's): its entry, or its errors naming the field."""
    if isinstance(raw, _WrongWidth):
        return [RowError(index, None, None, f"{raw.cells} cells, the header has {raw.expected}", "csv_width")]
    code = raw.get("code") if isinstance(raw, dict) and isinstance(raw.get("code"), str) else None
    try:
        item = ProcedureEntryIn.model_validate(raw)
    except ValidationError as exc:
        return [RowError(index, code, f, m, t) for f, m, t in field_errors(exc)]
    return Entry.of(item.code, item)


def _row_entry(row: Any) -> Entry:
    return Entry(**{c: getattr(row, c) for c in _COLUMNS})


def get_one(conn: Connection, code: str) -> Entry | None:
    row = conn.execute(select(_T).where(_T.c.code == code)).first()
    return _row_entry(row) if row is not None else None


def upsert_one(conn: Connection, entry: Entry, now: datetime) -> Literal["created", "updated", "unchanged"]:
    """Store one entry in the caller's transaction; what happened to it."""
    stored = get_one(conn, entry.code)
    if stored is None:
        conn.execute(insert(_T).values(**entry.columns(), updated_at=now))
        return "created"
    if stored == entry:
        return "unchanged"
    conn.execute(update(_T).where(_T.c.code == entry.code).values(**entry.columns(), updated_at=now))
    return "updated"


def delete_one(conn: Connection, code: str) -> bool:
    """Remove one entry in the caller's transaction; whether there was one."""
    return conn.execute(delete(_T).where(_T.c.code == code)).rowcount > 0


def bulk_upsert(
    conn: Connection, items: Sequence[Any], now: datetime, where: Callable[[int], str] = "item {}".format
) -> BulkReport:
    """Store the good items of a batch in the caller's transaction and report the bad ones by index.
    A code given twice: the later item is rejected (its `code` field named, the first one said by
    `where`, e.g. "item 2" or "line 4")."""
    report = BulkReport(received=len(items))
    good: dict[str, Entry] = {}
    first_at: dict[str, int] = {}
    for i, raw in enumerate(items):
        checked = check_row(i, raw)
        if isinstance(checked, list):
            report.errors.extend(checked)
            report.rejected += 1
        elif checked.code in good:
            msg = f"code {checked.code} is already at {where(first_at[checked.code])}"
            report.errors.append(RowError(i, checked.code, "code", msg, "duplicate"))
            report.rejected += 1
        else:
            good[checked.code] = checked
            first_at[checked.code] = i
    codes = list(good)
    stored: dict[str, Entry] = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        stored.update((r.code, _row_entry(r)) for r in conn.execute(select(_T).where(_T.c.code.in_(chunk))))
    new = [e.columns() | {"updated_at": now} for c, e in good.items() if c not in stored]
    changed = [e for c, e in good.items() if c in stored and stored[c] != e]
    if new:
        conn.execute(insert(_T), new)
    for e in changed:
        conn.execute(update(_T).where(_T.c.code == e.code).values(**e.columns(), updated_at=now))
    report.created, report.updated = len(new), len(changed)
    report.unchanged = len(good) - len(new) - len(changed)
    return report


def list_entries(
    conn: Connection, *, sector: str | None, level: str | None, after: str | None, limit: int
) -> list[Entry]:
    """Entries by ascending code after `after`, at most `limit`, filtered by sector and level."""
    conds = []
    if sector is not None:
        conds.append(_T.c.sector == sector)
    if level is not None:
        conds.append(_T.c.level == level)
    if after is not None:
        conds.append(_T.c.code > after)
    query = select(_T).where(and_(True, *conds)).order_by(_T.c.code).limit(limit)
    return [_row_entry(r) for r in conn.execute(query)]


# Files: a JSON array of entries, or CSV with a header row naming CSV_COLUMNS (any order, any subset
# that includes code, name and level).


class FileError(ValueError):
    """A file that cannot be read as a whole (not its rows): where and why."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line, self.reason = line, reason


def read_file(text: str) -> list[tuple[int, Any]]:
    """(line, item) per item of a JSON array or CSV file, the line counted from 1 as editors show it:
    where the item starts."""
    stripped = text.lstrip("\ufeff")
    start = stripped.lstrip()[:1]
    if start == "{":
        raise FileError(_line(stripped, stripped.index("{")), "a JSON file holds an array of entries, [ … ]")
    return _json_items(stripped) if start == "[" else _csv_items(stripped)


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _json_items(text: str) -> list[tuple[int, Any]]:
    decoder = json.JSONDecoder()
    items: list[tuple[int, Any]] = []
    pos = text.index("[") + 1

    def skip(p: int) -> int:
        while p < len(text) and text[p] in " \t\r\n":
            p += 1
        return p

    try:
        pos = skip(pos)
        if pos < len(text) and text[pos] == "]":
            pos += 1
        else:
            while True:
                item, end = decoder.raw_decode(text, pos)
                items.append((_line(text, pos), item))
                pos = skip(end)
                if pos < len(text) and text[pos] == ",":
                    pos = skip(pos + 1)
                    continue
                if pos < len(text) and text[pos] == "]":
                    pos += 1
                    break
                raise json.JSONDecodeError("expected ',' or ']'", text, pos)
    except json.JSONDecodeError as exc:
        raise FileError(exc.lineno, f"not valid JSON ({exc.msg})") from exc
    if skip(pos) != len(text):
        raise FileError(_line(text, pos), "text after the JSON array")
    return items


def _csv_cell(column: str, cell: str) -> Any:
    """A CSV cell as JSON would carry it: booleans and the duration's value read, the rest as text."""
    value = cell.strip()
    if column in FLAGS:
        low = value.lower()
        return {"true": True, "1": True, "false": False, "0": False}.get(low, value)
    if column == "max_duration_value":
        return int(value) if value.isdigit() else value
    return value


def _csv_items(text: str) -> list[tuple[int, Any]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise FileError(1, "the file is empty; a CSV file starts with a header row")
        columns = [h.strip() for h in header]
        unknown = [c for c in columns if c not in CSV_COLUMNS]
        if unknown:
            raise FileError(1, f"unknown column {unknown[0]!r}; the columns are {', '.join(CSV_COLUMNS)}")
        if len(set(columns)) != len(columns):
            raise FileError(1, "a column is named twice")
        items: list[tuple[int, Any]] = []
        last = reader.line_num
        for row in reader:
            start, last = last + 1, reader.line_num
            if not any(c.strip() for c in row):
                continue
            if len(row) != len(columns):
                items.append((start, _WrongWidth(len(row), len(columns))))
                continue
            items.append((start, _csv_item(dict(zip(columns, row, strict=True)))))
    except csv.Error as exc:
        raise FileError(reader.line_num, f"not valid CSV ({exc})") from exc
    return items


@dataclass(frozen=True, slots=True)
class _WrongWidth:
    """A CSV row with another number of cells than the header: rejected as a whole."""

    cells: int
    expected: int


def _csv_item(cells: dict[str, str]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for column, cell in cells.items():
        if column in ("max_duration_value", "max_duration_unit") or not cell.strip():
            continue  # an empty cell: the field's default
        item[column] = _csv_cell(column, cell)
    value, unit = cells.get("max_duration_value", "").strip(), cells.get("max_duration_unit", "").strip()
    if value or unit:
        item["max_duration"] = {
            **({"value": _csv_cell("max_duration_value", value)} if value else {}),
            **({"unit": unit} if unit else {}),
        }
    return item
