"""Inconclusive verdicts are their own status: the `I` letter, their own count on pytest's final
line, and a `<skipped type="inconclusive">` element in the JUnit XML where the rule lets them pass.

The tests below record the verdict properties exactly as a threshold check does
(medcheck.gate.check_properties: `outcome`, `verdict_message`) and assert the verdict as the suites
do, so they exercise fixtures/reporting.py without scoring a model.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

SUITE = '''
import pytest

def verdict(record_property, outcome, passed, message):
    record_property("verdict", "pass" if passed else "fail")
    record_property("outcome", outcome)
    record_property("verdict_message", message)
    assert passed, message

def test_pass(record_property):
    verdict(record_property, "pass", True, "CPS 1.000 [0.969, 1.047] clears floor 0.850")

@pytest.mark.parametrize("k", [1, 2])
def test_catch_damage_inconclusive(record_property, k):
    verdict(record_property, "inconclusive", True,
            "CPS 1.000 [0.502, 2.500] straddles floor 0.850 (catch-damage, 95%): inconclusive, does not fail the run")

def test_prove_safe_inconclusive(record_property):
    verdict(record_property, "inconclusive", False,
            "CPS 1.000 [0.502, 2.500] straddles floor 0.850 (prove-safe, 95%): inconclusive, fails the run")

def test_fail(record_property):
    verdict(record_property, "fail", False, "CPS 0.600 [0.500, 0.700] is below floor 0.850")
'''


@pytest.fixture
def run(pytester: pytest.Pytester):
    pytester.makepyfile(test_suite=SUITE)
    pytester.makeini("[pytest]\njunit_family = xunit1\n")

    def go(*args: str) -> tuple[pytest.RunResult, ET.Element]:
        result = pytester.runpytest_inprocess("-p", "fixtures.reporting", "-p", "no:cacheprovider",
                                              "--junitxml", "junit.xml", *args)
        return result, ET.parse(pytester.path / "junit.xml").getroot()

    return go


def test_final_line_counts_inconclusive_tests(run):
    result, _ = run("-rA")
    assert result.parseoutcomes() == {"passed": 1, "failed": 2, "inconclusive": 2}
    result.stdout.re_match_lines([r".*2 failed, 1 passed, 2 inconclusive in.*"])
    assert result.ret == 1                                 # the fail and the prove-safe inconclusive


def test_progress_letters_and_verbose_words(run):
    result, _ = run("-v")
    result.stdout.fnmatch_lines(["*test_pass PASSED*", "*test_catch_damage_inconclusive?1? INCONCLUSIVE*",
                                 "*test_prove_safe_inconclusive INCONCLUSIVE (fails the run)*",
                                 "*test_fail FAILED*"])
    quiet, _ = run("-q")
    quiet.stdout.fnmatch_lines(["*.IIIF*"])


def test_junit_marks_inconclusive_passes_as_skipped(run):
    _, root = run()
    cases = {case.get("name"): case for case in root.iter("testcase")}
    for name in ("test_catch_damage_inconclusive[1]", "test_catch_damage_inconclusive[2]"):
        skipped = cases[name].find("skipped")
        assert skipped is not None and skipped.get("type") == "inconclusive"
        assert "straddles floor 0.850 (catch-damage" in skipped.get("message")
        assert cases[name].find("failure") is None
    failure = cases["test_prove_safe_inconclusive"].find("failure")
    assert failure is not None and cases["test_prove_safe_inconclusive"].find("skipped") is None
    assert "fails the run" in failure.get("message")
    assert cases["test_pass"].find("skipped") is None and cases["test_fail"].find("skipped") is None


def test_only_catch_damage_inconclusives_exit_zero(run, pytester):
    result, _ = run("-k", "catch_damage or test_pass")
    assert result.ret == 0
    result.stdout.re_match_lines([r".*1 passed, .*2 inconclusive in.*"])
