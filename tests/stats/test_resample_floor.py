"""medcheck.scoring.resample: a bootstrap interval is never narrower than the exact paired one."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from medcheck import metrics
from medcheck.paired_exact import cps_interval
from medcheck.scoring import resample
from medcheck.stats import Paired


def fake(dataset: str, dense: list[float], cand: list[float]) -> SimpleNamespace:
    def run(scores: list[float]) -> SimpleNamespace:
        return SimpleNamespace(item_scores=lambda: tuple(scores), score=sum(scores) / len(scores))

    return SimpleNamespace(dataset=SimpleNamespace(id=dataset, n=len(dense)), dense=run(dense), candidate=run(cand))


def cps(perf: dict[str, tuple[float, float]]) -> float:
    return metrics.cps({k: d for k, (d, _) in perf.items()}, {k: c for k, (_, c) in perf.items()})


@pytest.mark.parametrize("dense, cand", [([1.0] * 6 + [0.0] * 4, [1.0] * 6 + [0.0] * 4),        # b = c = 0
                                         ([1.0] * 30 + [0.0] * 10, [0.0] * 3 + [1.0] * 27 + [0.0] * 10)])
def test_exact_floor_matches_the_paired_interval_for_item_means(dense, cand):
    low, high = resample.exact_floor([fake("medqa", dense, cand)], cps, 0.95)
    iv = cps_interval(Paired.single(dense, cand))
    p_d = sum(dense) / len(dense)   # the candidate's performance ends at 1 (the ratio's bound may not)
    assert low == pytest.approx(iv.low) and high == pytest.approx(min(iv.high, cps({"x": (p_d, 1.0)})))
    assert low < 1.0 < high or iv.value < 1.0


def test_identical_runs_get_an_interval_of_positive_width():
    """The percentile bootstrap over identical runs is [1, 1]; the exact floor widens it."""
    from medcheck.paired_exact import ratio_bounds

    results = [fake("a", [1.0] * 8 + [0.0] * 2, [1.0] * 8 + [0.0] * 2), fake("b", [1.0] * 5 + [0.0] * 5,
                                                                              [1.0] * 5 + [0.0] * 5)]
    low, high = resample.exact_floor(results, cps, 0.95)
    assert low < 0.85 and high > 1.0
    one, _ = ratio_bounds(10, 8, 0, 0, 0.025 / 2)     # Bonferroni over the two datasets
    assert low == pytest.approx((metrics.cps({"a": 0.8}, {"a": 0.8 * float(one)}) + cps(
        {"b": (0.5, 0.5 * float(ratio_bounds(10, 5, 0, 0, 0.025 / 2)[0]))})) / 2)


def test_no_item_comparison_leaves_the_bootstrap_alone():
    r = fake("a", [1.0, 0.0], [1.0, 0.0])
    r.dense.item_scores = r.candidate.item_scores = lambda: None
    r.dataset.items = []
    assert resample.exact_floor([r], cps, 0.95) is None


def twy(perf: dict[str, tuple[float, float]]) -> float:
    return metrics.twy({("m", k): d for k, (d, _) in perf.items()}, {("m", k): c for k, (_, c) in perf.items()},
                       {k: 3.0 for k in perf})


def test_a_candidate_cannot_score_above_one_at_the_upper_end():
    """Dense right on 1 item of 10: the exact ratio bound is large, the candidate's performance
    still ends at 1, so TWY's upper end is exp(3 * (1 - 0.1)), not exp(3 * (0.1 * R - 0.1))."""
    import math

    low, high = resample.exact_floor([fake("a", [1.0] + [0.0] * 9, [1.0] + [0.0] * 9)], twy, 0.95)
    assert high == pytest.approx(math.exp(3.0 * 0.9))
    assert low < 1.0


def test_a_bootstrap_alone_on_few_items_cannot_pass():
    few = fake("a", [1.0, 0.0] * 5, [1.0, 0.0] * 5)
    few.dense.item_scores = few.candidate.item_scores = lambda: None
    few.dataset.items = []
    why = resample.pass_unsupported([few])
    assert why is not None and "bootstrap alone" in why and "fewer than 20 items in a" in why
    many = fake("b", [1.0, 0.0] * 10, [1.0, 0.0] * 10)
    many.dense.item_scores = many.candidate.item_scores = lambda: None
    many.dataset.items = []
    assert resample.pass_unsupported([many]) is None   # 20 items: as many as a fail needs
    assert resample.pass_unsupported([fake("c", [1.0, 0.0] * 5, [1.0, 0.0] * 5)]) is None   # exact bounds widen it


def test_a_difference_statistic_is_not_certain_where_the_dense_model_scores_0():
    """Dense and candidate 0 of 4: the ratio is undefined, and the dense model's true score is not 0
    for certain; the difference bounds put up to the exact bound of the share lost against it."""
    from medcheck.paired_exact import clopper_pearson

    r = fake("a", [0.0] * 4, [0.0] * 4)
    low, high = resample.exact_floor([r], twy, 0.95, difference=True)
    lost_up = float(clopper_pearson(0, 4, 0.0125, 0.0125)[1])
    assert low == pytest.approx(math.exp(-3.0 * lost_up)) and low < 0.2
    assert high == pytest.approx(math.exp(3.0 * lost_up))


@pytest.mark.parametrize("n, lost, gained", [(5, 0.0, 0.0), (10, 0.0, 0.0), (10, 0.3, 0.0), (40, 0.1, 0.05),
                                             (200, 0.02, 0.02), (1000, 0.05, 0.0)])
def test_difference_bounds_cover_at_least_nominally(n, lost, gained):
    """Each one-sided miss of the paired difference's exact bounds <= 2.5% (b = c = 0 included)."""
    import numpy as np

    from medcheck.paired_exact import difference_bounds

    rng = np.random.default_rng(n)
    reps = 4000
    cells = rng.multinomial(n, [lost, gained, 1.0 - lost - gained], size=reps)
    low, high = difference_bounds(n, cells[:, 0], cells[:, 1], 0.025)
    truth = gained - lost
    slack = 3 * math.sqrt(0.025 * 0.975 / reps)
    assert (low > truth).mean() <= 0.025 + slack and (high < truth).mean() <= 0.025 + slack
