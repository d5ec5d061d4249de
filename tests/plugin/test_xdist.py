"""`pytest -n 2`: the same verdicts, scores and samples as a serial run, in one merged report.

One model (the tiny Llama) and two compressions: the workers split the run by pair, share the
dense reference through the results store (a run-private one under --medcheck-no-cache), and the
controller merges their records. Each worker computes with its share of the cores unless
OMP_NUM_THREADS says otherwise. How rows merge (cross results, track tables, counted notes) is in
tests/unit/test_merge.py; the arithmetic of threads and idle workers in tests/unit/test_parallel.py.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from medcheck.compression import DENSE
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
def _suite(gate: Any) -> dict[str, str | None]:
    suite = ET.parse(gate.pytester.path / "junit.xml").getroot().find("testsuite/properties")
    return {p.get("name"): p.get("value") for p in suite}


def _dense_scored(report: dict[str, Any]) -> dict[str, int]:
    """Dense items scored per dataset, over every process that scored some (throughput rows)."""
    out: dict[str, int] = {}
    for row in report["throughput"]:
        if row["pair"].endswith(f"/{DENSE}"):
            out[row["dataset"]] = out.get(row["dataset"], 0) + row["items"]
    return out


def test_two_workers_give_the_serial_verdicts_in_one_report(gate, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))   # workers are new processes: they import fixtures/ from here
    monkeypatch.setenv("OMP_NUM_THREADS", "2")     # the user's thread count wins over the share (1 on 2 cores)
    serial = _outputs(gate.run(*SELECT, snapshot_update=False, cache=tmp_path_factory.mktemp("serial")))
    shared = _outputs(gate.run(*SELECT, "-n", "2", snapshot_update=False, cache=tmp_path_factory.mktemp("xdist")))

    assert serial["outcomes"] == shared["outcomes"] and sum(serial["outcomes"].values()) == 4
    s, x = serial["report"], shared["report"]
    assert len(s["verdicts"]) == 4 and x["verdicts"] == s["verdicts"]   # collection order, as a serial run lists them
    assert sorted(map(json.dumps, x["scores"])) == sorted(map(json.dumps, s["scores"]))
    assert x["tracks"] == s["tracks"] and x["datasets"] == s["datasets"]   # the cross track's rows among them
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
    assert _suite(gate) == {"data_source": "sample", "pairs_file": s["pairs_file"],
                            "protocol": s["runtime"]["protocol"], "workers": "2", "threads": "2"}
    assert x["runtime"]["workers"] == 2 and x["runtime"]["threads"] == 2 and s["runtime"]["workers"] == 1


@pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")
def test_without_the_store_two_workers_score_the_dense_reference_once(gate, tmp_path_factory, monkeypatch):
    """--medcheck-no-cache ignores earlier runs, not the other worker: the dense reference is scored
    once (its items counted over both workers' throughput), in the serial run's batches, so the
    records are the serial run's; each worker gets max(1, cores // 2) threads."""
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cache = tmp_path_factory.mktemp("xdist-nocache")
    earlier = gate.run(*SELECT, snapshot_update=False, cache=cache)   # a store the no-cache runs must not read
    assert earlier.result.ret == 0 and (cache / "results.sqlite").is_file()
    serial = _outputs(gate.run(*SELECT, "--medcheck-no-cache", snapshot_update=False, cache=cache))
    shared = _outputs(gate.run(*SELECT, "--medcheck-no-cache", "-n", "2", snapshot_update=False, cache=cache))

    s, x = serial["report"], shared["report"]
    assert shared["outcomes"] == serial["outcomes"] and x["verdicts"] == s["verdicts"]
    assert shared["samples"] == serial["samples"] and _runs(x) == _runs(s)
    datasets = {d: info["n"] for d, info in s["datasets"].items()}
    assert len(datasets) == 2 and _dense_scored(s) == datasets   # the serial run scored each dense item
    assert _dense_scored(x) == datasets                          # ... and so did the two workers together
    assert all(row["cached_items"] == 0 for row in s["runs"])    # nothing read from the earlier run
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    assert x["runtime"]["threads"] == max(1, cores // 2) and x["runtime"]["workers"] == 2
    assert _suite(gate)["threads"] == str(max(1, cores // 2))
    assert [p.name for p in cache.iterdir() if p.name.startswith("run-store-")] == []   # the shared file is gone


@pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")
def test_workers_that_cannot_help_are_named_once(gate, monkeypatch):
    """One pair is one group of tests: of three workers two have nothing to do, and the run says so."""
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    run = gate.run("-k", "anatomy", "--medcheck-limit", "2", "--medcheck-compression", "bnb-int8", "-n", "3",
                   snapshot_update=False)
    lines = [line for line in run.result.outlines if "will have nothing to do" in line]
    assert len(lines) == 1 and lines[0].startswith("medcheck: -n 3") and "2 workers will have" in lines[0], lines
