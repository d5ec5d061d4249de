"""Choice scoring: per-item argmax / acc_norm, and the per-dataset summary (Wilson CI, degeneracy)."""

from __future__ import annotations

import json
import math

import pytest

from medcheck.backends import LogLik
from medcheck.datasets.types import ChoiceItem
from medcheck.scoring.choice import DEGENERATE_SHARE, SampleRecord, score_item, summarize, wilson

ABCD = ChoiceItem(id="q", question="Q", options=("w", "x", "y", "z"), gold=1)
YNM = ChoiceItem(id="p", question="Q", options=("yes", "no", "maybe"), labels=("yes", "no", "maybe"), gold=2)


def lls(*scores: float, context_tokens: int = 17) -> list[LogLik]:
    return [LogLik(logprob=s, greedy=False, tokens=1, context_tokens=context_tokens) for s in scores]


# item, scores, characters per option, prediction, prediction_norm
ITEM_CASES = [
    pytest.param(ABCD, (-3.0, -1.0, -2.0, -4.0), (1, 1, 1, 1), "B", "B", id="argmax"),
    pytest.param(ABCD, (-10.0, -6.0, -9.0, -8.0), (20, 2, 30, 4), "B", "C", id="norm-divides-by-chars"),
    pytest.param(ABCD, (-1.0, -1.0, -2.0, -3.0), (1, 1, 1, 1), "A", "A", id="tie-first-wins"),
    pytest.param(ABCD, (-4.0, -2.0, -2.0, -9.0), (4, 2, 2, 9), "B", "A", id="tie-later-option-norm"),
    pytest.param(ABCD, (-5.0, -1.0, -6.0, -7.0), (0, 0, 0, 0), "B", "B", id="zero-chars-no-crash"),
    pytest.param(YNM, (-2.0, -1.5, -3.0), (3, 2, 5), "no", "maybe", id="yes-no-maybe"),
]


@pytest.mark.parametrize(("item", "scores", "chars", "prediction", "prediction_norm"), ITEM_CASES)
def test_score_item(item: ChoiceItem, scores: tuple[float, ...], chars: tuple[int, ...], prediction: str,
                    prediction_norm: str) -> None:
    record = score_item(item, lls(*scores), chars)
    gold = item.labels[item.gold]
    assert (record.prediction, record.prediction_norm, record.gold) == (prediction, prediction_norm, gold)
    assert record.correct == (prediction == gold) and record.correct_norm == (prediction_norm == gold)
    assert record.scores == scores and record.item_id == item.id and record.prompt_tokens == 17


def test_scores_are_rounded_and_record_round_trips() -> None:
    record = score_item(ABCD, lls(-1.23456789, -2.0, -3.0, -4.0), (1, 1, 1, 1))
    assert record.scores[0] == -1.234568
    data = json.loads(json.dumps(record.as_dict()))   # as the results store keeps it
    assert SampleRecord.from_dict(data) == record


def rec(prediction: str, gold: str, prediction_norm: str | None = None) -> SampleRecord:
    norm = prediction if prediction_norm is None else prediction_norm
    return SampleRecord(item_id=f"{prediction}{gold}", prediction=prediction, prediction_norm=norm, gold=gold,
                        correct=prediction == gold, correct_norm=norm == gold, scores=(0.0,), prompt_tokens=1)


def test_summary_accuracy_and_acc_norm() -> None:
    records = [rec("A", "A", "B"), rec("B", "B"), rec("C", "D", "D"), rec("D", "D", "A")]
    summary = summarize(records)
    assert summary.n == 4
    assert summary.accuracy == pytest.approx(3 / 4) and summary.acc_norm == pytest.approx(2 / 4)
    low, high = summary.ci95
    assert 0.0 <= low < 0.75 < high <= 1.0
    assert not summary.degenerate and summary.as_dict()["n"] == 4


EPS = 1e-12


def test_wilson_known_value_and_empty() -> None:
    low, high = wilson(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize("n", [1, 2, 5, 13, 40, 500])
def test_wilson_contains_p_within_unit_interval(n: int) -> None:
    previous = (-1.0, -1.0)
    for k in range(n + 1):
        low, high = wilson(k, n)
        # EPS: at k == 0 / k == n the bounds are off by one ulp (see the report); the property holds otherwise
        assert 0.0 <= low <= k / n + EPS and k / n - EPS <= high <= 1.0
        assert low < high
        assert low >= previous[0] and high >= previous[1]   # monotone in k
        previous = (low, high)
    low, high = wilson(n // 2, n)
    assert high - low <= 2 * 1.96 * math.sqrt(0.25 / n) + 1e-9   # never wider than the normal one at p=1/2


def uniform_gold(n: int, labels: str = "ABCD") -> list[str]:
    return [labels[i % len(labels)] for i in range(n)]


# predictions, golds, degenerate?, top answer
DEGENERATE_CASES = [
    pytest.param(["A"] * 19 + ["B"], uniform_gold(20), True, "A", id="95pct-A-uniform-gold"),
    pytest.param(["A"] * 20, uniform_gold(20), True, "A", id="all-A"),
    pytest.param(["A"] * 18 + ["B", "C"], uniform_gold(20), False, "A", id="exactly-90pct-not-flagged"),
    pytest.param(["A"] * 19 + ["B"], ["A"] * 19 + ["B"], False, "A", id="gold-as-skewed"),
    pytest.param(["A"] * 19 + ["B"], ["A"] * 19 + ["C"], False, "A", id="gold-95pct-A"),
    pytest.param(["no"] * 19 + ["yes"], ["yes"] * 19 + ["no"], True, "no", id="collapse-onto-minority"),
    pytest.param(["no"] * 10 + ["yes"] * 10, ["no"] * 20, False, "no", id="balanced-predictions"),
]


@pytest.mark.parametrize(("predictions", "golds", "degenerate", "top"), DEGENERATE_CASES)
def test_degenerate_flag(predictions: list[str], golds: list[str], degenerate: bool, top: str) -> None:
    summary = summarize([rec(p, g) for p, g in zip(predictions, golds)])
    assert summary.degenerate is degenerate
    assert summary.top_answer == top
    assert summary.top_share == pytest.approx(predictions.count(top) / len(predictions))
    assert summary.gold_share == pytest.approx(golds.count(top) / len(golds))
    assert DEGENERATE_SHARE == 0.9
