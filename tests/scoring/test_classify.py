"""medcheck.scoring.classify: worked cases, and scikit-learn where it has the same metric."""

from __future__ import annotations

import random

import pytest
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.preprocessing import MultiLabelBinarizer

from medcheck.scoring import classify


def test_entity_f1_with_partial_overlaps_duplicates_and_sentences() -> None:
    gold = [("aspirin", "5 - fluorouracil"), ("cisplatin", "cisplatin"), (), ("heparin",), ("valproic acid",),
            ("lithium",), ()]
    pred = [["Aspirin", "fluorouracil"],        # one exact (case aside), one partial: partial is fp + fn
            ["cisplatin"],                      # a mention marked twice must be predicted twice
            ["mannitol"],                       # nothing to find: fp
            None,                               # unparsed: misses its mention
            ["valproic  acid", "valproic acid"],  # the repeat is a false positive
            [], ["lithium"]]                    # right string, wrong sentence: fn + fp
    prf = classify.entity_prf(gold, pred)
    assert (prf.tp, prf.fp, prf.fn) == (3, 4, 4)
    assert prf.precision == pytest.approx(3 / 7) and prf.recall == pytest.approx(3 / 7)
    assert prf.f1 == pytest.approx(3 / 7)


def test_entity_match_ignores_tokenisation_spaces_and_case_only() -> None:
    prf = classify.entity_prf([("5 - fluorouracil", "N - acetylcysteine")], [["5-Fluorouracil", "acetylcysteine"]])
    assert (prf.tp, prf.fp, prf.fn) == (1, 1, 1)
    assert classify.entity_prf([("a",)], [["a"]]).f1 == 1.0
    assert classify.entity_prf([()], [[]]).f1 == 0.0       # nothing to find and nothing found: undefined -> 0


def test_multilabel_macro_and_micro_worked_case() -> None:
    gold = [{"A", "B"}, {"A"}, {"C"}, {"B"}]
    pred = [{"A"}, {"A", "C"}, {"C"}, None]
    per, avg = classify.multilabel(gold, pred)
    assert per["A"].f1 == 1.0 and per["B"].f1 == 0.0 and per["C"].f1 == pytest.approx(2 / 3)
    assert avg["macro_f1"] == pytest.approx(5 / 9)
    assert avg["micro_precision"] == pytest.approx(3 / 4) and avg["micro_recall"] == pytest.approx(3 / 5)
    assert avg["micro_f1"] == pytest.approx(2 / 3)
    binarizer = MultiLabelBinarizer(classes=["A", "B", "C"])
    y_true = binarizer.fit_transform(gold)
    y_pred = binarizer.transform([p or set() for p in pred])
    for average in ("macro", "micro", "weighted"):
        assert avg[f"{average}_f1"] == pytest.approx(f1_score(y_true, y_pred, average=average, zero_division=0))


def test_weighted_f1_with_a_class_missing_from_predictions_and_from_gold() -> None:
    gold = ["a", "a", "a", "b", "b", "c"]        # c is never predicted
    pred = ["a", "a", "b", "b", "a", "d"]        # d is never gold
    per = classify.per_label(gold, pred)
    assert list(per) == ["a", "b", "c", "d"]
    avg = classify.averages(per)
    assert avg["weighted_f1"] == pytest.approx((3 * 2 / 3 + 2 * 0.5) / 6)
    assert avg["macro_f1"] == pytest.approx((2 / 3 + 0.5) / 4)
    assert avg["micro_f1"] == pytest.approx(classify.accuracy(gold, pred)) == pytest.approx(3 / 6)
    for average in ("macro", "micro", "weighted"):
        assert avg[f"{average}_f1"] == pytest.approx(f1_score(gold, pred, average=average, zero_division=0))


