"""One portal record (DongBoHoSoMC) → one contract record (DossierIn fields). Pure: no I/O.

The applicant's personal data never gets past the first step: `keep_known` copies only the fields
the mapping reads (and, from the nested lists, only the flags, prices and supplement dates it needs,
and of a link only whether it is there), so names, identity numbers, contacts, addresses and the
dossier summary are gone before any parsing, error message or log line could see them.

The portal's senders vary: keys are matched without regard to letter case, numbers are accepted
where strings are expected, `null` and missing fields read as empty strings, missing lists as empty.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from app.core.supplements import MAX_SUPPLEMENTS, Supplement, supplement_errors
from app.core.timeutil import VN_TZ, to_utc
from app.core.vocabulary import CODE_PATTERN, FINISHED_STATUSES
from app.dossiers.schemas import parse_timestamp

Errors = list[dict[str, Any]]
log = logging.getLogger("tthc.ingest")

SCALAR_FIELDS: Final = (
    "MaHoSo",
    "MaTTHC",
    "TenTTHC",
    "MaLinhVuc",
    "KenhThucHien",
    "NgayTiepNhan",
    "NgayHenTra",
    "NgayKetThucXuLy",
    "NgayTuChoi",
    "NgayTra",
    "TrangThaiHoSo",
    "DuocThanhToanTrucTuyen",
    "HoSoCoThanhPhanSoHoa",
    "TaiKhoanDuocXacThucVoiVNeID",
)
# A submitted file's link to its attached file, under the names senders use for it.
FILE_LINKS: Final = ("DuongDanTaiTepTin", "DuongDanTepTin", "DuongDanTepDinhKem")
# Links of which only the presence is kept (the link itself is never copied).
LINK_FIELDS: Final = frozenset({*FILE_LINKS, "DuongDanTepTinKetQua"})
# Nested lists, and the only keys of their items the mapping reads.
LIST_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "DanhSachLePhi": ("Gia",),
    "TaiLieuNop": ("DuocSoHoa", "DuocTaiSuDung", "DuocLayTuKhoDMQG", *FILE_LINKS),
    "DanhSachGiayToKetQua": ("DuongDanTepTinKetQua",),
    "DanhSachHoSoBoSung": ("NgayBoSung", "NgayTiepNhanBoSung"),
}
# Every name a mapping error's location may carry (the envelope's madonvi among them): the feed's
# quality counts a rejected portal record's reasons under these, as the reply names them.
PORTAL_NAMES: Final = frozenset(
    {*SCALAR_FIELDS, *LIST_FIELDS, *(name for names in LIST_FIELDS.values() for name in names), "madonvi"}
)
# The applicant's personal data: never read. Listed for the documentation; `keep_known` drops these
# and every other field it does not know (addresses, proxies' details, ...) by never copying them.
PERSONAL_FIELDS: Final = (
    "ChuHoSo",
    "SoGiayToChuHoSo",
    "SoDienThoai",
    "Email",
    "Fax",
    "DinhDanhCHS",
    "MaDoiTuong",
    "TrichYeuHoSo",
    "ThongTinKhac",
    "DiaChiChuHoSo",
)
# A spelling seen in one sender's model of the format.
_ALIASES: Final = {"hosocothanhphansoho": "HoSoCoThanhPhanSoHoa"}
_CANONICAL: Final = {
    **{name.lower(): name for name in (*SCALAR_FIELDS, *LIST_FIELDS)},
    **_ALIASES,
}

STATUS_NAMES: Final = {
    "1": "newly registered, not yet received",
    "2": "received",
    "3": "not accepted",
    "4": "processing",
    "5": "supplement requested",
    "6": "awaiting the applicant's financial obligation",
    "7": "withdrawn at the applicant's request",
    "8": "processing stopped",
    "9": "processed",
    "10": "result returned",
}
STATUS_MAP: Final = {
    "2": "processing",
    "4": "processing",
    "5": "supplement_requested",
    "6": "supplement_requested",
    "7": "withdrawn",
    "8": "rejected",
    "9": "resolved",
    "10": "returned",
}
SKIPPED_STATUSES: Final = frozenset({"1", "3"})
CHANNEL_MAP: Final = {"1": "in_person", "2": "online", "3": "postal"}
# Event times, in the order used to break ties for the version's source field. NgayHenTra is an
# appointment, not an event, and NgayNopHoSo precedes reception: neither is part of the version.
EVENT_FIELDS: Final = ("NgayTiepNhan", "NgayKetThucXuLy", "NgayTuChoi", "NgayTra")

# Contract field → the portal field it comes from, for naming the portal's field in errors.
PORTAL_FIELD: Final = {
    "code": "MaHoSo",
    "procedure_code": "MaTTHC",
    "procedure_name": "TenTTHC",
    "sector": "MaLinhVuc",
    "channel": "KenhThucHien",
    "received_at": "NgayTiepNhan",
    "due_at": "NgayHenTra",
    "resolved_at": "NgayKetThucXuLy",
    "returned_at": "NgayTra",
    "status": "TrangThaiHoSo",
    "fee_required": "DanhSachLePhi",
    "paid_online": "DuocThanhToanTrucTuyen",
    "digitised_intake": "TaiLieuNop",
    "digitised_result": "DanhSachGiayToKetQua",
    "reused_digital_data": "HoSoCoThanhPhanSoHoa",
    "supplements": "DanhSachHoSoBoSung",
    "population_data": "TaiKhoanDuocXacThucVoiVNeID",
    "from_personal_store": "TaiLieuNop",
    "agency_code": "madonvi",
    "commune_code": "madonvi",
    "updated_at": "NgayTiepNhan",
}

_CODE = re.compile(CODE_PATTERN)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")
_PRICE = re.compile(r"^\d+(?:[.,]\d+)*$")


class _Malformed:
    """Stands in for a nested value of the wrong type, so that the value itself is never kept."""

    def __init__(self, expected: str) -> None:
        self.expected = expected


NOT_A_LIST: Final = _Malformed("list")
NOT_AN_OBJECT: Final = _Malformed("object")


def _lookup(item: Mapping[Any, Any], wanted: tuple[str, ...]) -> dict[str, Any]:
    lowered = {name.lower(): name for name in wanted}
    out: dict[str, Any] = {}
    for key, value in item.items():
        name = lowered.get(key.lower()) if isinstance(key, str) else None
        if name is not None and name not in out:
            out[name] = value
    return out


def _keep_items(value: Any, wanted: tuple[str, ...]) -> Any:
    if value is None or value == "":
        return None  # no value: read as an empty list, and as "not sent" where that matters
    if not isinstance(value, list):
        return NOT_A_LIST
    items: list[Any] = []
    for item in value:
        if not isinstance(item, dict):
            items.append(NOT_AN_OBJECT)
            continue
        kept = _lookup(item, wanted)
        for name in LINK_FIELDS.intersection(kept):
            # Only whether a link is there matters; the link itself is not kept.
            link = kept[name]
            kept[name] = isinstance(link, str) and link.strip() != ""
        items.append(kept)
    return items


def keep_known(raw: Mapping[Any, Any]) -> dict[str, Any]:
    """The fields the mapping reads, under their canonical names; everything else is dropped here."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = _CANONICAL.get(key.lower()) if isinstance(key, str) else None
        if name is None or name in out:
            continue
        out[name] = _keep_items(value, LIST_FIELDS[name]) if name in LIST_FIELDS else value
    return out


