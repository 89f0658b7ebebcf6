"""Early warning: webhook subscriptions, the daily signed digest, deliveries with retries, one runner.

Every digest goes over real HTTP to a receiver this module starts (http.server on a free port), which
verifies the signature as docs/API.md tells receivers to (HMAC-SHA256 over `t.body`, timestamps older
than five minutes refused). The service's clock is the tests' `Clock` (Vietnam dates below); the
signature carries the real time, which the receiver judges.

The calendar of the hand computations (2025): Fri 26 Sep, Sat 27, Sun 28, Mon 29, Tue 30, Wed 1 Oct
(a day off the province declares in these tests), Thu 2, Fri 3, Sat 4, Sun 5, Mon 6.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Generator, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, insert, select, text

from app.cli import main as cli_main
from app.config import Settings, get_settings
from app.main import create_app
from app.models import AuditEntry, FeedQualityCount, FeedQualityExample, WebhookDelivery, WebhookSent
from app.store.engine import make_engine
from app.webhooks.digest import DigestScope, WorklistSource
from app.webhooks.jobs import PRUNE_HOOKS, JobRunner
from app.webhooks.lease import hold_lease
from app.worklists.schemas import WorklistItem
from tests.conftest import ADMIN_TOKEN, Clock
from tests.factory import AGENCY, COMMUNE, OTHER_AGENCY, open_rec, rec
from tests.ingesting import new_token, with_token
from tests.test_dashboard import _run_server

DAY_OFF = "2025-10-01"


def at(local: str) -> datetime:
    """A Vietnam local time 'YYYY-MM-DD HH:MM' as the UTC instant the clock holds."""
    return datetime.fromisoformat(local + "+07:00").astimezone(UTC)


# --- the receiver ------------------------------------------------------------------------------------


class Receiver:
    """A webhook receiver: checks each POST's signature and age; fails the first `fail_first` good ones."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}  # path -> secret
        self.fail_first = 0
        self.attempts: list[tuple[str, str, int]] = []  # (path, X-TTHC-Delivery, status answered)
        self.accepted: list[tuple[str, dict[str, Any]]] = []  # (path, digest)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.judge(self.path, dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # serve_forever checks for shutdown() every poll_interval: 0.5 s by default, paid by every test
        # at teardown; 0.05 s costs nothing while the receiver waits.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def judge(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            status = self._judge(path, headers, body)
            self.attempts.append((path, headers.get("X-TTHC-Delivery", ""), status))
            return status

    def _judge(self, path: str, headers: dict[str, str], body: bytes) -> int:
        secret = self.secrets.get(path)
        try:
            parts = dict(p.split("=", 1) for p in headers["X-TTHC-Signature"].split(","))
            t = int(parts["t"])
        except (KeyError, ValueError):
            return 401
        expected = hmac.new(secret.encode() if secret else b"", f"{t}.".encode() + body, hashlib.sha256)
        if secret is None or not hmac.compare_digest(expected.hexdigest(), parts.get("v1", "")):
            return 401
        if time.time() - t > 300:
            return 400  # a replay, or a sender whose clock is wrong
        if headers.get("Content-Type") != "application/json":
            return 415
        if self.fail_first > 0:
            self.fail_first -= 1
            return 503
        self.accepted.append((path, json.loads(body)))
        return 204

    def digests(self, path: str = "/hook") -> list[dict[str, Any]]:
        return [d for p, d in self.accepted if p == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        DATABASE_URL=db_url,
        TTHC_ADMIN_TOKEN=ADMIN_TOKEN,
        TTHC_WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        TTHC_WEBHOOK_DIGEST_TIME="07:00",
        TTHC_WEBHOOK_MAX_ATTEMPTS=3,
        TTHC_WEBHOOK_RETRY_SECONDS=60,
        TTHC_JOBS_IN_SERVER=False,
    )


@pytest.fixture
def runner(engine: Engine, settings: Settings, clock: Clock) -> JobRunner:
    return JobRunner(engine, settings, clock)


@pytest.fixture(autouse=True)
def start(clock: Clock, client: TestClient) -> None:
    """Wed 1 Oct 2025, 08:00, a day off of the province's calendar."""
    clock.now = at("2025-10-01 08:00")
    r = client.put("/v1/calendar/2025", json=[{"day": DAY_OFF, "working": False, "note": "nghỉ"}])
    assert r.status_code == 200, r.text


def subscribe(client: TestClient, receiver: Receiver, path: str = "/hook", **over: Any) -> str:
    body = {"url": receiver.url(path), "kinds": ["overdue"], "scope": {"agency": [AGENCY]}, **over}
    r = client.post("/v1/webhooks", json=body)
    assert r.status_code == 201, r.text
    receiver.secrets[path] = r.json()["secret"]
    webhook_id: str = r.json()["id"]
    return webhook_id


def ingest(client: TestClient, records: list[dict[str, Any]]) -> None:
    r = client.post("/v1/dossiers", json=records)
    assert r.status_code == 200, r.text
    assert r.json()["rejected"] == 0, r.text


def overdue(code: str, due_at: str, **over: Any) -> dict[str, Any]:
    return open_rec(
        code,
        received_at="2025-09-15T08:00:00+07:00",
        due_at=due_at,
        updated_at="2025-10-01T07:00:00+07:00",
        **over,
    )


