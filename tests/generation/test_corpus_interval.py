"""A corpus metric's CPS interval where one item carries the dense score: no zero-width end."""

from __future__ import annotations

import math

from medcheck import datasets
from medcheck.decision import Rule
from medcheck.pairs import Pair
from medcheck.results import PairResult
from medcheck.thresholds import Floor, judge
from tests.generation.test_trust_result import run  # records through the real parser and scorer

PAIR = Pair("m", "spec", "bnb-int8")


def test_a_dense_f1_that_one_item_carries_gives_no_zero_width_interval():
    """Dense right on one sentence's mentions, the candidate on none: most resamples leave the
    dense F1 at 0 (CPS undefined), so the interval excludes nothing; it was 0.000 [0, 0]."""
    ds = datasets.load("bc5cdr_chem", limit=20)
    spec = datasets.info(ds.id)
    first = next(k for k, i in enumerate(ds.items) if i.gold)
    dense = run(ds, [spec.answer(i) if k == first else i.text for k, i in enumerate(ds.items)], "dense")
    cand = run(ds, [i.text for i in ds.items], "bnb-int8")
    r = PairResult(PAIR, ds, dense, cand)
    assert dense.score > 0.0 and cand.score == 0.0 and r.cps == 0.0
    low, high = r.interval(0.95, seed=0)
    assert low == 0.0 and high == math.inf
    verdict = judge(Floor("CPS", 0.85, "test"), Rule("catch-damage"), r, seed=0)
    assert verdict.outcome == "inconclusive"
