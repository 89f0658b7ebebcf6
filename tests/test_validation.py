"""Contract §2: every rule that rejects a record, each naming its field; §1: timestamps and local dates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.timeutil import to_local
from app.dossiers.schemas import DossierIn
from app.dossiers.service import row_from_record
from app.dossiers.validation import Registry, validate_record
from tests.factory import AGENCY, OTHER_AGENCY, open_rec, rec
from tests.ingesting import counts, errors_of, locs, metric_totals, post, stored

REQUIRED = ("code", "procedure_code", "agency_code", "channel", "received_at", "status", "updated_at")


def only(errors: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(errors) == 1, errors
    return errors[0]


# --- required fields, types and formats -------------------------------------------------------------


@pytest.mark.parametrize("field", REQUIRED)
def test_a_missing_required_field_is_named(client: TestClient, field: str) -> None:
    record = rec()
    del record[field]
    e = only(errors_of(client, record))
    assert e["loc"] == [field]
    assert e["type"] == "missing"


def test_an_unknown_field_is_rejected(client: TestClient) -> None:
    e = only(errors_of(client, rec(applicant_name="Nguyễn Văn A")))
    assert e == {
        "loc": ["applicant_name"],
        "msg": "Extra inputs are not permitted",
        "type": "extra_forbidden",
    }


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("code", 12345, "string_type"),
        ("code", "has space", "string_pattern_mismatch"),
        ("code", "", "string_pattern_mismatch"),
        ("code", "A" * 65, "string_pattern_mismatch"),
        ("code", "mã-hồ-sơ", "string_pattern_mismatch"),
        ("procedure_code", "", "string_too_short"),
        ("procedure_code", "1" * 33, "string_too_long"),
        ("procedure_name", 7, "string_type"),
        ("sector", "Dat_Dai", "string_pattern_mismatch"),
        ("sector", "đất_đai", "string_pattern_mismatch"),
        ("agency_code", None, "string_type"),
        ("commune_code", "1732", "string_pattern_mismatch"),
        ("channel", "email", "literal_error"),
        ("online_level", "basic", "literal_error"),
        ("status", "done", "literal_error"),
        ("rating", "good", "literal_error"),
        ("fee_required", "true", "bool_type"),
        ("fee_required", 1, "bool_type"),
        ("fee_required", None, "bool_type"),
        ("received_at", "01/07/2025 08:00", "value_error"),
        ("received_at", "2025-07-01", "value_error"),
        ("received_at", 1751331600, "value_error"),
        ("received_at", None, "value_error"),
        ("updated_at", "2025-02-30T08:00:00+07:00", "value_error"),
        ("due_at", "2025-02-30", "value_error"),
        ("resolved_at", "yesterday", "value_error"),
        ("returned_at", "2025-07-09T25:00:00+07:00", "value_error"),
        ("received_at", "0001-01-01T03:00:00+07:00", "value_error"),
        ("received_at", "0001-01-01T03:00:00", "value_error"),
        ("due_at", "9999-12-31", "value_error"),
        ("due_at", "9999-12-31T20:00:00Z", "value_error"),
    ],
)
def test_a_value_of_the_wrong_type_or_format_is_named(
    client: TestClient, field: str, value: Any, kind: str
) -> None:
    e = only(errors_of(client, rec(**{field: value})))
    assert e["loc"] == [field]
    assert e["type"] == kind


def test_a_record_that_is_not_an_object_is_rejected_as_a_whole(client: TestClient) -> None:
    report = post(client, [["not", "an", "object"], rec("D-2")])
    assert counts(report)["created"] == 1
    assert report["errors"] == [
        {
            "index": 0,
            "code": None,
            "errors": [{"loc": [], "msg": "a record must be a JSON object", "type": "model_type"}],
        }
    ]


def test_every_error_of_a_record_is_reported_at_once(client: TestClient) -> None:
    bad = rec(channel="email", sector="X", paid_online=True, extra=1)
    del bad["status"]
    assert sorted(map(str, locs(errors_of(client, bad)))) == sorted(
        map(str, [["sector"], ["channel"], ["status"], ["extra"]])
    )


def test_errors_never_echo_the_submitted_values(client: TestClient) -> None:
    secret = "Nguyen-Van-A-0912345678"
    bad = rec(
        code="D-1",
        procedure_code=secret + "X" * 20,
        sector=secret,
        channel=secret,
        received_at=secret,
        commune_code=secret,
    )
    r = client.post("/v1/dossiers", json=[bad])
    assert r.status_code == 200
    assert secret not in r.text
    assert len(r.json()["errors"][0]["errors"]) == 5


# --- cross-field rules ----------------------------------------------------------------------------


def test_due_at_before_received_at_is_rejected(client: TestClient) -> None:
    e = only(errors_of(client, rec(due_at="2025-07-01T07:59:59+07:00")))
    assert e == {"loc": ["due_at"], "msg": "due_at is before received_at", "type": "value_error"}


def test_due_at_equal_to_received_at_is_accepted(client: TestClient) -> None:
    assert post(client, [rec(due_at="2025-07-01T08:00:00+07:00")])["created"] == 1


def test_resolved_at_before_received_at_is_rejected(client: TestClient) -> None:
    e = only(errors_of(client, rec(resolved_at="2025-06-30T10:00:00+07:00")))
    assert e["loc"] == ["resolved_at"] and e["type"] == "value_error"


def test_returned_at_before_resolved_at_is_rejected(client: TestClient) -> None:
    e = only(errors_of(client, rec(status="returned", returned_at="2025-07-08T09:59:59+07:00")))
    assert e["loc"] == ["returned_at"] and e["msg"] == "returned_at is before resolved_at"


def test_returned_at_without_resolved_at_is_rejected(client: TestClient) -> None:
    e = only(errors_of(client, open_rec(returned_at="2025-07-08T10:00:00+07:00")))
    assert e["loc"] == ["returned_at"]


@pytest.mark.parametrize("status", ["processing", "supplement_requested"])
def test_an_open_dossier_has_no_resolved_at(client: TestClient, status: str) -> None:
    e = only(errors_of(client, rec(status=status)))
    assert e["loc"] == ["resolved_at"] and e["type"] == "value_error"


@pytest.mark.parametrize("status", ["resolved", "rejected", "withdrawn"])
def test_a_finished_or_withdrawn_dossier_has_a_resolved_at(client: TestClient, status: str) -> None:
    e = only(errors_of(client, rec(status=status, resolved_at=None)))
    assert e == {"loc": ["resolved_at"], "msg": f"status {status} needs resolved_at", "type": "value_error"}


def test_a_returned_dossier_has_a_returned_at(client: TestClient) -> None:
    e = only(errors_of(client, rec(status="returned")))
    assert e == {"loc": ["returned_at"], "msg": "status returned needs returned_at", "type": "value_error"}


def test_paid_online_only_with_fee_required(client: TestClient) -> None:
    e = only(errors_of(client, rec(paid_online=True)))
    assert e["loc"] == ["paid_online"]
    assert post(client, [rec("D-2", paid_online=True, fee_required=True)])["created"] == 1


def test_online_level_only_with_channel_online(client: TestClient) -> None:
    e = only(errors_of(client, rec(channel="postal", online_level="partial")))
    assert e["loc"] == ["online_level"]
    ok = [rec("D-2", channel="online", online_level="full"), rec("D-3", channel="online", online_level=None)]
    assert post(client, ok)["created"] == 2


@pytest.mark.parametrize("status", ["processing", "withdrawn"])
def test_digitised_result_only_on_a_finished_dossier(client: TestClient, status: str) -> None:
    record = open_rec(digitised_result=True) if status == "processing" else rec(status=status)
    record["digitised_result"] = True
    e = only(errors_of(client, record))
    assert e["loc"] == ["digitised_result"]


@pytest.mark.parametrize("status", ["supplement_requested", "withdrawn"])
def test_rating_only_on_a_finished_dossier(client: TestClient, status: str) -> None:
    record = open_rec(status=status) if status != "withdrawn" else rec(status=status)
    record["rating"] = "satisfied"
    e = only(errors_of(client, record))
    assert e["loc"] == ["rating"]


def test_a_finished_dossier_may_carry_a_rating_and_a_digitised_result(client: TestClient) -> None:
    record = rec(status="rejected", rating="dissatisfied", digitised_result=True)
    assert post(client, [record])["created"] == 1


# --- the clock and the registry -------------------------------------------------------------------
# The clock stands at 2025-10-01T01:00Z = 08:00 Vietnam time; 5 minutes of tolerance end at 08:05.


@pytest.mark.parametrize("field", ["received_at", "updated_at"])
def test_a_timestamp_more_than_5_minutes_ahead_of_the_clock_is_rejected(
    client: TestClient, field: str
) -> None:
    base = open_rec(
        received_at="2025-10-01T07:00:00+07:00", due_at=None, updated_at="2025-10-01T07:30:00+07:00"
    )
    e = only(errors_of(client, {**base, field: "2025-10-01T08:05:01+07:00"}))
    assert e["loc"] == [field]
    assert post(client, [{**base, field: "2025-10-01T01:05:00Z"}])["created"] == 1


def test_an_unregistered_agency_is_rejected(client: TestClient) -> None:
    e = only(errors_of(client, rec(agency_code="000.00.99.H41")))
    assert e == {
        "loc": ["agency_code"],
        "msg": "agency_code is not a registered agency",
        "type": "unknown_agency",
    }


def test_a_commune_outside_the_province_is_rejected(client: TestClient) -> None:
    # 00004 is Phường Ba Đình, Hà Nội: a real ward, not one of Nghệ An's.
    e = only(errors_of(client, rec(commune_code="00004")))
    assert e["loc"] == ["commune_code"] and e["type"] == "unknown_commune"
    assert post(client, [rec("D-2", commune_code="17329")])["created"] == 1


def test_a_newly_registered_agency_is_accepted(client: TestClient) -> None:
    body = {"name": "Sở Thử nghiệm", "level": "province", "commune_code": None}
    assert client.put("/v1/agencies/000.00.99.H41", json=body).status_code == 201
    assert post(client, [rec(agency_code="000.00.99.H41")])["created"] == 1


def test_a_rejected_record_is_reported_with_its_index_and_code(client: TestClient) -> None:
    report = post(client, [rec("D-1"), rec("D-2", agency_code=OTHER_AGENCY + "X"), rec("D-3")])
    assert counts(report) == {
        "received": 3,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "stale": 0,
        "rejected": 1,
    }
    assert [(e["index"], e["code"]) for e in report["errors"]] == [(1, "D-2")]


# --- timestamps and local dates -------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "2025-07-01T23:30:00+07:00",
        "2025-07-01T16:30:00Z",
        "2025-07-01T16:30:00+00:00",
        "2025-07-01T23:30:00",
        "2025-07-01 23:30:00",
        "2025-07-01T23:30",
        "2025-07-01T23:30:00+0700",
        "2025-07-01T23:30:00+07",
        "2025-07-01T17:30:00+01:00",
        "2025-07-01T11:30:00-05:00",
        "2025-07-01T23:30:00.000000+07:00",
    ],
)
def test_a_timestamp_in_any_iso_form_is_stored_as_its_instant(client: TestClient, written: str) -> None:
    post(client, [open_rec(received_at=written, due_at=None, updated_at="2025-07-02T00:00:00+07:00")])
    assert stored(client, "D-1")["received_at"] == "2025-07-01T23:30:00+07:00"


def test_responses_give_every_timestamp_with_the_vietnam_offset(client: TestClient) -> None:
    post(
        client,
        [
            rec(
                status="returned",
                received_at="2025-07-01T01:00:00Z",
                due_at="2025-07-10T10:00:00Z",
                resolved_at="2025-07-08T03:00:00Z",
                returned_at="2025-07-09T03:00:00Z",
                updated_at="2025-07-09T03:00:00.250Z",
            )
        ],
    )
    d = stored(client, "D-1")
    assert (d["received_at"], d["due_at"], d["resolved_at"], d["returned_at"], d["updated_at"]) == (
        "2025-07-01T08:00:00+07:00",
        "2025-07-10T17:00:00+07:00",
        "2025-07-08T10:00:00+07:00",
        "2025-07-09T10:00:00+07:00",
        "2025-07-09T10:00:00.250000+07:00",
    )


def _codes(client: TestClient, **params: str) -> list[str]:
    r = client.get("/v1/dossiers", params=params)
    assert r.status_code == 200, r.text
    return [d["code"] for d in r.json()["items"]]


def test_local_dates_are_right_at_the_midnight_border(client: TestClient) -> None:
    # A and B are the same instant, 23:30 on 1 July in Vietnam; C is 30 minutes later, on 2 July;
    # D is 23:59:59 local time written without an offset; E is 17:00Z, which is midnight local time.
    post(
        client,
        [
            open_rec("A", received_at="2025-07-01T23:30:00+07:00", due_at=None),
            open_rec("B", received_at="2025-07-01T16:30:00Z", due_at=None),
            open_rec("C", received_at="2025-07-01T17:00:00Z", due_at=None),
            open_rec("D", received_at="2025-07-01T23:59:59", due_at=None),
            open_rec("E", received_at="2025-06-30T17:00:00Z", due_at=None),
        ],
    )
    assert _codes(client, received_from="2025-07-01", received_to="2025-07-01") == ["A", "B", "D", "E"]
    assert _codes(client, received_from="2025-07-02", received_to="2025-07-02") == ["C"]
    assert _codes(client, received_to="2025-06-30") == []
    r = client.get("/v1/metrics", params={"from": "2025-06-30", "to": "2025-07-02", "group_by": "day"})
    by_day = {row["day"]: row["counts"]["received"] for row in r.json()["rows"]}
    assert by_day == {"2025-06-30": 0, "2025-07-01": 4, "2025-07-02": 1}


def test_the_same_instant_written_in_utc_counts_on_the_local_date(client: TestClient) -> None:
    post(client, [open_rec("A", received_at="2025-07-01T23:30:00+07:00", due_at=None)])
    post(client, [open_rec("B", received_at="2025-07-01T16:30:00Z", due_at=None)])
    assert stored(client, "A")["received_at"] == stored(client, "B")["received_at"]
    assert metric_totals(client, "2025-07-01", "2025-07-01")["received"] == 2
    assert metric_totals(client, "2025-07-02", "2025-07-02")["received"] == 0


def test_23_30_vietnam_time_and_17_30_utc_fall_on_different_local_dates(client: TestClient) -> None:
    # 2025-07-01T17:30Z is 00:30 on 2 July in Vietnam; the same instant as 23:30+07:00 is 16:30Z.
    post(client, [open_rec("VN", received_at="2025-07-01T23:30:00+07:00", due_at=None)])
    post(client, [open_rec("UTC", received_at="2025-07-01T17:30:00Z", due_at=None)])
    assert stored(client, "UTC")["received_at"] == "2025-07-02T00:30:00+07:00"
    assert _codes(client, received_from="2025-07-01", received_to="2025-07-01") == ["VN"]
    assert _codes(client, received_from="2025-07-02", received_to="2025-07-02") == ["UTC"]


def test_a_bare_due_date_means_the_end_of_that_day(client: TestClient) -> None:
    post(
        client,
        [
            rec("ON-TIME", due_at="2025-07-10", resolved_at="2025-07-10T23:59:00+07:00"),
            rec("LATE", due_at="2025-07-10", resolved_at="2025-07-11T00:00:01+07:00"),
            rec("EARLY", due_at="2025-07-10", resolved_at="2025-07-09T23:59:00+07:00"),
            open_rec("SAME-DAY", received_at="2025-07-10T16:00:00+07:00", due_at="2025-07-10"),
        ],
    )
    on_time = stored(client, "ON-TIME")
    assert on_time["due_at"] == "2025-07-11T00:00:00+07:00"
    assert on_time["outcome"] == "on_time"
    assert stored(client, "LATE")["outcome"] == "late"
    assert stored(client, "EARLY")["outcome"] == "early"
    assert stored(client, "SAME-DAY")["due_at"] == "2025-07-11T00:00:00+07:00"


def test_a_bare_due_date_and_its_end_of_day_instant_are_the_same_value(client: TestClient) -> None:
    post(client, [rec(due_at="2025-07-10")])
    report = post(client, [rec(due_at="2025-07-10T17:00:00Z")])
    assert report["unchanged"] == 1


# --- no record can crash its chunk ------------------------------------------------------------------

_TIMESTAMPS = st.from_regex(
    r"\A\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?\Z"
)
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=70),
    _TIMESTAMPS,
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_FIELDS = sorted(DossierIn.model_fields)


@settings(max_examples=150, deadline=None)
@given(over=st.dictionaries(st.sampled_from(_FIELDS), _VALUES, max_size=4))
def test_any_malformed_record_is_rejected_with_errors_never_raised(over: dict[str, Any]) -> None:
    # A record that raised instead of being rejected would fail every neighbour in its chunk.
    registry = Registry(agencies={AGENCY}, communes={"17329"}, now=datetime(2025, 10, 1, 1, tzinfo=UTC))
    record, errors = validate_record(rec(**over), registry)
    if record is None:
        assert errors and all(e["loc"] for e in errors)
    else:
        row = row_from_record(record, registry.now)
        assert all(to_local(v) for v in row.values() if isinstance(v, datetime))


def test_instants_before_1900_are_refused_as_out_of_range(client: TestClient) -> None:
    # The running sums behind pending and overdue start on 1900-01-01.
    r = client.post("/v1/dossiers", json=[rec("OLD-1", received_at="1899-12-31T08:00:00+07:00")])
    body = r.json()
    assert (body["created"], body["rejected"]) == (0, 1)
    assert body["errors"][0]["errors"][0]["loc"] == ["received_at"]