def deliveries(client: TestClient, webhook_id: str, **params: Any) -> list[dict[str, Any]]:
    r = client.get(f"/v1/webhooks/{webhook_id}/deliveries", params=params)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


# --- the digest's content ----------------------------------------------------------------------------


def test_the_digest_carries_the_worklists_in_scope_signed(
    client: TestClient, receiver: Receiver, runner: JobRunner, clock: Clock
) -> None:
    ingest(
        client,
        [
            overdue(
                "A-1",
                "2025-09-29T17:00:00+07:00",
                procedure_name="Cấp giấy phép xây dựng",
                commune_code=COMMUNE,
                sector="xay_dung",
            ),
            overdue("B-2", "2025-09-26T17:00:00+07:00", apology_issued=True),
            overdue("C-3", "2025-10-03T17:00:00+07:00"),  # not yet due: due soon
            overdue("D-4", "2025-10-02T07:00:00+07:00"),  # due half an hour before the digest
            overdue(  # its one supplement request unanswered: the applicant's clock
                "E-5",
                "2025-09-25T17:00:00+07:00",
                status="supplement_requested",
                supplements=[{"requested_at": "2025-09-24T09:00:00+07:00", "supplied_at": None}],
            ),
            overdue("F-6", "2025-09-25T17:00:00+07:00", agency_code=OTHER_AGENCY),  # out of scope
            rec("G-7", due_at="2025-09-29T17:00:00+07:00", resolved_at="2025-09-30T10:00:00+07:00"),  # done
            overdue("H-8", "2025-09-30"),  # a bare date: the end of 30 Sep, i.e. 1 Oct 00:00
            overdue("I-9", "2025-10-10T17:00:00+07:00"),  # 6 working days left: not due soon
        ],
    )
    webhook_id = subscribe(client, receiver, kinds=["overdue", "due_soon"])
    # Made at 08:00 on 1 Oct, after that day's 07:00: the first digest is the next day's.
    [info] = client.get("/v1/webhooks").json()
    assert info["next_digest_at"] == "2025-10-02T07:00:00+07:00"
    scope = {"agency": [AGENCY], "commune": None, "sector": None, "procedure": None}
    assert (info["kinds"], info["scope"]) == (["overdue", "due_soon"], scope)
    clock.now = at("2025-10-02 06:59")
    assert runner.tick().queued == 0
    assert receiver.attempts == []

    clock.now = at("2025-10-02 07:30")
    report = runner.tick()
    assert (report.ran, report.queued, report.delivered) == (True, 1, 1)
    [digest] = receiver.digests()
    assert {k: v for k, v in digest.items() if k != "lists"} == {
        "subscription_id": webhook_id,
        "day": "2025-10-02",
        "generated_at": "2025-10-02T07:30:00+07:00",
        "scope": scope,
    }
    assert [(x["kind"], x["truncated"]) for x in digest["lists"]] == [("overdue", False), ("due_soon", False)]
    keys = ("code", "deadline_at", "working_days_late", "working_days_left", "apology_issued", "apology_owed")
    # Working days after the deadline's day up to Thu 2 Oct, 1 Oct being off:
    # B-2: 29 Sep, 30 Sep, 2 Oct = 3; A-1: 30 Sep, 2 Oct = 2; H-8 (its day is 30 Sep): 2 Oct = 1;
    # D-4 (due 2 Oct 07:00, past at 07:30): none after its own day = 0. Deadline order: B, A, H, D.
    # C-3: the working days after 2 Oct up to 3 Oct = 1 left (I-9: 3, 6, 7, 8, 9, 10 Oct = 6).
    assert [tuple(i[k] for k in keys) for x in digest["lists"] for i in x["items"]] == [
        ("B-2", "2025-09-26T17:00:00+07:00", 3, None, True, False),
        ("A-1", "2025-09-29T17:00:00+07:00", 2, None, False, True),
        ("H-8", "2025-10-01T00:00:00+07:00", 1, None, False, True),
        ("D-4", "2025-10-02T07:00:00+07:00", 0, None, False, True),
        ("C-3", "2025-10-03T17:00:00+07:00", None, 1, False, True),
    ]
    a1 = digest["lists"][0]["items"][1]
    assert {k: a1[k] for k in ("procedure_name", "agency_name", "commune_code", "sector", "clock")} == {
        "procedure_name": "Cấp giấy phép xây dựng",
        "agency_name": "Sở Xây dựng",
        "commune_code": COMMUNE,
        "sector": "xay_dung",
        "clock": "agency",
    }
    # Each item exactly as the worklist itself gives it at that instant (one rule, one shape).
    for lst in digest["lists"]:
        page = client.get(f"/v1/worklists/{lst['kind']}", params={"agency": AGENCY})
        assert page.status_code == 200, page.text
        assert lst["items"] == page.json()["items"]
    [d] = deliveries(client, webhook_id)
    assert receiver.attempts == [("/hook", str(d["id"]), 204)]
    assert {k: d[k] for k in ("day", "status", "attempts", "items", "last_status_code", "delivered_at")} == {
        "day": "2025-10-02",
        "status": "delivered",
        "attempts": 1,
        "items": 5,
        "last_status_code": 204,
        "delivered_at": "2025-10-02T07:30:00+07:00",
    }
    assert client.get("/v1/webhooks").json()[0]["next_digest_at"] == "2025-10-03T07:00:00+07:00"


