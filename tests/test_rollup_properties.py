"""Property: after any sequence of creates, updates, stale and conflicting writes and deletes, the rollups
equal a recomputation from the stored dossiers, and GET /v1/metrics equals a naive per-dossier count."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from app.api.auth import ADMIN_TOKEN_ID
from app.core.access import SCOPES, Principal
from app.core.communes import communes_of
from app.core.timeutil import VN_TZ, end_of_day, local_date
from app.dossiers.service import delete_dossier, process_chunk
from app.dossiers.validation import Registry
from app.models import Agency, Dossier
from app.store import index_rollups, rollups
from tests.conftest import clear_dossiers

NOW = datetime(2025, 10, 1, 1, 0, tzinfo=UTC)  # the clock fixture's default
ADMIN = Principal(ADMIN_TOKEN_ID, frozenset(SCOPES), None)
CODES = ("P-0", "P-1", "P-2")
FINISHED = ("resolved", "returned", "rejected")
# A range around a month border, with dossiers received before, inside and after it.
START, END = date(2025, 7, 1), date(2025, 7, 31)
DAYS = (date(2025, 6, 30), date(2025, 7, 1), date(2025, 7, 15), date(2025, 7, 31), date(2025, 8, 1))
TIMES = (time(0, 0), time(8, 0), time(16, 59), time(17, 0), time(23, 30))

Content = dict[str, Any]


@dataclass(frozen=True)
class Write:
    code: str
    version: int  # updated_at = 1 September + version hours
    content: int  # index into the example's pool of contents
    utc: bool  # write the timestamps in UTC rather than +07:00
    bare_due: bool  # write a midnight deadline as a bare date


@st.composite
def contents(draw: st.DrawFn) -> Content:
    """Everything of a valid record but its code and updated_at, timestamps as aware datetimes."""
    status = draw(st.sampled_from(("processing", "supplement_requested", *FINISHED, "withdrawn")))
    received = datetime.combine(draw(st.sampled_from(DAYS)), draw(st.sampled_from(TIMES)), VN_TZ)
    due_kind = draw(st.sampled_from(("none", "hours", "days", "bare")))
    due: datetime | None = None
    if due_kind == "hours":
        due = received + timedelta(hours=draw(st.sampled_from((0, 9, 30))))
    elif due_kind == "days":
        due = received + timedelta(days=draw(st.sampled_from((3, 20, 40))))
    elif due_kind == "bare":  # end of a local day: what a bare date means
        day = received.date() + timedelta(days=draw(st.sampled_from((0, 1, 10))))
        due = datetime.combine(day + timedelta(days=1), time(0), VN_TZ)
    resolved = returned = None
    finished = status in FINISHED
    if status not in ("processing", "supplement_requested"):
        resolved = received + draw(st.sampled_from([timedelta(0), timedelta(hours=9), timedelta(days=2)]))
        resolved += draw(st.sampled_from([timedelta(0), timedelta(days=25), timedelta(days=45)]))
        if status == "returned":
            returned = resolved + timedelta(hours=1)
    channel = draw(st.sampled_from(("online", "in_person", "postal")))
    fee = draw(st.booleans())
    return {
        "procedure_code": draw(st.sampled_from(("1.004227", "2.000123"))),
        "sector": draw(st.sampled_from((None, "dat_dai", "ho_tich"))),
        "agency_code": draw(st.sampled_from(("000.00.07.H41", "UBND-17329"))),
        "commune_code": draw(st.sampled_from((None, "17329"))),
        "channel": channel,
        "online_level": draw(st.sampled_from((None, "full", "partial"))) if channel == "online" else None,
        "received_at": received,
        "due_at": due,
        "resolved_at": resolved,
        "returned_at": returned,
        "status": status,
        "fee_required": fee,
        "paid_online": fee and draw(st.booleans()),
        "digitised_intake": draw(st.booleans()),
        "digitised_result": finished and draw(st.booleans()),
        "reused_digital_data": draw(st.booleans()),
        "apology_issued": draw(st.booleans()),
        "rating": draw(st.sampled_from((None, "very_satisfied", "neutral"))) if finished else None,
    }


def updated_at(version: int) -> datetime:
    return datetime(2025, 9, 1, tzinfo=VN_TZ) + timedelta(hours=version)


def render(w: Write, content: Content) -> dict[str, Any]:
    """The record as the source would send it, in one of several equivalent spellings."""

    def ts(v: datetime) -> str:
        return v.astimezone(UTC).isoformat().replace("+00:00", "Z") if w.utc else v.isoformat()

    out: dict[str, Any] = {"code": w.code, "updated_at": ts(updated_at(w.version))}
    for k, v in content.items():
        out[k] = ts(v) if isinstance(v, datetime) else v
    due = content["due_at"]
    if w.bare_due and due is not None and due.astimezone(VN_TZ).time() == time(0):
        out["due_at"] = (due.astimezone(VN_TZ).date() - timedelta(days=1)).isoformat()
    return out


writes = st.builds(
    Write,
    code=st.sampled_from(CODES),
    version=st.integers(0, 3),
    content=st.integers(0, 3),
    utc=st.booleans(),
    bare_due=st.booleans(),
)
operations = st.lists(
    st.one_of(
        st.lists(writes, min_size=1, max_size=4).map(lambda ws: ("write", ws)),
        st.sampled_from(CODES).map(lambda c: ("delete", c)),
    ),
    min_size=1,
    max_size=8,
)

# --- the naive computation (contract §4.1, §4.2), one dossier at a time --------------------------------


def deadline_day(due: datetime) -> date:
    # A deadline at 00:00 is the end of the day before (a bare date D is D+1 00:00); see docs/INGESTION.md.
    return local_date(due - timedelta(microseconds=1))


def finish_class(c: Content) -> str:
    due, resolved = c["due_at"], c["resolved_at"]
    if due is None:
        return "on_time"
    if resolved > due:
        return "late"
    return "early" if local_date(resolved) < deadline_day(due) else "on_time"


def pending_at(c: Content, instant: datetime) -> bool:
    return bool(c["received_at"] < instant and (c["resolved_at"] is None or c["resolved_at"] >= instant))


def naive_counts(dossiers: list[Content], start: date, end: date) -> dict[str, int]:
    n: Counter[str] = Counter()
    for c in dossiers:
        if start <= local_date(c["received_at"]) <= end:
            n["received"] += 1
            n["received_online"] += c["channel"] == "online"
            n["received_full_online"] += c["online_level"] == "full"
            n["fee_required"] += c["fee_required"]
            n["paid_online"] += c["paid_online"]
            n["digitised_intake"] += c["digitised_intake"]
            n["reused_digital_data"] += c["reused_digital_data"]
        if c["resolved_at"] is not None and start <= local_date(c["resolved_at"]) <= end:
            # Finished or withdrawn, its processing ended: the form's closed counts, by class.
            n["closed"] += 1
            n[f"closed_{finish_class(c)}"] += 1
            if c["status"] == "withdrawn":
                n["withdrawn"] += 1
            else:
                cls = finish_class(c)
                n["finished"] += 1
                n[f"finished_{cls}"] += 1
                n["digitised_result"] += c["digitised_result"]
                n["rated"] += c["rating"] is not None
                n["satisfied"] += c["rating"] == "very_satisfied"
                n["late_apologised"] += cls == "late" and c["apology_issued"]
        n["carried_over"] += pending_at(c, end_of_day(start - timedelta(days=1)))
        if pending_at(c, end_of_day(end)):
            n["pending"] += 1
            if c["due_at"] is not None and c["due_at"] < end_of_day(end):
                n["pending_overdue"] += 1
                n["late_apologised"] += c["apology_issued"]
    n["received_total"] = n["received"] + n["carried_over"]
    return dict(n)


# --- the model of contract §3 -------------------------------------------------------------------------


def expected_result(stored: tuple[int, Content] | None, version: int, content: Content) -> str:
    if stored is None:
        return "created"
    if stored[0] < version:
        return "updated"
    if stored[0] > version:
        return "stale"
    return "unchanged" if stored[1] == content else "conflict"


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(pool=st.lists(contents(), min_size=4, max_size=4), ops=operations)
def test_rollups_and_metrics_match_the_stored_dossiers_after_any_writes(
    client: TestClient, engine: Engine, pool: list[Content], ops: list[tuple[str, Any]]
) -> None:
    clear_dossiers(engine)
    with engine.connect() as conn:
        agencies = set(conn.scalars(select(Agency.code)))
    registry = Registry(agencies=agencies, communes=set(communes_of(40)), now=NOW)
    model: dict[str, tuple[int, Content]] = {}
    for kind, arg in ops:
        if kind == "delete":
            assert delete_dossier(engine, arg, NOW) == (arg in model)
            model.pop(arg, None)
            continue
        batch: list[Write] = arg
        items = [(i, render(w, pool[w.content])) for i, w in enumerate(batch)]
        verdicts = process_chunk(engine, items, ADMIN, registry)
        for w, v in zip(batch, verdicts, strict=True):
            want = expected_result(model.get(w.code), w.version, pool[w.content])
            got = v.result or v.errors[0]["type"]
            event(got)
            assert got == want, (w, v.errors)
            if want in ("created", "updated"):
                model[w.code] = (w.version, pool[w.content])

    with engine.connect() as conn, conn.begin():
        assert rollups.verify(conn) == (0, [])
        assert index_rollups.verify(conn) == (0, [])
        rows = conn.execute(select(Dossier.code, Dossier.updated_at)).all()
    assert {code: u for code, u in rows} == {c: updated_at(v) for c, (v, _) in model.items()}

    r = client.get("/v1/metrics", params={"from": START.isoformat(), "to": END.isoformat()})
    assert r.status_code == 200, r.text
    got = {k: v for k, v in r.json()["totals"]["counts"].items() if v}
    assert got == {k: v for k, v in naive_counts([c for _, c in model.values()], START, END).items() if v}
