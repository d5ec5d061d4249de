"""The efficiency track measures each model while scoring has it loaded: a run that scores and
measures a pair loads each side once, and the measurement is the one the test gates."""

from __future__ import annotations

import json


def test_efficiency_reuses_the_scoring_load(gate):
    run = gate.run("--medcheck-compression", "bnb-int8", "--medcheck-limit", "4", "--medcheck-no-cache",
                   "-k", "(test_cps and medqa and not gen) or test_ces", "-o", "log_cli=true",
                   "--log-cli-level=INFO", "--show-capture=no", "suites/efficiency", path="suites/knowledge")
    out = run.result.stdout.str()
    assert out.count("medcheck: loading tiny/dense") == 1, out
    assert out.count("medcheck: loading tiny/bnb-int8") == 1, out
    cases = run.cases()
    assert any(name.startswith("test_ces") for name in cases) and any("medqa" in name for name in cases)
    rows = run.report()["tracks"]["efficiency"]["rows"]
    assert [r["pair"] for r in rows] == ["tiny/bnb-int8"] and rows[0]["dense"]["memory_bytes"] > 0
    json.dumps(rows)   # the measurement reached the record


def test_efficiency_alone_still_measures_both_sides(gate):
    run = gate.run("--medcheck-compression", "bnb-int8", "--medcheck-no-cache", "-k", "test_ces",
                   "-o", "log_cli=true", "--log-cli-level=INFO", "--show-capture=no", path="suites/efficiency")
    out = run.result.stdout.str()
    assert out.count("medcheck: loading tiny/dense") == 1 and out.count("medcheck: loading tiny/bnb-int8") == 1
    assert len(run.report()["tracks"]["efficiency"]["rows"]) == 1
