"""medcheck.sequential: schedules, looks replayed from records, error rates under optional stopping."""

from __future__ import annotations

import math

import numpy as np
import pytest

from medcheck.decision import Rule, decide_cps_at, holm
from medcheck.sequential import Schedule, decide_at, prefix, replay, sequences, simulate
from medcheck.stats import Paired

CATCH, PROVE = Rule("catch-damage"), Rule("prove-safe")
FLOOR = 0.85
RHO = 2 ** FLOOR - 1                     # the candidate/dense ratio at the floor


def probs(dense: float, lam: float, gam: float) -> tuple[float, float, float, float]:
    """Cells (both, dense only, candidate only, neither) for loss rate lam among dense-right items
    and gain rate gam among dense-wrong ones."""
    return dense * (1 - lam), dense * lam, (1 - dense) * gam, (1 - dense) * (1 - gam)


def test_schedules():
    s = Schedule.doubling(320)
    assert s.looks == (10, 20, 40, 80, 160, 320) and s.spending == "pocock"
    assert Schedule.doubling(100).looks == (10, 20, 40, 80, 100)
    for spending in ("pocock", "obf"):
        t = Schedule.doubling(320, spending=spending)
        assert math.fsum(t.spent(k) for k in range(6)) == pytest.approx(0.05, abs=1e-9)
    obf = Schedule.doubling(320, spending="obf")
    assert obf.spent(0) < obf.spent(5) and all(0 < obf.confidence(k) < 1 for k in range(6))
    assert Schedule.for_rule(Rule("catch-damage", 0.9), (10, 20)).alpha == pytest.approx(0.1)
    assert Schedule((5, 10)).as_dict() == {"looks": [5, 10], "alpha": 0.05, "spending": "pocock"}


@pytest.mark.parametrize("kwargs", [{"looks": ()}, {"looks": (10, 10)}, {"looks": (0, 5)}, {"looks": (5, 2.5)},
                                    {"looks": (5,), "alpha": 0.0}, {"looks": (5,), "spending": "bonferoni"}])
def test_schedule_validation(kwargs):
    with pytest.raises(ValueError):
        Schedule(**kwargs)


def records(cells: list[int]) -> Paired:
    dense = [1.0 if c in (0, 1) else 0.0 for c in cells]
    cand = [1.0 if c in (0, 2) else 0.0 for c in cells]
    return Paired.single(dense, cand)


def test_replay_stops_at_the_first_decision_and_says_why():
    identical = records([0, 0, 3, 0, 0] * 80)           # 400 agreeing items, 80% right
    schedule = Schedule.doubling(320)
    r = replay(identical, schedule, FLOOR, CATCH)
    assert r.stopped == "decided" and r.decision.outcome == "pass"
    assert [look.outcome for look in r.looks][:-1] == ["inconclusive"] * (len(r.looks) - 1)
    assert r.items == r.looks[-1].n < 320
    k = len(r.looks) - 1
    assert r.decision == decide_at(schedule, k, prefix(identical, r.items), FLOOR, CATCH)
    assert r.decision == decide_cps_at(prefix(identical, r.items), FLOOR, CATCH, schedule.confidence(k))
    few = replay(records([0, 0, 3, 0, 0] * 5), schedule, FLOOR, CATCH)     # 25 items: the data run out
    assert few.stopped == "data" and few.decision.outcome == "inconclusive" and few.items == 25
    assert [look.n for look in few.looks] == [10, 20, 25]
    assert few.looks[0].as_dict()["confidence"] == pytest.approx(1 - 0.05 / 6)


def test_replay_waits_while_cps_is_undefined():
    r = replay(records([3] * 10 + [1] * 200), Schedule((10, 20, 210)), FLOOR, CATCH)
    assert r.looks[0].outcome == "undefined" and r.decision.outcome == "fail"


def test_prefix_cuts_each_stratum():
    p = Paired((1, 0, 1, 1, 0, 1), (1, 1, 0, 1, 0, 0), ("a", "b", "a", "b", "a", "b"))
    cut = prefix(p, 2)
    assert cut.strata == ("a", "b", "a", "b") and cut.candidate == (1, 1, 0, 1)


def test_the_vectorised_sequences_match_replay():
    rng = np.random.default_rng(3)
    schedule = Schedule((10, 20, 40, 80, 160))
    for case in (probs(0.7, 0.0, 0.0), probs(0.7, 0.5, 0.05), probs(0.6, 0.1, 0.15)):
        cell = rng.choice(4, size=(6, 160), p=case)
        codes, used = sequences(schedule, cell, FLOOR)
        for row, code, n in zip(cell, codes, used):
            r = replay(records(row.tolist()), schedule, FLOOR, CATCH)
            assert (["pass", "fail", "inconclusive"][code], int(n)) == (r.decision.outcome, r.items)


SCHEDULE = Schedule.doubling(640)          # looks at 10, 20, ..., 640
RUNS = 1500
SLACK = 3 * math.sqrt(0.025 * 0.975 / RUNS)


@pytest.mark.parametrize("spending", ["pocock", "obf"])
@pytest.mark.parametrize("dense", [0.3, 0.8])
def test_optional_stopping_keeps_the_error_rates(spending, dense):
    """A harmless candidate never fails more than alpha / 2 of the time, nor does a candidate at
    the floor pass more often, however many looks were taken (union bound over the looks)."""
    schedule = Schedule(SCHEDULE.looks, 0.05, spending)
    harmless = [probs(dense, 0.0, 0.0), probs(dense, 0.1, 0.1 * dense / (1 - dense))]
    gam = 0.05
    at_floor = probs(dense, 1 - RHO + gam * (1 - dense) / dense, gam)          # true CPS = floor
    for case in harmless:
        assert simulate(schedule, case, FLOOR, RUNS, seed=1)["fail"] <= 0.025 + SLACK
    assert simulate(schedule, at_floor, FLOOR, RUNS, seed=2)["pass"] <= 0.025 + SLACK
    below = probs(dense, 0.5, 0.02)
    damaged = simulate(schedule, below, FLOOR, RUNS, seed=3)
    assert damaged["pass"] <= 0.025 + SLACK and damaged["fail"] > 0.5


def test_stopping_early_saves_items():
    easy = simulate(SCHEDULE, probs(0.8, 0.0, 0.0), FLOOR, 500, seed=4)
    assert easy["pass"] == 1.0 and easy["mean_items"] < 160


def test_holm():
    p = {"a": 0.001, "b": 0.02, "c": 0.04, "d": 0.3}
    assert holm(p, 0.05) == {"a"}                      # 0.02 > 0.05 / 3
    assert holm({"a": 0.001, "b": 0.02}, 0.05) == {"a", "b"}
    assert holm({}, 0.05) == set() and holm({"x": 0.05}, 0.05) == {"x"}
