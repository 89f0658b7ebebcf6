"""GET /dashboard: served with its own static files and nothing from outside; and, in a real headless
Chromium against a real server, figures equal to the API's, drill-down lists that hold the right
dossiers, report downloads, keyboard use, contrast and screenshots at laptop and phone widths."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.core.timeutil import end_of_day
from app.core.worklist import KINDS
from app.demo import SECTORS, generate_demo
from app.demo import _procedures as demo_procedures
from app.dossiers.schemas import parse_due, parse_timestamp
from app.main import create_app
from app.migrate import upgrade
from app.reference.agencies import load_seed
from app.store.engine import make_engine
from tests.conftest import ADMIN_TOKEN, ROOT
from tests.naive import CLOSED, naive_counts

ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --------------------------------------------------------------------------- served files (no browser)


@pytest.fixture
def page_client(sqlite_template: str) -> Iterator[TestClient]:
    """The app on SQLite only: serving files does not depend on the store, so this runs once."""
    app = create_app(Settings(DATABASE_URL=sqlite_template))
    with TestClient(app, base_url="http://testserver") as c:
        yield c


def _assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(dashboard/static/[^"]+)"', html)


def test_dashboard_page_is_served_with_its_static_files(page_client: TestClient) -> None:
    r = page_client.get("/dashboard")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert '<html lang="vi">' in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert sorted(_assets(r.text)) == ["dashboard/static/dashboard.css", "dashboard/static/dashboard.js"]
    types = {"css": "text/css", "js": "text/javascript"}
    for asset in _assets(r.text):
        a = page_client.get("/" + asset)
        assert a.status_code == 200, asset
        assert a.headers["content-type"].startswith(types[asset.rsplit(".", 1)[1]]), asset
        assert a.headers["etag"]
    # Not part of the API: the OpenAPI document does not list it.
    assert "/dashboard" not in page_client.get("/openapi.json").text


def test_dashboard_refers_to_nothing_outside_the_service(page_client: TestClient) -> None:
    html = page_client.get("/dashboard").text
    for name, text in [("index.html", html)] + [(a, page_client.get("/" + a).text) for a in _assets(html)]:
        assert "http://" not in text and "https://" not in text, name
        assert not re.search(r"""(?:src|href|action)\s*=\s*["']//""", text), name
        assert "@import" not in text and "@font-face" not in text, name
        assert re.findall(r"url\(", text) == [], name


def test_dashboard_sums_the_rate_terms_instead_of_parsing_the_formula_text(page_client: TestClient) -> None:
    js = page_client.get("/dashboard/static/dashboard.js").text
    assert "numerator_terms" in js and "denominator_terms" in js
    # A definition's text forms ("finished_early + finished_on_time") are for people: never parsed here.
    assert not re.search(r"\bdef\.(numerator|denominator)\b(?!_)", js)


def test_dashboard_calls_only_the_public_read_api(page_client: TestClient) -> None:
    js = page_client.get("/dashboard/static/dashboard.js").text
    paths = set(re.findall(r'apiUrl\("([a-z/-]+)"', js))
    assert paths == {
        "agencies",
        "communes",
        "dossiers",
        "index",
        "metrics",
        "metrics/definitions",
        "reports/dossier-processing",
        "reports/dossier-processing/closings",
        "reports/dossier-processing/restatements",
        "scorecard",
        "targets",
        "worklists",
        # a worklist: "worklists/" + one of the kinds below
        "worklists/",
        # a read, though it always needs a token (read, ingest or admin): the page asks for one
        "feed-quality",
    }
    # The page takes the kinds and their order from the API's totals; it has a label for each of them.
    labels = re.search(r"const WL_TEXT = \{([^}]*)\}", js)
    assert labels is not None
    assert tuple(re.findall(r"^\s*([a-z_]+):", labels[1], re.M)) == KINDS
    # Reads only: no method other than GET is ever named.
    assert not re.search(r"method\s*:", js)


# --------------------------------------------------------------------------- the real-browser test

# A year of demo dossiers, all received in 2025 and judged as of the last day of 2025, so every figure
# for a 2025 period is fixed whatever the real date is.
DEMO_NOW = datetime(2025, 12, 31, 3, 0, tzinfo=UTC)


@functools.cache
def records() -> list[dict[str, Any]]:
    """The dataset, made once and only when the browser test runs (it takes a couple of seconds)."""
    # Without the national index's inputs: the index view's hand-checked figures count none of them.
    return list(generate_demo(3000, seed=8, year=2025, now=DEMO_NOW, index_inputs=False))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    base: str
    api: httpx.Client
    db_url: str


@contextlib.contextmanager
def _run_server(
    db_url: str, log: Path, app: str = "app.asgi:app", workers: int = 1, **env: str
) -> Iterator[Server]:
    """uvicorn in a subprocess on a free loopback port, on the given database, with `workers` worker
    processes; stopped on exit."""
    port = _free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": db_url,
        "TTHC_ADMIN_TOKEN": ADMIN_TOKEN,
        "TTHC_LOG_LEVEL": "WARNING",
        "TTHC_READ_REQUIRES_TOKEN": "false",
        **env,
    }
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        command += ["--workers", str(workers)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "--log-level", "warning"], cwd=ROOT, env=environment, stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{port}"
    api = httpx.Client(base_url=base, timeout=30)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if api.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield Server(base, api, db_url)
    finally:
        api.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _seeded_database(folder: Path) -> str:
    """A SQLite file in `folder`, migrated, its agency registry seeded for province 40 (Nghệ An): its URL."""
    url = f"sqlite:///{folder / 'tthc.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        load_seed(session, 40)
        session.commit()
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real server on a migrated and seeded SQLite file, the demo year ingested through the API."""
    folder = tmp_path_factory.mktemp("dashboard")
    url = _seeded_database(folder)
    with _run_server(url, folder / "server.log") as srv:
        r = srv.api.post("/v1/dossiers", json=records(), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert r.status_code == 200
        assert r.json()["created"] == len(records()), r.json()["errors"][:3]
        yield srv


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium through its chromedriver, with a fresh profile and a download folder."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        if os.environ.get("TTHC_REQUIRE_BROWSER") == "1":
            pytest.fail("TTHC_REQUIRE_BROWSER=1 but chromium / chromium-driver are not installed")
        pytest.skip(
            "chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="tthc-chromium-")
    downloads = ARTIFACTS / "downloads"
    shutil.rmtree(downloads, ignore_errors=True)
    downloads.mkdir(parents=True)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--force-device-scale-factor=1",
        "--window-size=1366,768",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_script_timeout(20)
    try:
        driver.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
        )
        # Headless Chromium's page never has the window's focus (document.hasFocus() is false), so
        # :focus would never match an element focused by script; emulate a focused page.
        driver.execute_cdp_cmd("Emulation.setFocusEmulationEnabled", {"enabled": True})
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _viewport(driver: Any, width: int, height: int, mobile: bool = False) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )


def _until(driver: Any, script: str, *args: Any, timeout: float = 20) -> None:
    """Wait until a script returns true in the page."""
    from selenium.webdriver.support.ui import WebDriverWait

    def holds(d: Any) -> bool:
        return bool(d.execute_script(script, *args))

    WebDriverWait(driver, timeout).until(holds)


def _wait_ready(driver: Any, period: str) -> None:
    _until(
        driver,
        "const b = document.body.dataset;"
        " return (b.state === 'ready' && b.period === arguments[0]) || b.state === 'error'",
        period,
    )
    assert driver.execute_script("return document.body.dataset.state") == "ready", driver.find_element(
        "id", "error"
    ).text


def _screenshot(driver: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def _sections(driver: Any, prefix: str, width: int, height: int, mobile: bool = False) -> None:
    """Each visible section on its own, to review the layout below the fold: the viewport is made as
    tall as the page for the shots (an element is captured only where it is on screen)."""
    full = driver.execute_script("return document.documentElement.scrollHeight")
    _viewport(driver, width, full, mobile)
    for section in driver.find_elements("css selector", "main > section"):
        if section.is_displayed():
            name = section.get_attribute("aria-labelledby").removesuffix("-h")
            section.screenshot(str(ARTIFACTS / f"{prefix}-{name}.png"))
    _viewport(driver, width, height, mobile)


PAGE_DATA = """
const tiles = [...document.querySelectorAll('#tiles .tile')].map(t => ({
  rate: t.dataset.rate, value: t.dataset.value, numerator: Number(t.dataset.numerator),
  denominator: Number(t.dataset.denominator), passed: t.dataset.passed}));
const ranking = {};
for (const unit of ['agency', 'commune']) {
  ranking[unit] = [...document.querySelectorAll('#rank-panel-' + unit + ' tbody tr')].map(r => ({
    code: r.dataset.code, rank: Number(r.dataset.rank), passed: Number(r.dataset.passed),
    failed: Number(r.dataset.failed),
    failing: [...r.querySelectorAll('td[data-passed="false"]')].map(td => td.dataset.target)}));
}
const backlog = {};
for (const unit of ['agency', 'commune', 'sector']) {
  backlog[unit] = [...document.querySelectorAll('#backlog-panel-' + unit + ' tbody tr')].map(r => ({
    code: r.dataset.code,
    links: [...r.querySelectorAll('a.drill-link')].map(a => [a.dataset.kind, Number(a.dataset.count)])}));
}
const trend = {};
for (const rate of ['on_time', 'online']) {
  trend[rate] = [...document.querySelectorAll('#chart-' + rate + ' tbody tr')].map(r =>
    [r.dataset.month, r.dataset.value]);
}
const downloads = [...document.querySelectorAll('a.download')].map(a =>
  [a.dataset.unit, a.dataset.format, a.href]);
return {tiles, ranking, backlog, trend, downloads,
        from: document.body.dataset.from, to: document.body.dataset.to};
