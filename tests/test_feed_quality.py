"""The quality of the feed: rejected records' reasons and accepted versions' warnings, counted per
token, agency and local day at ingest, read by GET /v1/feed-quality, pruned by age (both stores)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.api.audit import Pruner
from app.config import Settings
from app.feedquality.store import prune
from app.main import create_app
from tests.conftest import ADMIN_TOKEN, Clock
from tests.dvcqg_factory import URL, envelope, portal
from tests.factory import AGENCY, OTHER_AGENCY, rec
from tests.ingesting import NDJSON, ndjson, post

A, B = AGENCY, OTHER_AGENCY
P1, P2 = "1.004227", "2.000002"  # P1 is catalogued with 5 working days; P2 is not in the catalogue

DUE_BEFORE = ("due_at", "due_at is before received_at", "value_error")
NOT_REGISTERED = ("agency_code", "agency_code is not a registered agency", "unknown_agency")
UNKNOWN_FIELD = ("(unknown field)", "Extra inputs are not permitted", "extra_forbidden")
PAID = ("paid_online", "paid_online is only allowed when fee_required is true", "value_error")
FORBIDDEN = ("agency_code", "the token may not write dossiers of this agency", "forbidden")


def _app(engine: Engine, db_url: str, clock: Clock, **env: Any) -> Iterator[TestClient]:
    settings = Settings(DATABASE_URL=db_url, TTHC_ADMIN_TOKEN=ADMIN_TOKEN, **env)
    with TestClient(create_app(settings, engine=engine, clock=clock), base_url="http://testserver") as c:
        c.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        yield c


def _token(admin: TestClient, scopes: list[str], agencies: list[str] | None) -> tuple[str, TestClient]:
    r = admin.post("/v1/tokens", json={"label": "t", "scopes": scopes, "agencies": agencies})
    assert r.status_code in (200, 201), r.text
    c = TestClient(admin.app, base_url="http://testserver")
    c.headers["Authorization"] = f"Bearer {r.json()['token']}"
    return str(r.json()["id"]), c


def _fq(c: TestClient, **params: Any) -> dict[str, Any]:
    r = c.get("/v1/feed-quality", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "private, no-store"
    out: dict[str, Any] = r.json()
    return out


def _rules(doc: dict[str, Any]) -> dict[tuple[str, str, str], int]:
    return {(x["field"], x["rule"], x["type"]): x["count"] for x in doc["rejected"]["by_rule"]}


def _send(c: TestClient, records: list[Any]) -> dict[str, Any]:
    return post(c, records)


def test_rejected_records_of_two_tokens_and_an_unknown_agency(client: TestClient, clock: Clock) -> None:
    t1, one = _token(client, ["ingest"], None)
    t2, two = _token(client, ["ingest"], [A])
    bad_due = {"due_at": "2025-06-30T08:00:00+07:00"}  # before received_at (2025-07-01 08:00)
    # Token 1 at 08:00 local: R1 (due_at), R2 (an unregistered agency), R3 (an unknown field and an
    # unregistered agency: the schema error alone is reported), R6 (two reasons), V1 valid.
    report = _send(
        one,
        [
            rec("R1", **bad_due),
            rec("R2", agency_code="NOT-AN-AGENCY"),
            {**rec("R3", agency_code="NOPE"), "secret_field": "x"},
            rec("R6", paid_online=True, **bad_due),
            rec("V1"),
        ],
    )
    assert report["rejected"] == 4 and report["created"] == 1
    # Token 2 (limited to A) at 08:01: R4 of agency B (forbidden), R5 (due_at); at 08:02 R5 again.
    clock.now += timedelta(minutes=1)
    report = _send(two, [rec("R4", agency_code=B), rec("R5", **bad_due)])
    assert report["rejected"] == 2
    clock.now += timedelta(minutes=1)
    assert _send(two, [rec("R5", **bad_due)])["rejected"] == 1
    # NDJSON: a broken line is a rejected record without an agency.
    r = client.post("/v1/dossiers", content=ndjson([b"{not json"]), headers=NDJSON)
    assert r.status_code == 200 and r.json()["rejected"] == 1

    doc = _fq(client)
    assert (doc["from"], doc["to"]) == ("2025-09-02", "2025-10-01")  # 30 days ending today (local)
    # Records: token 1 four, token 2 three (R5 twice: each record received counts), the admin's one.
    assert doc["rejected"]["total"] == 8
    assert doc["rejected"]["by_day"] == [{"day": "2025-10-01", "count": 8}]
    # A: R1, R6, R5, R5; unknown: R2, R3 and the broken line; B: R4 (registered, refused to token 2).
    assert doc["rejected"]["by_unit"] == [
        {"agency_code": A, "count": 4},
        {"agency_code": "unknown", "count": 3},
        {"agency_code": B, "count": 1},
    ]
    tokens = {x["token_id"]: x["count"] for x in doc["rejected"]["by_token"]}
    assert tokens == {t1: 4, t2: 3, "env-admin": 1}
    # Reasons: due_at R1, R6, R5, R5 = 4; R6's paid_online 1; R2's agency 1; R3's unknown field 1
    # (its name is never a key); R4 forbidden 1; the broken line 1.
    assert _rules(doc) == {
        DUE_BEFORE: 4,
        PAID: 1,
        NOT_REGISTERED: 1,
        UNKNOWN_FIELD: 1,
        FORBIDDEN: 1,
        ("", "the line is not a valid JSON object", "json_invalid"): 1,
    }
    assert doc["rejected"]["by_rule"][0] == {
        "field": "due_at",
        "rule": "due_at is before received_at",
        "type": "value_error",
        "count": 4,
    }
    assert "secret_field" not in str(doc) and "NOT-AN-AGENCY" not in str(doc) and "NOPE" not in str(doc)
    groups = {
        (g["agency_code"], g["field"], g["type"]): g for g in doc["examples"] if g["kind"] == "rejected"
    }
    # The latest first: R5 (08:02), then R6 and R1 (08:00, by code descending); R5 listed once.
    assert [x["code"] for x in groups[(A, "due_at", "value_error")]["codes"]] == ["R5", "R6", "R1"]
    assert groups[(A, "due_at", "value_error")]["codes"][0] == {
        "code": "R5",
        "token_id": t2,
        "day": "2025-10-01",
        "seen_at": "2025-10-01T08:02:00+07:00",
    }
    assert [x["code"] for x in groups[("unknown", "(unknown field)", "extra_forbidden")]["codes"]] == ["R3"]
    assert [x["code"] for x in groups[(B, "agency_code", "forbidden")]["codes"]] == ["R4"]
    assert doc["truncated"] == []

    # Token 2 is limited to A: it sees A's counts only, never `unknown`.
    mine = _fq(two)
    assert mine["rejected"]["total"] == 4
    assert mine["rejected"]["by_unit"] == [{"agency_code": A, "count": 4}]
    assert {x["token_id"]: x["count"] for x in mine["rejected"]["by_token"]} == {t1: 2, t2: 2}
    assert {g["agency_code"] for g in mine["examples"]} == {A}
    # Filters: one token; one agency.
    assert _fq(client, token=t2)["rejected"]["total"] == 3
    assert _fq(client, agency="unknown")["rejected"]["total"] == 3
    assert _fq(two, agency=A)["rejected"]["total"] == 4
    # Another day is another row: the range picks it.
    clock.now += timedelta(days=1)
    _send(one, [rec("R7", **bad_due)])
    assert _fq(client)["rejected"]["by_day"] == [
        {"day": "2025-10-01", "count": 8},
        {"day": "2025-10-02", "count": 1},
    ]
    assert _fq(client, **{"from": "2025-10-02"})["rejected"]["total"] == 1
    assert _fq(client, to="2025-09-30")["rejected"]["total"] == 0


def test_who_may_read_it(client: TestClient, anon: TestClient) -> None:
    _, reader_b = _token(client, ["read"], [B])
    _, reader_all = _token(client, ["read"], None)
    _, two = _token(client, ["ingest"], [A])
    _send(two, [rec("R4", agency_code=B), rec("R1", due_at="2025-06-30T08:00:00+07:00")])
    r = anon.get("/v1/feed-quality")  # even when reads are open: it names tokens and codes
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    assert _fq(reader_b)["rejected"]["by_unit"] == [{"agency_code": B, "count": 1}]
    assert _fq(reader_all)["rejected"]["total"] == 2
    r = two.get("/v1/feed-quality", params={"agency": B})
    assert r.status_code == 403 and B in r.json()["detail"]
    r = two.get("/v1/feed-quality", params={"agency": "unknown"})
    assert r.status_code == 403


# Each case: (its name, the query, the field an error names).
BAD_PARAMETERS: list[tuple[str, dict[str, str], str]] = [
    ("from after to", {"from": "2025-10-02", "to": "2025-10-01"}, "from"),
    ("367 days", {"from": "2024-09-30", "to": "2025-10-01"}, "from"),
    ("no such month", {"from": "2025-13-01"}, "from"),
    ("not a date", {"to": "yesterday"}, "to"),
    ("an agency code with a space", {"agency": "a b"}, "agency"),
    ("a token id too long", {"token": "x" * 33}, "token"),
    ("an unknown parameter", {"days": "3"}, "days"),
]


def test_bad_parameters_are_problems_naming_the_field(client: TestClient) -> None:
    # One app and one database for the whole table; every failing case is reported at once.
    failures: list[tuple[Any, ...]] = []
    for name, params, field in BAD_PARAMETERS:
        r = client.get("/v1/feed-quality", params=params)
        got = (r.status_code, r.headers["content-type"])
        if got != (422, "application/problem+json"):
            failures.append((name, got, r.text))
            continue
        locs = [e["loc"] for e in r.json()["errors"]]
        if not any(loc[-1] == field or (len(loc) > 1 and loc[1] == field) for loc in locs):
            failures.append((name, locs, field))
    assert not failures, failures


def test_366_days_are_one_answer(client: TestClient) -> None:
    doc = _fq(client, **{"from": "2024-10-01", "to": "2025-10-01"})  # 366 days (2024 is a leap year)
    assert doc["rejected"]["total"] == 0 and len(doc["warnings"]) == 7


CATALOGUE = [
    {
        "code": P1,
        "name": "Cấp giấy phép xây dựng",
        "level": "province",
        "max_duration": {"value": 5, "unit": "working_days"},
    }
]


def _t(day: str, hm: str = "08:00") -> str:
    return f"{day}T{hm}:00+07:00"


def _closed(
    code: str, received: str, resolved: str, due: str | None, proc: str = P2, **over: Any
) -> dict[str, Any]:
    return rec(code, procedure_code=proc, received_at=received, resolved_at=resolved, due_at=due, **over)


def _open(code: str, received: str, due: str | None, proc: str = P2, **over: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"status": "processing", "resolved_at": None, **over}
    return rec(code, procedure_code=proc, received_at=received, due_at=due, **fields)


# Clock: 2025-10-01 08:00 local. 2025-09-08 is a Monday; 2025-09-03 (a Wednesday) is made a day off.
# P1's legal deadline from 2025-09-08 is 5 working days on: 09-15 (Mon); twice it, 10: 09-22 (Mon).
WARNED = [
    _closed("W01", _t("2025-09-08"), _t("2025-09-12", "10:00"), _t("2025-09-15", "17:00"), P1),  # none
    _closed("W02", _t("2025-09-08"), _t("2025-09-12", "10:00"), None),  # finished without a deadline
    _closed("W03", _t("2025-09-08"), _t("2025-09-12", "18:30"), _t("2025-09-15", "17:00"), P1),  # after hours
    _closed("W04", _t("2025-08-28"), _t("2025-09-03", "10:00"), _t("2025-09-05", "17:00")),  # the day off
    _closed("W05", _t("2025-09-08"), _t("2025-09-14", "09:00"), _t("2025-09-15", "17:00")),  # a Sunday
    _closed("W11", _t("2025-09-08"), _t("2025-09-12", "17:00"), _t("2025-09-15", "17:00")),  # 17:00: inside
    _open("W06", _t("2025-09-08"), _t("2025-09-12", "17:00"), P1),  # due 09-12 < 09-15
    _open("W07", _t("2025-09-08"), _t("2025-09-23", "17:00"), P1),  # due 09-23 > 09-22
    _open("W08", _t("2024-09-01"), _t("2024-09-10", "17:00")),  # open since 2024-09-01 (> a year)
    _open("W09", _t("2025-09-08"), _t("2025-09-15", "17:00"), status="supplement_requested"),  # no history
    _open(
        "W10",
        _t("2025-09-08"),
        _t("2025-09-15", "17:00"),
        status="supplement_requested",
        supplements=[{"requested_at": _t("2025-09-09", "09:00")}],
    ),
    _open("W12", _t("2024-10-15"), _t("2024-10-25", "17:00")),  # open 351 days: not yet a year
]


def _warnings(doc: dict[str, Any]) -> dict[str, tuple[int, int, float | None, bool]]:
    """rule -> (count, base_count, share, flagged for A)."""
    out = {}
    for w in doc["warnings"]:
        units = {u["agency_code"]: u for u in w["by_unit"]}
        out[w["rule"]] = (w["count"], w["base_count"], w["share"], bool(units.get(A, {}).get("flagged")))
    return out


def test_warnings_on_accepted_records_and_their_shares(engine: Engine, db_url: str, clock: Clock) -> None:
    for c in _app(engine, db_url, clock, TTHC_FEED_QUALITY_SHARE="0.3"):
        assert c.put("/v1/procedures", json=CATALOGUE).status_code == 200
        day_off = [{"day": "2025-09-03", "working": False, "note": "Nghỉ theo quyết định của tỉnh"}]
        assert c.put("/v1/calendar/2025", json=day_off).status_code == 200
        report = post(c, WARNED)
        assert report["created"] == 12 and report["rejected"] == 0
        assert "warnings" not in report  # counted for the feed's quality, not added to the reply
        # Bases: 12 received; finished and resolved: W01-W05 and W11 = 6.
        expected = {
            "finished_without_deadline": (1, 6, 0.1667, True),  # W02
            "resolved_outside_hours": (1, 6, 0.1667, False),  # W03; 1/6 is not above 0.3
            "resolved_on_day_off": (2, 6, 0.3333, True),  # W04 (the configured day), W05 (Sunday)
            "deadline_below_legal": (1, 12, 0.0833, True),  # W06
            "deadline_over_twice_legal": (1, 12, 0.0833, True),  # W07
            "open_over_a_year": (1, 12, 0.0833, True),  # W08
            "supplement_without_history": (1, 12, 0.0833, True),  # W09
        }
        doc = _fq(c)
        assert _warnings(doc) == expected
        day_off_rule = next(w for w in doc["warnings"] if w["rule"] == "resolved_on_day_off")
        assert day_off_rule["threshold"] == 0.3 and day_off_rule["flagged_units"] == 1
        assert day_off_rule["by_unit"] == [
            {"agency_code": A, "count": 2, "base_count": 6, "share": 0.3333, "flagged": True}
        ]
        examples = {
            g["rule"]: [x["code"] for x in g["codes"]] for g in doc["examples"] if g["kind"] == "warning"
        }
        assert examples["resolved_on_day_off"] == ["W05", "W04"]
        assert examples["deadline_below_legal"] == ["W06"]
        assert doc["rejected"]["total"] == 0

        # Re-sent unchanged: `unchanged`, nothing counted.
        clock.now += timedelta(minutes=1)
        assert post(c, WARNED)["unchanged"] == 12
        # W03 updated, still after hours; W06's deadline corrected: nothing new to count.
        later = {"updated_at": _t("2025-10-01", "08:00")}
        w03 = {**WARNED[2], **later}
        w06 = {**WARNED[6], **later, "due_at": _t("2025-09-15", "17:00")}
        assert post(c, [w03, w06])["updated"] == 2
        assert _warnings(_fq(c)) == expected
        # W06 short again in a later version: counted again (a version without it came between).
        w06 = {**WARNED[6], "updated_at": _t("2025-10-01", "08:01")}
        assert post(c, [w06])["updated"] == 1
        assert _warnings(_fq(c))["deadline_below_legal"] == (2, 12, 0.1667, True)

        # 2025-10-20: W12 (received 2024-10-15) re-sent still open is now over a year: counted once,
        # on the day it was accepted; W08, already over a year when first accepted, is not again.
        clock.now = datetime(2025, 10, 20, 1, 0, tzinfo=UTC)
        later = {"updated_at": _t("2025-10-20", "08:00")}
        assert post(c, [{**WARNED[11], **later}, {**WARNED[8], **later}])["updated"] == 2
        doc = _fq(c, **{"from": "2025-10-20"})
        assert _warnings(doc)["open_over_a_year"] == (1, 0, None, True)
        assert _fq(c, **{"from": "2025-09-21"})["warnings"][5]["count"] == 2


# A portal record's reasons: the mapping's name the portal's fields (as the reply does), a mapped
# record's validation errors the contract's.
PORTAL_TIME = (
    "NgayTiepNhan",
    "must be a date and time as yyyyMMddHHmmss (Vietnam local time)",
    "datetime_from_date_parsing",
)
PORTAL_CHANNEL = ("KenhThucHien", "must be 1 (in person), 2 (online) or 3 (postal)", "enum")
PORTAL_PRICE = ("DanhSachLePhi.*.Gia", "must be a price (a number of 0 or more)", "decimal_parsing")
NOT_AN_OBJECT = ("", "a record must be a JSON object", "model_type")
# A mapped record the validation refuses: the reply's names, the portal's (the schema says due_at).
PORTAL_DUE_BEFORE = ("NgayHenTra", "NgayHenTra is before NgayTiepNhan", "value_error")


def test_portal_records_the_mapping_refuses_count_with_the_others(client: TestClient, clock: Clock) -> None:
    batch = [
        portal("M-1", NgayTiepNhan="not-a-date"),  # the mapping refuses it
        portal("C-1", NgayHenTra="20250601080000"),  # mapped; validation refuses it (due before received)
        portal("OK-1"),
        "MaHoSo",  # not an object: no code
        portal("M-2", KenhThucHien="7", DanhSachLePhi=[{"Gia": "miễn phí"}]),  # two reasons
        portal("M 3", NgayTiepNhan="2025-13-45"),  # a code that cannot be read: counted, no example
        portal("M-0", NgayTiepNhan="yesterday"),
        portal("OK-2"),
        portal("S-1", TrangThaiHoSo="1"),  # never received: skipped, not a rejection
    ]
    r = client.post(URL, json=envelope(batch))
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["received"], report["created"], report["rejected"], report["skipped"]) == (9, 2, 6, 1)
    assert [e["index"] for e in report["errors"]] == [0, 1, 3, 4, 5, 6]
    # The reply names C-1's reason as the feed's quality counts it.
    assert [(e["loc"], e["msg"], e["type"]) for e in report["errors"][1]["errors"]] == [
        ([PORTAL_DUE_BEFORE[0]], PORTAL_DUE_BEFORE[1], PORTAL_DUE_BEFORE[2])
    ]
    # The bad records cost the good ones nothing.
    assert client.get("/v1/dossiers/OK-1").status_code == 200
    assert client.get("/v1/dossiers/OK-2").status_code == 200

    doc = _fq(client)
    # As many records as the reply rejected, under the envelope's (registered) agency and the token.
    assert doc["rejected"]["total"] == 6
    assert doc["rejected"]["by_unit"] == [{"agency_code": A, "count": 6}]
    assert doc["rejected"]["by_day"] == [{"day": "2025-10-01", "count": 6}]
    assert doc["rejected"]["by_token"] == [{"token_id": "env-admin", "count": 6}]
    # M-1, M 3, M-0 the time; C-1 its NgayHenTra; the non-object; M-2 its channel and its price.
    assert _rules(doc) == {
        PORTAL_TIME: 3,
        PORTAL_DUE_BEFORE: 1,
        NOT_AN_OBJECT: 1,
        PORTAL_CHANNEL: 1,
        PORTAL_PRICE: 1,
    }

    def examples(d: dict[str, Any]) -> dict[tuple[str, str, str], list[str]]:
        return {
            (g["field"], g["rule"], g["type"]): [x["code"] for x in g["codes"]]
            for g in d["examples"]
            if g["kind"] == "rejected"
        }

    # One instant: by code descending; `M 3` and the non-object have no code to show.
    assert examples(doc) == {
        PORTAL_TIME: ["M-1", "M-0"],
        PORTAL_DUE_BEFORE: ["C-1"],
        PORTAL_CHANNEL: ["M-2"],
        PORTAL_PRICE: ["M-2"],
    }

    # A minute later a chunk of nothing but an unmappable record: counted too, M-0 now the latest.
    clock.now += timedelta(minutes=1)
    r = client.post(URL, json=envelope([portal("M-0", NgayTiepNhan="yesterday")]))
    assert r.status_code == 200 and r.json()["rejected"] == 1 and r.json()["created"] == 0
    doc = _fq(client)
    assert doc["rejected"]["total"] == 7
    assert _rules(doc)[PORTAL_TIME] == 4
    assert examples(doc)[PORTAL_TIME] == ["M-0", "M-1"]


def _resolved_at(code: str, at: str) -> dict[str, Any]:
    """Received Monday 2025-09-08 08:00, resolved at `at` (local) on Tuesday 2025-09-09, a working day;
    P2 has no legal deadline, and the due date is set: no other warning."""
    return _closed(code, _t("2025-09-08"), f"2025-09-09T{at}+07:00", _t("2025-09-15", "17:00"))


def test_the_working_hours_start_is_inside_and_a_minute_before_is_not(client: TestClient) -> None:
    # The default hours, 07:30-17:00: 07:29 and 07:29:59 are outside, 07:30 inside.
    records = [_resolved_at("H1", "07:29:00"), _resolved_at("H2", "07:29:59"), _resolved_at("H3", "07:30:00")]
    assert post(client, records)["created"] == 3
    doc = _fq(client)
    warned = _warnings(doc)
    assert warned["resolved_outside_hours"] == (2, 3, 0.6667, True)
    assert all(warned[w][0] == 0 for w in warned if w != "resolved_outside_hours")
    examples = {g["rule"]: [x["code"] for x in g["codes"]] for g in doc["examples"] if g["kind"] == "warning"}
    assert examples == {"resolved_outside_hours": ["H2", "H1"]}


def test_the_working_hours_are_a_setting(engine: Engine, db_url: str, clock: Clock) -> None:
    for c in _app(engine, db_url, clock, TTHC_FEED_QUALITY_HOURS="08:00-16:30"):
        # 07:45 and 16:45 are inside the default 07:30-17:00 but outside 08:00-16:30, whose ends
        # (08:00, 16:30) are inside.
        records = [
            _resolved_at("K1", "07:45:00"),
            _resolved_at("K2", "16:45:00"),
            _resolved_at("K3", "08:00:00"),
            _resolved_at("K4", "16:30:00"),
        ]
        assert post(c, records)["created"] == 4
        doc = _fq(c)
        assert _warnings(doc)["resolved_outside_hours"] == (2, 4, 0.5, True)
        [group] = [g for g in doc["examples"] if g["kind"] == "warning"]
        assert group["rule"] == "resolved_outside_hours"
        assert [x["code"] for x in group["codes"]] == ["K2", "K1"]


def test_a_rejected_record_never_counts_a_warning(client: TestClient) -> None:
    # Finished without a deadline, but rejected (rating on an unfinished dossier): a reason, no warning.
    post(client, [rec("X1", due_at=None, status="processing", resolved_at=None, rating="satisfied")])
    doc = _fq(client)
    assert doc["rejected"]["total"] == 1
    assert all(w["count"] == 0 for w in doc["warnings"])


def test_the_examples_are_capped_per_reason_and_agency(engine: Engine, db_url: str, clock: Clock) -> None:
    bad = {"due_at": "2025-06-30T08:00:00+07:00"}
    for c in _app(engine, db_url, clock, TTHC_FEED_QUALITY_EXAMPLES="3"):
        post(c, [rec(f"E{i}", **bad) for i in range(1, 5)])
        clock.now += timedelta(seconds=1)
        post(c, [rec("E5", **bad)])
        doc = _fq(c)
        [group] = [g for g in doc["examples"] if g["field"] == "due_at"]
        # E5 last; of the first chunk's E1-E4 (one instant) the highest codes.
        assert [x["code"] for x in group["codes"]] == ["E5", "E4", "E3"]
        with engine.connect() as conn:
            n = conn.execute(
                text("SELECT count(*) FROM feed_quality_examples WHERE field = 'due_at'")
            ).scalar()
        assert n == 3
        assert _rules(doc)[DUE_BEFORE] == 5


def test_counts_older_than_the_retention_are_pruned(engine: Engine, db_url: str, clock: Clock) -> None:
    bad = {"due_at": "2025-06-30T08:00:00+07:00", "updated_at": "2025-07-01T09:00:00+07:00"}
    for c in _app(engine, db_url, clock, TTHC_FEED_QUALITY_DAYS="90"):
        clock.now = datetime(2025, 7, 3, 1, 0, tzinfo=UTC)  # local 2025-07-03
        post(c, [rec("OLD", **bad)])
        clock.now = datetime(2025, 7, 4, 1, 0, tzinfo=UTC)
        post(c, [rec("KEPT", **bad)])
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT count(*) FROM feed_quality_counts")).scalar()
        assert rows == 4  # per day: the record and its reason
        # 2025-10-01: 90 days kept are 2025-07-04 .. 2025-10-01.
        now = datetime(2025, 10, 1, 1, 0, tzinfo=UTC)
        with engine.begin() as conn:
            assert prune(conn, now, 90) == 3  # two counts and the example of 07-03
        with engine.connect() as conn:
            days = conn.execute(text("SELECT DISTINCT day FROM feed_quality_counts")).scalars().all()
            codes = conn.execute(text("SELECT code FROM feed_quality_examples")).scalars().all()
        assert [str(d)[:10] for d in days] == ["2025-07-04"] and codes == ["KEPT"]
        # The audit trail's pruning prunes them too, even when the audit trail is kept forever.
        pruner = Pruner(0, 1)
        assert pruner.claim(now)
        with engine.begin() as conn:
            pruner.prune(conn, now)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM feed_quality_counts")).scalar() == 0
        assert _fq(c, **{"from": "2025-07-01", "to": "2025-07-31"})["rejected"]["total"] == 0


def test_a_reason_is_a_bounded_key_never_the_senders_text() -> None:
    from app.core.feed_rules import rejection_key
    from app.dossiers.service import KNOWN_FIELDS

    loc = ["supplements", 3, "requested_at"]
    assert rejection_key({"loc": loc, "msg": "m", "type": "t"}, KNOWN_FIELDS) == (
        "supplements.*.requested_at",
        "m",
        "t",
    )
    # An unknown field's name, however long, is not kept; nor a long message past 200 characters.
    key = rejection_key({"loc": ["x" * 500], "msg": "y" * 500, "type": "extra_forbidden"}, KNOWN_FIELDS)
    assert key == ("(unknown field)", "y" * 200, "extra_forbidden")
    # The record's "N more errors" counts N in its message: one key whatever N.
    many = {"loc": [], "msg": "7 more errors of this record are not listed", "type": "too_many_errors"}
    assert rejection_key(many, KNOWN_FIELDS) == (
        "",
        "more errors of the record were not listed",
        "too_many_errors",
    )
