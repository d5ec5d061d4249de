"""The dashboard in a real headless Chromium: it renders, with its tables and images, and no console error.

Needs selenium (pip) and Debian's chromium + chromium-driver (apt); skipped with the reason otherwise.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from medcheck.report import html
from tests.report.payloads import full

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
    html.write(full(), tmp_path)
    chromium.get((tmp_path / "dashboard.html").as_uri())
    assert chromium.title.startswith("medcheck report: GATE FAILED")
    ids = chromium.execute_script("return [...document.querySelectorAll('table[id]')].map(t => t.id)")
    assert ids == ["knowledge", "efficiency", "cross"]
    rows = chromium.execute_script("return document.querySelectorAll('#knowledge tbody tr').length")
    assert rows == 3
    images = chromium.execute_script(
        "return [...document.images].map(i => [i.alt, i.complete, i.naturalWidth, i.getBoundingClientRect().width])")
    assert [alt for alt, *_ in images] == ["Accuracy vs memory", "CPS per dataset and track",
                                           "Efficiency per dimension", "Load telemetry"]
    assert all(complete and natural > 300 and shown > 300 for _, complete, natural, shown in images), images
    notes = chromium.execute_script("return document.querySelector('.notes').getBoundingClientRect().top")
    table = chromium.execute_script("return document.querySelector('#knowledge').getBoundingClientRect().top")
    assert notes < table
    severe = [e for e in chromium.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []
    height = chromium.execute_script("return document.documentElement.scrollHeight")
    chromium.set_window_size(1400, height + 100)
    assert chromium.save_screenshot(str(tmp_path / "dashboard.png"))
    assert (tmp_path / "dashboard.png").read_bytes().startswith(b"\x89PNG")