def test_each_dossier_is_listed_once_and_a_long_list_continues_the_next_day(
    client: TestClient, receiver: Receiver, engine: Engine, settings: Settings, clock: Clock
) -> None:
    runner = JobRunner(engine, settings.model_copy(update={"webhook_max_items": 3}), clock)
    ingest(
        client,
        [
            overdue("A-1", "2025-09-29T17:00:00+07:00"),
            overdue("B-2", "2025-09-26T17:00:00+07:00"),
            overdue("H-8", "2025-09-30"),
            overdue("D-4", "2025-10-02T07:00:00+07:00"),
            overdue("C-3", "2025-10-02T17:00:00+07:00"),
        ],
    )
    webhook_id = subscribe(client, receiver)

    def listed() -> list[tuple[str, list[str], bool]]:
        out = []
        for digest in receiver.digests():
            [lst] = digest["lists"]
            out.append((digest["day"], [i["code"] for i in lst["items"]], lst["truncated"]))
        return out

    clock.now = at("2025-10-02 07:30")
    runner.tick()
    # Four overdue, three carried (deadline order), one left for the next day.
    assert listed() == [("2025-10-02", ["B-2", "A-1", "H-8"], True)]
    clock.now = at("2025-10-03 07:30")
    runner.tick()
    # D-4 left over, C-3 overdue since 2 Oct 17:00; B, A, H still overdue but already listed.
    assert listed()[1:] == [("2025-10-03", ["D-4", "C-3"], False)]
    clock.now = at("2025-10-04 07:30")
    runner.tick()
    assert listed()[2:] == [("2025-10-04", [], False)]
    # The record of what was sent: one row per (subscription, kind, dossier).
    with engine.connect() as conn:
        sent = conn.execute(select(WebhookSent.kind, WebhookSent.code).order_by(WebhookSent.code)).all()
    assert [tuple(r) for r in sent] == [("overdue", c) for c in ["A-1", "B-2", "C-3", "D-4", "H-8"]]
    assert [d["items"] for d in deliveries(client, webhook_id)] == [0, 2, 3]


def test_subscriptions_scoped_by_commune_sector_or_procedure_get_exactly_their_dossiers(
    client: TestClient, receiver: Receiver, runner: JobRunner, clock: Clock
) -> None:
    other_commune = "17380"  # Xã Yên Xuân
    ingest(
        client,
        [
            overdue("A-1", "2025-09-26T17:00:00+07:00", commune_code=COMMUNE, sector="xay_dung"),
            overdue(
                "B-2",
                "2025-09-29T17:00:00+07:00",
                agency_code=OTHER_AGENCY,
                commune_code=other_commune,
                sector="dat_dai",
            ),
            overdue(
                "C-3",
                "2025-09-30T17:00:00+07:00",
                agency_code=OTHER_AGENCY,
                commune_code=COMMUNE,
                sector="dat_dai",
            ),
            overdue("D-4", "2025-09-25T17:00:00+07:00", sector="xay_dung"),  # no ward
            overdue(
                "E-5", "2025-09-24T17:00:00+07:00", commune_code=other_commune, procedure_code="2.000001"
            ),
        ],
    )
    scopes: dict[str, dict[str, list[str]]] = {
        "/commune": {"commune": [COMMUNE]},
        "/sector": {"sector": ["dat_dai"]},
        "/ward-and-sector": {"commune": [other_commune], "sector": ["dat_dai", "xay_dung"]},
        "/procedure": {"procedure": ["2.000001"]},
    }
    for path, scope in scopes.items():
        subscribe(client, receiver, path, scope=scope)
    clock.now = at("2025-10-02 07:30")
    assert runner.tick().delivered == 4
    # Overdue on 2 Oct 07:30 all five, in deadline order E (24 Sep), D, A, B, C (30 Sep); each
    # subscription gets those its scope names, whatever their agency.
    got = {}
    for path in scopes:
        [digest] = receiver.digests(path)
        [lst] = digest["lists"]
        got[path] = [i["code"] for i in lst["items"]]
    assert got == {
        "/commune": ["A-1", "C-3"],  # D-4 has no ward, B-2 and E-5 are Yên Xuân's
        "/sector": ["B-2", "C-3"],
        "/ward-and-sector": ["B-2"],  # E-5 is Yên Xuân's, but has no sector
        "/procedure": ["E-5"],  # the others are 1.004227
    }


