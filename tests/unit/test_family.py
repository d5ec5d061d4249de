"""The run-level rule (medcheck.family): a fail must also hold at its family's Bonferroni level."""

from __future__ import annotations

import pytest

from medcheck.decision import Rule
from medcheck.family import at_level, judge_in_family
from medcheck.thresholds import Floor, judge
from tests.unit.test_fidelity_gate import FLOORS, _records, _result

FLOOR = Floor("CPS", 0.85, "t", FLOORS)


def _moved(n: int, flip_every: int):
    return _result(_records(n, margin=2.0), _records(n, margin=2.0, flip_every=flip_every))


def test_a_family_of_one_is_the_test_alone():
    result = _moved(20, flip_every=2)
    assert judge_in_family(FLOOR, Rule("catch-damage"), result, 1) == judge(FLOOR, Rule("catch-damage"), result)


def test_a_marginal_fail_is_inconclusive_in_a_large_family_and_says_why():
    rule = Rule("catch-damage")
    # find the smallest run whose fidelity fail at 95% does not survive a family of 500 tests
    for n in range(6, 60):
        result = _moved(n, flip_every=3)
        if judge(FLOOR, rule, result).outcome == "fail" and judge(FLOOR, at_level(rule, 500), result).outcome != "fail":
            break
    else:
        pytest.fail("no marginal fail found")
    verdict = judge_in_family(FLOOR, rule, result, 500)
    assert verdict.outcome == "inconclusive" and verdict.passed   # catch-damage: inconclusive does not fail the run
    assert verdict.message.startswith("inconclusive: not a fail at the family's level (500 tests")
    assert "; at the test's own level: " in verdict.message   # then why it failed there
    assert dict(verdict.properties())["family_size"] == 500
    prove = judge_in_family(FLOOR, Rule("prove-safe"), result, 500)
    assert prove.outcome == "inconclusive" and not prove.passed    # prove-safe: it still fails the run


def test_a_clear_fail_holds_in_its_family():
    result = _moved(60, flip_every=2)
    verdict = judge_in_family(FLOOR, Rule("catch-damage"), result, 12)
    assert verdict.outcome == "fail" and not verdict.passed and "at the family's level too" in verdict.message


def test_passes_keep_the_tests_own_level():
    records = _records(20, margin=2.0)
    alone = judge(FLOOR, Rule("catch-damage"), _result(records, records))
    verdict = judge_in_family(FLOOR, Rule("catch-damage"), _result(records, records), 40)
    assert alone.outcome == verdict.outcome == "pass" and verdict.family == 40


def test_the_strict_rule_divides_the_error_by_the_family_size():
    strict = at_level(Rule("catch-damage", confidence=0.9), 4)
    assert strict.confidence == pytest.approx(0.975) and strict.mode == "catch-damage"
    with pytest.raises(ValueError, match="at least one test"):
        judge_in_family(FLOOR, Rule("catch-damage"), _moved(20, 2), 0)
