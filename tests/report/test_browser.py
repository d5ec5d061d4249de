"""The dashboard in a real headless Chromium: it opens on the verdict matrix (above the fold), a failing
cell is one click from its discordant items, the filter finds an item, tables and images render, and
the console stays clean. The screenshot is kept under MEDCHECK_SCREENSHOT_DIR when that is set.

Needs selenium (pip) and Debian's chromium + chromium-driver (apt); skipped with the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from medcheck.report import html
from tests.report.payloads import NF4, full, rec, sample_rows

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


def _binary(*names: str) -> str | None:
    return next((path for name in names if (path := shutil.which(name))), None)


@pytest.fixture
def chromium(tmp_path: Path):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    browser = _binary("chromium", "chromium-browser", "google-chrome")
    driver_path = _binary("chromedriver")
    if not browser or not driver_path:
        pytest.skip("chromium / chromedriver not installed (apt-get install -y chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS + (f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))   # explicit paths: no download
    try:
        yield driver
    finally:
        driver.quit()


def test_dashboard_renders_in_headless_chromium(chromium, tmp_path):
    html.write(rec(full()), tmp_path, sample_rows())
    chromium.get((tmp_path / "dashboard.html").as_uri())
    assert chromium.title.startswith("medcheck report: GATE FAILED")
    ids = chromium.execute_script("return [...document.querySelectorAll('table[id]')].map(t => t.id)")
    assert ids == ["matrix", "knowledge", "efficiency", "cross"]
    rows = chromium.execute_script("return document.querySelectorAll('#knowledge tbody tr').length")
    assert rows == 3
    # verdict first: the matrix is above the fold, before the notes and the tables
    fold = chromium.execute_script("return window.innerHeight")
    top, bottom = chromium.execute_script("const r = document.querySelector('#matrix').getBoundingClientRect();"
                                          "return [r.top, r.bottom]")
    assert 0 < top < fold / 3 and bottom < fold, (top, bottom, fold)
    notes = chromium.execute_script("return document.querySelector('.notes').getBoundingClientRect().top")
    table = chromium.execute_script("return document.querySelector('#knowledge').getBoundingClientRect().top")
    assert top < notes < table
    images = chromium.execute_script(
        "return [...document.images].map(i => [i.alt, i.complete, i.naturalWidth, i.getBoundingClientRect().width])")
    assert [alt for alt, *_ in images][:1] == ["Forest plot: Knowledge track (CMedBench Track 1)"]
    assert all(complete and natural > 300 and shown > 300 for _, complete, natural, shown in images), images
    _screenshot(chromium, tmp_path, "dashboard-top.png")
    # one click from a failing cell to the items it lost
    failing = chromium.find_element("css selector", "#matrix td.fail a")
    target = failing.get_attribute("href").split("#")[1]
    failing.click()
    block = chromium.find_element("id", target)
    assert block.get_attribute("open") is not None
    item = block.find_element("css selector", ".item.lost")
    assert item.is_displayed() and "question" in item.text and "dense p" in item.text
    assert NF4 in block.text
    # the filter keeps only the items that match
    box = chromium.find_element("id", "evidence-filter")
    box.send_keys("hepatitis")
    shown = chromium.execute_script("return [...document.querySelectorAll('#evidence .item')]"
                                    ".filter(i => !i.hidden && i.offsetParent !== null).map(i => i.textContent)")
    assert shown and all("hepatitis" in t for t in shown)
    severe = [e for e in chromium.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []
    height = chromium.execute_script("return document.documentElement.scrollHeight")
    chromium.set_window_size(1400, height + 100)
    _screenshot(chromium, tmp_path, "dashboard.png")


def _screenshot(driver, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("MEDCHECK_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(folder / name))
    assert (folder / name).read_bytes().startswith(b"\x89PNG")