class FieldError(Exception):
    """A value that cannot be read; the message names what is expected, never the value."""

    def __init__(self, msg: str, kind: str) -> None:
        super().__init__(msg)
        self.msg = msg
        self.kind = kind


def text(value: Any) -> str:
    """A string field: numbers are accepted as their digits, null and missing as empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        raise FieldError("must be a string", "string_type")
    if isinstance(value, int):
        try:
            return str(value)
        except ValueError as exc:  # past Python's 4,300-digit limit of int → str
            raise FieldError("must be a string (this number is too long to read)", "string_type") from exc
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        # 1.000470 sent as a number arrives as 1.00047: the code cannot be read back exactly.
        raise FieldError("must be a string (a number with decimals loses its trailing zeros)", "string_type")
    raise FieldError("must be a string", "string_type")


def code_value(value: Any) -> str:
    """A small code (status, channel, flag): leading zeros do not matter ("04" is 4)."""
    t = "1" if value is True else "0" if value is False else text(value)
    # ASCII digits only: str.isdigit also accepts "²" or "٣", which int() refuses or reads otherwise.
    # Leading zeros are cut as text: int() refuses strings of more than 4,300 digits.
    if t.isascii() and t.isdigit():
        return t.lstrip("0") or "0"
    return t


def flag(value: Any) -> str:
    """A 0/1/2 flag; anything unreadable counts as not set (the format says "else: not")."""
    try:
        return code_value(value)
    except Exception:
        return ""


def _date_parts(t: str) -> datetime:
    m = _COMPACT.match(t)
    if m:
        y, mo, d, h, mi, s = (int(g) for g in m.groups())
        return datetime(y, mo, d, h, mi, s, tzinfo=VN_TZ)
    m = _DMY.match(t)
    if m:
        d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        h, mi, s = (int(m.group(i) or 0) for i in (4, 5, 6))
        return datetime(y, mo, d, h, mi, s, tzinfo=VN_TZ)
    if _ISO.match(t):
        if len(t) == 10:
            return datetime.combine(date.fromisoformat(t), time(0), VN_TZ)
        return parse_timestamp(t).astimezone(VN_TZ)
    raise ValueError


def portal_time(value: Any, *, deadline: bool = False) -> datetime | None:
    """A portal date (yyyyMMddHHmmss, Vietnam local time) as an aware UTC instant; empty is None.

    ISO 8601 and dd/MM/yyyy[ HH:mm[:ss]] are accepted too. For a deadline, a time of exactly
    00:00:00 is read as a date written without its time, i.e. the end of that day (contract §2).
    """
    t = text(value)
    if t == "":
        return None
    try:
        local = _date_parts(t)
        if deadline and local.time() == time(0):
            local += timedelta(days=1)
        return to_utc(local)
    except (ValueError, OverflowError) as exc:
        raise FieldError(
            "must be a date and time as yyyyMMddHHmmss (Vietnam local time)", "datetime_from_date_parsing"
        ) from exc


def price_above_zero(value: Any) -> bool:
    """Whether a fee's `Gia` is above 0; a string or a number, with `.`/`,` separators accepted."""
    if value is None:
        return False
    if isinstance(value, bool):
        raise FieldError("must be a price (a number of 0 or more)", "decimal_type")
    if isinstance(value, int):
        # No float conversion: an int past a float's range would overflow it.
        if value < 0:
            raise FieldError("must be a price (a number of 0 or more)", "decimal_parsing")
        return value > 0
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0:
            raise FieldError("must be a price (a number of 0 or more)", "decimal_parsing")
        return value > 0
    if isinstance(value, str):
        t = value.strip().replace(" ", "")
        if t == "":
            return False
        if not _PRICE.match(t):
            raise FieldError("must be a price (a number of 0 or more)", "decimal_parsing")
        return any(c in "123456789" for c in t)
    raise FieldError("must be a price (a number of 0 or more)", "decimal_type")


