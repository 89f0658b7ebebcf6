"""A realistic synthetic dataset for the configured province: its real wards, plausible agencies,
sectors and procedures, channels, deadlines, and realistic shares of late, online and pending dossiers.

Dossiers are received, resolved and returned in office hours (07:30–17:00) on working days of the
working-day calendar (weekends and public holidays off), and deadlines count its working days; about
3% of these moments fall outside (an online filing at night, a result signed on a Saturday). Those
hours and exceptions come from a random stream of their own, so the other draws do not depend on them.

The national index's inputs come from streams of their own too, so adding them moved no other field:
each record's supplement requests (about 10%, every one answered before the end of a finished
dossier; an open `supplement_requested` one has its last request unanswered, a few have two),
`complaint` (about 2%, more often on late or dissatisfied ones), `population_data` (about 40%) and
`from_personal_store` (about 15%); the procedure catalogue of the demo's codes (`demo_catalogue`) and
the declared indicators of its periods (`demo_declared`, from what `DemoTally` saw of the records).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import orjson

from app.core.calendar import WorkingCalendar
from app.core.communes import communes_of
from app.core.timeutil import VN_TZ
from app.reference.agencies import seed_agencies

# (sector slug, procedure codes and their legal processing time in days, handled at province or commune level)
SECTORS: list[tuple[str, str, int, int]] = [
    # slug, level, number of procedures, typical deadline (days)
    ("ho_tich", "commune", 12, 3),
    ("chung_thuc", "commune", 6, 1),
    ("dat_dai", "commune", 10, 20),
    ("xay_dung", "province", 8, 15),
    ("dau_tu", "province", 8, 15),
    ("doanh_nghiep", "province", 6, 3),
    ("giao_duc", "province", 5, 10),
    ("y_te", "province", 6, 20),
    ("lao_dong", "province", 5, 10),
    ("tu_phap", "province", 5, 7),
    ("giao_thong", "province", 6, 5),
    ("bao_tro_xa_hoi", "commune", 6, 10),
    ("nong_nghiep", "commune", 4, 10),
    ("moi_truong", "province", 4, 20),
]
DEPARTMENT_SECTORS = {
    "000.00.02.H41": ["lao_dong"],
    "000.00.03.H41": ["dau_tu", "doanh_nghiep"],
    "000.00.04.H41": ["tu_phap"],
    "000.00.05.H41": ["doanh_nghiep"],
    "000.00.06.H41": ["dat_dai", "moi_truong", "nong_nghiep"],
    "000.00.07.H41": ["xay_dung", "giao_thong"],
    "000.00.09.H41": ["giao_duc"],
    "000.00.10.H41": ["y_te"],
    "000.00.14.H41": ["dau_tu", "xay_dung", "moi_truong"],
    "000.00.15.H41": ["giao_thong"],
}

# The catalogue's procedure names, per sector, in the order of the sector's codes.
NAMES: dict[str, tuple[str, ...]] = {
    "ho_tich": (
        "Đăng ký khai sinh",
        "Đăng ký kết hôn",
        "Đăng ký khai tử",
        "Đăng ký nhận cha, mẹ, con",
        "Đăng ký giám hộ",
        "Đăng ký chấm dứt giám hộ",
        "Đăng ký thay đổi, cải chính, bổ sung thông tin hộ tịch",
        "Cấp giấy xác nhận tình trạng hôn nhân",
        "Đăng ký lại khai sinh",
        "Đăng ký lại kết hôn",
        "Cấp bản sao trích lục hộ tịch",
        "Liên thông đăng ký khai sinh, đăng ký thường trú, cấp thẻ bảo hiểm y tế cho trẻ em dưới 6 tuổi",
    ),
    "chung_thuc": (
        "Chứng thực bản sao từ bản chính giấy tờ, văn bản",
        "Chứng thực chữ ký trong các giấy tờ, văn bản",
        "Chứng thực hợp đồng, giao dịch liên quan đến tài sản là động sản",
        "Chứng thực di chúc",
        "Chứng thực văn bản thỏa thuận phân chia di sản",
        "Chứng thực việc sửa đổi, bổ sung, hủy bỏ hợp đồng, giao dịch",
    ),
    "dat_dai": (
        "Đăng ký đất đai, tài sản gắn liền với đất lần đầu",
        "Đăng ký biến động do chuyển nhượng quyền sử dụng đất",
        "Đăng ký biến động do thừa kế, tặng cho quyền sử dụng đất",
        "Tách thửa hoặc hợp thửa đất",
        "Cấp đổi giấy chứng nhận quyền sử dụng đất",
        "Cấp lại giấy chứng nhận quyền sử dụng đất do bị mất",
        "Chuyển mục đích sử dụng đất",
        "Đăng ký thế chấp quyền sử dụng đất",
        "Xóa đăng ký thế chấp quyền sử dụng đất",
        "Hòa giải tranh chấp đất đai",
    ),
    "xay_dung": (
        "Cấp giấy phép xây dựng mới công trình",
        "Cấp giấy phép xây dựng sửa chữa, cải tạo công trình",
        "Điều chỉnh giấy phép xây dựng",
        "Gia hạn giấy phép xây dựng",
        "Thẩm định báo cáo nghiên cứu khả thi đầu tư xây dựng",
        "Thẩm định thiết kế xây dựng triển khai sau thiết kế cơ sở",
        "Cấp chứng chỉ hành nghề hoạt động xây dựng",
        "Cấp giấy phép di dời công trình",
    ),
    "dau_tu": (
        "Chấp thuận chủ trương đầu tư",
        "Điều chỉnh chủ trương đầu tư",
        "Cấp giấy chứng nhận đăng ký đầu tư",
        "Điều chỉnh giấy chứng nhận đăng ký đầu tư",
        "Gia hạn thời hạn hoạt động của dự án đầu tư",
        "Chấm dứt hoạt động của dự án đầu tư",
        "Thẩm định dự án đầu tư theo phương thức đối tác công tư",
        "Cung cấp thông tin về dự án đầu tư",
    ),
    "doanh_nghiep": (
        "Đăng ký thành lập doanh nghiệp tư nhân",
        "Đăng ký thành lập công ty trách nhiệm hữu hạn một thành viên",
        "Đăng ký thay đổi nội dung đăng ký doanh nghiệp",
        "Thông báo tạm ngừng kinh doanh",
        "Đăng ký giải thể doanh nghiệp",
        "Đăng ký hoạt động chi nhánh, văn phòng đại diện",
    ),
    "giao_duc": (
        "Chuyển trường đối với học sinh trung học phổ thông",
        "Cấp bản sao văn bằng, chứng chỉ từ sổ gốc",
        "Chỉnh sửa nội dung văn bằng, chứng chỉ",
        "Cho phép trung tâm ngoại ngữ, tin học hoạt động giáo dục",
        "Công nhận trường đạt chuẩn quốc gia",
    ),
    "y_te": (
        "Cấp chứng chỉ hành nghề khám bệnh, chữa bệnh",
        "Cấp giấy phép hoạt động đối với phòng khám",
        "Cấp chứng chỉ hành nghề dược",
        "Cấp giấy chứng nhận đủ điều kiện kinh doanh dược",
        "Cấp giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm",
        "Công bố cơ sở đủ điều kiện thực hiện khám sức khỏe",
    ),
    "lao_dong": (
        "Cấp giấy phép lao động cho người lao động nước ngoài",
        "Xác nhận người lao động nước ngoài không thuộc diện cấp giấy phép lao động",
        "Đăng ký nội quy lao động",
        "Cấp giấy phép hoạt động cho thuê lại lao động",
        "Giải quyết hưởng trợ cấp thất nghiệp",
    ),
    "tu_phap": (
        "Cấp phiếu lý lịch tư pháp",
        "Đăng ký hoạt động văn phòng công chứng",
        "Cấp thẻ công chứng viên",
        "Đăng ký hoạt động tổ chức hành nghề luật sư",
        "Cấp thẻ đấu giá viên",
    ),
    "giao_thong": (
        "Cấp đổi giấy phép lái xe",
        "Cấp lại giấy phép lái xe",
        "Cấp giấy phép kinh doanh vận tải bằng xe ô tô",
        "Cấp phù hiệu xe ô tô kinh doanh vận tải",
        "Cấp giấy phép thi công công trình trên đường bộ đang khai thác",
        "Cấp giấy phép lưu hành xe quá tải trọng, quá khổ giới hạn",
    ),
    "bao_tro_xa_hoi": (
        "Thực hiện, điều chỉnh, thôi hưởng trợ cấp xã hội hằng tháng",
        "Xác định, xác định lại mức độ khuyết tật và cấp giấy xác nhận khuyết tật",
        "Hỗ trợ chi phí mai táng cho đối tượng bảo trợ xã hội",
        "Công nhận hộ nghèo, hộ cận nghèo phát sinh trong năm",
        "Trợ giúp xã hội khẩn cấp về hỗ trợ làm nhà ở",
        "Đăng ký hoạt động đối với cơ sở trợ giúp xã hội dưới 10 đối tượng",
    ),
    "nong_nghiep": (
        "Hỗ trợ khôi phục sản xuất vùng bị thiệt hại do thiên tai",
        "Xác nhận bảng kê lâm sản",
        "Phê duyệt kế hoạch khuyến nông địa phương",
        "Công nhận và giao quyền quản lý công trình thủy lợi nhỏ",
    ),
    "moi_truong": (
        "Cấp giấy phép môi trường",
        "Thẩm định báo cáo đánh giá tác động môi trường",
        "Cấp giấy phép khai thác nước dưới đất",
        "Cấp giấy phép thăm dò khoáng sản",
    ),
}


def _procedures() -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    n = 1000
    for slug, _level, count, days in SECTORS:
        out[slug] = []
        for i in range(count):
            n += 7
            out[slug].append((f"1.{n:06d}", max(1, days + (i % 3) - 1)))
    return out


def _at(day: date, hour: float) -> datetime:
    h = int(hour)
    m = int((hour - h) * 60)
    return datetime.combine(day, time(h, m), VN_TZ)


OPEN, CLOSE = 7.5, 17.0  # office hours, 07:30–17:00
EXCEPTIONS = 0.03  # the share of moments outside office hours or on a day off


def _hour(t: datetime) -> float:
    local = t.astimezone(VN_TZ)
    return local.hour + local.minute / 60 + local.second / 3600 + local.microsecond / 3.6e9


class _Office:
    """Moves a moment into office hours of a working day, never earlier; about 3% are left outside."""

    def __init__(self, calendar: WorkingCalendar, seed: int) -> None:
        self.calendar = calendar
        self.rng = random.Random(f"office-hours-{seed}")

    def received(self, day: date, hour: float, last: date) -> datetime:
        """A receipt on `day` (a working day) at `hour` (in office hours), or an exception: the same
        day at night, or the weekend or holiday after it when that is not after `last`."""
        if self.rng.random() >= EXCEPTIONS:
            return _at(day, hour)
        evening = _at(day, self.rng.uniform(CLOSE, 22.0))
        if self.rng.random() < 0.5:
            return evening
        off = day + timedelta(days=1)
        while self.calendar.is_working_day(off):
            off += timedelta(days=1)
        return _at(off, self.rng.uniform(8.0, 20.0)) if off <= last else evening

    def later(self, t: datetime, *, latest: datetime | None = None) -> datetime:
        """`t` if it is in office hours of a working day, else the next such moment after it; with the
        exceptions, `t` as it is, or the evening of its day when that is still before `latest`."""
        day, hour = t.astimezone(VN_TZ).date(), _hour(t)
        working = self.calendar.is_working_day(day)
        if self.rng.random() < EXCEPTIONS:
            if working and OPEN <= hour <= CLOSE:
                evening = _at(day, self.rng.uniform(CLOSE, 20.0))
                if latest is None or evening <= latest:
                    return evening
            return t
        if working and OPEN <= hour <= CLOSE:
            return t
        if working and hour < OPEN:
            return _at(day, self.rng.uniform(OPEN, CLOSE))
        return _at(self.calendar.add_working_days(day, 1), self.rng.uniform(OPEN, CLOSE))


SUPPLEMENTED = 0.10  # the share of dossiers with supplement requests
TWO_REQUESTS = 0.15  # of those, the share with two requests (a supplement_requested one: 0.2)


class _IndexInputs:
    """A record's inputs of the national index, from a random stream of their own (none of the other
    fields depends on it): supplement requests, complaint, population data, the personal store."""

    def __init__(self, calendar: WorkingCalendar, seed: int) -> None:
        self.calendar = calendar
        self.rng = random.Random(f"index-inputs-{seed}")

    def draw(
        self,
        rec: dict[str, Any],
        received: datetime,
        resolved: datetime | None,
        updated: datetime,
        due: datetime | None,
        now: datetime,
    ) -> dict[str, Any]:
        """The fields for `rec`; `resolved` is None for an open dossier."""
        rng = self.rng
        requests, unanswered = 0, False
        if rec["status"] == "supplement_requested":
            requests, unanswered = (2 if rng.random() < 0.2 else 1), True
        elif rng.random() < SUPPLEMENTED:
            requests = 2 if rng.random() < TWO_REQUESTS else 1
        # Everything happens between the receipt and the end (a finished dossier's resolution: every
        # request answered before it) or, for an open one, its last update.
        end = resolved if resolved is not None else updated
        supplements = self._history(received, end, requests, unanswered) if requests else []
        late = due is not None and (resolved > due if resolved is not None else due < now)
        complaint = 0.5 if rec["rating"] == "dissatisfied" else 0.1 if late else 0.012
        online = rec["channel"] == "online"
        return {
            "supplements": supplements,
            "complaint": rng.random() < complaint,
            "population_data": rng.random() < (0.45 if online else 0.32),
            "from_personal_store": rng.random() < (0.22 if online else 0.04),
        }

    def _history(
        self, start: datetime, end: datetime, requests: int, unanswered: bool
    ) -> list[dict[str, Any]]:
        """`requests` requests in [start, end], each answered before the next, the last one unanswered
        when `unanswered`: the moments in order, each request moved into office hours when that keeps
        it before the moment after it."""
        n = 2 * requests - unanswered
        moments = [start + (end - start) * f for f in sorted(self.rng.random() for _ in range(n))]
        for k in range(0, n, 2):
            moved = self._office(moments[k])
            if moved <= (moments[k + 1] if k + 1 < n else end):
                moments[k] = moved
        local = [m.astimezone(VN_TZ).isoformat() for m in moments] + [None]
        return [{"requested_at": local[k], "supplied_at": local[k + 1]} for k in range(0, n, 2)]

    def _office(self, t: datetime) -> datetime:
        """`t` in office hours of a working day, or the next such moment (early in the morning)."""
        day, hour = t.astimezone(VN_TZ).date(), _hour(t)
        if self.calendar.is_working_day(day):
            if OPEN <= hour <= CLOSE:
                return t
            if hour < OPEN:
                return _at(day, self.rng.uniform(OPEN, OPEN + 2))
        return _at(self.calendar.add_working_days(day, 1), self.rng.uniform(OPEN, OPEN + 2))


def generate_demo(
    count: int,
    *,
    seed: int = 2025,
    year: int | None = None,
    now: datetime | None = None,
    province_code: int = 40,
    calendar: WorkingCalendar | None = None,
    index_inputs: bool = True,
) -> Iterator[dict[str, Any]]:
    """`count` dossier records received over a year (or the last 12 months), as the contract writes them;
    working days from `calendar` (default: the national one). Without `index_inputs`, the records
    carry none of the national index's fields (the other fields are the same either way)."""
    rng = random.Random(seed)
    calendar = calendar or WorkingCalendar()
    office = _Office(calendar, seed)
    inputs = _IndexInputs(calendar, seed) if index_inputs else None
    now = now or datetime.now(UTC)
    today = now.astimezone(VN_TZ).date()
    start = date(year, 1, 1) if year else today - timedelta(days=364)
    span = 365
    procedures = _procedures()
    communes = list(communes_of(province_code))
    agencies = seed_agencies(province_code)
    commune_agencies = [a for a in agencies if a.level == "commune"]
    departments = [a for a in agencies if a.level == "province" and a.code in DEPARTMENT_SECTORS]
    commune_sectors = [s for s, level, _, _ in SECTORS if level == "commune"]
    # Some units are better than others, so rankings mean something.
    late_bias = {a.code: rng.uniform(0.005, 0.08) for a in agencies}
    online_bias = {a.code: rng.uniform(0.35, 0.9) for a in agencies}
    prefix = f"DEMO{seed % 1000:03d}"
    # Receipts spread evenly over the working days of the span (up to today).
    in_span = [start + timedelta(days=k) for k in range(span)]
    last = min(in_span[-1], today)
    working_days = [d for d in in_span if d <= last and calendar.is_working_day(d)] or [min(start, today)]
    for i in range(count):
        day = working_days[int(len(working_days) * i / count)]
        if rng.random() < 0.65:
            agency = rng.choice(commune_agencies)
            commune = agency.commune_code
            sector = rng.choice(commune_sectors)
        else:
            agency = rng.choice(departments)
            commune = rng.choice(communes) if rng.random() < 0.7 else None
            sector = rng.choice(DEPARTMENT_SECTORS[agency.code])
        proc, days = rng.choice(procedures[sector])
        received = office.received(day, rng.uniform(OPEN, CLOSE), last)
        if received > now:
            received = now - timedelta(minutes=rng.randint(1, 600))
        channel = (
            "online"
            if rng.random() < online_bias[agency.code]
            else ("postal" if rng.random() < 0.08 else "in_person")
        )
        online_level = ("full" if rng.random() < 0.6 else "partial") if channel == "online" else None
        due = (
            _at(calendar.add_working_days(received.astimezone(VN_TZ).date(), days), CLOSE)
            if rng.random() < 0.97
            else None
        )
        fee = rng.random() < 0.4
        # How long it takes: mostly within the deadline, sometimes late.
        if due is not None and rng.random() < late_bias[agency.code]:
            resolved = due + timedelta(hours=rng.uniform(1, 24 * 10))
        else:
            limit = (due - received).total_seconds() if due else days * 86400
            resolved = received + timedelta(seconds=rng.uniform(0.1, 1.0) * limit)
        # Into office hours, never earlier, so a dossier on time stays on time (its deadline is the
        # end of a working day) and a late one stays late.
        resolved = office.later(resolved, latest=due if due is not None and resolved <= due else None)
        status: str
        rec: dict[str, Any] = {
            "code": f"{prefix}-{agency.code}-{i:08d}",
            "procedure_code": proc,
            "sector": sector,
            "agency_code": agency.code,
            "commune_code": commune,
            "channel": channel,
            "online_level": online_level,
            "received_at": received.isoformat(),
            "due_at": due.isoformat() if due else None,
            "fee_required": fee,
            "paid_online": fee and channel == "online" and rng.random() < 0.75,
            "digitised_intake": rng.random() < 0.8,
            "reused_digital_data": rng.random() < 0.3,
        }
        if resolved > now:
            status = "supplement_requested" if rng.random() < 0.1 else "processing"
            rec.update(
                status=status,
                resolved_at=None,
                returned_at=None,
                digitised_result=False,
                rating=None,
                apology_issued=bool(due and due < now and rng.random() < 0.6),
            )
            updated = max(received, now - timedelta(minutes=rng.randint(1, 120)))
        else:
            r = rng.random()
            status = (
                "withdrawn" if r < 0.01 else "rejected" if r < 0.03 else "returned" if r < 0.8 else "resolved"
            )
            returned = (
                office.later(resolved + timedelta(hours=rng.uniform(1, 48))) if status == "returned" else None
            )
            if returned and returned > now:
                returned = now
            finished = status != "withdrawn"
            late = due is not None and resolved > due
            rating = None
            if finished and rng.random() < 0.4:
                rating = rng.choices(
                    ["very_satisfied", "satisfied", "neutral", "dissatisfied"], [55, 37, 5, 3]
                )[0]
            rec.update(
                status=status,
                resolved_at=resolved.isoformat(),
                returned_at=returned.isoformat() if returned else None,
                digitised_result=finished and rng.random() < 0.75,
                rating=rating,
                apology_issued=late and rng.random() < 0.7,
            )
            updated = returned or resolved
        rec["updated_at"] = updated.isoformat()
        if inputs is not None:
            ended = resolved if rec["resolved_at"] is not None else None
            rec.update(inputs.draw(rec, received, ended, updated, due, now))
        yield rec