"""

# The smallest contrast ratio between any visible text and the background it sits on (WCAG formula).
MIN_CONTRAST = """
function rgb(s) { const m = s.match(/[\\d.]+/g).map(Number); return m.length > 3 ? m : [...m, 1]; }
function lum([r, g, b]) {
  const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
}
function background(el) {
  for (let n = el; n; n = n.parentElement) {
    const c = rgb(getComputedStyle(n).backgroundColor);
    if (c[3] > 0.5) return c;
  }
  return [255, 255, 255, 1];
}
let worst = [99, ''];
for (const el of document.querySelectorAll('body *')) {
  if (!el.offsetParent && getComputedStyle(el).position !== 'fixed') continue;
  const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  if (!own || el.closest('.sr-only, svg, [hidden]')) continue;
  const st = getComputedStyle(el);
  if (st.visibility === 'hidden' || Number(st.opacity) < 0.5) continue;
  const a = lum(rgb(st.color)), b = lum(background(el));
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  if (ratio < worst[0]) worst = [ratio, el.tagName + '.' + el.className + ': ' + el.textContent.slice(0, 40)];
}
return worst;
"""


def _number(text: str) -> float | None:
    """A rate as the page wrote it into a data attribute (JavaScript's shortest round-trip form)."""
    return None if text == "null" else float(text)


def _expr(expr: str, counts: dict[str, int]) -> int:
    total, sign = 0, 1
    for tok in expr.split():
        if tok in "+-":
            sign = 1 if tok == "+" else -1
        else:
            total += sign * counts[tok]
    return total


def _terms(terms: list[dict[str, Any]], counts: dict[str, int]) -> int:
    return sum(t["sign"] * counts[t["count"]] for t in terms)


def _passes(value: float | None, comparator: str, threshold: float) -> bool | None:
    if value is None:
        return None
    return {">=": value >= threshold, ">": value > threshold, "=": value == threshold}[comparator]


def _pending_codes(end: date, overdue_only: bool, **where: str) -> list[str]:
    """Naively, the dossiers still open at the end of `end` (and overdue then), matching `where`."""
    instant = end_of_day(end)
    field = {"agency": "agency_code", "commune": "commune_code", "sector": "sector"}
    out = []
    for r in records():
        if any(r.get(field[k]) != v for k, v in where.items()):
            continue
        if parse_timestamp(r["received_at"]) >= instant:
            continue
        resolved = r.get("resolved_at")
        if r["status"] in CLOSED and resolved is not None and parse_timestamp(resolved) < instant:
            continue
        due = parse_due(r.get("due_at"))
        if overdue_only and not (due is not None and due < instant):
            continue
        out.append(r["code"])
    return sorted(out)


def _check_page_against_api(
    server: Server, page: dict[str, Any], period: str, basis: str, **flt: str
) -> None:
    api = server.api
    report = api.get(
        "/v1/reports/dossier-processing", params={"period": period, "basis": basis, "unit": "agency", **flt}
    ).json()
    assert (page["from"], page["to"]) == (report["from"], report["to"])
    start, end = date.fromisoformat(report["from"]), date.fromisoformat(report["to"])
    metrics = api.get("/v1/metrics", params={"from": report["from"], "to": report["to"], **flt}).json()
    totals = metrics["totals"]
    assert totals == report["totals"]
    # The tiles' counts also agree with a naive per-dossier computation over the records sent.
    field = {"agency": "agency_code", "commune": "commune_code", "sector": "sector"}
    mine = [r for r in records() if all(r.get(field[k]) == v for k, v in flt.items())]
    assert totals["counts"] == {
        k: v for k, v in naive_counts(mine, start, end, DEMO_NOW).items() if k in totals["counts"]
    }
    definitions = {d["name"]: d for d in api.get("/v1/metrics/definitions").json()["rates"]}
    targets = {t["name"]: t for t in api.get("/v1/targets", params={"year": end.year}).json()["targets"]}
    tile_targets = {
        "on_time": "on_time",
        "online": "online",
        "apology": "apology",
        "satisfaction": "satisfaction",
    }
    assert [t["rate"] for t in page["tiles"]] == [
        "on_time",
        "online",
        "online_payment",
        "intake_digitisation",
        "result_digitisation",
        "apology",
        "satisfaction",
    ]
    for tile in page["tiles"]:
        rate = tile["rate"]
        value = totals["rates"][rate]
        assert _number(tile["value"]) == value, rate
        d = definitions[rate]
        # The page sums the definition's terms; the text form of the same definition agrees.
        assert tile["numerator"] == _terms(d["numerator_terms"], totals["counts"]), rate
        assert tile["denominator"] == _terms(d["denominator_terms"], totals["counts"]), rate
        assert tile["numerator"] == _expr(d["numerator"], totals["counts"]), rate
        assert tile["denominator"] == _expr(d["denominator"], totals["counts"]), rate
        if rate in tile_targets:
            t = targets[tile_targets[rate]]
            assert tile["passed"] == json.dumps(_passes(value, t["comparator"], t["threshold"])), rate
        else:
            assert tile["passed"] == "none"

    for unit in ("agency", "commune"):
        card = api.get("/v1/scorecard", params={"unit": unit, "from": report["from"], "to": report["to"]})
        expected = sorted(
            (
                r[unit],
                r["rank"],
                r["passed"],
                r["failed"],
                sorted(t["name"] for t in r["targets"] if t["passed"] is False),
            )
            for r in card.json()["rows"]
        )
        shown = sorted(
            (r["code"], r["rank"], r["passed"], r["failed"], sorted(r["failing"]))
            for r in page["ranking"][unit]
        )
        assert shown == expected
    assert len(page["ranking"]["commune"]) == 130

    for unit in ("agency", "commune", "sector"):
        rep = api.get(
            "/v1/reports/dossier-processing", params={"period": period, "basis": basis, "unit": unit, **flt}
        ).json()
        expected_rows = {(r[unit] or ""): r["counts"] for r in rep["rows"] if r["counts"]["pending"] > 0}
        assert {r["code"] for r in page["backlog"][unit]} == set(expected_rows)
        for r in page["backlog"][unit]:
            c = expected_rows[r["code"]]
            want = {
                "all": c["pending"],
                "within": c["pending"] - c["pending_overdue"],
                "overdue": c["pending_overdue"],
            }
            if r["code"] == "":
                assert r["links"] == []  # no commune / no sector: the list cannot be filtered by "none"
            else:
                assert r["links"] == [[k, n] for k, n in want.items() if n], (unit, r["code"])

    trend_from = date(end.year - (end.month < 12), end.month % 12 + 1, 1)
    trend = api.get(
        "/v1/metrics",
        params={"from": trend_from.isoformat(), "to": report["to"], "group_by": "month", **flt},
    ).json()
    for rate in ("on_time", "online"):
        assert [[m, _number(v)] for m, v in page["trend"][rate]] == [
            [r["month"], r["rates"][rate]] for r in trend["rows"]
        ]
        assert len(page["trend"][rate]) == 12


DRILL_CODES = "return [...document.querySelectorAll('#drill-table tbody tr')].map(r => r.dataset.code)"


def _open_drill(driver: Any, selector: str, rows: str = DRILL_CODES) -> tuple[list[Any], int]:
    """Click a drill-down link; the list's rows (their codes unless `rows` says otherwise) over every
    page, and the number the link announced."""
    link = driver.find_element("css selector", selector)
    count = int(link.get_attribute("data-count"))
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
    link.click()
    codes: list[str] = []
    page = 1
    while True:
        _until(
            driver,
            "const s = document.getElementById('drill');"
            " return !s.hidden && s.dataset.state === 'ready' && s.dataset.page === arguments[0]",
            str(page),
        )
        codes += driver.execute_script(rows)
        nxt = driver.find_element("id", "drill-next")
        if not nxt.is_enabled():
            break
        nxt.click()
        page += 1
    assert driver.switch_to.active_element.get_attribute("id") in ("drill-h", "drill-next", "drill-prev")
    return codes, count


def test_dashboard_in_a_real_browser(browser: Any, server: Server) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    driver = browser
    shutil.rmtree(ARTIFACTS / "downloads", ignore_errors=True)
    (ARTIFACTS / "downloads").mkdir(parents=True)
    _viewport(driver, 1366, 768)

    # 1. The third quarter of 2025 on the reporting cut-off, whole province.
    driver.get(f"{server.base}/dashboard?period=2025-Q3&basis=reporting")
    _wait_ready(driver, "2025-Q3")
    page = driver.execute_script(PAGE_DATA)
    assert (page["from"], page["to"]) == ("2025-06-15", "2025-09-14")
    _check_page_against_api(server, page, "2025-Q3", "reporting")
    _screenshot(driver, "dashboard-1366x768")
    _sections(driver, "dashboard-1366", 1366, 768)
    ratio, where = driver.execute_script(MIN_CONTRAST)
    assert ratio >= 4.5, where

    # Numerator and denominator: in the title, and shown when the tile has keyboard focus.
    tile = driver.find_element(By.CSS_SELECTOR, '.tile[data-rate="on_time"]')
    more = tile.find_element(By.CSS_SELECTOR, ".tile-more")
    on_time = page["tiles"][0]
    words = (
        f"Tử số: số hồ sơ giải quyết trước hạn + số hồ sơ giải quyết đúng hạn = {on_time['numerator']:,}. "
        f"Mẫu số: số hồ sơ đã giải quyết = {on_time['denominator']:,}."
    ).replace(",", ".")
    assert tile.get_attribute("title") == words
    assert tile.find_element(By.CSS_SELECTOR, ".fraction").text == (
        f"{on_time['numerator']:,} / {on_time['denominator']:,}".replace(",", ".")
    )
    # The counts, written out independently of the definitions.
    counts = server.api.get("/v1/metrics", params={"from": page["from"], "to": page["to"]}).json()["totals"][
        "counts"
    ]
    assert (on_time["numerator"], on_time["denominator"]) == (
        counts["finished_early"] + counts["finished_on_time"],
        counts["finished"],
    )
    # A denominator of two counts.
    apology = next(t for t in page["tiles"] if t["rate"] == "apology")
    late = counts["finished_late"] + counts["pending_overdue"]
    assert (apology["numerator"], apology["denominator"]) == (counts["late_apologised"], late)
    assert driver.find_element(By.CSS_SELECTOR, '.tile[data-rate="apology"]').get_attribute("title") == (
        f"Tử số: số hồ sơ quá hạn đã có văn bản xin lỗi = {counts['late_apologised']:,}. "
        f"Mẫu số: số hồ sơ giải quyết quá hạn + số hồ sơ đang giải quyết quá hạn = {late:,}."
    ).replace(",", ".")
    assert not more.is_displayed()
    driver.execute_script("arguments[0].focus()", tile)
    assert more.is_displayed() and more.text == words
    _screenshot(driver, "dashboard-1366-tile-focus")
    driver.execute_script("arguments[0].blur()", tile)

    # The drill-down behind the agency with the most overdue dossiers lists exactly those dossiers.
    worst = driver.find_element(By.CSS_SELECTOR, "#backlog-panel-agency tbody tr")
    agency = worst.get_attribute("data-code")
    codes, count = _open_drill(
        driver, f'#backlog-panel-agency tbody tr[data-code="{agency}"] a[data-kind="overdue"]'
    )
    expected = _pending_codes(date(2025, 9, 14), True, agency=agency)
    assert count == len(expected) > 0
    assert codes == expected
    api_codes = [
        d["code"]
        for d in server.api.get(
            "/v1/dossiers",
            params={"agency": agency, "outcome": "pending_overdue", "as_of": "2025-09-14", "limit": 1000},
        ).json()["items"]
    ]
    assert codes == api_codes
    _sections(driver, "dashboard-1366-drilled", 1366, 768)

    # Every pending dossier of the province, paged 25 at a time.
    codes, count = _open_drill(driver, '#backlog-panel-agency tfoot a[data-kind="all"]')
    assert codes == _pending_codes(date(2025, 9, 14), False)
    assert count == len(codes) > 25

    # Ranking sorted from the keyboard: Tab to the "on time" heading, Enter; then the commune tab by arrow.
    header = driver.find_element(By.CSS_SELECTOR, "#rank-panel-agency thead th:nth-child(5) button")
    driver.execute_script("arguments[0].focus()", header)
    header.send_keys(Keys.ENTER)
    th = driver.find_element(By.CSS_SELECTOR, "#rank-panel-agency thead th:nth-child(5)")
    assert th.get_attribute("aria-sort") == "descending"
    values = driver.execute_script(
        "return [...document.querySelectorAll('#rank-panel-agency tbody tr')]"
        ".map(r => r.querySelector('td[data-target=\"on_time\"]')).filter(Boolean)"
        ".map(td => Number(td.textContent.replace(/[^\\d,]/g, '').replace(',', '.')))"
    )
    assert values == sorted(values, reverse=True) and len(values) > 5
    tab = driver.find_element(By.ID, "rank-tab-agency")
    driver.execute_script("arguments[0].focus()", tab)
    tab.send_keys(Keys.ARROW_RIGHT)
    assert driver.switch_to.active_element.get_attribute("id") == "rank-tab-commune"
    assert driver.find_element(By.ID, "rank-panel-commune").is_displayed()
    assert not driver.find_element(By.ID, "rank-panel-agency").is_displayed()

    # Downloads: a real download in the browser for each format, byte for byte the API's file.
    for _unit, fmt, href in page["downloads"]:
        r = server.api.get(href)
        assert r.status_code == 200, href
        assert r.headers["content-type"].startswith(XLSX if fmt == "xlsx" else "text/csv"), href
    for fmt in ("xlsx", "csv"):
        link = driver.find_element(By.CSS_SELECTOR, f'a.download[data-unit="commune"][data-format="{fmt}"]')
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
        link.click()
        name = f"bao-cao-giai-quyet-ho-so_2025-Q3_commune.{fmt}"
        target = ARTIFACTS / "downloads" / name
        deadline = time.monotonic() + 15
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.2)
        assert target.read_bytes() == server.api.get(link.get_attribute("href")).content

    # 2. A filtered month on the calendar basis, chosen through the form.
    commune = max(
        {r["commune_code"] for r in records() if r.get("commune_code")},
        key=lambda c: sum(r.get("commune_code") == c for r in records()),
    )
    Select(driver.find_element(By.ID, "kind")).select_by_value("month")
    Select(driver.find_element(By.ID, "month")).select_by_value("9")
    Select(driver.find_element(By.ID, "year")).select_by_value("2025")
    driver.find_element(By.CSS_SELECTOR, 'input[name="basis"][value="calendar"]').click()
    Select(driver.find_element(By.ID, "commune")).select_by_value(commune)
    driver.find_element(By.CSS_SELECTOR, "#controls button[type=submit]").click()
    _wait_ready(driver, "2025-09")
    assert driver.current_url.endswith(f"/dashboard?period=2025-09&basis=calendar&commune={commune}")
    page = driver.execute_script(PAGE_DATA)
    assert (page["from"], page["to"]) == ("2025-09-01", "2025-09-30")
    _check_page_against_api(server, page, "2025-09", "calendar", commune=commune)
    assert driver.find_element(By.ID, "rank-tab-commune").get_attribute("aria-selected") == "true"
    driver.find_element(By.CSS_SELECTOR, ".api-log summary").click()
    _sections(driver, "dashboard-1366-filtered", 1366, 768)
    assert (
        driver.find_element(By.CSS_SELECTOR, f'#rank-panel-commune tr[data-code="{commune}"]').get_attribute(
            "class"
        )
        == "current"
    )
    codes, count = _open_drill(driver, '#backlog-panel-agency tfoot a[data-kind="all"]')
    assert codes == _pending_codes(date(2025, 9, 30), False, commune=commune)
    assert count == len(codes)

    # 3. Back to the quarter: the page sends its ETags and the unchanged figures come back as 304.
    driver.back()
    _wait_ready(driver, "2025-Q3")
    assert int(driver.execute_script("return document.body.dataset.notModified || '0'")) >= 6

    # 4. Phone width: nothing wider than the screen, tables scroll inside their own boxes.
    _viewport(driver, 390, 844, mobile=True)
    driver.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.3)
    assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
    _screenshot(driver, "dashboard-390x844")
    _sections(driver, "dashboard-390", 390, 844, mobile=True)
    ratio, where = driver.execute_script(MIN_CONTRAST)
    assert ratio >= 4.5, where
    _viewport(driver, 1366, 768)


