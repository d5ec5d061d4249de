"""Fidelity in the verdict (thresholds.judge): accuracy and fidelity together, on synthetic records."""

from __future__ import annotations

import math

import pytest

from medcheck.datasets.types import ChoiceItem, Dataset
from medcheck.decision import Rule
from medcheck.pairs import Pair
from medcheck.results import PairResult, RunResult
from medcheck.scoring.choice import SampleRecord, summarize
from medcheck.thresholds import FidelityFloor, Floor, judge

PAIR = Pair("m", "spec", "rtn-w8")
FLOORS = FidelityFloor(kl_max=0.1, same_top_min=0.7, rule="test.yaml: fidelity.default")


def _records(n: int, margin: float, flip_every: int = 0) -> tuple[SampleRecord, ...]:
    """n two-option items, gold "A" on even items; the top option is "A" by `margin` nats (flipped
    on every `flip_every`-th item)."""
    out = []
    for k in range(n):
        top = 1 if flip_every and k % flip_every == 0 else 0
        scores = (-1.0, -1.0 - margin) if top == 0 else (-1.0 - margin, -1.0)
        gold = "A" if k % 2 == 0 else "B"
        pred = "AB"[top]
        out.append(SampleRecord(f"i{k}", pred, pred, gold, pred == gold, pred == gold, scores, 10))
    return tuple(out)


def _result(dense: tuple[SampleRecord, ...], cand: tuple[SampleRecord, ...]) -> PairResult:
    items = tuple(ChoiceItem(r.item_id, "q", ("a", "b"), 0 if r.gold == "A" else 1, labels=("A", "B")) for r in dense)
    ds = Dataset("toy", "knowledge", items, "sample", "p", 1, len(items))
    run = lambda comp, recs: RunResult("m", comp, "toy", recs, summarize(recs), "fp", "k", 0, 0.0)  # noqa: E731
    return PairResult(PAIR, ds, run("dense", dense), run("rtn-w8", cand))


def test_the_same_distributions_pass_on_fidelity_where_accuracy_cannot_decide():
    records = _records(20, margin=2.0)
    verdict = judge(Floor("CPS", 0.85, "t", FLOORS), Rule("catch-damage"), _result(records, records))
    assert verdict.decision.outcome == "inconclusive"           # 20 agreeing items: accuracy alone is too wide
    assert verdict.fidelity.outcome == "pass" and verdict.outcome == "pass" and verdict.passed
    assert "verdict pass on fidelity" in verdict.message
    props = dict(verdict.properties())
    assert props["fidelity_outcome"] == "pass" and float(props["fidelity_kl_high"]) < 0.1


def test_moved_answers_fail_on_fidelity_with_that_reason():
    dense, cand = _records(20, margin=2.0), _records(20, margin=2.0, flip_every=2)   # half the top answers moved
    verdict = judge(Floor("CPS", 0.85, "t", FLOORS), Rule("catch-damage"), _result(dense, cand))
    assert verdict.fidelity.outcome == "fail" and verdict.outcome == "fail" and not verdict.passed
    assert "fidelity to the dense model fails" in verdict.message


def test_a_verdict_fidelity_decides_says_so_first_and_not_what_undecided_accuracy_meant_for_the_run():
    dense, cand = _records(20, margin=2.0), _records(20, margin=2.0, flip_every=2)
    verdict = judge(Floor("CPS", 0.85, "t", FLOORS), Rule("catch-damage"), _result(dense, cand))
    assert verdict.decision.outcome == "inconclusive" and verdict.outcome == "fail"
    assert verdict.message.startswith("verdict fail on fidelity (accuracy alone: inconclusive): fidelity to the "
                                      "dense model fails")
    assert "; accuracy alone: CPS " in verdict.message and "straddles floor 0.850" in verdict.message
    assert "does not fail the run" not in verdict.message   # the test fails: only its accuracy was undecided
    assert "does not fail the run" in verdict.decision.message   # the decision on its own still says it


def test_a_verdict_prints_short_under_a_failed_assert():
    dense, cand = _records(20, margin=2.0), _records(20, margin=2.0, flip_every=2)
    verdict = judge(Floor("CPS", 0.85, "t", FLOORS), Rule("catch-damage"), _result(dense, cand))
    assert repr(verdict) == "Verdict(outcome='fail', passed=False)"


def test_without_fidelity_floors_accuracy_decides_alone():
    records = _records(20, margin=2.0)
    verdict = judge(Floor("CPS", 0.85, "t"), Rule("catch-damage"), _result(records, records))
    assert verdict.fidelity is None and verdict.outcome == verdict.decision.outcome


@pytest.mark.parametrize("margin", [0.5, 3.0])
def test_fidelity_is_measured_from_the_stored_option_scores(margin):
    dense, cand = _records(4, margin), _records(4, margin + 1.0)
    summary = _result(dense, cand).fidelity(0.95)
    p = [1 / (1 + math.exp(-margin)), 1 / (1 + math.exp(margin))]
    q = [1 / (1 + math.exp(-margin - 1)), 1 / (1 + math.exp(margin + 1))]
    kl = sum(a * math.log(a / b) for a, b in zip(p, q))
    assert summary is not None and summary.kl == pytest.approx(kl, rel=1e-4) and summary.same_top == 1.0


def test_an_undefined_cps_still_fails_on_fidelity():
    dense = tuple(r.__class__(r.item_id, r.prediction, r.prediction_norm, r.gold, False, False, r.scores, 10)
                  for r in _records(20, margin=2.0))                      # the dense model gets nothing right
    cand = tuple(r.__class__(r.item_id, r.prediction, r.prediction_norm, r.gold, False, False, r.scores, 10)
                 for r in _records(20, margin=2.0, flip_every=2))
    verdict = judge(Floor("CPS", 0.85, "t", FLOORS), Rule("catch-damage"), _result(dense, cand))
    assert "CPS is undefined" in verdict.message and verdict.outcome == "fail" and not verdict.passed
    assert dict(verdict.properties())["accuracy_outcome"] == "inconclusive"
    # judged under catch-damage, and the audit record says so (not "point": no decision carries the rule)
    assert dict(verdict.properties())["decision_rule"] == "catch-damage@0.95"
    from types import SimpleNamespace

    from medcheck.record import verdict_row
    result = _result(dense, cand)
    row = verdict_row(SimpleNamespace(test_id="t", result=result, verdict=verdict))
    assert row["decision_rule"]["mode"] == "catch-damage" and "stats" not in row