def write_ndjson(records: Iterator[dict[str, Any]], path: Path) -> int:
    n = 0
    with path.open("wb") as fh:
        for rec in records:
            fh.write(orjson.dumps(rec))
            fh.write(b"\n")
            n += 1
    return n


def demo_catalogue(seed: int = 2025) -> list[dict[str, Any]]:
    """A catalogue entry (as bulk PUT /v1/procedures takes it) for each of the demo's procedure codes:
    its sector's level, its legal time mostly in working days (the demo's deadline), some in days or
    hours, a few without one; about 40% with a fee, as the demo's dossiers have `fee_required`."""
    rng = random.Random(f"catalogue-{seed}")
    levels = {slug: level for slug, level, _, _ in SECTORS}
    out: list[dict[str, Any]] = []
    for sector, procedures in _procedures().items():
        for (code, days), name in zip(procedures, NAMES[sector], strict=True):
            r = rng.random()
            duration: dict[str, Any] | None
            if r < 0.06:
                duration = None
            elif r < 0.14:
                duration = {"value": days + 2 * (days // 5), "unit": "days"}  # weekends within
            elif r < 0.2:
                duration = {"value": 24 * days, "unit": "hours"}
            else:
                duration = {"value": days, "unit": "working_days"}
            fee = rng.random() < 0.4
            eligible = rng.random() < 0.7
            out.append(
                {
                    "code": code,
                    "name": name,
                    "sector": sector,
                    "level": levels[sector],
                    "max_duration": duration,
                    "paper_result": rng.random() < 0.55,
                    "fee": fee,
                    "full_online_eligible": eligible,
                    "full_online_offered": eligible and rng.random() < 0.85,
                    "online_payment_integrated": fee and rng.random() < 0.65,
                }
            )
    return out


def _month(instant: str) -> str:
    return datetime.fromisoformat(instant).astimezone(VN_TZ).strftime("%Y-%m")


def _quarter(month: str) -> str:
    return f"{month[:4]}-Q{(int(month[5:7]) + 2) // 3}"


@dataclass
class DemoTally:
    """What the declared values are drawn from, counted as the records go by (`watch`): per agency, the
    dossiers received each month, and the procedures and complaints of each quarter."""

    received: Counter[tuple[str, str]] = field(default_factory=Counter)  # (agency, YYYY-MM)
    procedures: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (agency, YYYY-Qn)
    complaints: Counter[tuple[str, str]] = field(default_factory=Counter)  # (agency, YYYY-Qn)

    def watch(self, records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for rec in records:
            agency, month = rec["agency_code"], _month(rec["received_at"])
            quarter = _quarter(month)
            self.received[agency, month] += 1
            self.procedures.setdefault((agency, quarter), set()).add(rec["procedure_code"])
            self.complaints[agency, quarter] += bool(rec.get("complaint"))
            yield rec


def _procedures_of(tally: DemoTally, agency: str | None, quarters: list[str]) -> set[str]:
    """The procedures with dossiers of `agency` (None: any) received in `quarters`."""
    return {
        code
        for (a, q), codes in tally.procedures.items()
        if (agency is None or a == agency) and q in quarters
        for code in codes
    }


def demo_declared(tally: DemoTally, *, seed: int = 2025, province_code: int = 40) -> list[dict[str, Any]]:
    """The declared indicators of the demo's periods, as PUT /v1/index/declared takes them: the
    province's 1.1–1.3 per quarter, and its own 1.4 per month and 4.5b, 4.6, 5.2, 5.3 per quarter; per
    agency with dossiers, 1.4 per month (its dossiers, a few not synced; about one agency in ten skips
    a month, so that quarter's 1.4 is missing), 4.5b for about three in four, 4.6 (a ratio) for most
    communes' committees and none of the departments, 5.2 and 5.3 (the complaints of its dossiers as
    petitions) for about four in five, each per quarter; and the year's value where every quarter of
    it has one. What is left out shows as `missing` in the index, and in its `reachable`."""
    rng = random.Random(f"declared-{seed}")
    months = sorted({m for _, m in tally.received})
    quarters = sorted({_quarter(m) for m in months})
    agencies = sorted({a for a, _ in tally.received})
    communes = {a.code for a in seed_agencies(province_code) if a.level == "commune"}
    items: list[dict[str, Any]] = []

    def put(period: str, code: str | None, indicator: str, numerator: int, denominator: int) -> None:
        unit = "province" if code is None else "agency"
        items.append(
            {"period": period, "unit": unit, "code": code, "indicator": indicator}
            | {"numerator": numerator, "denominator": denominator}
        )

    def some(n: int, p: float) -> int:
        """How many of `n` things happen, each with probability `p`."""
        return sum(rng.random() < p for _ in range(n))

    for q in quarters:
        for indicator in ("1.1", "1.2", "1.3"):
            published = rng.randint(20, 60)
            put(q, None, indicator, published - some(published, 0.04), published)
    # The province as a whole: its dossiers, procedures, communes and petitions.
    for m in months:
        n = sum(v for (_, month), v in tally.received.items() if month == m)
        put(m, None, "1.4", n - some(n, 0.02), n)
    for q in quarters:
        n = len(_procedures_of(tally, None, [q]))
        put(q, None, "4.5b", n - some(n, 0.3), n)
        n = sum(v for (_, quarter), v in tally.complaints.items() if quarter == q)
        put(q, None, "5.2", n - some(n, 0.15), n)
        put(q, None, "5.3", n - some(n, 0.25), n)
    province_copies: list[int] = []
    for a in agencies:
        skipped = rng.choice(months) if rng.random() < 0.1 else None
        for m in months:
            if m != skipped:
                n = tally.received[a, m]
                put(m, a, "1.4", n - some(n, 0.02), n)
        population = rng.random() < 0.75
        copies = 1.0 if rng.random() < 0.8 else 0.0
        certifies = a in communes and rng.random() < 0.85
        petitions = rng.random() < 0.8
        if certifies:
            province_copies.append(int(copies))
        for q in quarters:
            if population:
                n = len(tally.procedures.get((a, q), ()))
                put(q, a, "4.5b", n - some(n, 0.3), n)
            if certifies:
                items.append({"period": q, "unit": "agency", "code": a, "indicator": "4.6", "ratio": copies})
            if petitions:
                n = tally.complaints[a, q]
                put(q, a, "5.2", n - some(n, 0.15), n)
                put(q, a, "5.3", n - some(n, 0.25), n)
    if province_copies:
        for q in quarters:
            put(q, None, "4.6", sum(province_copies), len(province_copies))
    # A year whose four quarters are all declared for a unit and indicator: their sums (4.6, constant
    # over the quarters: the quarters' value).
    by_year: dict[tuple[str, str | None, str], list[dict[str, Any]]] = {}
    for item in items:
        if "-Q" in item["period"]:
            by_year.setdefault((item["period"][:4], item["code"], item["indicator"]), []).append(item)
    for (year, code, indicator), parts in by_year.items():
        if len(parts) != 4:
            continue
        if indicator == "4.5b":
            # The year's procedures once each, not once a quarter; the quarters' share connected.
            n = len(_procedures_of(tally, code, [f"{year}-Q{k}" for k in range(1, 5)]))
            connected, total = sum(p["numerator"] for p in parts), sum(p["denominator"] for p in parts)
            put(year, code, indicator, round(n * connected / total) if total else 0, n)
        elif indicator == "4.6":
            # Whether communes offer electronic certified copies: as in each quarter.
            items.append({**parts[0], "period": year})
        else:
            put(
                year,
                code,
                indicator,
                sum(p["numerator"] for p in parts),
                sum(p["denominator"] for p in parts),
            )
    return items