def test_dashboard_opens_on_the_latest_year_with_dossiers(browser: Any, server: Server) -> None:
    """No period in the URL: the data are all of 2025, so the page opens on 2025 whatever today's year
    is; a rate without a target says so in a neutral tile, a missed target stays red."""
    from selenium.webdriver.common.by import By

    driver = browser
    _viewport(driver, 1366, 768)
    driver.get(f"{server.base}/dashboard")
    _wait_ready(driver, "2025")
    page = driver.execute_script(PAGE_DATA)
    assert (page["from"], page["to"]) == ("2025-01-01", "2025-12-31")
    assert driver.find_element(By.ID, "year").get_attribute("value") == "2025"
    assert driver.find_element(By.ID, "kind").get_attribute("value") == "year"

    def tile(rate: str) -> tuple[str, str, str]:
        t = driver.find_element(By.CSS_SELECTOR, f'.tile[data-rate="{rate}"]')
        background = driver.execute_script("return getComputedStyle(arguments[0]).backgroundColor", t)
        return t.get_attribute("class"), t.find_element(By.CSS_SELECTOR, ".badge").text, background

    for rate in ("online_payment", "intake_digitisation", "result_digitisation"):
        assert tile(rate) == ("tile neutral", "Không có chỉ tiêu", "rgb(255, 255, 255)"), rate
    # The year's apology rate is below its target of 100%: red, and worded differently.
    report = server.api.get(
        "/v1/reports/dossier-processing", params={"period": "2025", "basis": "calendar", "unit": "agency"}
    )
    assert report.json()["totals"]["rates"]["apology"] < 1
    assert tile("apology") == ("tile fail", "✗ Chưa đạt chỉ tiêu", "rgb(252, 235, 234)")
    _screenshot(driver, "dashboard-opened-year")
    ratio, where = driver.execute_script(MIN_CONTRAST)
    assert ratio >= 4.5, where


def test_dashboard_asks_for_a_token_when_reads_require_one(
    browser: Any, server: Server, tmp_path: Path
) -> None:
    """With TTHC_READ_REQUIRES_TOKEN the page asks for a read token, sends it with every call (the
    feed's quality too), and fetches the report files with it (a plain link could not carry the header)."""
    from selenium.webdriver.common.by import By

    driver = browser
    read = server.api.post(
        "/v1/tokens",
        json={"label": "dashboard test", "scopes": ["read"]},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    ).json()["token"]
    with _run_server(server.db_url, tmp_path / "server.log", TTHC_READ_REQUIRES_TOKEN="true") as private:
        driver.get(f"{private.base}/dashboard?period=2025-08&basis=reporting&sector=ho_tich")
        _until(driver, "return document.body.dataset.state === 'error'")
        assert driver.find_element(By.ID, "token-box").is_displayed()
        assert driver.switch_to.active_element.get_attribute("id") == "token"
        driver.switch_to.active_element.send_keys(read)
        driver.find_element(By.CSS_SELECTOR, "#token-form button").click()
        _wait_ready(driver, "2025-08")
        auth = {"Authorization": f"Bearer {read}"}
        params = {"period": "2025-08", "basis": "reporting", "sector": "ho_tich"}
        report = private.api.get("/v1/reports/dossier-processing", params=params, headers=auth).json()
        tiles = driver.execute_script(PAGE_DATA)["tiles"]
        assert {t["rate"]: _number(t["value"]) for t in tiles} == {
            t["rate"]: report["totals"]["rates"][t["rate"]] for t in tiles
        }
        # The feed's quality needs a token anyway: the read token serves, no form is shown.
        _until(driver, "return document.getElementById('feed').dataset.state === 'ready'")
        assert not driver.find_element(By.ID, "feed-token-box").is_displayed()
        downloads = ARTIFACTS / "downloads"
        name = "bao-cao-giai-quyet-ho-so_2025-08_sector.csv"
        (downloads / name).unlink(missing_ok=True)
        link = driver.find_element(By.CSS_SELECTOR, 'a.download[data-unit="sector"][data-format="csv"]')
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
        link.click()
        deadline = time.monotonic() + 15
        while not (downloads / name).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.2)
        expected = private.api.get(link.get_attribute("href"), headers=auth)
        assert expected.status_code == 200
        assert (downloads / name).read_bytes() == expected.content
        driver.execute_script("sessionStorage.clear()")


