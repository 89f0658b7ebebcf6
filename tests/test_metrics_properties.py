"""Property: every count read from the rollups equals a naive per-dossier computation, for random
datasets, random ranges, random groupings and a random "now" (sometimes inside the range)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from tests.conftest import Clock, reset_database
from tests.naive import naive_rows

BASE = datetime(2024, 11, 28, 17, 0, tzinfo=UTC)  # 29 Nov 00:00 local: month and year borders nearby
AGENCIES = ["000.00.07.H41", "UBND-17329"]
COMMUNES = ["17329", "17380", None]
SECTORS = ["dat_dai", "xay_dung", None]
STATUSES = ["processing", "supplement_requested", "resolved", "returned", "rejected", "withdrawn"]


def _iso(t: datetime) -> str:
    return t.isoformat()


@st.composite
def dossier(draw: st.DrawFn, index: int) -> dict[str, Any]:
    spread = draw(st.sampled_from([70, 500]))  # mostly close together, sometimes across years
    received = BASE + timedelta(minutes=draw(st.integers(0, 60 * 24 * spread)))
    status = draw(st.sampled_from(STATUSES))
    channel = draw(st.sampled_from(["online", "in_person", "postal"]))
    due_kind = draw(st.sampled_from(["none", "timestamp", "date"]))
    due_days = draw(st.integers(0, 20))
    due: str | None = None
    if due_kind == "timestamp":
        due = _iso(received + timedelta(days=due_days, hours=draw(st.integers(0, 12))))
    elif due_kind == "date":
        due = (received.astimezone(UTC) + timedelta(hours=7, days=due_days)).date().isoformat()
    closed = status not in ("processing", "supplement_requested")
    resolved = received + timedelta(minutes=draw(st.integers(0, 60 * 24 * 30))) if closed else None
    finished = closed and status != "withdrawn"
    fee = draw(st.booleans())
    rec: dict[str, Any] = {
        "code": f"P-{index}",
        "procedure_code": draw(st.sampled_from(["1.001", "1.002"])),
        "agency_code": draw(st.sampled_from(AGENCIES)),
        "commune_code": draw(st.sampled_from(COMMUNES)),
        "sector": draw(st.sampled_from(SECTORS)),
        "channel": channel,
        "online_level": draw(st.sampled_from(["full", "partial", None])) if channel == "online" else None,
        "received_at": _iso(received),
        "due_at": due,
        "resolved_at": _iso(resolved) if resolved else None,
        "returned_at": _iso(resolved + timedelta(hours=1)) if resolved and status == "returned" else None,
        "status": status,
        "fee_required": fee,
        "paid_online": fee and draw(st.booleans()),
        "digitised_intake": draw(st.booleans()),
        "digitised_result": finished and draw(st.booleans()),
        "reused_digital_data": draw(st.booleans()),
        "apology_issued": draw(st.booleans()),
        "rating": draw(st.sampled_from(["very_satisfied", "satisfied", "neutral", "dissatisfied", None]))
        if finished
        else None,
        "updated_at": _iso(received),
    }
    if due is not None and due_kind == "timestamp" and due < rec["received_at"]:
        rec["due_at"] = rec["received_at"]
    return rec


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[dict[str, Any]], date, date, datetime, list[str], str | None]:
    n = draw(st.integers(0, 25))
    records = [draw(dossier(i)) for i in range(n)]
    start = (
        draw(st.sampled_from([date(2025, 1, 1), date(2024, 12, 1)]))
        if draw(st.booleans())
        else (date(2024, 11, 20) + timedelta(days=draw(st.integers(0, 500))))
    )
    end = start + timedelta(days=draw(st.sampled_from([0, 30, 364, 400])) + draw(st.integers(0, 40)))
    now = BASE + timedelta(days=draw(st.integers(5, 600)), minutes=draw(st.integers(0, 1439)))
    dims = draw(
        st.lists(
            st.sampled_from(["agency", "commune", "sector", "procedure", "channel"]), max_size=2, unique=True
        )
    )
    unit = draw(st.sampled_from([None, "day", "month", "quarter", "year"]))
    return records, start, end, now, dims, unit


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=scenario())
def test_rollup_counts_equal_a_naive_computation(
    client: TestClient, engine: Engine, clock: Clock, case: tuple[Any, ...]
) -> None:
    records, start, end, now, dims, unit = case
    reset_database(engine)
    clock.now = max(now, BASE + timedelta(days=560))  # every record's timestamps lie in the past
    if records:
        r = client.post("/v1/dossiers", json=records)
        assert r.json()["created"] == len(records), r.json()["errors"]
    clock.now = now
    # received_at must not be in the future when judged; the naive side judges the same instant.
    group_by = ([unit] if unit else []) + dims
    body = client.get(
        "/v1/metrics", params={"from": start.isoformat(), "to": end.isoformat(), "group_by": group_by}
    ).json()
    got = {tuple(row[g] for g in group_by): row["counts"] for row in body["rows"]}
    expected = naive_rows(records, start, end, now, dims, unit)
    assert got == expected
    totals = naive_rows(records, start, end, now, [], None)[()]
    assert body["totals"]["counts"] == totals
