"""medcheck/report/compare.py and `python -m medcheck compare | report`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from medcheck.report.compare import compare
from tests.report.payloads import INT8, MODEL, NF4, copy_of, full, save, schema3

REPO = Path(__file__).resolve().parents[2]
TRACK_INT8 = f"suites/knowledge/test_track.py::test_track_cps[{INT8}]"


def _cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "medcheck", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def _worse(payload: dict) -> dict:
    """The int8 track verdict goes from pass to fail."""
    b = copy_of(payload)
    for v in b["verdicts"]:
        if v["test"] == TRACK_INT8:
            v.update(value=0.85, passed=False, message="CPS 0.850 < 0.950")
    return b


def test_identical_runs_are_not_worse(tmp_path):
    a = save(full(), tmp_path / "a")
    lines, worse = compare(a, a)
    assert not worse
    assert f"  {NF4} medqa: accuracy 0.200 (same), CPS 0.737 (same)" in lines
    assert any(line.endswith("verdicts unchanged") for line in lines)


def test_pass_to_fail_is_worse(tmp_path):
    a, b = save(full(), tmp_path / "a"), save(_worse(full()), tmp_path / "b")
    lines, worse = compare(a, b)
    assert worse
    line = next(line for line in lines if TRACK_INT8 in line)
    assert line.strip().startswith("WORSE") and "pass -> FAIL" in line and "0.970 -> 0.850 (-0.120)" in line
    assert lines[-1].startswith("B is WORSE")
    _, back = compare(b, a)                       # fail -> pass is better, not worse
    assert not back


def test_score_efficiency_and_cross_changes_are_listed(tmp_path):
    p = full()
    b = copy_of(p)
    b["scores"][0].update(accuracy=0.35, score=0.35, cps=0.9)
    b["tracks"]["efficiency"]["rows"][0]["ratios"]["tps"] = 0.6
    b["tracks"]["efficiency"]["rows"][0]["ces"] = 2.5
    b["tracks"]["cross"]["rows"][0]["ccs"] = 0.9
    b["settings"]["limit"] = 10
    lines, worse = compare(save(p, tmp_path / "a"), save(b, tmp_path / "b"))
    text = "\n".join(lines)
    assert not worse
    assert "accuracy 0.300 -> 0.350 (+0.050), CPS 0.807 -> 0.900 (+0.093)" in text
    assert f"{NF4}: CES 2.405 -> 2.500 (+0.095)" in text and "tps 0.440 -> 0.600 (+0.160)" in text
    assert f"{MODEL}: CCS 0.936 -> 0.900 (-0.036)" in text
    assert "runs differ in:" in text and "limit: 40 -> 10" in text


def test_missing_verdict_and_runs_without_measured_rows(tmp_path):
    p = full()
    b = copy_of(p)
    b["verdicts"] = [v for v in b["verdicts"] if v["test"] != TRACK_INT8]
    for key in ("efficiency", "cross"):
        del b["tracks"][key]["rows"]
    lines, worse = compare(save(p, tmp_path / "a"), save(b, tmp_path / "b"))
    assert not worse
    assert f"  MISSING in B: {TRACK_INT8} (was pass, 0.970)" in lines
    assert f"  {NF4}: only in A (CES 2.405)" in lines


def test_a_schema_3_record_compares_as_the_same_run(tmp_path):
    lines, worse = compare(save(schema3(), tmp_path / "a"), save(full(), tmp_path / "b"))
    same, _ = compare(save(full(), tmp_path / "c"), save(full(), tmp_path / "d"))
    assert not worse and lines[2:] == same[2:]
    assert f"  {NF4}: CES 2.405 (same); ratios" in "\n".join(lines)


def test_cli_compare_exit_codes(tmp_path):
    a, b = save(full(), tmp_path / "a"), save(_worse(full()), tmp_path / "b")
    worse = _cli("compare", a, b)
    assert worse.returncode == 1, worse.stderr
    assert "WORSE" in worse.stdout and TRACK_INT8 in worse.stdout
    same = _cli("compare", a, a)
    assert same.returncode == 0, same.stderr
    missing = _cli("compare", a, tmp_path / "nowhere")
    assert missing.returncode == 2
    assert f"no report.json at {tmp_path / 'nowhere'}" in missing.stderr


def test_cli_report_writes_the_views(tmp_path):
    run = save(full(), tmp_path / "run")
    out = _cli("report", run)
    assert out.returncode == 0, out.stderr
    names = ["dashboard.html", "report.md", "knowledge.csv", "cross.csv", "efficiency.csv"]
    assert out.stdout.split() == [str(run / n) for n in names]
    assert all((run / n).stat().st_size > 0 for n in names)
    assert _cli("report", tmp_path / "empty").returncode == 2
