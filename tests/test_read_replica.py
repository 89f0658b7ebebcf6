"""DATABASE_READ_URL: figures, reports and lists are read there (a replica); writes stay on the primary."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select

from app.migrate import upgrade
from app.models import Dossier
from app.store.engine import make_engine
from tests.conftest import Clock, reset_database
from tests.factory import open_rec, rec
from tests.ingesting import app_client, counts, metric_totals, post

CREATED_2 = {"received": 2, "created": 2, "updated": 0, "unchanged": 0, "stale": 0, "rejected": 0}


def test_reads_go_to_the_read_url_and_writes_to_the_primary(
    engine: Engine, clock: Clock, tmp_path: Path
) -> None:
    replica_url = f"sqlite:///{tmp_path / 'replica.db'}"
    upgrade(replica_url)
    replica = make_engine(replica_url)
    reset_database(replica)
    records = [rec("R-1"), open_rec("R-2")]
    try:
        with app_client(engine, clock, DATABASE_READ_URL=replica_url) as c:
            assert counts(post(c, records)) == CREATED_2
            # The replica has not caught up: every read says so, the primary holds both records.
            assert metric_totals(c, "2025-07-01", "2025-07-31")["received"] == 0
            assert c.get("/v1/dossiers/R-1").status_code == 404
            assert c.get("/v1/dossiers").json()["items"] == []
            report = c.get("/v1/reports/dossier-processing", params={"unit": "agency", "period": "2025-07"})
            assert report.json()["totals"]["counts"]["received"] == 0
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(Dossier)) == 2
        # The replica catches up (here, the same records written to it).
        with app_client(replica, clock) as r:
            assert counts(post(r, records)) == CREATED_2
        with app_client(engine, clock, DATABASE_READ_URL=replica_url) as c:
            totals = metric_totals(c, "2025-07-01", "2025-07-31")
            assert (totals["received"], totals["finished"], totals["pending"]) == (2, 1, 1)
            assert c.get("/v1/dossiers/R-1").json()["code"] == "R-1"
            assert [d["code"] for d in c.get("/v1/dossiers").json()["items"]] == ["R-1", "R-2"]
    finally:
        replica.dispose()
