"""Snapshots never block a verdict: the key names the models compared, the verdict is asserted first,
and another candidate's reference is a drift that is reported, not a failure (fixtures/snapshots.py)."""

from __future__ import annotations

import json
import re

ARGS = ("-k", "medqa and not gen", "--medcheck-compression", "bnb-int8", "--medcheck-limit", "4")


def test_a_new_candidate_reports_drift_instead_of_failing(gate):
    recorded = gate.run(*ARGS)                                        # --snapshot-update records the reference
    stored = gate.pytester.path / "suites" / "knowledge" / "__snapshots__" / "test_medqa.json"
    (name, scores), = json.loads(stored.read_text()).items()
    key = re.search(r"\[([^\[\]]*)\]$", name).group(1)
    assert key.startswith("sample-option-text-") and "-limit4-hf-" in key
    dense_print, candidate_print = key.split("-")[-2:]
    assert len(dense_print) == len(candidate_print) == 12 and dense_print != candidate_print
    # the same pair name recorded for another checkpoint, with other scores
    other = name.replace(candidate_print, "0" * 12)
    stored.write_text(json.dumps({other: {**scores, "accuracy": -1.0}}))
    run = gate.run(*ARGS, snapshot_update=False)
    assert run.result.ret == recorded.result.ret                      # the verdict decides, not the snapshot
    assert "does not match" not in run.result.stdout.str() and "snapshot failed" not in run.result.stdout.str()
    props = next(iter(run.cases().values()))
    assert props["snapshot"] == f"none recorded for {key}"
    assert props["snapshot_drift"].startswith(f"{other[other.rindex('[') + 1:-1]}: accuracy -1.0 -> ")
    notes = run.report()["notes"]
    assert any(n.startswith("SNAPSHOT DRIFT: ") and "the verdict stands" in n for n in notes)
    assert any(n.startswith("SNAPSHOTS: 1 tests have no score snapshot") for n in notes)