def slug_of(code: str) -> str | None:
    """A sector slug made from an unmapped MaLinhVuc code: ASCII, lower case, `_` between words."""
    folded = unicodedata.normalize("NFKD", code.replace("đ", "d").replace("Đ", "D"))
    ascii_only = folded.encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_only).strip("_")[:64].rstrip("_")
    return slug or None


@dataclass(frozen=True, slots=True)
class MappingContext:
    """What a record is mapped with besides itself: the envelope's agency and the sector mapping."""

    agency_code: str
    commune_code: str | None
    sectors: Mapping[str, str]


@dataclass(slots=True)
class Mapped:
    """The outcome of mapping one portal record."""

    code: str | None
    record: dict[str, Any] | None = None
    skipped_status: str | None = None
    errors: Errors = field(default_factory=list)
    warnings: Errors = field(default_factory=list)
    # Contract field → portal field, where this record's value came from (for error messages).
    sources: dict[str, str] = field(default_factory=lambda: dict(PORTAL_FIELD))
    # Contract fields the record does not carry a value for: a stored dossier keeps its own.
    keep_stored: frozenset[str] = frozenset()


def _err(loc: list[str | int], msg: str, kind: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": kind}


def _unexpected(loc: list[str | int], exc: Exception) -> dict[str, Any]:
    """The error of a field whose reading failed in a way the mapping does not foresee: logged (the
    exception's type only: its message may quote the value), and named by field, never echoed."""
    log.error(
        "portal field %s could not be read: %s", ".".join(map(str, loc)), type(exc).__name__, exc_info=exc
    )
    return _err(loc, "could not be read", "value_error")


class _Reader:
    """Reads fields of one kept record, collecting errors instead of stopping at the first."""

    def __init__(self, kept: dict[str, Any]) -> None:
        self.kept = kept
        self.errors: Errors = []

    def text(self, name: str) -> str:
        try:
            return text(self.kept.get(name))
        except FieldError as exc:
            self.errors.append(_err([name], exc.msg, exc.kind))
        except Exception as exc:
            self.errors.append(_unexpected([name], exc))
        return ""

    def time(self, name: str, *, deadline: bool = False) -> datetime | None:
        try:
            return portal_time(self.kept.get(name), deadline=deadline)
        except FieldError as exc:
            self.errors.append(_err([name], exc.msg, exc.kind))
        except Exception as exc:
            self.errors.append(_unexpected([name], exc))
        return None

    def items(self, name: str) -> list[tuple[int, dict[str, Any]]]:
        value = self.kept.get(name) or []
        if value is NOT_A_LIST:
            self.errors.append(_err([name], "must be a list", "list_type"))
            return []
        out: list[tuple[int, dict[str, Any]]] = []
        for i, item in enumerate(value):
            if item is NOT_AN_OBJECT:
                self.errors.append(_err([name, i], "must be an object", "model_type"))
            else:
                out.append((i, item))
        return out


SUPPLEMENTS: Final = "DanhSachHoSoBoSung"
_SUPPLEMENT_FIELD: Final = {"requested_at": "NgayBoSung", "supplied_at": "NgayTiepNhanBoSung"}
_SUPPLEMENT_NAMES: Final = re.compile(r"\b(requested_at|supplied_at|received_at)\b")
_SET_ASIDE: Final = f"; {SUPPLEMENTS} is set aside (a stored dossier keeps its supplement requests)"


def _portal_names(msg: str) -> str:
    return _SUPPLEMENT_NAMES.sub(lambda m: _SUPPLEMENT_FIELD.get(m.group(1), "NgayTiepNhan"), msg)


def read_supplements(value: Any, received: datetime) -> tuple[tuple[Supplement, ...] | None, Errors]:
    """The requests of a kept DanhSachHoSoBoSung, in the order of their NgayBoSung; or None and the
    warnings (`ignored`) saying why the list cannot be used. An unusable list never rejects the record."""
    if value is NOT_A_LIST:
        return None, [_err([SUPPLEMENTS], "must be a list" + _SET_ASIDE, "ignored")]
    if len(value) > MAX_SUPPLEMENTS:
        msg = f"lists more than {MAX_SUPPLEMENTS} supplement requests"
        return None, [_err([SUPPLEMENTS], msg + _SET_ASIDE, "ignored")]
    problems: Errors = []
    read: list[tuple[datetime, int, datetime | None]] = []
    for i, item in enumerate(value):
        if item is NOT_AN_OBJECT:
            problems.append(_err([SUPPLEMENTS, i], "must be an object" + _SET_ASIDE, "ignored"))
            continue
        times: list[datetime | None] = []
        for name in ("NgayBoSung", "NgayTiepNhanBoSung"):
            try:
                times.append(portal_time(item.get(name)))
            except FieldError as exc:
                problems.append(_err([SUPPLEMENTS, i, name], exc.msg + _SET_ASIDE, "ignored"))
            except Exception as exc:
                unexpected = _unexpected([SUPPLEMENTS, i, name], exc)
                problems.append({**unexpected, "msg": unexpected["msg"] + _SET_ASIDE, "type": "ignored"})
        if len(times) < 2:
            continue
        requested, supplied = times
        if requested is None:
            problems.append(_err([SUPPLEMENTS, i, "NgayBoSung"], "is empty" + _SET_ASIDE, "ignored"))
            continue
        read.append((requested, i, supplied))
    if problems:
        return None, problems
    read.sort(key=lambda t: (t[0], t[1]))
    requests = tuple(Supplement(requested, supplied) for requested, _, supplied in read)
    for j, name, msg in supplement_errors(received, requests):
        loc: list[str | int] = [SUPPLEMENTS, read[j][1], _SUPPLEMENT_FIELD[name]]
        problems.append(_err(loc, _portal_names(msg) + _SET_ASIDE, "ignored"))
    return (None, problems) if problems else (requests, [])


def record_code(kept: Mapping[str, Any]) -> str | None:
    """The record's MaHoSo for reports, when it is a well-formed code."""
    try:
        code = text(kept.get("MaHoSo"))
    except FieldError:
        return None
    return code if _CODE.match(code) else None


def map_record(raw: Any, ctx: MappingContext) -> Mapped:
    """Map one portal record; personal data is dropped before anything else is read."""
    if not isinstance(raw, dict):
        return Mapped(None, errors=[_err([], "a record must be a JSON object", "model_type")])
    kept = keep_known(raw)
    out = Mapped(record_code(kept))
    r = _Reader(kept)

    try:
        status_code = code_value(kept.get("TrangThaiHoSo"))
    except FieldError as exc:
        r.errors.append(_err(["TrangThaiHoSo"], exc.msg, exc.kind))
        status_code = ""
    except Exception as exc:
        r.errors.append(_unexpected(["TrangThaiHoSo"], exc))
        status_code = ""
    if status_code in SKIPPED_STATUSES:
        out.skipped_status = status_code
        return out
    status = STATUS_MAP.get(status_code)
    if status is None and not r.errors:
        msg = "is required" if status_code == "" else "must be one of the status codes 1 to 10"
        r.errors.append(_err(["TrangThaiHoSo"], msg, "missing" if status_code == "" else "enum"))

    code = r.text("MaHoSo")
    if code == "" and not any(e["loc"] == ["MaHoSo"] for e in r.errors):
        r.errors.append(_err(["MaHoSo"], "is required", "missing"))
    procedure_code = r.text("MaTTHC")
    if procedure_code == "" and not any(e["loc"] == ["MaTTHC"] for e in r.errors):
        r.errors.append(_err(["MaTTHC"], "is required", "missing"))
    procedure_name = r.text("TenTTHC") or None

    sector: str | None = None
    sector_code = r.text("MaLinhVuc")
    if sector_code:
        sector = ctx.sectors.get(sector_code) or slug_of(sector_code)
        if sector is None:
            out.warnings.append(
                _err(
                    ["MaLinhVuc"], "has no letter or digit to make a sector from; no sector is set", "ignored"
                )
            )

    channel: str | None = None
    try:
        channel_code = code_value(kept.get("KenhThucHien"))
        channel = CHANNEL_MAP.get(channel_code) if channel_code else "in_person"
        if channel is None:
            r.errors.append(_err(["KenhThucHien"], "must be 1 (in person), 2 (online) or 3 (postal)", "enum"))
    except FieldError as exc:
        r.errors.append(_err(["KenhThucHien"], exc.msg, exc.kind))
    except Exception as exc:
        r.errors.append(_unexpected(["KenhThucHien"], exc))

    received = r.time("NgayTiepNhan")
    if received is None and not any(e["loc"] == ["NgayTiepNhan"] for e in r.errors):
        r.errors.append(_err(["NgayTiepNhan"], "is required: the dossier's reception time", "missing"))
    due = r.time("NgayHenTra", deadline=True)
    finished_at = r.time("NgayKetThucXuLy")
    refused_at = r.time("NgayTuChoi")
    returned = r.time("NgayTra")
    events = {
        "NgayTiepNhan": received,
        "NgayKetThucXuLy": finished_at,
        "NgayTuChoi": refused_at,
        "NgayTra": returned,
    }

    fee_required = False
    for i, fee in r.items("DanhSachLePhi"):
        try:
            fee_required = price_above_zero(fee.get("Gia")) or fee_required
        except FieldError as exc:
            r.errors.append(_err(["DanhSachLePhi", i, "Gia"], exc.msg, exc.kind))
        except Exception as exc:
            r.errors.append(_unexpected(["DanhSachLePhi", i, "Gia"], exc))
    files = [item for _, item in r.items("TaiLieuNop")]
    results = [item for _, item in r.items("DanhSachGiayToKetQua")]

    if r.errors or status is None or received is None or channel is None:
        out.errors = r.errors
        return out

    keep_stored: set[str] = set()
    supplements: tuple[Supplement, ...] = ()
    if kept.get(SUPPLEMENTS) is None:
        keep_stored.add("supplements")
    else:
        found, problems = read_supplements(kept[SUPPLEMENTS], received)
        if found is None:
            keep_stored.add("supplements")
            out.warnings.extend(problems)
        else:
            supplements = found

    # The version's time: the latest event, supplement requests and supplies included (the first
    # field listed wins a tie, the supplement list coming last).
    candidates = [(t, f) for f in EVENT_FIELDS if (t := events[f]) is not None]
    candidates += [
        (t, SUPPLEMENTS) for s in supplements for t in (s.requested_at, s.supplied_at) if t is not None
    ]
    latest, latest_field = max(candidates, key=lambda pair: pair[0])
    out.sources["updated_at"] = latest_field

    resolved = finished_at
    if resolved is None and status == "rejected" and refused_at is not None:
        resolved = refused_at
        out.sources["resolved_at"] = "NgayTuChoi"
    if resolved is None and status in ("withdrawn", "rejected"):
        resolved = latest
        out.sources["resolved_at"] = latest_field
        out.warnings.append(
            _err(
                ["NgayKetThucXuLy"],
                f"empty for status {status_code}: the latest date in the record ({latest_field}) "
                "is taken as the close time",
                "repaired",
            )
        )
    if returned is None and status == "returned" and resolved is not None:
        returned = resolved
        out.sources["returned_at"] = out.sources["resolved_at"]
        out.warnings.append(
            _err(
                ["NgayTra"],
                "empty for status 10: NgayKetThucXuLy is taken as the return time",
                "repaired",
            )
        )

    paid_online = flag(kept.get("DuocThanhToanTrucTuyen")) in ("1", "2")
    if paid_online and not fee_required:
        paid_online = False
        out.warnings.append(
            _err(
                ["DuocThanhToanTrucTuyen"],
                "says paid online, but DanhSachLePhi lists no fee above 0: not counted as paid online",
                "ignored",
            )
        )
    vneid = flag(kept.get("TaiKhoanDuocXacThucVoiVNeID"))
    has_result_link = any(item.get("DuongDanTepTinKetQua") is True for item in results)
    digitised_result = has_result_link and status in FINISHED_STATUSES
    if has_result_link and not digitised_result:
        out.warnings.append(
            _err(
                ["DanhSachGiayToKetQua"],
                f"carries a result link, but status {status_code} is not a finished dossier: "
                "not counted as an electronic result",
                "ignored",
            )
        )

    out.record = {
        "code": code,
        "procedure_code": procedure_code,
        "procedure_name": procedure_name,
        "sector": sector,
        "agency_code": ctx.agency_code,
        "commune_code": ctx.commune_code,
        "channel": channel,
        "received_at": received,
        "due_at": due,
        "resolved_at": resolved,
        "returned_at": returned,
        "status": status,
        "fee_required": fee_required,
        "paid_online": paid_online,
        # As the national description reads the flags: intake is digitised when a submitted file
        # has its file attached (a link); HoSoCoThanhPhanSoHoa and DuocSoHoa mean reuse of
        # digitised data, as DuocTaiSuDung does.
        "digitised_intake": any(f.get(link) is True for f in files for link in FILE_LINKS),
        "digitised_result": digitised_result,
        "reused_digital_data": flag(kept.get("HoSoCoThanhPhanSoHoa")) == "1"
        or any(flag(f.get("DuocSoHoa")) == "1" or flag(f.get("DuocTaiSuDung")) in ("1", "2") for f in files),
        "supplements": [{"requested_at": s.requested_at, "supplied_at": s.supplied_at} for s in supplements],
        "population_data": vneid == "1",
        "from_personal_store": any(flag(f.get("DuocLayTuKhoDMQG")) == "1" for f in files),
        "updated_at": latest,
    }
    if vneid == "":
        keep_stored.add("population_data")
    if kept.get("TaiLieuNop") is None:
        keep_stored.add("from_personal_store")
    out.keep_stored = frozenset(keep_stored)
    return out


_CONTRACT_NAME = re.compile(
    r"\b(" + "|".join(sorted((f for f in PORTAL_FIELD if "_" in f), key=len, reverse=True)) + r")\b"
)


def translate_errors(errors: Errors, sources: Mapping[str, str]) -> Errors:
    """Contract-validation errors of a mapped record, in the portal's field names."""
    out: Errors = []
    for e in errors:
        loc = list(e.get("loc", []))
        if loc and isinstance(loc[0], str) and loc[0] in sources:
            loc[0] = sources[loc[0]]
        msg = _CONTRACT_NAME.sub(lambda m: sources.get(m.group(1), m.group(1)), str(e.get("msg", "")))
        entry = {"loc": loc, "msg": msg, "type": e.get("type", "")}
        if entry not in out:
            out.append(entry)
    return out