def test_the_digest_comes_at_the_digest_time_set(
    receiver: Receiver, engine: Engine, db_url: str, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTHC_WEBHOOK_DIGEST_TIME", "18:30")
    evening = Settings(
        DATABASE_URL=db_url,
        TTHC_ADMIN_TOKEN=ADMIN_TOKEN,
        TTHC_WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        TTHC_JOBS_IN_SERVER=False,
    )
    assert evening.webhook_digest_time == "18:30"
    runner = JobRunner(engine, evening, clock)
    with TestClient(create_app(evening, engine=engine, clock=clock)) as c:
        c.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        ingest(c, [overdue("A-1", "2025-09-29T17:00:00+07:00")])
        # Made at 08:00 on 1 Oct, before that day's 18:30: the first digest is that evening's.
        webhook_id = subscribe(c, receiver)
        assert c.get("/v1/webhooks").json()[0]["next_digest_at"] == "2025-10-01T18:30:00+07:00"
        for now, queued in (
            ("2025-10-01 18:29", 0),
            ("2025-10-01 18:30", 1),
            ("2025-10-02 07:30", 0),  # past 07:00, the default time: nothing
            ("2025-10-02 18:29", 0),
            ("2025-10-02 18:30", 1),
        ):
            clock.now = at(now)
            assert runner.tick().queued == queued, now
        assert c.get("/v1/webhooks").json()[0]["next_digest_at"] == "2025-10-03T18:30:00+07:00"
        assert [d["day"] for d in deliveries(c, webhook_id)] == ["2025-10-02", "2025-10-01"]
    assert [(d["day"], d["generated_at"]) for d in receiver.digests()] == [
        ("2025-10-01", "2025-10-01T18:30:00+07:00"),
        ("2025-10-02", "2025-10-02T18:30:00+07:00"),
    ]


# --- one runner, whatever the workers ----------------------------------------------------------------


def test_two_runners_racing_on_the_same_database_send_each_digest_once(
    client: TestClient, receiver: Receiver, db_url: str, settings: Settings, clock: Clock, engine: Engine
) -> None:
    ingest(client, [overdue("A-1", "2025-09-29T17:00:00+07:00")])
    webhook_id = subscribe(client, receiver)
    engines = [make_engine(db_url), make_engine(db_url)]
    runners = [JobRunner(e, settings, clock) for e in engines]
    try:
        for day in ("2025-10-02", "2025-10-03", "2025-10-04"):
            clock.now = at(f"{day} 07:30")
            barrier = threading.Barrier(2)
            reports: list[Any] = [None, None]

            def work(i: int, barrier: threading.Barrier = barrier, reports: list[Any] = reports) -> None:
                barrier.wait()
                reports[i] = runners[i].tick()

            threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            # Whichever held the lease queued and sent; the other did nothing (or found nothing due).
            assert sum(r.queued for r in reports) == 1
            assert sum(r.delivered for r in reports) == 1
    finally:
        for e in engines:
            e.dispose()
    assert [d["day"] for d in receiver.digests()] == ["2025-10-02", "2025-10-03", "2025-10-04"]
    assert len(receiver.attempts) == 3
    assert len(deliveries(client, webhook_id)) == 3


def test_two_server_workers_serving_send_the_digest_once(
    receiver: Receiver, engine: Engine, settings: Settings, clock: Clock
) -> None:
    served = settings.model_copy(update={"jobs_in_server": True, "jobs_interval": 0.05})
    apps = [create_app(served, engine=engine, clock=clock) for _ in range(2)]
    with TestClient(apps[0]) as first, TestClient(apps[1]) as second:
        first.headers["Authorization"] = second.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        ingest(first, [overdue("A-1", "2025-09-29T17:00:00+07:00")])
        webhook_id = subscribe(second, receiver)
        clock.now = at("2025-10-02 07:30")
        deadline = time.monotonic() + 10
        while not receiver.accepted and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # ten more ticks of each worker
        assert [d["day"] for d in receiver.digests()] == ["2025-10-02"]
        assert len(receiver.attempts) == 1
        assert [d["status"] for d in deliveries(first, webhook_id)] == ["delivered"]


def test_two_worker_processes_of_a_real_server_send_the_digest_once(
    client: TestClient, receiver: Receiver, db_url: str, tmp_path: Path
) -> None:
    # The subscription and its dossier are written on 1 Oct by the tests' app; then `uvicorn --workers 2`
    # serves the same database, each worker process with its own job runner ticking every 50 ms and
    # its clock fixed at Thu 2 Oct 07:30, after the digest's 07:00: one process takes the lease and
    # sends the day's digest once; the other never sends it.
    ingest(client, [overdue("A-1", "2025-09-29T17:00:00+07:00")])
    webhook_id = subscribe(client, receiver)
    with _run_server(
        db_url,
        tmp_path / "server.log",
        "tests.clock_app:app",
        workers=2,
        TEST_CLOCK_NOW="2025-10-02T07:30:00+07:00",
        TTHC_JOBS_IN_SERVER="true",
        TTHC_JOBS_INTERVAL="0.05",
        TTHC_WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        TTHC_WEBHOOK_DIGEST_TIME="07:00",
    ) as server:
        deadline = time.monotonic() + 30
        while not receiver.accepted and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # twenty more ticks of each worker process
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        r = server.api.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=admin)
        assert r.status_code == 200, r.text
        assert [(d["day"], d["status"], d["attempts"]) for d in r.json()["items"]] == [
            ("2025-10-02", "delivered", 1)
        ]
    assert [d["day"] for d in receiver.digests()] == ["2025-10-02"]
    digest = receiver.digests()[0]
    assert [(x["kind"], [i["code"] for i in x["items"]]) for x in digest["lists"]] == [("overdue", ["A-1"])]
    assert len(receiver.attempts) == 1


def test_the_lease_keeps_a_second_runner_out_until_released(
    runner: JobRunner, engine: Engine, settings: Settings, clock: Clock
) -> None:
    other = JobRunner(engine, settings, clock)
    with hold_lease(engine, "jobs", "someone-else", clock(), timedelta(minutes=5)) as lease:
        assert lease.held
        assert runner.tick().ran is False
        assert other.tick().ran is False
    assert runner.tick().ran is True


