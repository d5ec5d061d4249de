"""A candidate that stops answering readably fails even where CPS is undefined (the dense model's
F1 is 0): the dense model still answered every item the parser could read, the candidate did not,
and that loss is tested item by item, not through the score."""

from __future__ import annotations

from medcheck.decision import Rule
from medcheck.thresholds import Floor, judge
from tests.generation.test_trust_result import pair_result

READABLE = "DDI-false"            # a parsed answer; F1 over the positive classes stays 0
UNREADABLE = "@@@ ### the the the"


def _verdict(dense_texts, cand_texts):
    result = pair_result("ddi", dense_texts, cand_texts, limit=24)
    assert result.dense.score == 0 and result.cps_or_none is None
    return judge(Floor("CPS", 0.85, "test"), Rule("catch-damage"), result, seed=0)


def test_unreadable_candidate_fails_where_cps_is_undefined():
    verdict = _verdict(lambda ds: [READABLE] * ds.n, lambda ds: [UNREADABLE] * ds.n)
    assert verdict.outcome == "fail" and not verdict.passed
    assert "CPS is undefined on ddi" in verdict.message and "stopped answering readably on ddi" in verdict.message


def test_readable_candidate_stays_inconclusive_where_cps_is_undefined():
    verdict = _verdict(lambda ds: [READABLE] * ds.n, lambda ds: [READABLE] * ds.n)
    assert verdict.outcome == "inconclusive" and verdict.passed
