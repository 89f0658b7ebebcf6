"""GET /v1/dossiers?format=csv at 100,000 rows: every line streamed, the server's memory bounded. It takes
~30 s per store, so it runs with the CI-only checks (`make ci-extra`); the suite runs the same export at
10,000 rows (tests/test_drilldown.py)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.test_drilldown import _large_export


def test_a_100k_csv_export_streams_with_bounded_memory(client: TestClient, engine: Engine) -> None:
    # Measured: ~47 MiB of resident growth at 100k rows (15 MiB at 10k) for a 43 MB body; the whole
    # list held as Python objects would take ~500 MB.
    _large_export(client, engine, 100_000, 96 * 2**20)