def test_a_lease_row_left_by_a_dead_runner_expires_on_sqlite(
    runner: JobRunner, engine: Engine, clock: Clock, db_url: str
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's advisory lock ends with its session; no row to expire")
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO job_leases (name, holder, expires_at) VALUES ('jobs', 'dead', :e)"),
            {"e": (clock() + timedelta(seconds=30)).strftime("%Y-%m-%d %H:%M:%S.%f")},
        )
    assert runner.tick().ran is False
    clock.now += timedelta(seconds=31)
    assert runner.tick().ran is True


class PausedSource:
    """The worklists, paused before a list is read until `go` is set (`reading` says it got there)."""

    def __init__(self, province_code: int) -> None:
        self.inner = WorklistSource(province_code)
        self.kinds = self.inner.kinds
        self.reading = threading.Event()
        self.go = threading.Event()
        self.read_only: list[str] = []  # PostgreSQL: transaction_read_only of the lists' transaction

    def pages(
        self, conn: Connection, kind: str, scope: DigestScope, now: datetime
    ) -> Generator[list[WorklistItem], None, None]:
        if conn.dialect.name == "postgresql":
            self.read_only.append(str(conn.exec_driver_sql("SHOW transaction_read_only").scalar()))
        self.reading.set()
        assert self.go.wait(30)
        yield from self.inner.pages(conn, kind, scope, now)


def test_an_ingest_goes_on_while_a_digest_reads_its_lists(
    client: TestClient, receiver: Receiver, engine: Engine, settings: Settings, clock: Clock, db_url: str
) -> None:
    ingest(client, [overdue("A-1", "2025-09-29T17:00:00+07:00")])
    webhook_id = subscribe(client, receiver)
    source = PausedSource(settings.province_code)
    runner = JobRunner(engine, settings, clock, source=source)
    clock.now = at("2025-10-02 07:30")
    reports: list[Any] = []
    ingested = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            ingest(client, [overdue("B-2", "2025-09-26T17:00:00+07:00")])
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        else:
            ingested.set()

    ticking = threading.Thread(target=lambda: reports.append(runner.tick()))
    writer = threading.Thread(target=write)
    ticking.start()
    try:
        assert source.reading.wait(10)
        # The digest's list is being read. On SQLite a write transaction would hold every other writer
        # off until it ended (BEGIN IMMEDIATE): the ingest would wait for `go`.
        writer.start()
        assert ingested.wait(10), errors
    finally:
        source.go.set()
        ticking.join()
        if writer.ident is not None:  # started
            writer.join()
    if db_url.startswith("postgresql"):
        assert source.read_only == ["on"]
    [report] = reports
    assert (report.queued, report.delivered) == (1, 1)
    # The lists were read in a snapshot taken before the ingest: B-2 comes the next day.
    clock.now = at("2025-10-03 07:30")
    assert JobRunner(engine, settings, clock).tick().delivered == 1
    assert [(d["day"], [i["code"] for i in d["lists"][0]["items"]]) for d in receiver.digests()] == [
        ("2025-10-02", ["A-1"]),
        ("2025-10-03", ["B-2"]),
    ]
    assert [d["items"] for d in deliveries(client, webhook_id)] == [1, 1]


def test_a_dossier_sent_since_the_lists_were_read_is_not_listed_again(
    client: TestClient, receiver: Receiver, engine: Engine, settings: Settings, clock: Clock
) -> None:
    ingest(client, [overdue("A-1", "2025-09-29T17:00:00+07:00")])
    webhook_id = subscribe(client, receiver)
    source = PausedSource(settings.province_code)
    late = JobRunner(engine, settings, clock, source=source)
    queued: list[int] = []
    reading = threading.Thread(target=lambda: queued.append(late.queue_digests(at("2025-10-03 07:30"))))
    reading.start()
    try:
        assert source.reading.wait(10)
        # Meanwhile a runner whose clock lags (2 Oct) queues its digest, listing A-1.
        assert JobRunner(engine, settings, clock).queue_digests(at("2025-10-02 07:30")) == 1
    finally:
        source.go.set()
        reading.join()
    # The 3 Oct digest read A-1 as new; its write transaction found it sent and dropped it.
    assert queued == [1]
    assert [(d["day"], d["items"]) for d in deliveries(client, webhook_id)] == [
        ("2025-10-03", 0),
        ("2025-10-02", 1),
    ]
    with engine.connect() as conn:
        sent = conn.execute(select(WebhookSent.code, WebhookSent.delivery_id)).all()
    assert [(code, delivery) for code, delivery in sent] == [("A-1", deliveries(client, webhook_id)[1]["id"])]


