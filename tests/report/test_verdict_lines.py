"""The summary's verdict table says where fidelity to the dense model decided a verdict."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

from medcheck.record_rows import VerdictRow
from medcheck.report import verdict_lines


def _row(outcome: str, passed: bool, score: str, fidelity: str | None, test: str) -> VerdictRow:
    return VerdictRow(test=test, kind="dataset", track="knowledge", pair="m/c", subject="d", datasets=("d",),
                      metric="CPS", value=0.9, n=10, passed=passed, outcome=outcome, message="m", floor=0.85,
                      rule="r", decision_rule={"mode": "catch-damage"},
                      stats={"ci_low": 0.1, "ci_high": 2.0, "outcome": score},
                      fidelity=None if fidelity is None else {"fidelity_outcome": fidelity})


def _table(*rows: VerdictRow) -> list[str]:
    record: Any = SimpleNamespace(verdicts=list(rows))
    return verdict_lines(record)


def test_a_verdict_decided_by_fidelity_says_so_in_its_row():
    lines = _table(_row("fail", False, "inconclusive", "fail", "t_fid_fail"),
                   _row("pass", True, "inconclusive", "pass", "t_fid_pass"),
                   _row("inconclusive", True, "inconclusive", "inconclusive", "t_undecided"),
                   _row("fail", False, "fail", "inconclusive", "t_score_fail"),
                   _row("fail", False, "pass", None, "t_collapsed"))
    by_test = {line.split()[-1]: line for line in lines[3:]}
    assert by_test["t_fid_fail"].startswith("FAIL on fidelity ")
    assert by_test["t_fid_pass"].startswith("pass on fidelity ")
    for test in ("t_undecided", "t_score_fail", "t_collapsed"):   # the score decided, or another reason did
        assert "on fidelity" not in by_test[test]


def test_a_row_without_statistics_names_the_rule_it_was_judged_under():
    undefined = VerdictRow(test="t_undefined", kind="dataset", track="bionlp", pair="m/c", subject="d", datasets=("d",),
                           metric="CPS", value=None, n=5, passed=True, outcome="pass", message="m", floor=0.9, rule="r",
                           decision_rule={"mode": "catch-damage", "confidence": 0.95, "inconclusive_fails": False},
                           fidelity={"fidelity_outcome": "pass"})
    point = dataclasses.replace(undefined, test="t_point", decision_rule={"mode": "point"}, fidelity=None,
                                value=0.9)
    by_test = {line.split()[-1]: line for line in _table(undefined, point)[3:]}
    assert "catch-damage@0.95" in by_test["t_undefined"] and " point " in by_test["t_point"]
    # the undefined score decided nothing: fidelity did
    assert by_test["t_undefined"].startswith("pass on fidelity ") and "on fidelity" not in by_test["t_point"]
