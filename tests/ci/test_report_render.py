"""The report's XLSX as it prints: a demo quarter rendered through LibreOffice (headless) to PDF and PNG
(poppler), and checked — A4 landscape pages one page wide, the page count, and the header, title,
period, notes and signatures in the PDF's text.

CI only (`make ci-extra`); without LibreOffice or poppler the tests skip, unless TTHC_REQUIRE_RENDER=1
(.ci/run: apt-get install libreoffice-calc-nogui poppler-utils fonts-liberation). The PNGs are left in
$TTHC_RENDER_OUT when it is set, to be looked at.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.trust.live import migrate

INSTALL = "Debian: apt-get install libreoffice-calc-nogui poppler-utils fonts-liberation"
TOOLS = ("soffice", "pdftoppm", "pdftotext", "pdfinfo")
URL = "/v1/reports/dossier-processing"
NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # 10:00 on 30 November 2026 in Vietnam


def _tools() -> dict[str, str]:
    found = {t: shutil.which(t) for t in TOOLS}
    missing = [t for t, path in found.items() if not path]
    if missing:
        if os.environ.get("TTHC_REQUIRE_RENDER") == "1":
            pytest.fail(f"TTHC_REQUIRE_RENDER=1 but {', '.join(missing)} not installed ({INSTALL})")
        pytest.skip(f"{', '.join(missing)} not installed ({INSTALL})")
    return {t: str(p) for t, p in found.items()}


@pytest.fixture(scope="module")
def demo_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    _tools()
    url = f"sqlite:///{tmp_path_factory.mktemp('demo')}/tthc.db"
    migrate(url)
    env = dict(os.environ, DATABASE_URL=url)
    env.pop("TTHC_ADMIN_TOKEN", None)
    cli = Path(sys.executable).parent / "tthc-metrics"
    subprocess.run(
        [str(cli), "demo-data", "--dossiers", "8000", "--year", "2025"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=600,
    )
    app = create_app(Settings(DATABASE_URL=url), clock=lambda: NOW)
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def _render(client: TestClient, params: dict[str, str], out: Path, stem: str) -> tuple[Path, str]:
    """The XLSX of the report, as PDF (returned, with its text) and one PNG a page."""
    tools = _tools()
    r = client.get(URL, params={**params, "format": "xlsx"})
    assert r.status_code == 200, r.text
    xlsx = out / f"{stem}.xlsx"
    xlsx.write_bytes(r.content)
    subprocess.run(
        [
            tools["soffice"],
            "--headless",
            "--norestore",
            f"-env:UserInstallation=file://{out}/lo-profile",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            str(xlsx),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    pdf = out / f"{stem}.pdf"
    assert pdf.exists()
    subprocess.run(
        [tools["pdftoppm"], "-r", "80", "-png", str(pdf), str(out / stem)], check=True, timeout=300
    )
    text = subprocess.run(
        [tools["pdftotext"], str(pdf), "-"],
        check=True,
        capture_output=True,
        timeout=120,
    ).stdout.decode("utf-8")
    keep = os.environ.get("TTHC_RENDER_OUT")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for f in out.glob(f"{stem}*"):
            if f.is_file():
                shutil.copy(f, keep)
    return pdf, text


def _pages(pdf: Path) -> list[tuple[float, float]]:
    info = subprocess.run(
        [_tools()["pdfinfo"], "-f", "1", "-l", "999", str(pdf)], check=True, capture_output=True, timeout=60
    ).stdout.decode()
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info)]


def _words(text: str) -> str:
    return " ".join(text.split())


def test_the_agency_report_prints_on_a4_landscape_pages_with_the_form_around_it(
    demo_client: TestClient, tmp_path: Path
) -> None:
    pdf, text = _render(demo_client, {"period": "2025-Q3", "unit": "agency"}, tmp_path, "agency-2025-Q3")
    pages = _pages(pdf)
    # 16 departments + 130 wards + 2 level subtotals + the total, one page wide: 5 pages.
    assert len(pages) == 5
    for w, h in pages:
        assert (round(w), round(h)) == (842, 595)  # A4 landscape, in points
    words = _words(text)
    for expected in (
        "Biểu số 06/VPCP/KSTT",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT TTHC TẠI CƠ QUAN, ĐƠN VỊ TRỰC TIẾP GIẢI QUYẾT TTHC",
        "Kỳ báo cáo: Quý III năm 2025",
        "(Từ ngày 15/6/2025 đến ngày 14/9/2025)",
        "Đơn vị báo cáo: Văn phòng Ủy ban nhân dân tỉnh Nghệ An",
        "Đơn vị nhận báo cáo: Văn phòng Chính phủ",
        "Đơn vị tính: Số hồ sơ TTHC",
        "Hồ sơ rút",
        "Nghệ An, ngày 30 tháng 11 năm 2026",
        "NGƯỜI LẬP BIỂU",
        "THỦ TRƯỞNG ĐƠN VỊ",
        "(Ký, đóng dấu, ghi rõ họ tên)",
        "Trang 5/5",
    ):
        assert expected in words, expected
    # The heading rows are printed on every page: the group headings appear once a page.
    assert words.count("Số hồ sơ nhận giải quyết") == 5
    # Every unit is on some page: the last ward, and the total after it.
    assert "UBND Xã Lam Thành" in words and "Tổng cộng" in words


def test_one_agencys_sector_report_fits_one_page(demo_client: TestClient, tmp_path: Path) -> None:
    sxd = next(a for a in demo_client.get("/v1/agencies").json() if a["name"] == "Sở Xây dựng")
    pdf, text = _render(
        demo_client,
        {"period": "2025-09", "unit": "sector", "agency": sxd["code"]},
        tmp_path,
        "sector-2025-09",
    )
    assert [(round(w), round(h)) for w, h in _pages(pdf)] == [(842, 595)]
    words = _words(text)
    assert "Kỳ báo cáo: Tháng 9 năm 2025" in words
    assert "Đơn vị báo cáo: Sở Xây dựng" in words
    assert "Lĩnh vực giải quyết TTHC" in words