# --- retries, catch-up, restarts ---------------------------------------------------------------------


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(
    client: TestClient, receiver: Receiver, runner: JobRunner, clock: Clock
) -> None:
    ingest(client, [overdue("A-1", "2025-09-29T17:00:00+07:00")])
    webhook_id = subscribe(client, receiver)
    receiver.fail_first = 2
    t0 = at("2025-10-02 07:30")
    clock.now = t0
    report = runner.tick()
    assert (report.queued, report.delivered, report.failed_attempts) == (1, 0, 1)
    [d] = deliveries(client, webhook_id)
    # Attempt 1 failed: the next waits TTHC_WEBHOOK_RETRY_SECONDS = 60 s.
    assert (d["status"], d["attempts"], d["last_status_code"], d["last_error"]) == (
        "pending",
        1,
        503,
        "HTTP 503 Service Unavailable",
    )
    assert d["next_attempt_at"] == "2025-10-02T07:31:00+07:00"
    clock.now = t0 + timedelta(seconds=59)
    assert runner.tick().failed_attempts == 0  # not yet due
    clock.now = t0 + timedelta(seconds=60)
    assert runner.tick().failed_attempts == 1
    # Attempt 2 failed at 07:31: the next waits 2 x 60 s, until 07:33.
    assert deliveries(client, webhook_id)[0]["next_attempt_at"] == "2025-10-02T07:33:00+07:00"
    clock.now = t0 + timedelta(seconds=180)
    assert runner.tick().delivered == 1
    [d] = deliveries(client, webhook_id)
    assert (d["status"], d["attempts"], d["last_status_code"], d["last_error"]) == ("delivered", 3, 204, None)
    # The same delivery id on every attempt; one digest accepted.
    assert receiver.attempts == [("/hook", str(d["id"]), s) for s in (503, 503, 204)]
    assert len(receiver.digests()) == 1


def test_a_delivery_given_up_lists_its_dossiers_again_the_next_day(
    client: TestClient, receiver: Receiver, runner: JobRunner, clock: Clock
) -> None:
    ingest(client, [overdue("A-1", "2025-09-29T17:00:00+07:00")])
    webhook_id = subscribe(client, receiver)
    receiver.fail_first = 3  # TTHC_WEBHOOK_MAX_ATTEMPTS = 3
    t0 = at("2025-10-02 07:30")
    for seconds in (0, 60, 180):
        clock.now = t0 + timedelta(seconds=seconds)
        runner.tick()
    [d] = deliveries(client, webhook_id)
    assert (d["status"], d["attempts"], d["next_attempt_at"]) == ("failed", 3, None)
    clock.now = at("2025-10-03 07:30")
    runner.tick()
    [digest] = receiver.digests()
    assert (digest["day"], [i["code"] for i in digest["lists"][0]["items"]]) == ("2025-10-03", ["A-1"])


def test_a_stale_signature_is_refused_by_the_receiver(
    client: TestClient, receiver: Receiver, engine: Engine, settings: Settings, clock: Clock
) -> None:
    slow = JobRunner(engine, settings, clock, signing_clock=lambda: time.time() - 301)
    webhook_id = subscribe(client, receiver)
    clock.now = at("2025-10-02 07:30")
    assert slow.tick().failed_attempts == 1
    assert deliveries(client, webhook_id)[0]["last_status_code"] == 400
    # Signed with the right time, the retry is accepted.
    clock.now += timedelta(seconds=60)
    assert JobRunner(engine, settings, clock).tick().delivered == 1


def test_a_missed_run_is_caught_up_once(
    client: TestClient, receiver: Receiver, runner: JobRunner, clock: Clock
) -> None:
    webhook_id = subscribe(client, receiver)
    # Down from Wed 1 Oct until Sun 5 Oct 09:00: the digests of 2, 3, 4 and 5 Oct were missed.
    clock.now = at("2025-10-05 09:00")
    assert runner.tick().queued == 1
    assert runner.tick().queued == 0
    clock.now = at("2025-10-06 06:00")
    assert runner.tick().queued == 0
    assert [d["day"] for d in receiver.digests()] == ["2025-10-05"]
    assert client.get("/v1/webhooks").json()[0]["next_digest_at"] == "2025-10-06T07:00:00+07:00"
    assert [d["day"] for d in deliveries(client, webhook_id)] == ["2025-10-05"]


def test_what_is_queued_is_sent_by_a_new_runner_after_a_restart(
    client: TestClient, receiver: Receiver, db_url: str, settings: Settings, clock: Clock
) -> None:
    ingest(client, [overdue("A-1", "2025-09-29T17:00:00+07:00")])
    webhook_id = subscribe(client, receiver)
    clock.now = at("2025-10-02 07:30")
    before = make_engine(db_url)
    try:
        assert JobRunner(before, settings, clock).queue_digests(clock()) == 1  # then the process stops
    finally:
        before.dispose()
    assert receiver.attempts == []
    after = make_engine(db_url)
    try:
        report = JobRunner(after, settings, clock).tick()
    finally:
        after.dispose()
    assert (report.queued, report.delivered) == (0, 1)
    [digest] = receiver.digests()
    assert [i["code"] for i in digest["lists"][0]["items"]] == ["A-1"]
    assert deliveries(client, webhook_id)[0]["status"] == "delivered"


# --- pruning -----------------------------------------------------------------------------------------


