"""medcheck/report/html.py: one self-contained page; and the report dir's rendering in write_views."""

from __future__ import annotations

import base64
import re
import subprocess
import sys

import pytest

import medcheck.report
from medcheck.report import html
from tests.report.payloads import base, full, rec

IMG = re.compile(r'<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture(scope="module")
def full_page() -> str:
    return html.render(rec(full()))


def _images(page: str) -> dict[str, bytes]:
    return {alt: base64.b64decode(data) for alt, data in IMG.findall(page)}


def test_page_is_self_contained_with_embedded_pngs(full_page):
    page = full_page
    assert page.startswith("<!DOCTYPE html>") and page.count("<html") == 1
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "http://" not in page and "https://" not in page
    assert page.lower().count("<script") == 1 and "<script src" not in page.lower()   # the evidence filter only
    assert "<link rel=\"stylesheet\"" not in page
    images = _images(page)
    assert list(images) == ["Forest plot: Knowledge track (CMedBench Track 1)",
                            "Forest plot: Efficiency track (CMedBench Track 5)",
                            "Forest plot: Cross-combination track (CMedBench Track 4)",
                            "CPS per dataset and track", "Accuracy vs memory", "Efficiency per dimension",
                            "Load telemetry"]
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000 for png in images.values())
    assert page.count("<img") == len(images)            # every image is a data URI
    for table_id in ("knowledge", "efficiency", "cross"):
        assert f'<table id="{table_id}">' in page
    assert "not drawn" not in page


def test_notes_come_first_and_settings_environment_errors_are_shown(full_page):
    page = full_page
    assert page.index("SAMPLE DATA") < page.index('<table id="knowledge">')
    assert page.index("DEGENERATE") < page.index('<table id="knowledge">')
    assert "GATE FAILED: 4 threshold breaches, 1 error" in page
    assert "ValueError: boom" in page
    for key in ("runtime", "environment", "settings", "torch_version", "load attempts", "RuntimeError: no CUDA"):
        assert key in page


def test_missing_data_skips_plots_and_says_so():
    payload = base()                                     # no efficiency rows: memory from load telemetry
    page = html.render(rec(payload))
    assert "<b>Efficiency per dimension</b><p>not drawn: no efficiency track in this run" in page
    assert "weight bytes from the load telemetry" in page
    for run in payload["runs"]:
        run["load"] = {"cached": True}
    page = html.render(rec(payload))
    assert list(_images(page)) == ["Forest plot: Knowledge track (CMedBench Track 1)", "CPS per dataset and track"]
    assert "<b>Accuracy vs memory</b><p>not drawn: no memory measurement" in page
    assert "<b>Load telemetry</b><p>not drawn: no model was loaded in this run" in page
    empty = html.render(rec(base() | {"pairs": [], "runs": [], "scores": [], "verdicts": [], "errors": {}}))
    assert "No scores were recorded" in empty and "<img" not in empty


def test_payload_text_is_escaped():
    payload = base()
    payload["notes"].append("<script>alert(1)</script>")
    page = html.render(rec(payload))
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_without_matplotlib_the_tables_remain(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    page = html.render(rec(full()))
    assert "matplotlib is not installed" in page and '<table id="knowledge">' in page and "<img" not in page


def test_write_views_writes_everything_and_records_a_failure(tmp_path, monkeypatch):
    medcheck.report.write_views(rec(full()), tmp_path)
    for name in ("dashboard.html", "report.md", "knowledge.csv", "cross.csv", "efficiency.csv"):
        assert (tmp_path / name).stat().st_size > 0

    def broken(record, folder):
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr(html, "write", broken)
    medcheck.report.write_views(rec(full()), tmp_path)           # must not raise
    error = (tmp_path / "render-error.txt").read_text()
    assert "RuntimeError: renderer exploded" in error and "python -m medcheck report" in error
    assert not (tmp_path / "dashboard.html").exists()       # no stale dashboard beside the new report.json


def test_imports_stay_light():
    code = ("import sys, medcheck.report, medcheck.report.html, medcheck.report.tables, medcheck.report.compare; "
            "print(','.join(m for m in ('matplotlib', 'torch', 'pytest') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("payload", [full, base])
def test_write_returns_the_paths(tmp_path, payload):
    paths = html.write(rec(payload()), tmp_path)
    assert paths[:2] == [tmp_path / "dashboard.html", tmp_path / "report.md"]
    assert all(p.exists() for p in paths)


def test_a_cross_verdict_over_many_datasets_keeps_its_forest_plot_readable():
    """A cross verdict's subject lists every dataset it combines: as a forest-plot label that list
    squeezed the axes to nothing (matplotlib warned "constrained_layout not applied"); the label now
    names the first dataset and how many more, and the plot draws without a warning."""
    import warnings

    from medcheck.report import plots

    payload = full()
    many = ",".join(f"mmlu_{s}" for s in ("anatomy", "clinical_knowledge", "college_biology", "college_medicine",
                                         "medical_genetics", "professional_medicine"))
    cross = next(v for v in payload["verdicts"] if v["track"] == "cross")
    cross.update(subject=many, datasets=many.split(","))
    record = rec(payload)
    (row,) = plots.forest_rows(record, "cross")
    assert plots._label(record, row).endswith("anatomy + 5 more")
    jobs = [job for job in plots.jobs(record)[0] if "Cross" in job[0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (drawn,) = plots.draw(record, jobs)
    assert drawn[2] is not None
    page = html.render(record)   # the matrix row too: the list would widen its first column past the pairs
    assert '<th class="t" title="' + many + '">anatomy + 5 more</th>' in page


def test_a_cell_fidelity_decided_says_so():
    """A red cell whose interval straddles its floor would read as a contradiction without its reason."""
    payload = full()
    row = next(v for v in payload["verdicts"] if v.get("stats") and v["outcome"] == "fail")
    row["stats"] = {**row["stats"], "outcome": "inconclusive"}
    row["fidelity"] = {"fidelity_outcome": "fail"}
    page = html.render(rec(payload))
    assert page.count("on fidelity</small>") == 1
