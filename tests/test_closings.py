"""Closed periods: the report filed byte for byte, served as filed, superseded, and restated after a
late update, a late new dossier, a deletion, and an agency renamed and moved to another level."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi.testclient import TestClient

from tests.conftest import Clock
from tests.factory import AGENCY, OTHER_AGENCY, open_rec, rec

URL = "/v1/reports/dossier-processing"
CLOSINGS = URL + "/closings"
RESTATEMENTS = URL + "/restatements"
A, B = AGENCY, OTHER_AGENCY  # Sở Xây dựng, Sở Tài chính (both provincial departments in the seed)

# 2025-Q3 on the reporting basis runs from 2025-06-15 to 2025-09-14; the clock (2025-10-01) is in Q4.
#   A: D-ontime (received 1 Jul, due 10 Jul 17:00, resolved 10 Jul 10:00 -> on time), D-pending (open,
#      due 30 Oct -> pending within deadline at the end of 14 Sep).
#   B: B-early (resolved 3 Jul, due 10 Jul -> early), B-ontime (resolved 10 Jul 09:00 -> on time).
FILED_RECORDS: list[dict[str, Any]] = [
    rec(
        "D-ontime",
        received_at="2025-07-01T08:00:00+07:00",
        due_at="2025-07-10T17:00:00+07:00",
        resolved_at="2025-07-10T10:00:00+07:00",
        updated_at="2025-07-10T10:00:00+07:00",
    ),
    open_rec(
        "D-pending",
        received_at="2025-08-01T08:00:00+07:00",
        due_at="2025-10-30T17:00:00+07:00",
        updated_at="2025-08-01T08:00:00+07:00",
    ),
    rec(
        "B-early",
        agency_code=B,
        received_at="2025-07-02T08:00:00+07:00",
        due_at="2025-07-10T17:00:00+07:00",
        resolved_at="2025-07-03T10:00:00+07:00",
        updated_at="2025-07-03T10:00:00+07:00",
    ),
    rec(
        "B-ontime",
        agency_code=B,
        received_at="2025-07-02T09:00:00+07:00",
        due_at="2025-07-10T17:00:00+07:00",
        resolved_at="2025-07-10T09:00:00+07:00",
        updated_at="2025-07-10T09:00:00+07:00",
    ),
]
# After the closing (on 5 October): D-ontime's late correction (resolved 12 Jul, after its deadline);
# D-new, received 1 Sep and due 5 Sep, still open: overdue at the end of 14 Sep.
LATE_UPDATE = rec(
    "D-ontime",
    received_at="2025-07-01T08:00:00+07:00",
    due_at="2025-07-10T17:00:00+07:00",
    resolved_at="2025-07-12T10:00:00+07:00",
    updated_at="2025-10-04T10:00:00+07:00",
)
LATE_NEW = open_rec(
    "D-new",
    received_at="2025-09-01T08:00:00+07:00",
    due_at="2025-09-05T17:00:00+07:00",
    updated_at="2025-10-04T10:00:00+07:00",
)
CHANGES_AT = datetime(2025, 10, 5, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam


def ingest(client: TestClient, records: list[dict[str, Any]]) -> None:
    r = client.post("/v1/dossiers", json=records)
    assert r.status_code == 200 and r.json()["rejected"] == 0, r.json()


def live(client: TestClient, fmt: str, **params: Any) -> bytes:
    r = client.get(URL, params={"period": "2025-Q3", "format": fmt, **params})
    assert r.status_code == 200, r.text
    return bytes(r.content)


def filed(client: TestClient, fmt: str, **params: Any) -> bytes:
    r = client.get(URL, params={"period": "2025-Q3", "format": fmt, "as_filed": "true", **params})
    assert r.status_code == 200, r.text
    return bytes(r.content)


FORMATS = ("json", "csv", "xlsx")


def test_closing_files_the_live_bytes_and_restates_what_moved(client: TestClient, clock: Clock) -> None:
    ingest(client, FILED_RECORDS)
    before = {fmt: live(client, fmt) for fmt in FORMATS}
    r = client.post(CLOSINGS, json={"period": "2025-Q3"})
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["period"] == "2025-Q3" and first["basis"] == "reporting" and first["unit"] == "agency"
    assert first["filters"] == {} and first["superseded_by"] is None
    assert first["closed_at"] == "2025-10-01T08:00:00+07:00"
    assert first["closed_by"] is not None  # the admin token's id, as other admin writes record it
    assert [(f["format"], f["dialect"]) for f in first["files"]] == [
        ("csv", None),
        ("csv", "excel-vi"),
        ("json", None),
        ("xlsx", None),
    ]
    before_vi = live(client, "csv", csv_dialect="excel-vi")
    assert first["size"] == sum(len(b) for b in before.values()) + len(before_vi)
    assert filed(client, "csv", csv_dialect="excel-vi") == before_vi
    # Filed byte for byte: the report as GET answered it right before, nothing written in between.
    for fmt in FORMATS:
        assert filed(client, fmt) == before[fmt], fmt

    # After the closing: a late update, a late new dossier, a deletion, a rename and a change of level.
    clock.now = CHANGES_AT
    ingest(client, [LATE_UPDATE, LATE_NEW])
    assert client.delete("/v1/dossiers/B-early").status_code == 204
    r = client.put(f"/v1/agencies/{B}", json={"name": "Sở Tài chính và Kế hoạch", "level": "commune"})
    assert r.status_code == 200, r.text

    assert live(client, "json") != before["json"]
    for fmt in FORMATS:
        assert filed(client, fmt) == before[fmt], fmt
    assert filed(client, "csv", csv_dialect="excel-vi") == before_vi

    r = client.get(RESTATEMENTS, params={"period": "2025-Q3"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["closing"]["id"] == first["id"]
    # Agency A, filed: received 2 (D-ontime, D-pending), finished 1 on time, pending 1 within deadline.
    #   now: received 3 (+D-new), finished 1 late (D-ontime), pending 2 of which 1 overdue (D-new).
    # Agency B, filed: received 2, finished 2 (1 early, 1 on time); now B-early is gone: 1, 1, 0.
    # Totals: received 4 -> 4 (A +1, B -1: not a difference), finished 3 -> 2, early 1 -> 0,
    #   on time 2 -> 1, late 0 -> 1, pending 1 -> 2, overdue 0 -> 1.
    got = {
        (tuple(sorted(f["row"].items())), f["count"]): (
            f["filed"],
            f["current"],
            f["dossiers"],
            f["dossiers_total"],
        )
        for f in body["figures"]
    }
    a, b, totals = (("agency", A),), (("agency", B),), (("row", "totals"),)
    province, commune = (("level", "province"),), (("level", "commune"),)
    # The form's counts move with them: received_total = received + carried over (nothing carried
    # over here), closed = finished + withdrawn (none withdrawn), closed_* = finished_*.
    # The level subtotals: filed, A and B are both provincial (received 4, closed 3: 1 early, 2 on
    # time, pending 1). Now B is a commune's: its B-ontime (received, closed on time) moved to the
    # commune level by the change of level (no dossier changed: B named as the reference), and the
    # provincial level holds A's 3 received, 1 closed late, 2 pending (1 overdue).
    got_reference = {tuple(sorted(f["row"].items())): f["reference"] for f in body["figures"]}
    assert got_reference[commune] == [B] and got_reference[province] == [B] and got_reference[a] == []
    assert got == {
        (a, "received"): (2, 3, ["D-new"], 1),
        (a, "received_total"): (2, 3, ["D-new"], 1),
        (a, "closed_on_time"): (1, 0, ["D-ontime"], 1),
        (a, "closed_late"): (0, 1, ["D-ontime"], 1),
        (a, "finished_on_time"): (1, 0, ["D-ontime"], 1),
        (a, "finished_late"): (0, 1, ["D-ontime"], 1),
        (a, "pending"): (1, 2, ["D-new"], 1),
        (a, "pending_overdue"): (0, 1, ["D-new"], 1),
        (b, "received"): (2, 1, ["B-early"], 1),
        (b, "received_total"): (2, 1, ["B-early"], 1),
        (b, "closed"): (2, 1, ["B-early"], 1),
        (b, "closed_early"): (1, 0, ["B-early"], 1),
        (b, "finished"): (2, 1, ["B-early"], 1),
        (b, "finished_early"): (1, 0, ["B-early"], 1),
        (commune, "received"): (0, 1, [], 0),
        (commune, "received_total"): (0, 1, [], 0),
        (commune, "closed"): (0, 1, [], 0),
        (commune, "closed_on_time"): (0, 1, [], 0),
        (commune, "finished"): (0, 1, [], 0),
        (commune, "finished_on_time"): (0, 1, [], 0),
        (province, "received"): (4, 3, ["B-early", "D-new"], 2),
        (province, "received_total"): (4, 3, ["B-early", "D-new"], 2),
        (province, "closed"): (3, 1, ["B-early"], 1),
        (province, "closed_early"): (1, 0, ["B-early"], 1),
        (province, "closed_on_time"): (2, 0, ["D-ontime"], 1),
        (province, "closed_late"): (0, 1, ["D-ontime"], 1),
        (province, "finished"): (3, 1, ["B-early"], 1),
        (province, "finished_early"): (1, 0, ["B-early"], 1),
        (province, "finished_on_time"): (2, 0, ["D-ontime"], 1),
        (province, "finished_late"): (0, 1, ["D-ontime"], 1),
        (province, "pending"): (1, 2, ["D-new"], 1),
        (province, "pending_overdue"): (0, 1, ["D-new"], 1),
        (totals, "closed"): (3, 2, ["B-early"], 1),
        (totals, "closed_early"): (1, 0, ["B-early"], 1),
        (totals, "closed_on_time"): (2, 1, ["D-ontime"], 1),
        (totals, "closed_late"): (0, 1, ["D-ontime"], 1),
        (totals, "finished"): (3, 2, ["B-early"], 1),
        (totals, "finished_early"): (1, 0, ["B-early"], 1),
        (totals, "finished_on_time"): (2, 1, ["D-ontime"], 1),
        (totals, "finished_late"): (0, 1, ["D-ontime"], 1),
        (totals, "pending"): (1, 2, ["D-new"], 1),
        (totals, "pending_overdue"): (0, 1, ["D-new"], 1),
    }
    at = "2025-10-05T08:00:00+07:00"
    dossiers = {d["code"]: d for d in body["dossiers"]}
    assert sorted(dossiers) == ["B-early", "D-new", "D-ontime"]
    summary = {
        code: (
            d["change"],
            d["changes"],
            d["first_change_at"],
            d["last_change_at"],
            d["filed"] and d["filed"]["classification"],
            d["current"] and d["current"]["classification"],
        )
        for code, d in dossiers.items()
    }
    assert summary == {
        "D-ontime": (
            "updated",
            1,
            at,
            at,
            {
                "agency": A,
                "outcome_at_start": None,
                "outcome_at_end": "on_time",
                "counts": [
                    "closed",
                    "closed_on_time",
                    "finished",
                    "finished_on_time",
                    "received",
                    "received_total",
                ],
            },
            {
                "agency": A,
                "outcome_at_start": None,
                "outcome_at_end": "late",
                "counts": [
                    "closed",
                    "closed_late",
                    "finished",
                    "finished_late",
                    "received",
                    "received_total",
                ],
            },
        ),
        "D-new": (
            "created",
            1,
            at,
            at,
            None,
            {
                "agency": A,
                "outcome_at_start": None,
                "outcome_at_end": "pending_overdue",
                "counts": ["pending", "pending_overdue", "received", "received_total"],
            },
        ),
        "B-early": (
            "deleted",
            1,
            at,
            at,
            {
                "agency": B,
                "outcome_at_start": None,
                "outcome_at_end": "early",
                "counts": [
                    "closed",
                    "closed_early",
                    "finished",
                    "finished_early",
                    "received",
                    "received_total",
                ],
            },
            None,
        ),
    }
    # The filed version as it was, and when it had arrived (the first import, on 1 October).
    assert dossiers["D-ontime"]["filed"]["resolved_at"] == "2025-07-10T10:00:00+07:00"
    assert dossiers["D-ontime"]["filed"]["stored_at"] == "2025-10-01T08:00:00+07:00"
    assert dossiers["D-ontime"]["current"]["resolved_at"] == "2025-07-12T10:00:00+07:00"
    assert body["reference"] == [
        {
            "agency": B,
            "filed_name": "Sở Tài chính",
            "current_name": "Sở Tài chính và Kế hoạch",
            "filed_level": "province",
            "current_level": "commune",
        }
    ]

    # A second closing supersedes the first; both stay listed, newest first.
    now_bytes = {fmt: live(client, fmt) for fmt in FORMATS}
    r = client.post(CLOSINGS, json={"period": "2025-Q3"})
    assert r.status_code == 201, r.text
    second = r.json()
    listed = client.get(CLOSINGS, params={"period": "2025-Q3"}).json()
    assert [(c["id"], c["superseded_by"]) for c in listed["items"]] == [
        (second["id"], None),
        (first["id"], second["id"]),
    ]
    assert listed["next_before"] is None
    page = client.get(CLOSINGS, params={"limit": 1}).json()
    assert [c["id"] for c in page["items"]] == [second["id"]] and page["next_before"] == second["id"]
    rest = client.get(CLOSINGS, params={"limit": 1, "before": page["next_before"]}).json()
    assert [c["id"] for c in rest["items"]] == [first["id"]] and rest["next_before"] is None
    for fmt in FORMATS:
        assert filed(client, fmt) == now_bytes[fmt], fmt
        assert filed(client, fmt, closing_id=first["id"]) == before[fmt], fmt
    # The latest closing has nothing to restate; the first one still has its figures.
    latest = client.get(RESTATEMENTS, params={"period": "2025-Q3"}).json()
    assert latest["closing"]["id"] == second["id"] and latest["figures"] == [] and latest["dossiers"] == []
    old = client.get(RESTATEMENTS, params={"period": "2025-Q3", "closing_id": first["id"]}).json()
    assert old["figures"] == body["figures"]


def test_closing_refusals(client: TestClient, anon: TestClient, clock: Clock) -> None:
    ingest(client, FILED_RECORDS)
    # 2025-Q4 (reporting) runs from 15 September to 14 December: in progress on 1 October.
    r = client.post(CLOSINGS, json={"period": "2025-Q4"})
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    assert "2025-Q4" in r.json()["detail"]
    # Nothing closed yet: 404 as filed; the restatement too.
    r = client.get(URL, params={"period": "2025-Q3", "as_filed": "true"})
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert client.get(RESTATEMENTS, params={"period": "2025-Q3"}).status_code == 404
    closing = client.post(CLOSINGS, json={"period": "2025-Q3", "unit": "commune"}).json()
    # The unit=agency report of Q3 was never closed; the closing is of unit=commune.
    assert client.get(URL, params={"period": "2025-Q3", "as_filed": "true"}).status_code == 404
    r = client.get(URL, params={"period": "2025-Q3", "as_filed": "true", "closing_id": closing["id"]})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "closing_id"]
    r = client.get(URL, params={"period": "2025-Q3", "unit": "commune", "closing_id": closing["id"]})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "closing_id"]
    r = client.get(
        URL, params={"period": "2025-Q3", "unit": "commune", "as_filed": "true", "closing_id": 999}
    )
    assert r.status_code == 404
    # Filters are checked as the report checks them, located in the body.
    r = client.post(CLOSINGS, json={"period": "2025-Q3", "agency": ["NO.SUCH"]})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "agency"]
    r = client.post(CLOSINGS, json={"period": "2025-Q3", "extra": 1})
    assert r.status_code == 422
    # A body far above any valid one is refused before it is read whole.
    r = client.post(
        CLOSINGS,
        content=b'{"period": "' + b"x" * 70_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413
    # Admin only: no token 401, a read token 403 (listing needs read, as the report).
    assert anon.post(CLOSINGS, json={"period": "2025-Q3"}).status_code == 401
    reader = client.post("/v1/tokens", json={"label": "reader", "scopes": ["read"]}).json()["token"]
    r = anon.post(CLOSINGS, json={"period": "2025-Q3"}, headers={"Authorization": f"Bearer {reader}"})
    assert r.status_code == 403
    r = anon.get(CLOSINGS, headers={"Authorization": f"Bearer {reader}"})
    assert r.status_code == 200 and [c["id"] for c in r.json()["items"]] == [closing["id"]]


def test_history_keeps_each_change_in_order(client: TestClient, clock: Clock) -> None:
    """One history row per change: the creation, the replaced version (its classifying fields), the
    deletion; an unchanged re-send writes none."""
    from sqlalchemy import select

    from app.api.state import state_of
    from app.dossiers.history import history_table

    ingest(client, FILED_RECORDS[:1])
    ingest(client, FILED_RECORDS[:1])  # unchanged: no row
    clock.now = CHANGES_AT
    ingest(client, [LATE_UPDATE])
    assert client.delete("/v1/dossiers/D-ontime").status_code == 204
    h = history_table
    engine = state_of(client.app).engine
    with engine.connect() as conn:
        rows = conn.execute(
            select(h.c.code, h.c.kind, h.c.changed_at, h.c.resolved_at).order_by(h.c.id)
        ).all()
    assert [(r.code, r.kind, r.changed_at, r.resolved_at) for r in rows] == [
        ("D-ontime", 0, datetime(2025, 10, 1, 1, 0, tzinfo=UTC), None),
        ("D-ontime", 1, CHANGES_AT, datetime(2025, 7, 10, 3, 0, tzinfo=UTC)),
        ("D-ontime", 2, CHANGES_AT, datetime(2025, 7, 12, 3, 0, tzinfo=UTC)),
    ]


def test_restatement_caps_the_dossiers_listed_and_counts_them_all(client: TestClient, clock: Clock) -> None:
    """More changed dossiers than one batch of the history read (500) and than a figure lists (100)."""
    n = 1200
    codes = [f"M-{i:04d}" for i in range(n)]
    on_time = dict(
        received_at="2025-07-01T08:00:00+07:00",
        due_at="2025-07-10T17:00:00+07:00",
        resolved_at="2025-07-10T10:00:00+07:00",
        updated_at="2025-07-10T10:00:00+07:00",
    )
    ingest(client, [rec(c, **on_time) for c in codes])
    assert client.post(CLOSINGS, json={"period": "2025-Q3", "agency": [A]}).status_code == 201
    clock.now = CHANGES_AT
    late = {**on_time, "resolved_at": "2025-07-12T10:00:00+07:00", "updated_at": "2025-10-04T10:00:00+07:00"}
    ingest(client, [rec(c, **late) for c in codes])
    body = client.get(RESTATEMENTS, params={"period": "2025-Q3", "agency": A}).json()
    # Every one of the 1200 moved from on time to late, in A's row and in the totals.
    got = {
        (f["row"].get("agency") or f["row"].get("level") or "totals", f["count"]): (
            f["filed"],
            f["current"],
            f["dossiers_total"],
            f["dossiers"],
        )
        for f in body["figures"]
    }
    first_100 = codes[:100]
    # A is provincial: its level's subtotal moves as its row does; the form's closed_* with finished_*.
    assert got == {
        (row, f"{kind}_{cls}"): (n, 0, n, first_100) if cls == "on_time" else (0, n, n, first_100)
        for row in (A, "province", "totals")
        for kind in ("finished", "closed")
        for cls in ("on_time", "late")
    }
    assert [d["code"] for d in body["dossiers"]] == first_100
    # The filter is part of the closing's parameters: the unfiltered report was never closed.
    assert client.get(RESTATEMENTS, params={"period": "2025-Q3"}).status_code == 404


def test_a_closing_waits_for_a_chunk_in_flight_and_files_it(client: TestClient, engine: Any) -> None:
    """A chunk whose transaction is open when the closing starts: the closing waits for its commit and
    files it (the snapshot is taken after it), so its history row is at or below the closing's mark
    and the restatement has nothing to say."""
    import threading

    from app.api.state import state_of
    from app.core.access import Principal
    from app.core.communes import communes_of
    from app.dossiers.service import current_registry, process_chunk
    from app.reports.closings import close_period
    from app.reports.filing import parse_period

    ingest(client, FILED_RECORDS)
    now = datetime(2025, 10, 1, 1, 0, tzinfo=UTC)
    inside, release = threading.Event(), threading.Event()
    in_flight = {**LATE_NEW, "updated_at": "2025-09-30T10:00:00+07:00"}  # before the clock

    def hold(row: dict[str, Any], _cur: dict[str, Any] | None) -> dict[str, Any]:
        inside.set()  # the chunk's transaction holds the writers' lock (shared) from here
        release.wait(10)
        return row

    with engine.connect() as conn:
        registry = current_registry(conn, set(communes_of(40)), now)
    admin = Principal(token_id="t", scopes=frozenset({"ingest", "admin"}), agencies=None)
    chunk = threading.Thread(
        target=lambda: process_chunk(engine, [(0, in_flight)], admin, registry, prepare=hold)
    )
    chunk.start()
    assert inside.wait(10)
    closed: list[dict[str, Any]] = []
    closing = threading.Thread(
        target=lambda: closed.append(
            close_period(
                engine,
                period=parse_period("2025-Q3", "reporting"),
                basis="reporting",
                unit="agency",
                raw_filters={},
                settings=state_of(client.app).settings,
                now=now,
                by="t",
            )
        )
    )
    closing.start()
    closing.join(1.0)
    assert closing.is_alive() and closed == []  # waiting for the chunk
    release.set()
    chunk.join(10)
    closing.join(30)
    assert len(closed) == 1
    # Filed with D-new: agency A received 3 (D-ontime, D-pending, D-new), pending 2 (1 overdue).
    a_row = next(r for r in orjson.loads(filed(client, "json"))["rows"] if r["agency"] == A)
    assert (a_row["counts"]["received"], a_row["counts"]["pending"], a_row["counts"]["pending_overdue"]) == (
        3,
        2,
        1,
    )
    body = client.get(RESTATEMENTS, params={"period": "2025-Q3"}).json()
    assert body["figures"] == [] and body["dossiers"] == []