def test_the_runner_prunes_the_audit_trail_and_old_deliveries(
    client: TestClient, receiver: Receiver, engine: Engine, settings: Settings, clock: Clock
) -> None:
    assert [name for name, _ in PRUNE_HOOKS] == ["audit", "webhook_deliveries", "feed_quality"]
    webhook_id = subscribe(client, receiver)  # one audit row, at 1 Oct 08:00
    quality_days = ["2025-09-28", "2025-09-29", "2025-09-30", "2025-10-01"]
    with engine.begin() as conn:
        for day in quality_days:
            conn.execute(
                insert(FeedQualityCount).values(
                    day=datetime.fromisoformat(day).date(),
                    token_id="",
                    agency_code=AGENCY,
                    kind="warning",
                    field="due_at",
                    rule="missing",
                    type="",
                    count=1,
                )
            )
        for day in quality_days[1:3]:
            conn.execute(
                insert(FeedQualityExample).values(
                    agency_code=AGENCY,
                    kind="warning",
                    field="due_at",
                    rule="missing",
                    type="",
                    code=f"X-{day}",
                    token_id="",
                    day=datetime.fromisoformat(day).date(),
                    seen_at=at(f"{day} 09:00"),
                )
            )
        for days in (40, 31, 29):
            conn.execute(
                insert(AuditEntry).values(
                    at=clock() - timedelta(days=days),
                    token_id="t",
                    method="POST",
                    path="/v1/dossiers",
                    status_code=200,
                    duration_ms=1.0,
                )
            )
    kept = settings.model_copy(
        update={"audit_retention_days": 30, "webhook_retention_days": 2, "feed_quality_days": 3}
    )
    runner = JobRunner(engine, kept, clock)
    clock.now = at("2025-10-02 07:30")
    report = runner.tick()
    # Older than 30 days before 2 Oct 07:30: the rows of 40 and 31 days before 1 Oct 08:00.
    assert report.pruned["audit"] == 2
    assert report.pruned["webhook_deliveries"] == 0  # the digest just delivered
    # The feed's quality: 2 Oct and the two days before it kept (30 Sep on); gone the counts of 28 and
    # 29 Sep and the example of 29 Sep.
    assert report.pruned["feed_quality"] == 3

    def quality() -> tuple[list[str], list[str]]:
        with engine.connect() as conn:
            counts = conn.execute(select(FeedQualityCount.day).order_by(FeedQualityCount.day)).scalars()
            examples = conn.execute(select(FeedQualityExample.day).order_by(FeedQualityExample.day)).scalars()
            return [d.isoformat() for d in counts], [d.isoformat() for d in examples]

    assert quality() == (["2025-09-30", "2025-10-01"], ["2025-09-30"])
    with engine.connect() as conn:
        paths = conn.execute(select(AuditEntry.path).order_by(AuditEntry.at, AuditEntry.id)).scalars().all()
    assert paths == [
        "/v1/dossiers",
        "/v1/calendar/2025",
        "/v1/webhooks",
    ]
    clock.now = at("2025-10-03 07:30")
    report = runner.tick()
    assert report.pruned["webhook_deliveries"] == 0  # the 2 Oct one is a day old
    assert report.pruned["feed_quality"] == 2  # 1 Oct on kept: 30 Sep's count and example gone
    assert quality() == (["2025-10-01"], [])
    clock.now = at("2025-10-04 07:31")  # the 2 Oct delivery (07:30) is now more than two days old
    report = runner.tick()
    assert report.pruned["webhook_deliveries"] == 1
    assert [d["day"] for d in deliveries(client, webhook_id)] == ["2025-10-04", "2025-10-03"]
    with engine.connect() as conn:
        stored = conn.execute(select(WebhookDelivery.day).order_by(WebhookDelivery.day)).scalars().all()
    assert [d.isoformat() for d in stored] == ["2025-10-03", "2025-10-04"]


# --- the command line --------------------------------------------------------------------------------


