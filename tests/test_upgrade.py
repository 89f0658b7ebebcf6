"""Upgrading a database with data from revision 0002 (the schema before the working-day calendar).

The database is built at 0002 by alembic and filled through SQL as that release left it: agencies
under the old `000.00.NN.H40` codes, dossiers with their derived dates and finish classes, the
rollups and their keys (written by the rollup writer's SQL, which 0003 did not change), tokens,
targets, an admin's sector mapping, audit rows and refusal counts. It is backed up, then upgraded
with `tthc-metrics migrate`, then checked: every row as it was, the rollups verify, the API gives the
figures worked out by hand below, the old agency codes stay (no H41 set beside them) and an old token
still works. Finally the 0002 backup is restored, which migrates it again: the rollback path.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from app.cli import main
from app.config import Settings, get_settings
from app.core.counters import COUNTERS, WITHDRAWN_CLASS_COUNTERS, finish_class
from app.core.timeutil import local_date
from app.main import create_app
from app.migrate import head_revision, upgrade
from app.models import Dossier
from app.store import rollups
from app.store.engine import make_engine
from app.store.uow import write_transaction
from app.tokens import hash_secret
from tests.conftest import Clock

A, B, C = "000.00.07.H40", "000.00.03.H40", "UBND-17329"
ADMIN_SECRET = "tthc_upgrade-admin-secret-0123456789"
INGEST_SECRET = "tthc_upgrade-ingest-secret-0123456789"


def _database_at(request: pytest.FixtureRequest, tmp_path: Path, revision: str) -> Iterator[str]:
    """An empty database of its own, migrated to `revision` only."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tthc.db'}"
        upgrade(url, revision)
        yield url
        return
    base = make_url(request.getfixturevalue("pg_template")).set(database="postgres")
    name = f"tthc_upgrade_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    upgrade(url, revision)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def old_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own, migrated to 0002 only."""
    yield from _database_at(request, tmp_path, "0002")


