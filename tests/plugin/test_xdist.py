"""`pytest -n 2`: the same verdicts, scores and samples as a serial run, in one merged report.

One model (the tiny Llama) and two compressions: the workers split the run by pair, both score
the dense reference (each on its own fresh store here), and the controller merges their records.
How rows merge (cross results, track tables, counted notes) is in tests/unit/test_merge.py.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tests.gate_project import REPO

SELECT = ["-k", "anatomy or genetics", "--medcheck-limit", "6", "--medcheck-compression", "bnb-nf4,bnb-int8"]
VARYING = {"seconds", "cached_items", "load", "backend"}           # run rows: how, not what
VARYING_PROPS = {"load_attempts", "warmup"}                          # JUnit: load timings


def _outputs(run: Any) -> dict[str, Any]:
    report = run.report()
    outcomes = run.result.parseoutcomes()
    return {"outcomes": {k: outcomes.get(k, 0) for k in ("passed", "failed", "errors", "skipped", "inconclusive")},
            "report": report, "cases": run.cases(),
            "samples": sorted(json.dumps(row, sort_keys=True) for row in run.samples()),
            "names": [case.get("name") for case in _testcases(run)],
            "files": sorted(p.name for p in (run.path / "report").iterdir())}


def _testcases(run: Any) -> list[Any]:
    return list(ET.parse(run.path / "junit.xml").getroot().iter("testcase"))


def _runs(report: dict[str, Any]) -> list[str]:
    return sorted(json.dumps({k: v for k, v in row.items() if k not in VARYING}, sort_keys=True)
                  for row in report["runs"])


@pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")
def test_two_workers_give_the_serial_verdicts_in_one_report(gate, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))   # workers are new processes: they import fixtures/ from here
    serial = _outputs(gate.run(*SELECT, snapshot_update=False, cache=tmp_path_factory.mktemp("serial")))
    shared = _outputs(gate.run(*SELECT, "-n", "2", snapshot_update=False, cache=tmp_path_factory.mktemp("xdist")))

    assert serial["outcomes"] == shared["outcomes"] and sum(serial["outcomes"].values()) == 4
    s, x = serial["report"], shared["report"]
    assert len(s["verdicts"]) == 4 and x["verdicts"] == s["verdicts"]   # collection order, as a serial run lists them
    assert sorted(map(json.dumps, x["scores"])) == sorted(map(json.dumps, s["scores"]))
    assert x["cross"] == s["cross"] and x["tracks"] == s["tracks"] and x["datasets"] == s["datasets"]
    assert _runs(x) == _runs(s)          # the dense reference both workers scored: once
    assert sorted(x["notes"]) == sorted(s["notes"])   # counted notes counted over both workers
    assert shared["samples"] == serial["samples"] and len(serial["samples"]) == len(set(serial["samples"]))
    assert shared["files"] == serial["files"] and "render-error.txt" not in shared["files"]

    # JUnit: every test once, with its properties; the suite properties the controller adds
    assert sorted(shared["names"]) == sorted(serial["names"]) and len(set(shared["names"])) == 4
    for name, props in serial["cases"].items():
        mine = shared["cases"][name]
        assert {k: v for k, v in mine.items() if k not in VARYING_PROPS} == \
            {k: v for k, v in props.items() if k not in VARYING_PROPS}, name
    suite = ET.parse(gate.pytester.path / "junit.xml").getroot().find("testsuite/properties")
    assert {p.get("name"): p.get("value") for p in suite} == {
        "data_source": "sample", "pairs_file": s["pairs_file"], "protocol": s["runtime"]["protocol"]}