# --------------------------------------------------------------------------- a closed period

BUILDING_AGENCY = "000.00.07.H41"  # Sở Xây dựng, a provincial department of the seed

CLOSING_DATA = """
const section = document.getElementById('closing');
return {
  state: section.dataset.state, shown: !section.hidden,
  mark: !document.getElementById('closed-mark').hidden,
  closings: [...document.querySelectorAll('#closings > li')].map(li => ({
    unit: li.dataset.unit, id: Number(li.dataset.closing),
    when: li.querySelector('p.closing-when').textContent,
    links: [...li.querySelectorAll('p.closing-files a')].map(a => [a.textContent, a.getAttribute('href')]),
    size: parseFloat(getComputedStyle(li.querySelector('p.closing-when')).fontSize),
    superseded: [...li.querySelectorAll('.superseded > li')].map(s => ({
      id: Number(s.dataset.closing), when: s.querySelector('.closing-when').textContent,
      hrefs: [...s.querySelectorAll('a')].map(a => a.getAttribute('href')),
      size: parseFloat(getComputedStyle(s).fontSize)}))})),
  figures: [...document.querySelectorAll('.restated-figures tbody tr')].map(tr =>
    [...tr.children].map(c => c.textContent)),
  causes: [...document.querySelectorAll('.restated-figures td.cause a')].map(a =>
    [a.textContent, a.getAttribute('href')]),
  dossiers: [...document.querySelectorAll('.restated-dossiers tbody tr')].map(tr =>
    [tr.id, ...[...tr.children].map(c => c.textContent)]),
  reference: [...document.querySelectorAll('.restated-reference li')].map(li => li.textContent),
  none: [...document.querySelectorAll('.restated-none')].map(p => p.textContent),
  calls: performance.getEntriesByType('resource').map(e => e.name),
};
"""


def _vn_time(stamp: str) -> str:
    """'HH:MM ngày DD/MM/YYYY' of an API timestamp, which the API gives in Vietnam time."""
    at = datetime.fromisoformat(stamp)
    assert at.utcoffset() == timedelta(hours=7), stamp
    return at.strftime("%H:%M ngày %d/%m/%Y")


def test_dashboard_marks_a_closed_period_and_its_restatements(browser: Any, server: Server) -> None:
    """A quarter of 2023 (no demo dossier is that old, so the other views are untouched) closed for one
    agency, twice; then a late correction and a deletion arrive and the agency is renamed. The page
    marks the closing with its local time and token, links its filed files, lists the superseded one
    smaller, and restates exactly the figures that moved, with the dossiers and the rename behind them."""
    driver = browser
    api = server.api
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    a = BUILDING_AGENCY
    # 2023-Q3 on the reporting basis: 15 June – 14 September 2023. Both dossiers in person, no fee.
    #   CL-ontime: received 3 Jul, due 12 Jul 17:00, resolved 12 Jul 10:00 -> on time
    #   CL-early:  received 4 Jul, due 14 Jul 17:00, resolved 5 Jul 10:00  -> early
    records_2023 = [
        {
            "code": "CL-ontime",
            "procedure_code": "1.004227",
            "agency_code": a,
            "channel": "in_person",
            "received_at": "2023-07-03T08:00:00+07:00",
            "due_at": "2023-07-12T17:00:00+07:00",
            "resolved_at": "2023-07-12T10:00:00+07:00",
            "status": "resolved",
            "updated_at": "2023-07-12T10:00:00+07:00",
        },
        {
            "code": "CL-early",
            "procedure_code": "1.004227",
            "agency_code": a,
            "channel": "in_person",
            "received_at": "2023-07-04T08:00:00+07:00",
            "due_at": "2023-07-14T17:00:00+07:00",
            "resolved_at": "2023-07-05T10:00:00+07:00",
            "status": "resolved",
            "updated_at": "2023-07-05T10:00:00+07:00",
        },
    ]
    r = api.post("/v1/dossiers", json=records_2023, headers=admin)
    assert r.status_code == 200 and r.json()["created"] == 2, r.text
    report = {"period": "2023-Q3", "basis": "reporting", "unit": "agency"}
    closing = {**report, "agency": [a]}
    first = api.post("/v1/reports/dossier-processing/closings", json=closing, headers=admin).json()
    filed_json = api.get("/v1/reports/dossier-processing", params={**report, "agency": a}).content
    second = api.post("/v1/reports/dossier-processing/closings", json=closing, headers=admin).json()
    # Listed for the same period and basis, but of the whole province: not the view's closing.
    other = api.post("/v1/reports/dossier-processing/closings", json=report, headers=admin).json()
    assert first["superseded_by"] is None and second["id"] > first["id"] and other["id"] > second["id"]

    # After the closing: CL-ontime corrected (resolved 14 Jul, after its deadline: late), CL-early
    # deleted, and the agency renamed (its level unchanged).
    late = {
        **records_2023[0],
        "resolved_at": "2023-07-14T10:00:00+07:00",
        "updated_at": "2023-07-14T11:00:00+07:00",
    }
    r = api.post("/v1/dossiers", json=[late], headers=admin)
    assert r.status_code == 200 and r.json()["updated"] == 1, r.text
    assert api.delete("/v1/dossiers/CL-early", headers=admin).status_code == 204
    agency = next(x for x in api.get("/v1/agencies").json() if x["code"] == a)
    renamed = "Sở Xây dựng (tên mới)"
    put = {"name": renamed, "level": agency["level"], "commune_code": agency.get("commune_code")}
    assert api.put(f"/v1/agencies/{a}", json=put, headers=admin).status_code == 200
    try:
        _viewport(driver, 1366, 768)
        driver.get(f"{server.base}/dashboard?period=2023-Q3&basis=reporting&agency={a}")
        _wait_ready(driver, "2023-Q3")
        _until(driver, "return ['ready', 'error'].includes(document.getElementById('closing').dataset.state)")
        page = driver.execute_script(CLOSING_DATA)
        assert (page["state"], page["shown"], page["mark"]) == ("ready", True, True)
        when = f"lúc {_vn_time(second['closed_at'])}, người chốt: mã truy cập env-admin"
        query = f"period=2023-Q3&basis=reporting&unit=agency&format={{}}&agency={a}"
        base = "v1/reports/dossier-processing?"
        (shown,) = page["closings"]
        assert (shown["unit"], shown["id"]) == ("agency", second["id"])
        assert shown["when"] == f"Theo cơ quan: đã chốt {when}."
        assert shown["links"] == [
            ["CSV", f"{base}{query.format('csv')}&as_filed=true&closing_id={second['id']}"],
            [
                "CSV (Excel tiếng Việt)",
                f"{base}{query.format('csv')}&csv_dialect=excel-vi&as_filed=true&closing_id={second['id']}",
            ],
            ["JSON", f"{base}{query.format('json')}&as_filed=true&closing_id={second['id']}"],
            ["Excel (.xlsx)", f"{base}{query.format('xlsx')}&as_filed=true&closing_id={second['id']}"],
        ]
        # The JSON link serves the bytes filed, not today's report.
        assert api.get("/" + shown["links"][2][1]).content == filed_json
        assert api.get("/v1/reports/dossier-processing", params={**report, "agency": a}).content != filed_json
        (older,) = shown["superseded"]
        earlier = f"lúc {_vn_time(first['closed_at'])}, người chốt: mã truy cập env-admin"
        assert (older["id"], older["when"]) == (first["id"], f"Lần chốt trước (đã thay thế): {earlier}. ")
        assert [h.rsplit("&closing_id=", 1)[1] for h in older["hrefs"]] == [str(first["id"])] * 4
        assert older["size"] < shown["size"]

        # What moved, by hand. Filed for the agency: received 2, finished 2 (1 early, 1 on time); the
        # form's columns the same (nothing withdrawn or carried over). Now: CL-early is gone and
        # CL-ontime is late: received 1, finished 1 (0 early, 0 on time, 1 late). The agency is the only
        # row of the filter, so its level's subtotal and the totals move the same way.
        moved = [
            ("Tổng số hồ sơ tiếp nhận", "2", "1", "-1", "CL-early"),
            ("Số hồ sơ đã giải quyết", "2", "1", "-1", "CL-early"),
            ("Số hồ sơ giải quyết trước hạn", "1", "0", "-1", "CL-early"),
            ("Số hồ sơ giải quyết đúng hạn", "1", "0", "-1", "CL-ontime"),
            ("Số hồ sơ giải quyết quá hạn", "0", "1", "+1", "CL-ontime"),
            ("Tổng số hồ sơ nhận giải quyết", "2", "1", "-1", "CL-early"),
            ("Số hồ sơ đã giải quyết (gồm cả hồ sơ rút)", "2", "1", "-1", "CL-early"),
            ("Số hồ sơ đã giải quyết trước hạn (gồm cả hồ sơ rút)", "1", "0", "-1", "CL-early"),
            ("Số hồ sơ đã giải quyết đúng hạn (gồm cả hồ sơ rút)", "1", "0", "-1", "CL-ontime"),
            ("Số hồ sơ đã giải quyết quá hạn (gồm cả hồ sơ rút)", "0", "1", "+1", "CL-ontime"),
        ]
        assert page["figures"] == [
            [row, *figure] for row in (renamed, "Sở, ban, ngành cấp tỉnh", "Tổng cộng") for figure in moved
        ]
        # The dossiers, in code order, each once; every figure's code links to its row.
        doc = api.get("/v1/reports/dossier-processing/restatements", params={**report, "agency": a}).json()
        assert [(d["code"], d["changes"]) for d in doc["dossiers"]] == [("CL-early", 1), ("CL-ontime", 1)]
        arrived = {
            d["code"]: datetime.fromisoformat(d["last_change_at"]).strftime("%d/%m/%Y %H:%M")
            for d in doc["dossiers"]
        }
        assert page["dossiers"] == [
            [
                "restated-dossier-1",
                "CL-early",
                "Đã xóa sau khi chốt",
                f"Giải quyết trước hạn — {renamed}",
                "Đã xóa",
                arrived["CL-early"],
            ],
            [
                "restated-dossier-2",
                "CL-ontime",
                "Cập nhật sau khi chốt",
                f"Giải quyết đúng hạn — {renamed}",
                f"Giải quyết quá hạn — {renamed}",
                arrived["CL-ontime"],
            ],
        ]
        assert {tuple(c) for c in page["causes"]} == {
            ("CL-early", "#restated-dossier-1"),
            ("CL-ontime", "#restated-dossier-2"),
        }
        assert page["reference"] == [f"{a}: đổi tên từ «Sở Xây dựng» thành «{renamed}»."]
        # A figure's dossier opens its row in the list, without leaving the view.
        link = driver.find_element("css selector", '.restated-figures a[href="#restated-dossier-2"]')
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
        link.click()
        row = driver.find_element("id", "restated-dossier-2")
        assert "target" in row.get_attribute("class").split() and "#" not in driver.current_url
        assert driver.switch_to.active_element.text == "CL-ontime"
        ratio, where = driver.execute_script(MIN_CONTRAST)
        assert ratio >= 4.5, where
        _viewport(driver, 390, 844, mobile=True)  # the tables scroll inside their boxes on a phone
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
        _viewport(driver, 1366, 768)
        # One listing of closings and one restatement for the view: no request per figure or dossier.
        calls = [c.split("/v1/", 1)[1].split("?", 1)[0] for c in page["calls"] if "/v1/" in c]
        assert calls.count("reports/dossier-processing/closings") == 1
        assert calls.count("reports/dossier-processing/restatements") == 1
        _viewport(driver, 1366, driver.execute_script("return document.documentElement.scrollHeight"))
        driver.find_element("id", "closing").screenshot(str(ARTIFACTS / "closing-restated.png"))
        _viewport(driver, 1366, 768)

        # Closed again now: the latest closing has nothing to restate, and says so; two superseded.
        third = api.post("/v1/reports/dossier-processing/closings", json=closing, headers=admin).json()
        driver.get(f"{server.base}/dashboard?period=2023-Q3&basis=reporting&agency={a}")
        _wait_ready(driver, "2023-Q3")
        _until(driver, "return document.getElementById('closing').dataset.state === 'ready'")
        page = driver.execute_script(CLOSING_DATA)
        (shown,) = page["closings"]
        assert shown["id"] == third["id"]
        assert [s["id"] for s in shown["superseded"]] == [second["id"], first["id"]]
        assert (page["figures"], page["dossiers"], page["none"]) == (
            [],
            [],
            ["Không có số liệu nào thay đổi so với bản đã chốt."],
        )
    finally:
        put = {**put, "name": agency["name"]}
        assert api.put(f"/v1/agencies/{a}", json=put, headers=admin).status_code == 200