@pytest.fixture(params=["sqlite", "postgresql"])
def url_0006(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own, migrated to 0006 (before withdrawn dossiers were classified)."""
    yield from _database_at(request, tmp_path, "0006")


def vn(day: str, hm: str) -> datetime:
    """A Vietnam local time as the UTC instant the store keeps."""
    local = datetime.fromisoformat(f"{day}T{hm}:00+07:00")
    return local.astimezone(UTC)


def dossier(code: str, agency: str, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "code": code,
        "procedure_code": "1.004227",
        "procedure_name": None,
        "sector": "xay_dung",
        "agency_code": agency,
        "commune_code": None,
        "channel": "in_person",
        "online_level": None,
        "returned_at": None,
        "fee_required": False,
        "paid_online": False,
        "digitised_intake": False,
        "digitised_result": False,
        "reused_digital_data": False,
        "apology_issued": False,
        "rating": None,
        "stored_at": vn("2025-09-01", "08:00"),
    }
    row.update(over)
    row.setdefault("updated_at", row.get("resolved_at") or row["received_at"])
    return row


# Six dossiers of July and August 2025. Deadlines: U-1 resolved two days before its due day (early),
# U-2 three days after (late, apologised), U-3 on its due day (on time); U-4 and U-5 still open at
# the end of August with their due dates passed (overdue; U-5 apologised); U-6 withdrawn.
DOSSIERS = [
    dossier(
        "U-1", A, received_at=vn("2025-07-01", "08:00"), due_at=vn("2025-07-10", "17:00"),
        resolved_at=vn("2025-07-08", "10:00"), status="resolved", rating="satisfied", fee_required=True,
        digitised_intake=True, digitised_result=True, received_date=date(2025, 7, 1),
        close_date=date(2025, 7, 8), due_date=date(2025, 7, 10), finish_class=1,
    ),
    dossier(
        "U-2", A, channel="online", online_level="full", received_at=vn("2025-07-02", "09:00"),
        due_at=vn("2025-07-04", "17:00"), resolved_at=vn("2025-07-07", "10:00"),
        returned_at=vn("2025-07-07", "15:00"), status="returned", apology_issued=True, fee_required=True,
        paid_online=True, received_date=date(2025, 7, 2), close_date=date(2025, 7, 7),
        due_date=date(2025, 7, 4), finish_class=3,
    ),
    dossier(
        "U-3", B, sector="dau_tu", channel="online", online_level="partial",
        received_at=vn("2025-07-03", "08:30"), due_at=vn("2025-07-15", "17:00"),
        resolved_at=vn("2025-07-15", "16:00"), status="resolved", rating="dissatisfied",
        received_date=date(2025, 7, 3), close_date=date(2025, 7, 15), due_date=date(2025, 7, 15),
        finish_class=2,
    ),
    dossier(
        "U-4", B, sector="dau_tu", channel="postal", received_at=vn("2025-07-20", "10:00"),
        due_at=vn("2025-08-05", "17:00"), resolved_at=None, status="processing",
        received_date=date(2025, 7, 20), close_date=None, due_date=date(2025, 8, 5), finish_class=None,
    ),
    dossier(
        "U-5", C, sector="ho_tich", commune_code="17329", received_at=vn("2025-08-01", "08:00"),
        due_at=vn("2025-08-03", "17:00"), resolved_at=None, status="processing", apology_issued=True,
        received_date=date(2025, 8, 1), close_date=None, due_date=date(2025, 8, 3), finish_class=None,
    ),
    dossier(
        "U-6", C, sector="ho_tich", commune_code="17329", channel="online", online_level="full",
        received_at=vn("2025-08-02", "08:00"), due_at=vn("2025-08-12", "17:00"),
        resolved_at=vn("2025-08-04", "09:00"), status="withdrawn", received_date=date(2025, 8, 2),
        close_date=date(2025, 8, 4), due_date=date(2025, 8, 12), finish_class=None,
    ),
]  # fmt: skip

ZERO = {
    name: 0
    for name in (
        "received", "received_online", "received_full_online", "fee_required", "paid_online",
        "digitised_intake", "reused_digital_data", "finished", "finished_early", "finished_on_time",
        "finished_late", "digitised_result", "rated", "satisfied", "withdrawn", "carried_over", "pending",
        "pending_overdue", "late_apologised", "received_total", "closed", "closed_early",
        "closed_on_time", "closed_late",
    )
}  # fmt: skip
# /v1/metrics?from=2025-07-01&to=2025-08-31&group_by=agency, by hand from the rows above. The form
# counts: received_total = received (nothing carried over into July) = closed + pending; U-6, withdrawn
# on 4 August before its deadline day (12 August), is closed early (classified by migration 0007).
EXPECTED = {
    B: {
        **ZERO, "received": 2, "received_online": 1, "finished": 1, "finished_on_time": 1, "rated": 1,
        "pending": 1, "pending_overdue": 1, "received_total": 2, "closed": 1, "closed_on_time": 1,
    },
    A: {
        **ZERO, "received": 2, "received_online": 1, "received_full_online": 1, "fee_required": 2,
        "paid_online": 1, "digitised_intake": 1, "finished": 2, "finished_early": 1, "finished_late": 1,
        "digitised_result": 1, "rated": 1, "satisfied": 1, "late_apologised": 1, "received_total": 2,
        "closed": 2, "closed_early": 1, "closed_late": 1,
    },
    C: {
        **ZERO, "received": 2, "received_online": 1, "received_full_online": 1, "withdrawn": 1,
        "pending": 1, "pending_overdue": 1, "late_apologised": 1, "received_total": 2, "closed": 1,
        "closed_early": 1,
    },
}  # fmt: skip
TOTALS = {k: sum(row[k] for row in EXPECTED.values()) for k in ZERO}


def stored(url: str, v: Any) -> Any:
    """A value as the 0002 release bound it: SQLite keeps instants as naive UTC text, dates as text."""
    if not url.startswith("sqlite"):
        return v
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date):
        return v.isoformat()
    return v


def insert(conn: Any, url: str, table: str, rows: list[dict[str, Any]]) -> None:
    cols = list(rows[0])
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"
    conn.execute(text(sql), [{k: stored(url, v) for k, v in r.items()} for r in rows])


# The rollup counters before 0007 added the withdrawn dossiers by class (appended last).
OLD_COUNTERS = tuple(c for c in COUNTERS if c not in WITHDRAWN_CLASS_COUNTERS)


@contextmanager
def old_rollup_writer() -> Iterator[None]:
    """The rollup writer as releases before 0007 ran it: the same SQL without the newer counters."""
    names = vars(rollups)  # the module's globals, which its SQL builders read
    saved, names["COUNTERS"] = names["COUNTERS"], OLD_COUNTERS
    try:
        yield
    finally:
        names["COUNTERS"] = saved


def fill_at_0002(url: str) -> None:
    created = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)
    engine = make_engine(url)
    try:
        with write_transaction(engine) as conn, old_rollup_writer():
            insert(conn, url, "agencies", [
                {"code": code, "name": name, "level": level, "commune_code": commune, "updated_at": created}
                for code, name, level, commune in (
                    (A, "Sở Xây dựng", "province", None),
                    (B, "Sở Tài chính", "province", None),
                    (C, "UBND Xã Anh Sơn", "commune", "17329"),
                )
            ])  # fmt: skip
            insert(conn, url, "sector_mappings", [
                {"code": "XAYDUNG", "slug": "xay_dung", "name": "Xây dựng (sửa)", "updated_at": created},
            ])  # fmt: skip
            insert(conn, url, "dossiers", DOSSIERS)
            # The rollups and their keys, as the writer keeps them.
            rollups.rebuild(conn)
            insert(conn, url, "api_tokens", [
                {"id": "a0000000000000a1", "label": "quản trị", "secret_hash": hash_secret(ADMIN_SECRET),
                 "scopes": "ingest,admin,read", "agencies": None, "expires_at": None, "created_at": created,
                 "revoked_at": None},
                {"id": "b0000000000000b2", "label": "một cửa Sở Xây dựng",
                 "secret_hash": hash_secret(INGEST_SECRET), "scopes": "ingest", "agencies": f'["{A}"]',
                 "expires_at": None, "created_at": created, "revoked_at": None},
            ])  # fmt: skip
            insert(conn, url, "targets", [
                {"year": 2025, "name": "on_time", "comparator": ">=", "threshold": 0.9},
                {"year": 2025, "name": "online", "comparator": ">=", "threshold": 0.5},
            ])  # fmt: skip
            insert(conn, url, "audit_log", [
                {"at": created, "token_id": "b0000000000000b2", "method": "POST", "path": "/v1/dossiers",
                 "status_code": 200, "counts": '{"created": 6}', "duration_ms": 41.5},
            ])  # fmt: skip
            insert(conn, url, "refused_requests", [
                {"token_id": "", "day": date(2025, 8, 30), "status_code": 401, "count": 3},
            ])  # fmt: skip
            conn.execute(text("UPDATE data_state SET version = 41"))
    finally:
        engine.dispose()


TABLES = {
    "agencies": "code",
    "sector_mappings": "code",
    "dossiers": "code",
    "rollups": "cube, grain, period, agency, commune, sector, procedure, channel",
    "rollup_keys": "agency, commune, sector, procedure, channel",
    "api_tokens": "id",
    "targets": "year, name",
    "audit_log": "id",
    "refused_requests": "token_id, day, status_code",
}


# Columns later revisions add: the national index's to dossiers (0005), a target's source (0006), the
# withdrawn dossiers by class to the rollups (0007).
LATER_COLUMNS = (
    {"supplements", "complaint", "population_data", "from_personal_store", "source"}
    | {c.name for c in Dossier.__table__.columns if c.name.startswith("idx_")}
    | set(WITHDRAWN_CLASS_COUNTERS)
)
# 0007 classifies the stored withdrawn dossiers (finish_class, early 1 / on time 2 / late 3): U-6.
CLASSIFIED_BY_0007 = {"U-6": 1}


def classified(snap: dict[str, list[tuple[Any, ...]]]) -> list[tuple[Any, ...]]:
    """The dossier rows of a 0002 snapshot as 0007 leaves them: withdrawn ones with their finish class."""
    ((columns),) = snap["dossier_columns"]
    code, cls = columns.index("code"), columns.index("finish_class")
    out = []
    for row in snap["dossiers"]:
        values = list(row)
        values[cls] = CLASSIFIED_BY_0007.get(values[code], values[cls])
        out.append(tuple(values))
    return out


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            # The columns the tables had at 0002 (later revisions add the national index's to dossiers).
            old = {
                t: [c["name"] for c in inspect(conn).get_columns(t) if c["name"] not in LATER_COLUMNS]
                for t in TABLES
            }
            out = {
                t: [tuple(r) for r in conn.execute(text(f"SELECT {', '.join(old[t])} FROM {t} ORDER BY {k}"))]
                for t, k in TABLES.items()
            }
            out["data_state"] = [
                tuple(r)
                for r in conn.execute(text("SELECT id, version, changed_at, keys_version FROM data_state"))
            ]
            out["dossier_columns"] = [tuple(old["dossiers"])]
            return out
    finally:
        engine.dispose()


def figures(engine: Engine) -> tuple[dict[str, dict[str, int]], dict[str, int], dict[str, Any]]:
    app = create_app(
        Settings(DATABASE_URL=engine.url.render_as_string(hide_password=False)), engine=engine, clock=Clock()
    )
    with TestClient(app) as client:
        r = client.get("/v1/metrics", params={"from": "2025-07-01", "to": "2025-08-31", "group_by": "agency"})
        assert r.status_code == 200, r.text
        body = r.json()
        rows = {row["agency"]: row["counts"] for row in body["rows"]}
        names = {row["agency"]: row["agency_name"] for row in body["rows"]}
        return rows, body["totals"]["counts"], names


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., int]]:
    def run(url: str, *argv: str) -> int:
        monkeypatch.setenv("DATABASE_URL", url)
        get_settings.cache_clear()
        return main(list(argv))

    monkeypatch.delenv("TTHC_ADMIN_TOKEN", raising=False)
    yield run
    get_settings.cache_clear()


def test_a_0002_database_with_data_upgrades_intact(
    old_url: str, cli: Callable[..., int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill_at_0002(old_url)
    before = snapshot(old_url)
    assert before["rollups"] and len(before["rollup_keys"]) == 6  # one key per dossier here
    backup = tmp_path / "before-upgrade.bak"
    assert cli(old_url, "backup", str(backup)) == 0
    assert "6 dossiers, schema revision 0002" in capsys.readouterr().out

    assert cli(old_url, "migrate") == 0
    # The registry had agencies: the seed adds none (no 000.00.NN.H41 set beside the H40 codes); the
    # seven sector mappings not yet mapped are added, the admin's edit of the eighth kept.
    # The stored dossiers were never derived for the national index: migrate derives all six.
    assert capsys.readouterr().out == (
        "database at head; 0 agencies and 7 sector mappings added from the seeds\n"
        "national index re-derived: 6 dossiers seen, 6 changed (job 1)\n"
    )
    after = snapshot(old_url)
    added = [r for r in after["sector_mappings"] if r[0] != "XAYDUNG"]
    assert len(added) == 7
    assert {t: rows for t, rows in after.items() if t not in ("sector_mappings", "data_state")} == {
        t: rows for t, rows in before.items() if t not in ("sector_mappings", "data_state")
    } | {"dossiers": classified(before)}
    assert after["dossiers"] != before["dossiers"]  # U-6 classified
    # Deriving the index moved the data version (cached figures are dropped); the keys did not move.
    ((_, version_before, _, keys_before),) = before["data_state"]
    ((_, version_after, _, keys_after),) = after["data_state"]
    assert version_after > version_before and keys_after == keys_before
    assert [r for r in after["sector_mappings"] if r[0] == "XAYDUNG"] == before["sector_mappings"]

    engine = make_engine(old_url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()
            assert conn.execute(
                text("SELECT rollups_verified_at, rollups_verify_differences FROM data_state")
            ).all() == [(None, None)]
            assert conn.scalar(text("SELECT count(*) FROM calendar_days")) == 0
        assert cli(old_url, "rollups", "verify") == 0
        rows, totals, names = figures(engine)
        assert rows == EXPECTED and totals == TOTALS
        assert TOTALS["received"] == 6 and TOTALS["pending_overdue"] == 2 and TOTALS["finished"] == 3
        assert names == {A: "Sở Xây dựng", B: "Sở Tài chính", C: "UBND Xã Anh Sơn"}

        # The old tokens still authenticate; the ingest token still writes its agency's dossiers, whose
        # H40 code is still the registered one.
        app = create_app(Settings(DATABASE_URL=old_url), engine=engine, clock=Clock())
        with TestClient(app) as client:
            listed = client.get("/v1/tokens", headers={"Authorization": f"Bearer {ADMIN_SECRET}"})
            assert listed.status_code == 200, listed.text
            assert sorted(t["id"] for t in listed.json()) == ["a0000000000000a1", "b0000000000000b2"]
            record = {
                "code": "U-7", "procedure_code": "1.004227", "agency_code": A, "channel": "in_person",
                "received_at": "2025-08-20T08:00:00+07:00", "due_at": "2025-08-29T17:00:00+07:00",
                "resolved_at": None, "status": "processing", "updated_at": "2025-08-20T08:00:00+07:00",
            }  # fmt: skip
            r = client.post(
                "/v1/dossiers", json=[record], headers={"Authorization": f"Bearer {INGEST_SECRET}"}
            )
            assert r.status_code == 200 and r.json()["created"] == 1, r.text
        assert figures(engine)[1]["received"] == 7
    finally:
        engine.dispose()

    # Running migrate again changes nothing.
    capsys.readouterr()
    assert cli(old_url, "migrate") == 0
    assert (
        capsys.readouterr().out == "database at head; 0 agencies and 0 sector mappings added from the seeds\n"
    )
    assert snapshot(old_url)["agencies"] == before["agencies"]

    # Rolling back: the backup taken before the upgrade is put back (and, by this release, migrated).
    assert cli(old_url, "restore", str(backup)) == 0
    out = capsys.readouterr().out
    assert f"6 dossiers, schema revision {head_revision()}, migrated from revision 0002" in out
    assert "national index re-derived: 6 dossiers seen, 6 changed (job 1)" in out
    restored = snapshot(old_url)
    assert restored["dossiers"] == classified(before) and restored["rollups"] == before["rollups"]
    assert restored["agencies"] == before["agencies"] and restored["api_tokens"] == before["api_tokens"]
    assert cli(old_url, "rollups", "verify") == 0
    engine = make_engine(old_url)
    try:
        rows, totals, _ = figures(engine)
        assert rows == EXPECTED and totals == TOTALS
    finally:
        engine.dispose()


def _withdrawn(
    code: str, agency: str, received: str, due: str | None, resolved: str, **over: Any
) -> dict[str, Any]:
    """A withdrawn dossier as releases before 0007 stored it: no finish class."""
    received_at, resolved_at = datetime.fromisoformat(received), datetime.fromisoformat(resolved)
    due_at = datetime.fromisoformat(due) if due else None
    return dossier(
        code, agency, received_at=received_at.astimezone(UTC), due_at=due_at and due_at.astimezone(UTC),
        resolved_at=resolved_at.astimezone(UTC), status="withdrawn",
        received_date=local_date(received_at), close_date=local_date(resolved_at),
        due_date=due_at and local_date(due_at), finish_class=None, **over,
    )  # fmt: skip


J1, D10 = "2025-07-01T08:00+07:00", "2025-07-10T17:00+07:00"  # received 1 July, due 10 July 17:00
# Withdrawn dossiers of July and August 2025 across a department (A) and a ward's committee (C), with
# §4.1's class each must get (1 early, 2 on time, 3 late), worked out by hand:
WITHDRAWN_0006 = [
    # withdrawn on 5 July, due 10 July 17:00: a day before the deadline's day -> early
    (_withdrawn("W-early", A, J1, D10, "2025-07-05T09:00+07:00"), 1),
    # withdrawn at 09:00 on the deadline's day, before due_at -> on time
    (_withdrawn("W-day", A, J1, D10, "2025-07-10T09:00+07:00"), 2),
    # withdrawn the day after -> late
    (_withdrawn("W-late", A, J1, D10, "2025-07-11T09:00+07:00"), 3),
    # due at 09:00, withdrawn at 10:00 the same day -> late
    (_withdrawn("W-hour", A, J1, "2025-07-10T09:00+07:00", "2025-07-10T10:00+07:00"), 3),
    # due at local midnight of 11 August (a bare date: the end of 10 August), withdrawn on 10 August
    # -> on time (10 August is the deadline's day); withdrawn on 9 August at 23:30 -> early
    (_withdrawn("W-midnight", C, "2025-08-01T08:00+07:00", "2025-08-11T00:00+07:00", "2025-08-10T10:00+07:00",
                commune_code="17329", sector="ho_tich"), 2),
    (_withdrawn("W-midnight-early", C, "2025-08-01T08:00+07:00", "2025-08-11T00:00+07:00",
                "2025-08-09T23:30+07:00", commune_code="17329", sector="ho_tich"), 1),
    # no deadline -> on time
    (_withdrawn("W-none", C, "2025-08-01T08:00+07:00", None, "2025-08-20T10:00+07:00", commune_code="17329",
                sector="ho_tich", channel="online", online_level="full"), 2),
]  # fmt: skip


def test_0007_classifies_the_stored_withdrawn_dossiers_and_counts_them_in_the_rollups(
    url_0006: str, cli: Callable[..., int]
) -> None:
    created = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)
    engine = make_engine(url_0006)
    try:
        with write_transaction(engine) as conn, old_rollup_writer():
            insert(conn, url_0006, "agencies", [
                {"code": code, "name": name, "level": level, "commune_code": commune, "updated_at": created}
                for code, name, level, commune in (
                    (A, "Sở Xây dựng", "province", None), (C, "UBND Xã Anh Sơn", "commune", "17329"),
                )
            ])  # fmt: skip
            # U-1 (resolved early) and U-5 (open) beside them: a finished and an open one stay as they are.
            insert(conn, url_0006, "dossiers", [DOSSIERS[0], DOSSIERS[4], *(d for d, _ in WITHDRAWN_0006)])
            rollups.rebuild(conn)
    finally:
        engine.dispose()

    upgrade(url_0006)
    engine = make_engine(url_0006)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT code, finish_class FROM dossiers")).all()
        got: dict[str, int | None] = {code: cls for code, cls in rows}
        assert got == {"U-1": 1, "U-5": None, **{d["code"]: cls for d, cls in WITHDRAWN_0006}}
        # The service's own rule agrees with the migration's SQL on each of them.
        for d, cls in WITHDRAWN_0006:
            assert finish_class(d["resolved_at"], d["due_at"]) == cls, d["code"]
        assert cli(url_0006, "rollups", "verify") == 0
        app = create_app(Settings(DATABASE_URL=url_0006), engine=engine, clock=Clock())
        with TestClient(app) as client:
            r = client.get(
                "/v1/metrics", params={"from": "2025-07-01", "to": "2025-08-31", "group_by": "month"}
            )
            assert r.status_code == 200, r.text
            months = {row["month"]: row["counts"] for row in r.json()["rows"]}
    finally:
        engine.dispose()
    form = ("received", "carried_over", "finished", "withdrawn", "pending", "received_total", "closed",
            "closed_early", "closed_on_time", "closed_late")  # fmt: skip
    # July: received U-1 and W-early, W-day, W-late, W-hour (5); closed all five: U-1 finished early;
    # withdrawn early 1 (W-early), on time 1 (W-day), late 2 (W-late, W-hour).
    assert {k: months["2025-07"][k] for k in form} == dict(
        zip(form, (5, 0, 1, 4, 0, 5, 5, 2, 1, 2), strict=True)
    )
    # August: received U-5 and the three W-* of the ward (4); withdrawn 3: early 1 (W-midnight-early),
    # on time 2 (W-midnight, W-none); U-5 still pending: 4 = 3 + 1.
    assert {k: months["2025-08"][k] for k in form} == dict(
        zip(form, (4, 0, 0, 3, 1, 4, 3, 1, 2, 0), strict=True)
    )