@pytest.mark.parametrize("seed", range(12))
def test_single_label_metrics_match_scikit_learn(seed: int) -> None:
    rng = random.Random(seed)
    labels = ["x", "y", "z", "w"][: rng.randint(2, 4)]
    n = rng.randint(1, 40)
    gold = [rng.choice(labels) for _ in range(n)]
    pred = [rng.choice(labels + ["other"]) for _ in range(n)]
    per = classify.per_label(gold, pred)
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=list(per), zero_division=0)
    for i, label in enumerate(per):
        assert (per[label].precision, per[label].recall, per[label].f1, per[label].support) == pytest.approx(
            (p[i], r[i], f[i], s[i]))
    avg = classify.averages(per)
    for average in ("macro", "micro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(gold, pred, average=average, zero_division=0)
        assert (avg[f"{average}_precision"], avg[f"{average}_recall"], avg[f"{average}_f1"]) == pytest.approx((p, r, f))


@pytest.mark.parametrize("seed", range(8))
def test_relation_micro_f1_over_positive_classes_matches_scikit_learn(seed: int) -> None:
    rng = random.Random(seed)
    labels = ["DDI-false", "DDI-effect", "DDI-mechanism", "DDI-advise", "DDI-int"]
    gold = [rng.choice(labels[:1] * 4 + labels) for _ in range(60)]
    pred = [rng.choice(labels[:1] * 4 + labels) for _ in range(60)]
    prf = classify.positive_micro(gold, pred, "DDI-false", labels)
    assert prf.f1 == pytest.approx(f1_score(gold, pred, labels=labels[1:], average="micro", zero_division=0))
    # an unparsed output on a positive item is a miss; on a negative one it costs nothing
    worse = classify.positive_micro(gold, [None if g != "DDI-false" else p for g, p in zip(gold, pred)], "DDI-false")
    assert worse.tp == 0 and worse.fn == sum(g != "DDI-false" for g in gold)


def test_relation_negative_class_never_counts() -> None:
    prf = classify.positive_micro(["false", "false", "CPR:3"], ["false", "CPR:4", "CPR:3"], "false")
    assert (prf.tp, prf.fp, prf.fn) == (1, 1, 0)
    assert classify.positive_micro(["false"], ["false"], "false").f1 == 0.0    # no positive anywhere


@pytest.mark.parametrize("seed", range(8))
def test_multilabel_matches_scikit_learn(seed: int) -> None:
    rng = random.Random(seed)
    labels = list("ABCDEFG")
    gold = [set(rng.sample(labels, rng.randint(1, 3))) for _ in range(30)]
    pred = [set(rng.sample(labels, rng.randint(0, 3))) for _ in range(30)]
    per, avg = classify.multilabel(gold, pred)
    binarizer = MultiLabelBinarizer(classes=list(per))
    y_true, y_pred = binarizer.fit_transform(gold), binarizer.transform(pred)
    for average in ("macro", "micro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average=average, zero_division=0)
        assert (avg[f"{average}_precision"], avg[f"{average}_recall"], avg[f"{average}_f1"]) == pytest.approx((p, r, f))


def test_unparsed_predictions_are_wrong_and_never_false_positives() -> None:
    assert classify.accuracy(["a", "b"], [None, "b"]) == 0.5
    per = classify.per_label(["a", "b"], [None, None])
    assert all(s.fp == 0 and s.tp == 0 for s in per.values()) and sum(s.fn for s in per.values()) == 2
    assert classify.averages(per)["macro_f1"] == 0.0


def test_majority_baseline_is_the_metric_of_the_most_frequent_gold() -> None:
    gold = ["no", "yes", "yes", "maybe"]
    assert classify.majority_label(gold) == "yes"
    assert classify.majority_baseline(gold, classify.accuracy) == 0.5
    assert classify.majority_label(["b", "a", "a", "b"]) == "b"          # ties: the first reached
    assert classify.majority_label([("A",), ("B", "C"), ("B", "C")]) == ("B", "C")
    assert classify.majority_baseline([], classify.accuracy) == 0.0


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError, match="2 gold values but 1 predictions"):
        classify.accuracy(["a", "b"], ["a"])