# --------------------------------------------------------------------------- the national index view

PROVINCE_CODE = "40"  # Nghệ An, the configured province (the index's unit=province row)
BUILDING = "000.00.07.H41"  # Sở Xây dựng
LOSS_INDICATORS = {"2.1", "3.0", "3.6a", "4.1", "4.2", "4.3", "4.4", "4.5a", "5.4"}


def _catalogue() -> list[dict[str, Any]]:
    """The demo's procedures as a catalogue: flags varied by position, the last civil-status procedure
    left out (its dossiers are uncatalogued)."""
    levels = {slug: level for slug, level, _, _ in SECTORS}
    out = []
    for slug, procedures in demo_procedures().items():
        for i, (code, days) in enumerate(procedures):
            if slug == "ho_tich" and i == len(procedures) - 1:
                continue
            out.append(
                {
                    "code": code,
                    "name": f"Thủ tục {slug.replace('_', ' ')} {i + 1}",
                    "sector": slug,
                    "level": levels[slug],
                    "max_duration": {"value": days, "unit": "working_days"},
                    "paper_result": i % 2 == 0,
                    "fee": i % 3 == 0,
                    "full_online_eligible": i % 4 != 3,
                    "full_online_offered": i % 2 == 0,
                    "online_payment_integrated": i % 6 == 0,
                }
            )
    return out


@pytest.fixture(scope="module")
def index_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own (the catalogue changes what the drill-down shows): the same demo year, and
    a catalogue of its procedures loaded first, so ingest derives every dossier against it."""
    folder = tmp_path_factory.mktemp("dashboard-index")
    url = _seeded_database(folder)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with _run_server(url, folder / "server.log") as srv:
        r = srv.api.put("/v1/procedures", json=_catalogue(), headers=admin)
        assert r.status_code == 200 and r.json()["rejected"] == 0, r.text
        deadline = time.monotonic() + 30
        while any(j["state"] == "running" for j in srv.api.get("/v1/index/jobs").json()["items"]):
            assert time.monotonic() < deadline, "the re-derivation job did not finish"
            time.sleep(0.1)
        r = srv.api.post("/v1/dossiers", json=records(), headers=admin)
        assert r.status_code == 200 and r.json()["created"] == len(records())
        yield srv


INDEX_DATA = """
const section = document.getElementById('index');
const panel = document.querySelector('.index-panel:not([hidden])');
const head = panel.querySelector('.index-head');
return {
  state: section.dataset.state, unit: section.dataset.unit, period: section.dataset.period,
  rows: [...panel.querySelectorAll('.index-list tbody tr')].map(r => ({
    code: r.dataset.code, rank: Number(r.dataset.rank), total: Number(r.dataset.total),
    reachable: Number(r.dataset.reachable), current: r.classList.contains('current'),
    shown: [...r.children].map(c => c.textContent.trim())})),
  selected: head.dataset.code, total: Number(head.dataset.total), rank: Number(head.dataset.rank),
  total_text: head.querySelector('.big').textContent,
  bars: [...panel.querySelectorAll('.index-bars rect.bar-fill')].map(b =>
    [b.dataset.group, Number(b.dataset.points), Number(b.dataset.max), Number(b.getAttribute('width'))]),
  tracks: [...panel.querySelectorAll('.index-bars rect.bar-track')].map(b => Number(b.getAttribute('width'))),
  fixes: [...panel.querySelectorAll('ol.index-fixes li')].map(li => {
    const a = li.querySelector('a.index-loss');
    const note = li.querySelector('.fix-note');
    return {code: li.dataset.code, lost: li.dataset.lost, href: a ? a.getAttribute('href') : null,
            count: a ? Number(a.dataset.count) : null, note: note ? note.textContent : null};
  }),
  losses: [...panel.querySelectorAll('.index-loss-table tbody tr')].map(tr =>
    [tr.dataset.code, tr.dataset.source, tr.dataset.lost]),
};
"""

DRILL_REASONS = (
    "return [...document.querySelectorAll('#drill-table tbody tr')]"
    ".map(r => [r.dataset.code, r.querySelector('td.reason').dataset.reason,"
    " r.querySelector('td.reason').textContent])"
)


def _wait_index(driver: Any, unit: str, period: str) -> dict[str, Any]:
    _until(
        driver,
        "const d = document.getElementById('index').dataset;"
        " return (d.state === 'ready' && d.unit === arguments[0] && d.period === arguments[1])"
        " || d.state === 'error'",
        unit,
        period,
    )
    data: dict[str, Any] = driver.execute_script(INDEX_DATA)
    assert data["state"] == "ready", driver.find_element("id", "index").text
    return data


def _lost_cents(i: dict[str, Any]) -> int:
    """Hundredths of a point an indicator lost: max_points − points_rounded, rounded away from the
    binary noise (20 − 19.28 = 0.7199999999999989)."""
    cents: int = round((i["max_points"] - i["points_rounded"]) * 100)
    return max(0, cents)


def _check_index_view(page: dict[str, Any], doc: dict[str, Any], selected: str) -> dict[str, Any]:
    """The view shows the API's document: every unit's rank, total and reachable points; for the
    selected unit its groups, every indicator's lost points and the fix-first list in order."""
    assert [(r["code"], r["rank"], r["total"], r["reachable"]) for r in page["rows"]] == [
        (r["code"], r["rank"], r["total"], r["reachable"]) for r in doc["rows"]
    ]
    assert [r["code"] for r in page["rows"] if r["current"]] == [selected]
    row: dict[str, Any] = next(r for r in doc["rows"] if r["code"] == selected)
    assert (page["selected"], page["total"], page["rank"]) == (selected, row["total"], row["rank"])
    assert page["total_text"] == f"{row['total']:.2f}".replace(".", ",")
    assert [b[:3] for b in page["bars"]] == [[g["code"], g["points"], g["max_points"]] for g in row["groups"]]
    # Tracks on one scale (the largest group, 22 points, is the longest), each filled to its points.
    widest = max(g["max_points"] for g in row["groups"])
    for (_code, points, most, filled), track in zip(page["bars"], page["tracks"], strict=True):
        # (the rectangles are drawn 1 px short, for their 1 px outline)
        expected_track = (page["tracks"][0] + 1) * most / row["groups"][0]["max_points"] - 1
        assert track == pytest.approx(expected_track, abs=0.01)
        assert filled == pytest.approx(max(0, (track + 1) * points / most - 1), abs=0.01)
        assert most <= widest
    scoring = [i for i in row["indicators"] if i["max_points"] > 0]
    assert page["losses"] == [[i["code"], i["source"], f"{_lost_cents(i) / 100:.2f}"] for i in scoring]
    # What to fix first: points recoverable, most first, ties by indicator code.
    expected = sorted((i for i in scoring if _lost_cents(i) > 0), key=lambda i: (-_lost_cents(i), i["code"]))
    assert [(f["code"], f["lost"]) for f in page["fixes"]] == [
        (i["code"], f"{_lost_cents(i) / 100:.2f}") for i in expected
    ]
    for f, i in zip(page["fixes"], expected, strict=True):
        lost_dossiers = (
            i["denominator"] - i["numerator"]
            if i["source"] == "computed" and i["denominator"] is not None
            else 0
        )
        if i["code"] in LOSS_INDICATORS and lost_dossiers > 0:
            agency = "" if doc["unit"] == "province" else f"&agency={selected}"
            assert f["href"] == f"v1/dossiers?index_loss={i['code']}&period={doc['period']}{agency}&limit=25"
            assert (f["count"], f["note"]) == (lost_dossiers, None)
        else:
            assert f["href"] is None and f["note"], i["code"]
            if i["source"] == "missing":
                assert f["note"].startswith("Chưa khai báo"), i["code"]
    return row


