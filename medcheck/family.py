"""Run-level error: a fail must also hold at the level of its family of tests.

Each test's interval is held against its floor at the rule's confidence (one-sided level
(1 - confidence) / 2 per side). A run gates many tests, so without more the chance that a candidate
sitting at its floors fails *some* test grows with their number. The declared rule: the tests of one
track for one candidate (one pair, or one model for a per-model track) collected in a run form a
family of size m; a test fails only where its verdict is also a fail with the interval at confidence
1 - (1 - confidence) / m (Bonferroni). Then, for each track and candidate, the chance that a
candidate within every floor of the track fails any of its tests is at most (1 - confidence) / 2,
under any dependence between the tests. A fail at the test's own level that does not hold at the
family's level is inconclusive, and says so.

Passes keep the test's own level: they are not false alarms, and the rule is the one that keeps a
harmless candidate from being blocked. Holm's step-down rule (``medcheck.decision.holm``) would be
uniformly more powerful but needs every p-value of the family before the first verdict; pytest
reports each test as it finishes, so the gate uses the single-step form, which needs only m.
"""

from __future__ import annotations

import copy
from typing import Any

from medcheck.thresholds import Floor, Verdict, judge


def at_level(rule: Any, size: int) -> Any:
    """``rule`` with its confidence raised for a family of ``size`` tests (Bonferroni)."""
    strict = copy.copy(rule)
    object.__setattr__(strict, "confidence", 1.0 - (1.0 - rule.confidence) / size)   # frozen dataclass
    return strict


def judge_in_family(floor: Floor, rule: Any, result: Any, size: int, seed: int = 0) -> Verdict:
    """``judge``, with a fail kept only where it also holds at the family's level (see the module)."""
    verdict = judge(floor, rule, result, seed=seed)
    if size < 1:
        raise ValueError(f"a family has at least one test, got {size}")
    if verdict.outcome != "fail" or size == 1 or rule is None or getattr(rule, "mode", "point") == "point":
        return _sized(verdict, size)
    if result.reasons():   # a collapsed model fails whatever the level
        return _sized(verdict, size)
    strict = at_level(rule, size)
    again = judge(floor, strict, result, seed=seed)
    if again.outcome == "fail":
        return _sized(verdict, size, f"; fails at the family's level too ({family_words(strict, size)})")
    from medcheck.decision import fails_run

    # the outcome first: the test's own message below it still says "fail"
    lead = (f"inconclusive: not a fail at the family's level ({family_words(strict, size)})"
            f"{', fails the run' if fails_run('inconclusive', rule) else ''}; at the test's own level: ")
    return Verdict(not fails_run("inconclusive", rule), lead + verdict.message, floor, "inconclusive",
                   verdict.decision, verdict.fidelity, size, verdict.rule)


def family_words(strict: Any, size: int) -> str:
    return f"{size} tests of this track for this candidate, each at {strict.confidence:.4g} (Bonferroni)"


def _sized(verdict: Verdict, size: int, note: str = "") -> Verdict:
    if size == 1 and not note:
        return verdict
    return Verdict(verdict.passed, verdict.message + note, verdict.floor, verdict.outcome, verdict.decision,
                   verdict.fidelity, size, verdict.rule)


NOTE = ("MULTIPLICITY: a test fails only where its interval also lies below the floor at confidence "
        "1 - (1 - confidence) / m, m = the tests of its track for its candidate in this run (Bonferroni; "
        "family_size in the JUnit properties): for each track and candidate, a candidate within all the "
        "track's floors fails a test with probability at most (1 - confidence) / 2.")
