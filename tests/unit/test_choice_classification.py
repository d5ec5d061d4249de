"""Seed 002's metrics on every multiple-choice dataset: macro and weighted P / R / F1 of the
predicted labels and the majority-class baseline, against scikit-learn."""

from __future__ import annotations

import random

import pytest

from medcheck.scoring.choice import SampleRecord, summarize

sklearn = pytest.importorskip("sklearn.metrics")


def records(gold, pred):
    return [SampleRecord(str(i), p, p, g, p == g, p == g, (0.0,), 1) for i, (g, p) in enumerate(zip(gold, pred))]


@pytest.mark.parametrize("seed", range(5))
def test_macro_and_weighted_match_scikit_learn(seed):
    rng = random.Random(seed)
    gold = [rng.choice("ABCD") for _ in range(40)]
    pred = [rng.choice("ABC") for _ in range(40)]   # D is never predicted: a missing class
    s = summarize(records(gold, pred))
    labels = sorted(set(gold) | set(pred))
    for avg in ("macro", "weighted"):
        p, r, f, _ = sklearn.precision_recall_fscore_support(gold, pred, labels=labels, average=avg, zero_division=0)
        assert s.classification[f"{avg}_precision"] == pytest.approx(p, abs=1e-6)
        assert s.classification[f"{avg}_recall"] == pytest.approx(r, abs=1e-6)
        assert s.classification[f"{avg}_f1"] == pytest.approx(f, abs=1e-6)
    assert s.majority_baseline == max(gold.count(x) for x in "ABCD") / 40