def test_dashboard_index_view_in_a_real_browser(browser: Any, index_server: Server) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    server = index_server
    _viewport(driver, 1366, 768)
    driver.get(f"{server.base}/dashboard?period=2025-Q3&basis=calendar")
    _wait_ready(driver, "2025-Q3")

    # 1. The province: its own row, selected by default.
    page = _wait_index(driver, "province", "2025-Q3")
    doc = server.api.get("/v1/index", params={"period": "2025-Q3", "unit": "province"}).json()
    row = _check_index_view(page, doc, PROVINCE_CODE)
    # By hand, from the API's figures: 2.1 = 20 × 802/832 = 19.278… → 19.28, 0.72 lost over the 30
    # late dossiers; 3.0 = 12 × 235/657 = 4.292… → 4.29, so 7.71 lost, the most; then the declared
    # indicators nobody declared, 6 points each (1.1, 1.4, 5.2, 5.3, by code), 4 each (1.2; 4.4
    # computed at 0/833, so the whole 4 points lost).
    by_code = {i["code"]: i for i in row["indicators"]}
    assert (by_code["2.1"]["numerator"], by_code["2.1"]["denominator"], by_code["2.1"]["points_rounded"]) == (
        802,
        832,
        19.28,
    )
    assert [(f["code"], f["lost"]) for f in page["fixes"][:7]] == [
        ("3.0", "7.71"),
        ("1.1", "6.00"),
        ("1.4", "6.00"),
        ("5.2", "6.00"),
        ("5.3", "6.00"),
        ("1.2", "4.00"),
        ("4.4", "4.00"),
    ]
    assert next(f for f in page["fixes"] if f["code"] == "2.1")["lost"] == "0.72"
    _screenshot(driver, "index-province-1366x768")
    _sections(driver, "index-1366", 1366, 768)

    # The 30 late dossiers of 2.1, across two pages of the drill-down, each with its reason.
    shown, count = _open_drill(
        driver, '#index-panel-province a.index-loss[data-index-loss="2.1"]', DRILL_REASONS
    )
    listed = server.api.get(
        "/v1/dossiers", params={"index_loss": "2.1", "period": "2025-Q3", "limit": 1000}
    ).json()["items"]
    assert count == 30 == len(listed)
    assert [(c, r) for c, r, _ in shown] == [(d["code"], d["index_reason"]) for d in listed]
    assert all(r.startswith("late by") for _, r, _ in shown)
    for _, reason, text in shown:  # said in Vietnamese: "late by 3 working days" → "quá hạn 3 ngày làm việc"
        m = re.fullmatch(r"late by (\d+) working days?", reason)
        assert text == (f"quá hạn {m[1]} ngày làm việc" if m else "quá hạn chưa đến 1 ngày làm việc"), reason
    assert driver.find_element(By.ID, "drill-reason-h").is_displayed()
    _screenshot(driver, "index-drill-1366x768")

    # 2. The departments: ranked as the API ranks them; the first row is selected, a click selects another.
    driver.find_element(By.ID, "index-tab-agency").click()
    page = _wait_index(driver, "agency", "2025-Q3")
    doc = server.api.get("/v1/index", params={"period": "2025-Q3", "unit": "agency"}).json()
    assert len(doc["rows"]) == 16
    _check_index_view(page, doc, doc["rows"][0]["code"])
    button = driver.find_element(
        By.CSS_SELECTOR, f'#index-panel-agency tr[data-code="{BUILDING}"] button.pick'
    )
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    page = driver.execute_script(INDEX_DATA)
    building = _check_index_view(page, doc, BUILDING)
    assert building["name"] == "Sở Xây dựng"
    assert page["rows"][building["rank"] - 1]["shown"] == [
        str(building["rank"]),
        "Sở Xây dựng",
        f"{building['total']:.2f}".replace(".", ","),
        f"{building['reachable']:.2f}".replace(".", ","),
    ]
    # The department's dossiers that are not full-online though eligible (3.0), with their reasons.
    three = next(i for i in building["indicators"] if i["code"] == "3.0")
    shown, count = _open_drill(
        driver, '#index-panel-agency a.index-loss[data-index-loss="3.0"]', DRILL_REASONS
    )
    listed = server.api.get(
        "/v1/dossiers", params={"index_loss": "3.0", "period": "2025-Q3", "agency": BUILDING, "limit": 1000}
    ).json()["items"]
    assert count == three["denominator"] - three["numerator"] == len(listed) > 0
    assert [(c, r) for c, r, _ in shown] == [(d["code"], d["index_reason"]) for d in listed]
    assert {(r, t) for _, r, t in shown} == {("not full-online", "không thực hiện trực tuyến toàn trình")}
    _sections(driver, "index-1366-agency", 1366, 768)
    ratio, where = driver.execute_script(MIN_CONTRAST)
    assert ratio >= 4.5, where

    # 3. The communes' People's Committees: 130, ranked as the API ranks them.
    driver.find_element(By.ID, "index-tab-commune").click()
    page = _wait_index(driver, "commune", "2025-Q3")
    doc = server.api.get("/v1/index", params={"period": "2025-Q3", "unit": "commune"}).json()
    assert len(doc["rows"]) == 130
    _check_index_view(page, doc, doc["rows"][0]["code"])

    # 4. A month and a year are calendar periods too; the commune tab stays chosen.
    driver.get(f"{server.base}/dashboard?period=2025-08&basis=calendar")
    _wait_ready(driver, "2025-08")
    driver.find_element(By.ID, "index-tab-agency").click()
    page = _wait_index(driver, "agency", "2025-08")
    doc = server.api.get("/v1/index", params={"period": "2025-08", "unit": "agency"}).json()
    _check_index_view(page, doc, doc["rows"][0]["code"])

    # 5. No index for a half-year or on the reporting basis: said in words, no figures shown.
    driver.get(f"{server.base}/dashboard?period=2025-H1&basis=calendar")
    _wait_ready(driver, "2025-H1")
    section = driver.find_element(By.ID, "index")
    assert (section.get_attribute("data-state"), section.get_attribute("data-reason")) == ("none", "half")
    assert "không tính cho kỳ 6 tháng" in driver.find_element(By.ID, "index-none").text
    assert not driver.find_element(By.ID, "index-body").is_displayed()
    section.screenshot(str(ARTIFACTS / "index-half-year.png"))
    driver.get(f"{server.base}/dashboard?period=2025-Q3&basis=reporting")
    _wait_ready(driver, "2025-Q3")
    section = driver.find_element(By.ID, "index")
    assert (section.get_attribute("data-state"), section.get_attribute("data-reason")) == (
        "none",
        "reporting",
    )
    assert "chỉ tính theo kỳ dương lịch" in driver.find_element(By.ID, "index-none").text
    # Its link opens the same quarter on the calendar basis, with the index.
    driver.find_element(By.CSS_SELECTOR, "#index-none a.index-calendar").click()
    _wait_ready(driver, "2025-Q3")
    assert driver.current_url.endswith("/dashboard?period=2025-Q3&basis=calendar")
    _wait_index(driver, "province", "2025-Q3")

    # Nothing was asked of any other origin, and the calls named are the public read API's.
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href])"
    )
    assert resources and all(name.startswith(server.base + "/") for name in resources), resources
    assert any("/v1/index?period=2025-Q3&unit=province" in name for name in resources)

    # 6. Phone width: the view stacks and nothing is wider than the screen.
    _viewport(driver, 390, 844, mobile=True)
    driver.execute_script("document.getElementById('index').scrollIntoView()")
    time.sleep(0.3)
    assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
    _sections(driver, "index-390", 390, 844, mobile=True)
    ratio, where = driver.execute_script(MIN_CONTRAST)
    assert ratio >= 4.5, where
    _viewport(driver, 1366, 768)


# --------------------------------------------------------------------------- what to do today, and the feed

# The worklists are judged now and the feed's quality is counted per local day, so this server runs on
# a fixed clock (tests/clock_app.py): Friday 3 October 2025, 09:00 in Vietnam. No public holiday falls
# between 22 September and 20 October 2025; the working days below skip the weekends only.
WL_NOW = "2025-10-03T09:00:00+07:00"
WL_A = "000.00.07.H41"  # Sở Xây dựng
WL_B = "000.00.03.H41"  # Sở Tài chính
WL_WARD = "17329"  # Xã Anh Sơn
WL_CATALOGUED = "1.000001"  # 3 working days in the catalogue loaded first, result on paper
WL_UNPAID = [f"B-UNPAID-{i:02d}" for i in range(1, 28)]  # 27: a second page of the list


def _wl(code: str, agency: str, received: str, due: str | None, **over: Any) -> dict[str, Any]:
    """A record received at 08:00 on `received`, due at 17:00 on `due`, sent at 08:00 today."""
    return {
        "code": code,
        "procedure_code": "1.004227",
        "procedure_name": "Cấp giấy phép xây dựng",
        "agency_code": agency,
        "channel": "in_person",
        "received_at": f"{received}T08:00:00+07:00",
        "due_at": None if due is None else f"{due}T17:00:00+07:00",
        "status": "processing",
        "updated_at": "2025-10-03T08:00:00+07:00",
        **over,
    }


def _done(resolved: str, **over: Any) -> dict[str, Any]:
    return {"status": "resolved", "resolved_at": resolved, **over}


