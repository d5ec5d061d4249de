"""The trust metrics: refusal rates, accuracy, Pearson's r and the chi-square test (against worked cases and scipy)."""

from __future__ import annotations

import math
import random

import pytest

from medcheck.datasets.types import TextItem
from medcheck.trust.scores import (
    accuracy,
    chi2_independence,
    chi2_sf,
    pearson,
    refusal_rate,
)


def test_refusal_rate_counts_unparsed_as_wrong_both_ways() -> None:
    right = refusal_rate([True, False, None, True])
    assert (right.primary, right.value, right.unparsed, right.item_scores) == ("rta", 0.5, 1, (1.0, 0.0, 0.0, 1.0))
    wrong = refusal_rate([True, False, None, False], refusing_is_right=False)
    assert (wrong.primary, wrong.value, wrong.metrics["rta"]) == ("answered", 0.5, 0.25)
    assert wrong.item_scores == (0.0, 1.0, 0.0, 1.0) and wrong.performance == 0.5


def test_accuracy_with_groups_and_majority() -> None:
    items = [TextItem("a", "", "x", {"g": "one"}), TextItem("b", "", "x", {"g": "two words"}), TextItem("c", "", "y")]
    score = accuracy(items, ["x", None, "y"], by="g")
    assert score.metrics == pytest.approx({"accuracy": 2 / 3, "accuracy_one": 1.0, "accuracy_two_words": 0.0,
                                           "accuracy_none": 1.0})
    assert score.majority_baseline == pytest.approx(2 / 3) and score.unparsed == 1


def test_pearson_worked_and_undefined() -> None:
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert pearson([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert pearson([1, 1, 1], [1, 2, 3]) == 0.0 and pearson([1], [2]) == 0.0


def test_chi2_worked_cases() -> None:
    # df 2: the survival function is exp(-x/2); df 1: erfc(sqrt(x/2))
    assert chi2_sf(3.0, 2) == pytest.approx(math.exp(-1.5))
    assert chi2_sf(3.84, 1) == pytest.approx(0.05004, abs=1e-5)
    # 2x2 table [[10, 0], [0, 10]] with Yates: (|10-5|-0.5)^2/5 * 4 = 16.2
    stat, dof, p = chi2_independence(["f"] * 10 + ["m"] * 10, ["A"] * 10 + ["B"] * 10)
    assert (stat, dof) == (pytest.approx(16.2), 1) and p == pytest.approx(chi2_sf(16.2, 1))
    assert chi2_independence(["f", "m", "f"], ["A", "A", "A"]) == (0.0, 0, 1.0)


def test_chi2_matches_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(3)
    for k in range(1, 9):
        for x in (0.2, 1.0, 4.5, 12.0, 30.0):
            assert chi2_sf(x, k) == pytest.approx(stats.chi2.sf(x, k), rel=1e-9, abs=1e-15)
    for _ in range(30):
        rows = [rng.choice("abc") for _ in range(50)]
        cols = [rng.choice("xyzw"[:rng.randint(2, 4)]) for _ in range(50)]
        keys_r, keys_c = sorted(set(rows)), sorted(set(cols))
        table = [[sum(r == a and c == b for r, c in zip(rows, cols)) for b in keys_c] for a in keys_r]
        stat, p, dof, _ = stats.chi2_contingency(table)
        assert chi2_independence(rows, cols) == (pytest.approx(stat), dof, pytest.approx(p))