def test_jobs_run_from_the_command_line(
    client: TestClient,
    receiver: Receiver,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Made on 1 Oct 2025 (the tests' clock); the command runs at the real time, years of digests later:
    # one is queued and sent.
    webhook_id = subscribe(client, receiver)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("TTHC_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.delenv("TTHC_ADMIN_TOKEN", raising=False)
    get_settings.cache_clear()
    try:
        assert cli_main(["jobs", "run"]) == 0
        first = capsys.readouterr().out
        assert cli_main(["jobs", "run"]) == 0
        second = capsys.readouterr().out
    finally:
        get_settings.cache_clear()
    assert first.startswith("1 digests queued, 1 delivered, 0 attempts failed (to be retried), 0 given up")
    assert second.startswith("0 digests queued, 0 delivered")
    [digest] = receiver.digests()
    assert digest["subscription_id"] == webhook_id
    # The day whose 07:00 (Vietnam) last passed before the command ran.
    local = datetime.now(UTC) + timedelta(hours=7)
    expected = local.date() if local.hour >= 7 else local.date() - timedelta(days=1)
    assert digest["day"] == expected.isoformat()


# --- the API: access, input, SSRF --------------------------------------------------------------------


def test_only_an_admin_manages_webhooks(client: TestClient, anon: TestClient, receiver: Receiver) -> None:
    webhook_id = subscribe(client, receiver)
    reader = with_token(client, new_token(client, ["read", "ingest"]))
    body = {"url": receiver.url(), "kinds": ["overdue"]}
    for c, status in ((anon, 401), (reader, 403)):
        assert c.post("/v1/webhooks", json=body).status_code == status
        assert c.get("/v1/webhooks").status_code == status
        assert c.get(f"/v1/webhooks/{webhook_id}/deliveries").status_code == status
        assert c.delete(f"/v1/webhooks/{webhook_id}").status_code == status
    # The list never carries the secret.
    listed = client.get("/v1/webhooks")
    assert receiver.secrets["/hook"] not in listed.text
    assert "secret" not in listed.json()[0]
    assert client.delete(f"/v1/webhooks/{webhook_id}").status_code == 204
    assert client.get("/v1/webhooks").json() == []
    for r in (
        client.delete(f"/v1/webhooks/{webhook_id}"),
        client.get(f"/v1/webhooks/{webhook_id}/deliveries"),
    ):
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"


def _refused(client: TestClient, body: dict[str, Any]) -> list[Any]:
    r = client.post("/v1/webhooks", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    return [e["loc"] for e in r.json()["errors"]]


# Each case: (its name, what it changes in a good subscription, the field the single error names).
BAD_INPUT: list[tuple[str, dict[str, Any], list[Any]]] = [
    ("unknown kind", {"kinds": ["soon"]}, ["body", "kinds", 0]),
    ("no kind", {"kinds": []}, ["body", "kinds"]),
    ("a kind twice", {"kinds": ["overdue", "overdue"]}, ["body", "kinds"]),
    ("ftp", {"url": "ftp://127.0.0.1/x"}, ["body", "url"]),
    ("not a URL", {"url": "not a url"}, ["body", "url"]),
    ("credentials in the URL", {"url": "http://user:pw@127.0.0.1/x"}, ["body", "url"]),
    ("unknown agency", {"scope": {"agency": ["000.00.99.H41"]}}, ["body", "scope", "agency", 0]),
    ("unknown commune", {"scope": {"commune": ["00001"]}}, ["body", "scope", "commune", 0]),
    ("unknown sector", {"scope": {"sector": ["Đất đai"]}}, ["body", "scope", "sector", 0]),
    ("unknown scope key", {"scope": {"unit": ["x"]}}, ["body", "scope", "unit"]),
    ("a secret chosen by the caller", {"secret": "mine"}, ["body", "secret"]),
]


def test_bad_input_is_a_problem_naming_the_field(client: TestClient, receiver: Receiver) -> None:
    # One app and one database for the whole table; every failing case is reported at once.
    failures: list[tuple[Any, ...]] = []
    for name, over, loc in BAD_INPUT:
        r = client.post("/v1/webhooks", json={"url": receiver.url(), "kinds": ["overdue"], **over})
        got = (r.status_code, r.headers["content-type"])
        if got != (422, "application/problem+json"):
            failures.append((name, got, r.text))
        elif (locs := [e["loc"] for e in r.json()["errors"]]) != [loc]:
            failures.append((name, locs, loc))
        elif (listed := client.get("/v1/webhooks").json()) != []:
            failures.append((name, "stored", listed))
            for w in listed:  # so that the next cases are judged alone
                client.delete(f"/v1/webhooks/{w['id']}")
    assert not failures, failures


def test_internal_targets_are_refused_unless_allowed(
    engine: Engine, settings: Settings, clock: Clock
) -> None:
    open_settings = settings.model_copy(update={"webhook_allowed_hosts": ""})
    with TestClient(create_app(open_settings, engine=engine, clock=clock)) as c:
        c.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        for url in (
            "http://127.0.0.1:8000/hook",
            "http://10.1.2.3/hook",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]/hook",
            "http://[::ffff:192.168.1.1]/hook",
            "http://100.64.0.1/hook",
            "http://0.0.0.0/hook",
            "http://localhost/hook",
            "http://api.localhost/hook",
            "http://metadata.google.internal/hook",
            "http://printer.local/hook",
            "http://intranet/hook",
        ):
            assert _refused(c, {"url": url, "kinds": ["overdue"]}) == [["body", "url"]], url
        # A public name is accepted (it is resolved and checked again before each attempt).
        r = c.post("/v1/webhooks", json={"url": "https://hooks.example.vn/tthc?x=1", "kinds": ["overdue"]})
        assert r.status_code == 201, r.text
    # With TTHC_WEBHOOK_ALLOWED_HOSTS set, only the hosts it names, internal or not.
    with TestClient(create_app(settings, engine=engine, clock=clock)) as c:
        c.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        assert _refused(c, {"url": "http://10.1.2.3/hook", "kinds": ["overdue"]}) == [["body", "url"]]
        assert _refused(c, {"url": "https://hooks.example.vn/", "kinds": ["overdue"]}) == [["body", "url"]]
        assert (
            c.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/h", "kinds": ["overdue"]}).status_code
            == 201
        )


def test_deliveries_are_paged_newest_first(
    client: TestClient, receiver: Receiver, runner: JobRunner, clock: Clock
) -> None:
    webhook_id = subscribe(client, receiver)
    for day in ("02", "03", "04"):
        clock.now = at(f"2025-10-{day} 07:30")
        runner.tick()
    r = client.get(f"/v1/webhooks/{webhook_id}/deliveries", params={"limit": 2})
    page = r.json()
    assert [d["day"] for d in page["items"]] == ["2025-10-04", "2025-10-03"]
    assert page["next_cursor"] == page["items"][1]["id"]
    rest = client.get(
        f"/v1/webhooks/{webhook_id}/deliveries", params={"limit": 2, "before": page["next_cursor"]}
    )
    assert [d["day"] for d in rest.json()["items"]] == ["2025-10-02"]
    assert rest.json()["next_cursor"] is None
    assert client.get(f"/v1/webhooks/{webhook_id}/deliveries", params={"limit": 501}).status_code == 422
    assert client.get("/v1/webhooks/NOT-AN-ID/deliveries").status_code == 422