def _worklist_records() -> list[dict[str, Any]]:
    return [
        # Overdue across a weekend: the working days after Fri 26 Sep up to today: Mon 29, Tue 30, Wed 1,
        # Thu 2, Fri 3 -> 5 late; no apology: also late without one.
        _wl("A-OVD-WKND", WL_A, "2025-09-15", "2025-09-26"),
        # Due yesterday, Thu 2 Oct: Fri 3 -> 1 late; apologised.
        _wl("A-OVD-SORRY", WL_A, "2025-09-22", "2025-10-02", apology_issued=True),
        # Due Mon 6 Oct: the working days after today up to Mon 6: Mon 6 -> 1 left (Sat 4, Sun 5 skipped).
        _wl("A-SOON-MON", WL_A, "2025-09-29", "2025-10-06"),
        # No due_at: the catalogue's 3 working days from the day after Thu 2 Oct: Fri 3, Mon 6, Tue 7 ->
        # the end of Tue 7 Oct (8 Oct 00:00); left: Mon 6, Tue 7 -> 2 (due soon with the default 2).
        _wl(
            "A-CAT",
            WL_A,
            "2025-10-02",
            None,
            procedure_code=WL_CATALOGUED,
            procedure_name=None,
            received_at="2025-10-02T10:00:00+07:00",
        ),
        # Due Wed 8 Oct: Mon 6, Tue 7, Wed 8 -> 3 left: on no list.
        _wl("A-LATER", WL_A, "2025-09-30", "2025-10-08"),
        # Its only supplement request unanswered: the applicant's clock, past due yet not overdue.
        _wl(
            "A-AWAIT",
            WL_A,
            "2025-09-10",
            "2025-09-26",
            status="supplement_requested",
            supplements=[{"requested_at": "2025-09-22T09:00:00+07:00", "supplied_at": None}],
        ),
        # Finished late in the period without an apology: after Mon 22 Sep up to Wed 24: Tue 23, Wed 24 -> 2.
        _wl(
            "A-LATE-DONE",
            WL_A,
            "2025-09-08",
            "2025-09-22",
            digitised_result=True,
            **_done("2025-09-24T10:00:00+07:00"),
        ),
        # Two supplement requests, the second unanswered: the agency's clock; due Fri 10 Oct, 5 left.
        _wl(
            "B-TWICE",
            WL_B,
            "2025-09-01",
            "2025-10-10",
            status="supplement_requested",
            supplements=[
                {"requested_at": "2025-09-03T09:00:00+07:00", "supplied_at": "2025-09-05T09:00:00+07:00"},
                {"requested_at": "2025-09-25T09:00:00+07:00", "supplied_at": None},
            ],
        ),
        # Finished on time in the period without an electronic result (its procedure is not catalogued).
        _wl(
            "B-NO-ERESULT",
            WL_B,
            "2025-09-22",
            "2025-10-06",
            commune_code=WL_WARD,
            **_done("2025-09-30T10:00:00+07:00"),
        ),
        # 27 with a fee not paid online, all due Mon 20 Oct: Oct 6-10, 13-17 and 20 -> 11 working days left.
        *(
            _wl(code, WL_B, "2025-09-15", "2025-10-20", commune_code=WL_WARD, fee_required=True)
            for code in WL_UNPAID
        ),
    ]


def _feed_batch() -> list[dict[str, Any]]:
    """Three rejected records (two reasons) and two accepted ones with a warning each, none on a list."""
    return [
        _wl("X-DUE-1", WL_A, "2025-09-15", "2025-09-12"),  # due before received: rejected
        _wl("X-DUE-2", WL_A, "2025-09-16", "2025-09-12"),  # the same
        _wl("X-AGENCY", "NOT-AN-AGENCY", "2025-09-15", "2025-09-26"),  # not a registered agency
        # Finished without a deadline; resolved on Sunday 28 Sep (both with an electronic result).
        _wl("W-NODUE", WL_B, "2025-09-15", None, digitised_result=True, **_done("2025-09-29T10:00:00+07:00")),
        _wl(
            "W-SUNDAY",
            WL_B,
            "2025-09-15",
            "2025-10-01",
            digitised_result=True,
            **_done("2025-09-28T10:00:00+07:00"),
        ),
    ]


@pytest.fixture(scope="module")
def worklist_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A small hand-built data set on a server whose clock stands at WL_NOW: a one-procedure catalogue
    loaded first, the dossiers above, then a batch with rejected records and warnings."""
    folder = tmp_path_factory.mktemp("dashboard-worklists")
    url = _seeded_database(folder)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    catalogue = [
        {
            "code": WL_CATALOGUED,
            "name": "Cấp phép theo danh mục",
            "level": "province",
            "max_duration": {"value": 3, "unit": "working_days"},
            "paper_result": True,
        }
    ]
    with _run_server(url, folder / "server.log", app="tests.clock_app:app", TEST_CLOCK_NOW=WL_NOW) as srv:
        r = srv.api.put("/v1/procedures", json=catalogue, headers=admin)
        assert r.status_code == 200 and r.json()["rejected"] == 0, r.text
        deadline = time.monotonic() + 30
        while any(j["state"] == "running" for j in srv.api.get("/v1/index/jobs").json()["items"]):
            assert time.monotonic() < deadline, "the re-derivation job did not finish"
            time.sleep(0.1)
        r = srv.api.post("/v1/dossiers", json=_worklist_records(), headers=admin)
        assert r.status_code == 200 and r.json()["created"] == 36, r.text
        r = srv.api.post("/v1/dossiers", json=_feed_batch(), headers=admin)
        assert r.status_code == 200 and (r.json()["created"], r.json()["rejected"]) == (2, 3), r.text
        yield srv


WORKLIST_DATA = """
const section = document.getElementById('worklists');
const panel = document.querySelector('.worklist:not([hidden])');
return {
  state: section.dataset.state, unit: section.dataset.unit,
  heads: [...panel.querySelectorAll('thead th')].map(th => th.textContent),
  rows: [...panel.querySelectorAll('tbody tr, tfoot tr')].map(tr => [
    tr.querySelector('th').textContent,
    ...[...tr.querySelectorAll('td')].map(td => {
      const a = td.querySelector('a.wl-link');
      return a ? [Number(a.dataset.count), a.dataset.kind] : td.textContent;
    })]),
};
"""

WORKLIST_ROWS = """
return [...document.querySelectorAll('#wl-table tbody tr')].map(tr =>
  [...tr.children].map(c => c.textContent));
"""

FEED_DATA = """
const section = document.getElementById('feed');
const rows = (cls) => [...section.querySelectorAll('.' + cls + ' tbody tr')].map(tr =>
  [...tr.children].map(c => c.textContent));
