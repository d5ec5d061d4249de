"""Two runs of one configuration on one machine, each with a fresh results store, agree byte for
byte on samples.jsonl, snapshots, scores and verdicts; only the measurements report.json keeps
apart (medcheck.audit.MEASURED: wall times, load telemetry, throughput, efficiency) differ."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from medcheck import audit
from tests.audit.conftest import run_gate


def test_two_fresh_runs_give_identical_records(tmp_path: Path, tiny_model_dir: Path):
    project, cache, kept = tmp_path / "project", tmp_path / "cache", []
    for k in range(2):
        shutil.rmtree(cache, ignore_errors=True)   # a fresh store and model cache each time
        run_gate(project, tiny_model_dir, cache, "-k", "medqa or pubmed_qa", "--medcheck-no-cache",
                 path="suites/knowledge")
        out = tmp_path / f"run-{k}"
        shutil.move(project / "report", out / "report")
        for snapshot in project.glob("suites/*/__snapshots__"):
            shutil.move(snapshot, out / "snapshots" / snapshot.parent.name)
        kept.append(out)
    a, b = kept
    assert (a / "report/samples.jsonl").read_bytes() == (b / "report/samples.jsonl").read_bytes()
    assert len((a / "report/samples.jsonl").read_text().splitlines()) == 2 * 2 * 6   # 2 datasets x dense, int8 x 6
    snapshots = sorted(p.relative_to(a) for p in a.glob("snapshots/*/*.json"))
    assert [s.name for s in snapshots] == ["test_medqa.json", "test_pubmed_qa.json"]
    for name in snapshots:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    first, second = (json.loads((p / "report/report.json").read_text()) for p in kept)
    assert first["settings"]["use_cache"] is False and all(r["cached_items"] == 0 for r in first["runs"])
    for key in ("verdicts", "scores"):
        assert json.dumps(first[key]) == json.dumps(second[key]), key
    assert (json.dumps(audit.reproducible(first), sort_keys=True)
            == json.dumps(audit.reproducible(second), sort_keys=True))
    # the measurements are there, in their own keys: the only part two runs need not share
    assert all(isinstance(r["seconds"], float) and r["load"].get("attempts") for r in first["runs"])
