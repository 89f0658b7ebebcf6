"""A client generated from openapi.json by openapi-python-client, used end to end against the real server.

The client is generated into a temporary directory at test time (never committed), so what is tested
is what an integrator gets from the committed document today.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.factory import AGENCY, open_rec, rec
from tests.trust.live import ADMIN_TOKEN, Database, start_server

PACKAGE = "tthc_metrics_client"

# Four July 2025 dossiers of one agency: early and online, late with an apology, open and overdue,
# and one whose deadline precedes its receipt (refused).
RECORDS: list[dict[str, Any]] = [
    rec(
        "E2E-A",
        channel="online",
        online_level="full",
        fee_required=True,
        paid_online=True,
        rating="very_satisfied",
        sector="xay_dung",
    ),
    rec(
        "E2E-B",
        resolved_at="2025-07-12T10:00:00+07:00",
        updated_at="2025-07-12T10:00:00+07:00",
        apology_issued=True,
        rating="dissatisfied",
        sector="xay_dung",
    ),
    open_rec("E2E-C", due_at="2025-07-20T17:00:00+07:00", updated_at="2025-07-02T08:00:00+07:00"),
    rec("E2E-D", due_at="2025-06-01T17:00:00+07:00"),
]


def generate_client(out: Path) -> list[str]:
    """Run the generator on the committed document; return its warnings."""
    config = out.parent / "generator.json"
    # No formatter run afterwards: the generated code is imported, not read.
    config.write_text(json.dumps({"post_hooks": []}))
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "openapi-python-client"),
            "generate",
            "--path",
            str(ROOT / "openapi.json"),
            "--meta",
            "none",
            "--output-path",
            str(out),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    output = (done.stdout + done.stderr).splitlines()
    return [line for line in output if line.startswith(("WARNING", "Unsupported"))]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ModuleType, list[str]]]:
    root = tmp_path_factory.mktemp("client")
    warnings = generate_client(root / PACKAGE)
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE), warnings
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def test_the_generator_reads_the_whole_document(generated: tuple[ModuleType, list[str]]) -> None:
    _, warnings = generated
    # The one part a generated client cannot take: the NDJSON stream of POST /v1/dossiers (it gets the
    # JSON array form of the same operation; bulk imports use `tthc-metrics import`).
    assert warnings == [
        "WARNING parsing POST /v1/dossiers within dossiers.",
        "Unsupported content type application/x-ndjson",
    ]


def test_ingest_and_read_through_the_generated_client(
    generated: tuple[ModuleType, list[str]], live_db: Database, tmp_path: Path
) -> None:
    pkg, _ = generated
    api = importlib.import_module(f"{PACKAGE}.api.dossiers.ingest_dossiers")
    put = importlib.import_module(f"{PACKAGE}.api.dossiers.put_dossier")
    get_dossier = importlib.import_module(f"{PACKAGE}.api.dossiers.get_dossier")
    metrics = importlib.import_module(f"{PACKAGE}.api.metrics.get_metrics")
    report = importlib.import_module(f"{PACKAGE}.api.reports.get_dossier_processing_report")
    scorecard = importlib.import_module(f"{PACKAGE}.api.reports.get_scorecard")
    models = importlib.import_module(f"{PACKAGE}.models")

    server = start_server(live_db.url, tmp_path / "server.log")
    try:
        client = pkg.AuthenticatedClient(
            base_url=server.url, token=ADMIN_TOKEN, raise_on_unexpected_status=True
        )
        body = [models.DossierIn.from_dict(r) for r in RECORDS]

        first = api.sync(client=client, body=body)
        assert isinstance(first, models.IngestReport)
        assert (first.received, first.created, first.rejected) == (4, 3, 1)
        assert [(e.index, e.code, [x.loc for x in e.errors]) for e in first.errors] == [
            (3, "E2E-D", [["due_at"]])
        ]
        again = api.sync(client=client, body=body)
        assert (again.unchanged, again.created, again.rejected) == (3, 0, 1)

        stored = get_dossier.sync("E2E-B", client=client)
        assert isinstance(stored, models.DossierOut)
        assert stored.outcome == models.DossierOutOutcomeType0.LATE
        assert stored.received_at.isoformat() == "2025-07-01T08:00:00+07:00"

        missing = get_dossier.sync("E2E-NONE", client=client)
        assert isinstance(missing, models.Problem)
        assert (missing.status, missing.type_) == (404, "https://tthc-metrics.local/problems/not-found")

        conflicting = models.DossierIn.from_dict({**RECORDS[0], "rating": "neutral"})
        conflict = put.sync("E2E-A", client=client, body=conflicting)
        assert isinstance(conflict, models.Problem)
        assert conflict.status == 409
        assert [e.type_ for e in conflict.errors] == ["conflict"]

        july = metrics.sync(
            client=client,
            from_=date(2025, 7, 1),
            to=date(2025, 7, 31),
            group_by=[models.GetMetricsGroupByType0Item.AGENCY],
            agency=[AGENCY],
        )
        assert isinstance(july, models.MetricsResponse)
        assert [row.agency for row in july.rows] == [AGENCY]
        c, r = july.totals.counts, july.totals.rates
        assert (c.received, c.received_online, c.received_full_online) == (3, 1, 1)
        assert (c.fee_required, c.paid_online) == (1, 1)
        assert (c.finished, c.finished_early, c.finished_on_time, c.finished_late) == (2, 1, 0, 1)
        assert (c.carried_over, c.pending, c.pending_overdue, c.late_apologised) == (0, 1, 1, 1)
        assert (c.rated, c.satisfied) == (2, 1)
        assert (r.on_time, r.online, r.satisfaction, r.apology) == (0.5, 1 / 3, 0.5, 0.5)
        assert r.on_time_766 == 1 / 3
        assert july.rows[0].counts.to_dict() == c.to_dict()

        monthly = report.sync(
            client=client, period="2025-07", basis=models.GetDossierProcessingReportBasis.CALENDAR
        )
        assert isinstance(monthly, models.ReportResponse)
        assert (monthly.from_, monthly.to) == (date(2025, 7, 1), date(2025, 7, 31))
        ours = [row for row in monthly.rows if row.agency == AGENCY]
        assert len(ours) == 1
        assert ours[0].counts.to_dict() == c.to_dict()
        assert monthly.totals.counts.to_dict() == c.to_dict()

        year = scorecard.sync(client=client, year=2025)
        assert isinstance(year, models.ScorecardResponse)
        # Ranked by passed, then fewer failed: the idle agencies (0 passed, 0 failed) come before this
        # one (0 passed, 6 failed), which is last.
        top = year.rows[-1]
        assert (top.agency, top.rank, top.passed, top.failed) == (AGENCY, len(year.rows), 0, 6)
        judged = {t.name.value: (t.value, t.passed) for t in top.targets}
        assert judged == {
            "on_time": (0.5, False),
            "online": (1 / 3, False),
            "satisfaction": (0.5, False),
            "satisfaction_land_construction_investment": (0.5, False),
            "apology": (0.5, False),
            "pending_overdue": (1, False),
        }
        # Every other agency had nothing to judge: no target passed or failed, ranked before ours.
        assert all((row.passed, row.failed) == (0, 0) for row in year.rows[:-1])
        assert [row.rank for row in year.rows] == list(range(1, len(year.rows) + 1))
    finally:
        server.stop()
    assert "unhandled error" not in server.log_text()
    assert ADMIN_TOKEN not in server.log_text()
