"""The demo data set: the national index's inputs come from streams of their own, so every field the
demo had before is the same for the same seed; `demo-data` also loads the catalogue and the declared
values, directly or through the service, and the national index then has figures to show."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from app.cli import main
from app.core.supplements import Supplement, supplement_errors
from app.demo import SECTORS, DemoTally, demo_catalogue, demo_declared, generate_demo
from app.index.declared import check_items
from app.models import Dossier, IndexDeclared, Procedure
from app.reference.agencies import seed_agencies
from app.reference.procedures import check_row
from app.reference.rule_sets import shipped_rule_sets
from tests.conftest import ADMIN_TOKEN, Clock
from tests.test_cli import cli_env, served  # noqa: F401  (fixtures)

NEW_FIELDS = ("supplements", "complaint", "population_data", "from_personal_store")

# sha256 of the records, one orjson line each, as generate_demo wrote them before the national index's
# inputs were added (computed on commit 471d21f): a year of 2025 judged on 15 January 2026, and the
# last 12 months before 20 October 2025 (open dossiers included).
BEFORE = [
    (
        {"count": 3000, "seed": 2025, "year": 2025, "now": datetime(2026, 1, 15, tzinfo=UTC)},
        "345fe5414d2867ad4668ff00b2f90c8572d0762eef258a2b95041358c5eda486",
    ),
    (
        {"count": 1500, "seed": 7, "now": datetime(2025, 10, 20, 3, 0, tzinfo=UTC)},
        "82b46da3149bd78819c9c7b4de2ad3867cbd5a96a329b8e0f50ae23d889e5ba5",
    ),
]


def _digest(records: Iterable[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for r in records:
        h.update(orjson.dumps(r) + b"\n")
    return h.hexdigest()


@pytest.mark.parametrize(("args", "digest"), BEFORE)
def test_every_field_the_demo_had_is_the_same_for_the_same_seed(args: dict[str, Any], digest: str) -> None:
    # Byte for byte, in the same order: the records without the new stream, and the records with it
    # once its fields are set aside.
    assert _digest(generate_demo(**args, index_inputs=False)) == digest
    with_inputs = list(generate_demo(**args))
    assert all(list(r)[-4:] == list(NEW_FIELDS) for r in with_inputs)
    assert _digest({k: v for k, v in r.items() if k not in NEW_FIELDS} for r in with_inputs) == digest


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_index_inputs_at_their_rates() -> None:
    records = list(generate_demo(2000, seed=11, now=datetime(2025, 10, 1, 1, 0, tzinfo=UTC)))
    seen: Counter[str] = Counter()
    for r in records:
        received = _instant(r["received_at"])
        history = [
            Supplement(_instant(s["requested_at"]), _instant(s["supplied_at"]) if s["supplied_at"] else None)
            for s in r["supplements"]
        ]
        # Valid as the record's rules say; every request of a finished dossier answered before its
        # resolution; an open one's only unanswered request is its last, and it is supplement_requested.
        assert supplement_errors(received, history) == []
        if r["resolved_at"] is not None:
            assert all(s.supplied_at is not None for s in history)
            assert all(s.supplied_at <= _instant(r["resolved_at"]) for s in history if s.supplied_at)
        unanswered = any(s.supplied_at is None for s in history)
        assert unanswered == (r["status"] == "supplement_requested")
        assert all(s.requested_at <= _instant(r["updated_at"]) for s in history)
        late = (
            r["due_at"] is not None
            and r["resolved_at"] is not None
            and _instant(r["resolved_at"]) > _instant(r["due_at"])
        )
        seen["supplemented"] += bool(history)
        seen["two requests"] += len(history) == 2
        seen["open, supplemented"] += bool(history) and r["resolved_at"] is None
        seen["unanswered"] += unanswered
        seen["complaint"] += r["complaint"]
        seen["late"] += late
        seen["late, complaint"] += late and r["complaint"]
        seen["population_data"] += r["population_data"]
        seen["from_personal_store"] += r["from_personal_store"]
    # The seeded stream's counts for these 2,000 records (about 10%, 2%, 40% and 15% as drawn; a
    # complaint is about 8 times likelier on a late dossier: 10 of 85 against 26 of 1,915).
    assert seen == {
        "supplemented": 206,
        "two requests": 33,
        "open, supplemented": 10,
        "unanswered": 6,
        "complaint": 36,
        "late": 85,
        "late, complaint": 10,
        "population_data": 832,
        "from_personal_store": 311,
    }


def _demo_codes() -> set[str]:
    return {r["procedure_code"] for r in generate_demo(3000, seed=2025, year=2025, index_inputs=False)}


def test_the_catalogue_has_an_entry_for_each_of_the_demos_procedures() -> None:
    catalogue = demo_catalogue(2025)
    assert len(catalogue) == sum(n for _, _, n, _ in SECTORS) == 91
    assert _demo_codes() <= {e["code"] for e in catalogue}
    assert all(not isinstance(check_row(i, e), list) for i, e in enumerate(catalogue))
    levels = {slug: level for slug, level, _, _ in SECTORS}
    assert all(e["level"] == levels[e["sector"]] for e in catalogue)
    units = Counter(e["max_duration"]["unit"] if e["max_duration"] else None for e in catalogue)
    assert units == {"working_days": 75, "days": 8, "hours": 5, None: 3}
    flags = {f: sum(e[f] for e in catalogue) for f in ("fee", "paper_result", "full_online_eligible")}
    assert flags == {"fee": 33, "paper_result": 48, "full_online_eligible": 65}  # 36%, 53%, 71%
    assert all(e["full_online_eligible"] for e in catalogue if e["full_online_offered"])
    assert all(e["fee"] for e in catalogue if e["online_payment_integrated"])
    assert demo_catalogue(2025) == catalogue


def test_the_declared_values_are_valid_and_leave_some_missing() -> None:
    tally = DemoTally()
    records = list(
        tally.watch(generate_demo(3000, seed=2025, year=2025, now=datetime(2026, 1, 15, tzinfo=UTC)))
    )
    items = demo_declared(tally, seed=2025)
    scopes = {
        i.code: i.declared_scope or "unit"
        for rs in shipped_rule_sets()
        for i in rs.indicators
        if i.source == "declared"
    }
    agencies = [a.code for a in seed_agencies(40)]
    assert len(check_items(items, scopes, agencies)) == len(items)
    # 1.4 per month is the agency's dossiers received that month, a few of them not synced.
    received = Counter((r["agency_code"], r["received_at"][:7]) for r in records)
    for i in items:
        if i["indicator"] == "1.4" and i["unit"] == "agency" and len(i["period"]) == 7:
            assert i["denominator"] == received[i["code"], i["period"]] >= i["numerator"]
    province = {(i["period"], i["indicator"]) for i in items if i["unit"] == "province"}
    assert {(f"2025-Q{q}", c) for q in range(1, 5) for c in ("1.1", "1.2", "1.3")} <= province
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    with_dossiers = {a for a, _ in received}
    full_year = {a for a in with_dossiers if all((a, m, "1.4") in _keys(items) for m in months)}
    # 23 of the 140 agencies with dossiers skipped a month (that quarter's 1.4 is missing); no
    # department declares 4.6.
    assert (len(with_dossiers), len(with_dossiers - full_year)) == (140, 23)
    assert not any(i["indicator"] == "4.6" and i["code"].startswith("000.") for i in items if i["code"])
    kinds = Counter(
        (
            i["unit"],
            i["indicator"],
            "year" if len(i["period"]) == 4 else "quarter" if "Q" in i["period"] else "month",
        )
        for i in items
    )
    # Per agency: 140 × 12 months − 23 skipped; 114 declare 4.5b, 109 committees 4.6 and 114 agencies
    # 5.2 and 5.3, each for 4 quarters and the year. The province: 1.4 for 12 months, the rest for 4
    # quarters and the year.
    assert kinds == {
        ("agency", "1.4", "month"): 140 * 12 - 23,
        **{
            ("agency", c, p): n
            for c, k in (("4.5b", 114), ("4.6", 109), ("5.2", 114), ("5.3", 114))
            for p, n in (("quarter", 4 * k), ("year", k))
        },
        ("province", "1.4", "month"): 12,
        **{
            ("province", c, p): n
            for c in ("1.1", "1.2", "1.3", "4.5b", "4.6", "5.2", "5.3")
            for p, n in (("quarter", 4), ("year", 1))
        },
    }


def _keys(items: list[dict[str, Any]]) -> set[tuple[str | None, str, str]]:
    return {(i["code"], i["period"], i["indicator"]) for i in items}


def _index(client: TestClient, unit: str) -> list[dict[str, Any]]:
    resp = client.get(f"/v1/index?period=2025-Q3&unit={unit}")
    assert resp.status_code == 200, resp.text
    rows: list[dict[str, Any]] = resp.json()["rows"]
    return rows


def test_demo_data_into_the_database_gives_the_index_its_figures(
    cli_env: None,  # noqa: F811
    engine: Engine,
    client: TestClient,
    clock: Clock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock.now = datetime(2026, 1, 15, tzinfo=UTC)
    assert main(["demo-data", "--dossiers", "600", "--year", "2025"]) == 0
    err = capsys.readouterr().err
    assert "catalogue: 91 procedures  created 91  updated 0  unchanged 0" in err
    assert "received 600  created 600  updated 0  unchanged 0  stale 0  rejected 0" in err
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Procedure)) == 91
        assert conn.scalar(select(func.count()).select_from(Dossier)) == 600
        declared = conn.scalar(select(func.count()).select_from(IndexDeclared))
        with_supplements = conn.scalar(select(func.count()).where(Dossier.supplements.is_not(None)))
    assert f"declared values: {declared:,} stored" in err
    assert declared and declared > 600  # every agency's months, the quarters' values and the years'
    assert with_supplements and 30 < with_supplements < 90  # about 10% of 600
    # The catalogue came before the dossiers: they were derived with it, and the index is current.
    assert client.get("/v1/index?period=2025-Q3&unit=province").json()["derivation_behind"] is False
    agencies = _index(client, "agency")
    totals = [r["total"] for r in agencies]
    # Points from the dossiers and the declared values, a spread between units, and some left open.
    assert max(totals) > 50 and min(totals) < max(totals)
    assert all(t > 0 for t in totals)
    assert any(r["reachable"] > r["total"] for r in agencies)
    computed = [i for r in agencies for i in r["indicators"] if i["source"] == "computed"]
    assert any(i["code"] == "2.1" and i["points"] > 0 for i in computed)
    assert any(i["code"] == "3.6c" and i["points"] > 0 for i in computed)  # the catalogue's flags
    communes = _index(client, "commune")
    assert len({r["total"] for r in communes}) > 10
    # A second run changes nothing: the same dossiers, catalogue and values.
    assert main(["demo-data", "--dossiers", "600", "--year", "2025"]) == 0
    err = capsys.readouterr().err
    assert "catalogue: 91 procedures  created 0  updated 0  unchanged 91" in err
    assert "received 600  created 0  updated 0  unchanged 600" in err


def test_demo_data_through_the_service(
    served: str,  # noqa: F811
    engine: Engine,
    clock: Clock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock.now = datetime(2026, 1, 15, tzinfo=UTC)  # the server's: the demo year is in its past
    assert (
        main(["demo-data", "--dossiers", "120", "--year", "2025", "--url", served, "--token", ADMIN_TOKEN])
        == 0
    )
    err = capsys.readouterr().err
    assert "catalogue: 91 procedures  created 91  updated 0  unchanged 0" in err
    assert "received 120  created 120" in err
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Procedure)) == 91
        assert conn.scalar(select(func.count()).select_from(Dossier)) == 120
        declared = conn.scalar(select(func.count()).select_from(IndexDeclared))
    assert f"declared values: {declared:,} stored" in err

    # A token without the admin scope loads the dossiers and says what it could not load.
    ingest = httpx.post(
        f"{served}/v1/tokens",
        json={"label": "one-stop system", "scopes": ["ingest", "read"]},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    ).json()["token"]
    monkeypatch.setenv("TTHC_TOKEN", ingest)
    assert main(["demo-data", "--dossiers", "120", "--year", "2025", "--url", served]) == 0
    err = capsys.readouterr().err
    assert "received 120  created 0  updated 0  unchanged 120" in err
    assert err.endswith(
        "the catalogue and the declared values were not loaded: they need a token with the admin scope "
        "(403 Forbidden: The token lacks the 'admin' scope.)\n"
    )


def test_demo_data_out_writes_the_records(tmp_path: Path) -> None:
    out = tmp_path / "demo.ndjson"
    assert main(["demo-data", "--dossiers", "50", "--out", str(out)]) == 0
    lines = out.read_bytes().splitlines()
    assert len(lines) == 50
    assert all(set(NEW_FIELDS) <= set(orjson.loads(line)) for line in lines)