return {
  state: section.dataset.state, summary: section.querySelector('.feed-summary').textContent,
  rules: rows('feed-rules'), units: rows('feed-units'), days: rows('feed-days'),
  warnings: rows('feed-warnings'),
  examples: [...section.querySelectorAll('.feed-examples li')].map(li => li.textContent),
};
"""


def test_dashboard_worklists_and_feed_quality_in_a_real_browser(
    browser: Any, worklist_server: Server
) -> None:
    """The "Việc cần làm" view: counts per unit and kind (awaiting the applicant apart), each a link to
    its list shown on the page (names, deadlines, working days across a weekend, apologies owed; the
    second page by the cursor; the whole list as CSV); and the feed's quality for the integration
    engineer, read with the ingest token typed into its own form."""
    from selenium.webdriver.common.by import By

    driver = browser
    server = worklist_server
    _viewport(driver, 1366, 768)
    driver.get(f"{server.base}/dashboard?period=2025&basis=calendar")
    _wait_ready(driver, "2025")
    _until(driver, "const d = document.getElementById('worklists').dataset; return d.state !== 'loading'")

    # 1. Counts per agency, by kind; the last column (awaiting the applicant) apart. Sở Xây dựng: due
    # soon A-SOON-MON, A-CAT; overdue A-OVD-WKND, A-OVD-SORRY; late without apology A-OVD-WKND,
    # A-LATE-DONE; awaiting A-AWAIT. Sở Tài chính: B-TWICE; the 27 unpaid; B-NO-ERESULT.
    page = driver.execute_script(WORKLIST_DATA)
    assert (page["state"], page["unit"]) == ("ready", "agency")
    assert [h.split("▼")[0].strip() for h in page["heads"]][1:] == [
        "Sắp đến hạn≤ 2 ngày làm việc",
        "Quá hạn",
        "Trễ hạn chưa xin lỗi",
        "Yêu cầu bổ sung nhiều lần",
        "Chưa thanh toán trực tuyến",
        "Chưa có kết quả điện tử",
        "Chờ người dân bổ sungkhông tính hạn",
    ]
    assert page["rows"] == [  # sorted by overdue, most first
        [
            "Sở Xây dựng",
            [2, "due_soon"],
            [2, "overdue"],
            [2, "late_without_apology"],
            "0",
            "0",
            "0",
            [1, "awaiting_supplement"],
        ],
        [
            "Sở Tài chính",
            "0",
            "0",
            "0",
            [1, "supplement_repeated"],
            [27, "unpaid_online"],
            [1, "no_electronic_result"],
            "0",
        ],
        [
            "Tổng cộng",
            [2, "due_soon"],
            [2, "overdue"],
            [2, "late_without_apology"],
            [1, "supplement_repeated"],
            [27, "unpaid_online"],
            [1, "no_electronic_result"],
            [1, "awaiting_supplement"],
        ],
    ]
    apart = driver.find_element(By.CSS_SELECTOR, "#wl-panel-agency tbody tr td:last-child")
    assert "apart" in apart.get_attribute("class").split()

    # 2. A count opens its list: Sở Xây dựng's due-soon dossiers, by deadline.
    link = driver.find_element(
        By.CSS_SELECTOR, f'#wl-panel-agency tr[data-code="{WL_A}"] a[data-kind="due_soon"]'
    )
    assert link.get_attribute("href") == (
        f"{server.base}/v1/worklists/due_soon?agency={WL_A}&from=2025-01-01&to=2025-12-31&limit=25"
    )
    link.click()
    wait_list = (
        "const s = document.getElementById('wl-list');"
        " return !s.hidden && s.dataset.state === 'ready' && s.dataset.kind === arguments[0]"
        " && s.dataset.page === arguments[1]"
    )
    _until(driver, wait_list, "due_soon", "1")
    rates = {d["name"]: d["label_vi"] for d in server.api.get("/v1/metrics/definitions").json()["rates"]}
    weighs = (
        f"{rates['on_time']}; {rates['on_time_766']}; {rates['apology']}; chỉ số 2.1, 5.4 (Quyết định 766)"
    )
    assert driver.execute_script(WORKLIST_ROWS) == [
        [
            "A-SOON-MON",
            "Cấp giấy phép xây dựng",
            "Sở Xây dựng",
            "—",
            "06/10/2025 17:00",
            "Còn 1 ngày",
            "Cần xin lỗi",
            weighs,
        ],
        [
            "A-CAT",
            "Cấp phép theo danh mục",
            "Sở Xây dựng",
            "—",
            "hết ngày 07/10/2025 (theo danh mục)",
            "Còn 2 ngày",
            "Cần xin lỗi",
            weighs,
        ],
    ]
    assert driver.switch_to.active_element.get_attribute("id") == "wl-list-h"
    assert driver.find_element(By.ID, "wl-next").get_attribute("disabled") == "true"
    _sections(driver, "worklists-1366", 1366, 768)

    # The province's overdue dossiers (the totals row): 5 and 1 working days late.
    driver.find_element(By.CSS_SELECTOR, '#wl-panel-agency tfoot a[data-kind="overdue"]').click()
    _until(driver, wait_list, "overdue", "1")
    assert [r[:7] for r in driver.execute_script(WORKLIST_ROWS)] == [
        [
            "A-OVD-WKND",
            "Cấp giấy phép xây dựng",
            "Sở Xây dựng",
            "—",
            "26/09/2025 17:00",
            "Quá hạn 5 ngày",
            "Cần xin lỗi",
        ],
        [
            "A-OVD-SORRY",
            "Cấp giấy phép xây dựng",
            "Sở Xây dựng",
            "—",
            "02/10/2025 17:00",
            "Quá hạn 1 ngày",
            "Đã xin lỗi",
        ],
    ]
    # Late without an apology, finished or not: 2 (Tue 23, Wed 24 Sep) and 5 working days late.
    driver.find_element(By.CSS_SELECTOR, '#wl-panel-agency tfoot a[data-kind="late_without_apology"]').click()
    _until(driver, wait_list, "late_without_apology", "1")
    assert [(r[0], r[4], r[5], r[6]) for r in driver.execute_script(WORKLIST_ROWS)] == [
        ("A-LATE-DONE", "22/09/2025 17:00", "Quá hạn 2 ngày", "Cần xin lỗi"),
        ("A-OVD-WKND", "26/09/2025 17:00", "Quá hạn 5 ngày", "Cần xin lỗi"),
    ]
    # Awaiting the applicant: past its date, yet neither overdue nor counted late.
    driver.find_element(By.CSS_SELECTOR, '#wl-panel-agency tfoot a[data-kind="awaiting_supplement"]').click()
    _until(driver, wait_list, "awaiting_supplement", "1")
    assert [(r[0], r[4], r[5], r[6]) for r in driver.execute_script(WORKLIST_ROWS)] == [
        ("A-AWAIT", "26/09/2025 17:00", "Chờ người dân bổ sung", "—"),
    ]

    # 3. Sở Tài chính's 27 unpaid dossiers: 25, then the last 2 by the cursor (all due Mon 20 Oct: 11
    # working days left), and back; the CSV link gives the whole list.
    driver.find_element(
        By.CSS_SELECTOR, f'#wl-panel-agency tr[data-code="{WL_B}"] a[data-kind="unpaid_online"]'
    ).click()
    _until(driver, wait_list, "unpaid_online", "1")
    first = driver.execute_script(WORKLIST_ROWS)
    assert [r[0] for r in first] == WL_UNPAID[:25]
    assert {(r[2], r[3], r[4], r[5], r[6]) for r in first} == {
        ("Sở Tài chính", "Xã Anh Sơn", "20/10/2025 17:00", "Còn 11 ngày", "—")
    }
    assert driver.find_element(By.ID, "wl-page").text == "Trang 1: hồ sơ 1–25 / 27"
    driver.find_element(By.ID, "wl-next").click()
    _until(driver, wait_list, "unpaid_online", "2")
    assert [r[0] for r in driver.execute_script(WORKLIST_ROWS)] == WL_UNPAID[25:]
    assert driver.find_element(By.ID, "wl-page").text == "Trang 2: hồ sơ 26–27 / 27"
    assert "cursor=" in driver.find_element(By.ID, "wl-json").get_attribute("href")
    driver.find_element(By.ID, "wl-prev").click()
    _until(driver, wait_list, "unpaid_online", "1")
    csv_href = driver.find_element(By.ID, "wl-csv").get_attribute("href")
    assert (
        csv_href
        == f"{server.base}/v1/worklists/unpaid_online?agency={WL_B}&from=2025-01-01&to=2025-12-31&format=csv"
    )
    lines = server.api.get(csv_href).content.decode("utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in lines] == ["Mã hồ sơ", *WL_UNPAID]

    # 4. Per ward: the 28 dossiers of Xã Anh Sơn; those without a ward are counted, not linked.
    driver.find_element(By.ID, "wl-tab-commune").click()
    _until(
        driver,
        "const d = document.getElementById('worklists').dataset;"
        " return d.state === 'ready' && d.unit === 'commune'",
    )
    page = driver.execute_script(WORKLIST_DATA)
    assert page["rows"] == [
        ["Không gắn xã, phường", "2", "2", "2", "1", "0", "0", "1"],
        ["Xã Anh Sơn", "0", "0", "0", "0", [27, "unpaid_online"], [1, "no_electronic_result"], "0"],
        [
            "Tổng cộng",
            [2, "due_soon"],
            [2, "overdue"],
            [2, "late_without_apology"],
            [1, "supplement_repeated"],
            [27, "unpaid_online"],
            [1, "no_electronic_result"],
            [1, "awaiting_supplement"],
        ],
    ]

    # 5. The feed's quality needs a token even though reads are open: the section asks for one and
    # makes no call until it has it; an ingest token (which could not read the rest) is kept for it alone.
    feed = driver.find_element(By.ID, "feed")
    assert feed.get_attribute("data-state") == "token"
    assert driver.find_element(By.ID, "feed-token-box").is_displayed()
    calls = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert not any("/v1/feed-quality" in c for c in calls)
    ingest = server.api.post(
        "/v1/tokens",
        json={"label": "integration engineer", "scopes": ["ingest"]},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    ).json()["token"]
    # A token the service does not know: said, forgotten, asked again.
    driver.find_element(By.ID, "feed-token").send_keys("not-a-token")
    driver.find_element(By.CSS_SELECTOR, "#feed-token-form button").click()
    _until(
        driver,
        "return document.getElementById('feed-token-why').textContent"
        ".startsWith('Mã truy cập không hợp lệ, đã bị thu hồi hoặc hết hạn.')",
    )
    assert feed.get_attribute("data-state") == "token"
    assert driver.execute_script("return sessionStorage.getItem('tthc-feed-token')") is None
    driver.find_element(By.ID, "feed-token").send_keys(ingest)
    driver.find_element(By.CSS_SELECTOR, "#feed-token-form button").click()
    _until(driver, "return document.getElementById('feed').dataset.state === 'ready'")
    data = driver.execute_script(FEED_DATA)
    assert data["summary"].startswith(
        "Từ 04/09/2025 đến 03/10/2025: 3 bản ghi bị từ chối; 2 cảnh báo trên bản ghi đã nhận"
    )  # the 30 days ending today
    # Rejected: X-DUE-1 and X-DUE-2 (due before received), X-AGENCY (no such agency), all today.
    assert data["rules"] == [
        ["due_at", "due_at is before received_at", "value_error", "2"],
        ["agency_code", "agency_code is not a registered agency", "unknown_agency", "1"],
    ]
    assert data["units"] == [["Sở Xây dựng", "2"], ["Mã cơ quan chưa đăng ký", "1"]]
    assert data["days"] == [["03/10/2025", "3"]]
    # Warnings, apart: of the 4 dossiers finished today (A-LATE-DONE; B-NO-ERESULT, W-NODUE, W-SUNDAY),
    # W-NODUE has no deadline and W-SUNDAY was resolved on a Sunday: 1 / 4 = 25 % each; Sở Tài chính is
    # flagged for both (any count; 1 / 3 resolutions > the 10 % threshold).
    warnings = {r[0]: r[1:] for r in data["warnings"]}
    assert warnings["Đã giải quyết nhưng không có hạn giải quyết"] == ["due_at", "1", "4", "25,0%", "1"]
    assert warnings["Giải quyết vào ngày nghỉ (cuối tuần, ngày lễ, ngày nghỉ của tỉnh)"] == [
        "resolved_at",
        "1",
        "4",
        "25,0%",
        "1",
    ]
    assert len(warnings) == 7 and sum(int(w[1]) for w in warnings.values()) == 2
    # The latest codes per agency and reason (by agency code: Sở Tài chính, Sở Xây dựng, unknown).
    w_sunday = "Giải quyết vào ngày nghỉ (cuối tuần, ngày lễ, ngày nghỉ của tỉnh)"
    assert data["examples"] == [
        "Sở Tài chính — cảnh báo, trường due_at: Đã giải quyết nhưng không có hạn giải quyết. "
        "Hồ sơ gần nhất: W-NODUE",
        f"Sở Tài chính — cảnh báo, trường resolved_at: {w_sunday}. Hồ sơ gần nhất: W-SUNDAY",
        "Sở Xây dựng — từ chối, trường due_at: due_at is before received_at. "
        "Hồ sơ gần nhất: X-DUE-2, X-DUE-1",
        "Mã cơ quan chưa đăng ký — từ chối, trường agency_code: agency_code is not a registered agency. "
        "Hồ sơ gần nhất: X-AGENCY",
    ]
    assert driver.execute_script(
        "return [sessionStorage.getItem('tthc-feed-token'), sessionStorage.getItem('tthc-read-token')]"
    ) == [ingest, None]
    _sections(driver, "feed-1366", 1366, 768)
    ratio, where = driver.execute_script(MIN_CONTRAST)
    assert ratio >= 4.5, where

    # Phone width: nothing wider than the screen.
    _viewport(driver, 390, 844, mobile=True)
    time.sleep(0.3)
    assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
    _sections(driver, "worklists-390", 390, 844, mobile=True)
    _viewport(driver, 1366, 768)
    driver.execute_script("sessionStorage.clear()")
