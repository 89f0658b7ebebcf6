"""docs/API.md cannot drift from the code: its tables of counts and rates are those of
app/core/definitions.py, its endpoint sections those of the live app's OpenAPI document, and its
table of problem types every type the service answers with."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.core import errors
from app.core.definitions import COUNTS, RATES
from app.main import create_app

API_MD = Path(__file__).resolve().parents[1] / "docs" / "API.md"
_ENDPOINT = re.compile(r"^#{2,4} `([A-Z]+) (/\S*)`\s*$", re.M)


def section(text: str, heading: str) -> str:
    """The text under a heading, up to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    start = text.index(heading + "\n") + len(heading) + 1
    end = re.compile(rf"^#{{1,{level}}} ", re.M).search(text, start)
    return text[start : end.start() if end else len(text)]


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the Markdown tables in `text`, cells stripped (header and rule rows skipped)."""
    rows: list[list[str]] = []
    lines = [ln.strip() for ln in text.splitlines()]
    for i, line in enumerate(lines):
        if not line.startswith("|") or re.fullmatch(r"\|[\s|:-]+\|", line):
            continue
        if i + 1 < len(lines) and re.fullmatch(r"\|[\s|:-]+\|", lines[i + 1]):
            continue  # a header row
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def code(cell: str) -> str:
    m = re.fullmatch(r"`([^`]+)`", cell)
    assert m, f"expected one code span, got {cell!r}"
    return m.group(1)


@pytest.fixture(scope="module")
def doc() -> str:
    return API_MD.read_text(encoding="utf-8")


def test_the_counts_table_lists_exactly_the_catalogues_counts(doc: str) -> None:
    rows = table_rows(section(doc, "### 4.2 Counts"))
    assert [code(r[0]) for r in rows] == [d.name for d in COUNTS]
    assert [(r[1], r[2]) for r in rows] == [(d.basis, d.label_vi) for d in COUNTS]


def test_the_rates_table_lists_exactly_the_catalogues_rates_and_their_terms(doc: str) -> None:
    rows = table_rows(section(doc, "### 4.3 Rates"))
    assert [code(r[0]) for r in rows] == [d.name for d in RATES]
    assert [(code(r[1]), code(r[2])) for r in rows] == [(d.numerator, d.denominator) for d in RATES]
    for row, d in zip(rows, RATES, strict=True):
        assert row[3].startswith(d.label_vi), (d.name, row[3])


def test_every_operation_has_its_section_and_every_section_an_operation(doc: str) -> None:
    app = create_app(Settings(DATABASE_URL="sqlite:///:memory:"))
    with TestClient(app) as c:
        paths = c.get("/openapi.json").json()["paths"]
    served = {f"{m.upper()} {p}" for p, ops in paths.items() for m in ops}
    described = [f"{m} {p}" for m, p in _ENDPOINT.findall(doc)]
    assert len(described) == len(set(described)), "an operation is described twice"
    assert sorted(served - set(described)) == [], "operations served but not described in docs/API.md"
    assert sorted(set(described) - served) == [], "sections of docs/API.md for no served operation"


def test_every_problem_type_is_in_the_table(doc: str) -> None:
    table = {(r[0], code(r[1])) for r in table_rows(section(doc, "### Problem documents"))}
    kinds = {
        (str(cls.status), cls.slug)
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.AppError)
    }
    # Answered by the HTTP layer itself (app/api/problems.py), not raised as an AppError.
    kinds |= {("404", "not-found"), ("405", "method-not-allowed"), ("413", "payload-too-large")}
    assert sorted(kinds - table) == []
