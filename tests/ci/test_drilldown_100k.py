"""GET /v1/dossiers?format=csv|xlsx at 100,000 rows: every row sent, the server's memory bounded. A test takes
~10 s (CSV) and ~60 s (XLSX: ~30 s to write the workbook, ~25 s to read it back) per store, so they run
with the CI-only checks (`make ci-extra`); the suite runs the CSV export at 10,000 rows
(tests/test_drilldown.py). The figures of the last run: docs/PERFORMANCE.md, "The drill-down's exports"."""

from __future__ import annotations

import tempfile
import time

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.api import exports
from tests.factory import rec
from tests.ingesting import post
from tests.test_drilldown import _large_export, _seed_copies, _stream


def test_a_100k_csv_export_streams_with_bounded_memory(client: TestClient, engine: Engine) -> None:
    # Measured: +39 to +47 MiB of resident growth on SQLite (its page cache, most likely), +12 MiB alone
    # on PostgreSQL, for a 43 MB body; the whole list held as Python objects would take ~500 MB.
    _large_export(client, engine, 100_000, 96 * 2**20)


HEADINGS = [
    "code",
    "procedure_code",
    "procedure_name",
    "sector",
    "agency_code",
    "commune_code",
    "channel",
    "online_level",
    "received_at",
    "due_at",
    "resolved_at",
    "returned_at",
    "status",
    "fee_required",
    "paid_online",
    "digitised_intake",
    "digitised_result",
    "reused_digital_data",
    "apology_issued",
    "rating",
    "supplements",
    "complaint",
    "population_data",
    "from_personal_store",
    "updated_at",
    "outcome",
    "agency_name",
    "commune_name",
    "deadline_at",
    "deadline_source",
    "working_days_overdue",
    "working_days_early",
]


# rec()'s template as the export writes it: booleans có/không, null an empty cell, numbers numbers.
def _row(code: str) -> list[object]:
    return [
        code,
        "1.004227",
        None,  # procedure_name: no catalogue loaded
        None,  # sector
        "000.00.07.H41",
        None,  # commune_code
        "in_person",
        None,  # online_level
        "2025-07-01T08:00:00+07:00",
        "2025-07-10T17:00:00+07:00",
        "2025-07-08T10:00:00+07:00",
        None,  # returned_at
        "resolved",
        *["không"] * 6,  # fee_required … apology_issued
        None,  # rating
        None,  # supplements: none
        *["không"] * 3,  # complaint, population_data, from_personal_store
        "2025-07-08T10:00:00+07:00",
        "early",
        "Sở Xây dựng",
        None,  # commune_name
        "2025-07-10T17:00:00+07:00",
        "due_at",
        None,  # working_days_overdue
        2,  # working_days_early: resolved Tue 8 Jul, due Thu 10 Jul: the 9th and the 10th
    ]


def test_a_100k_xlsx_export_is_whole_with_bounded_memory(client: TestClient, engine: Engine) -> None:
    n = 100_000
    assert n + 1 < exports.XLSX_MAX_ROWS == 1_000_000  # the copies and the template: not refused
    assert post(client, [rec("BULK-TEMPLATE")])["created"] == 1
    _seed_copies(engine, "BULK-TEMPLATE", n)
    # The body goes to a file as it arrives (held in memory it would count as the server's growth).
    with tempfile.TemporaryFile() as body:
        started = time.monotonic()
        status, growth = _stream(client, "/v1/dossiers", "format=xlsx&procedure=1.004227", body.write)
        took = time.monotonic() - started
        size = body.tell() / 2**20
        print(f"{n} rows as XLSX: {took:.1f} s, {size:.1f} MiB, resident memory +{growth / 2**20:.1f} MiB")
        assert status == 200
        body.seek(0)
        workbook = openpyxl.load_workbook(body, read_only=True)
        sheet = workbook.active
        assert sheet is not None
        assert sheet.title == "ho-so"
        rows = 0
        codes_in_order = True
        picked: dict[int, list[object]] = {}
        for i, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            rows = i
            # data rows in code order: BULK-000000 on row 2 … BULK-099999 on row 100,001, then the template
            if 2 <= i <= n + 1 and values[0] != f"BULK-{i - 2:06d}":
                codes_in_order = False
            if i in (1, 2, 50_002, n + 1, n + 2):
                # (read-only mode leaves out a row's trailing empty cells; none here ends empty)
                picked[i] = list(values)
        workbook.close()
        print(f"read back in {time.monotonic() - started - took:.1f} s")
    assert rows == 1 + n + 1  # the headings, the copies and the template
    assert codes_in_order
    assert picked[1] == HEADINGS
    assert picked[2] == _row("BULK-000000")
    assert picked[50_002] == _row("BULK-050000")
    assert picked[n + 1] == _row("BULK-099999")
    assert picked[n + 2] == _row("BULK-TEMPLATE")
    # Measured (each store alone): +44 MiB on SQLite, most likely its page cache (at most 64 MiB a
    # connection), +9 MiB on PostgreSQL; openpyxl's write-only mode keeps the rows in a file, the shared
    # strings (each distinct text once: here every code) in memory. With the rows held whole before
    # writing (tried): +127 and +92 MiB.
    assert growth < 80 * 2**20, growth
