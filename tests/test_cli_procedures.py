"""`tthc-metrics procedures load FILE`: JSON and CSV files on the database, each bad row printed with
the line it starts on, the good rows kept, exit 1 when any row was rejected."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from app.cli import main
from app.config import get_settings

PREFIX = "tthc-metrics procedures load: "


@pytest.fixture
def cli_env(db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def stored(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT code, name, sector, level, max_duration_value, max_duration_unit, paper_result, fee, "
                "full_online_eligible, full_online_offered, online_payment_integrated FROM procedures "
                "ORDER BY code"
            )
        )
        return [tuple(r) for r in rows]


def load(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, list[str]]:
    status = main(["procedures", "load", str(path)])
    out, err = capsys.readouterr()
    return status, out, err.splitlines()


JSON_FILE = """[
  {"code": "1.001", "name": "Cấp phép", "level": "province",
   "max_duration": {"value": 15, "unit": "working_days"}, "fee": true},
  {"code": "1.002", "name": "Đăng ký", "level": "ward"},
  {
    "code": "1.003", "name": "Chứng thực", "level": "commune", "sector": "tu_phap", "paper_result": true
  },
  {"code": "1.001", "name": "again", "level": "province"},
  {"code": "1.004", "name": "x", "level": "commune", "max_duration": {"value": 0, "unit": "days"}}
]
"""


def test_a_json_file_keeps_its_good_rows_and_names_the_lines_of_the_bad_ones(
    cli_env: None, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "catalogue.json"
    path.write_text(JSON_FILE, encoding="utf-8")
    status, out, err = load(path, capsys)
    assert status == 1
    assert out == "5 rows: 2 created, 0 updated, 0 unchanged, 3 rejected\n"
    assert err == [
        f"{PREFIX}{path}:4: level: Input should be 'province' or 'commune'",
        f"{PREFIX}{path}:8: code: code 1.001 is already at line 2",
        f"{PREFIX}{path}:9: max_duration.value: Input should be greater than or equal to 1",
    ]
    assert stored(engine) == [
        ("1.001", "Cấp phép", None, "province", 15, "working_days", False, True, False, False, False),
        ("1.003", "Chứng thực", "tu_phap", "commune", None, None, True, False, False, False, False),
    ]

    # Loaded again with the bad rows fixed: the stored ones unchanged, the others added.
    path.write_text(
        '[{"code": "1.001", "name": "Cấp phép", "level": "province",\n'
        ' "max_duration": {"value": 15, "unit": "working_days"}, "fee": true},\n'
        ' {"code": "1.002", "name": "Đăng ký", "level": "commune"}]',
        encoding="utf-8",
    )
    assert load(path, capsys) == (0, "2 rows: 1 created, 0 updated, 1 unchanged, 0 rejected\n", [])
    assert [r[0] for r in stored(engine)] == ["1.001", "1.002", "1.003"]


CSV_FILE = """\ufeffcode,name,sector,level,max_duration_value,max_duration_unit,fee,full_online_offered
1.001,Cấp phép,xay_dung,province,15,working_days,true,1
1.002,"Đăng ký
hai dòng",,commune,,,0,false
1.003,Chứng thực,,commune,3,,yes,

1.004,Thiếu cột,,province
1.005,Cấp lại,,province,2,months,FALSE,TRUE
"""


def test_a_csv_file_with_a_header_row(
    cli_env: None, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "catalogue.csv"
    path.write_text(CSV_FILE, encoding="utf-8")
    status, out, err = load(path, capsys)
    assert status == 1
    assert out == "5 rows: 2 created, 0 updated, 0 unchanged, 3 rejected\n"
    assert err == [
        # A name may not hold a line break (a cell may, quoted: the next row starts on line 5).
        f"{PREFIX}{path}:3: name: String should match pattern '^[^\\x00-\\x1f\\x7f]*$'",
        f"{PREFIX}{path}:5: max_duration.unit: Field required",
        f"{PREFIX}{path}:5: fee: Input should be a valid boolean",
        f"{PREFIX}{path}:7: 4 cells, the header has 8",
    ]
    assert stored(engine) == [
        ("1.001", "Cấp phép", "xay_dung", "province", 15, "working_days", False, True, False, True, False),
        ("1.005", "Cấp lại", None, "province", 2, "months", False, False, False, True, False),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "code,name,colour\n1,x,red\n",
            "1: unknown column 'colour'; the columns are code, name, sector, level, max_duration_value, "
            "max_duration_unit, paper_result, fee, full_online_eligible, full_online_offered, "
            "online_payment_integrated",
        ),
        (
            '[\n{"code": "1", "name": "x", "level": "province"}\n{"code": "2"}]',
            "3: not valid JSON (expected ',' or ']')",
        ),
        ('{"code": "1"}', "1: a JSON file holds an array of entries, [ … ]"),
        ("", "1: the file is empty; a CSV file starts with a header row"),
    ],
)
def test_a_file_that_cannot_be_read_is_one_line_and_stores_nothing(
    cli_env: None,
    engine: Engine,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str,
    message: str,
) -> None:
    path = tmp_path / "bad"
    path.write_text(content, encoding="utf-8")
    assert load(path, capsys) == (1, "", [f"{PREFIX}{path}:{message}"])
    assert stored(engine) == []
    missing = tmp_path / "missing.csv"
    assert load(missing, capsys) == (
        1,
        "",
        [f"{PREFIX}{missing}: cannot be read (No such file or directory)"],
    )
