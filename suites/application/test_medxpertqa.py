"""MedXpertQA Text, reasoning and understanding (EUR, 10 options): compressed models keep their dense
model's accuracy."""
import pytest

pytestmark = pytest.mark.track("application")


@pytest.mark.parametrize("dataset", ["medxpertqa_reasoning", "medxpertqa_understanding"])
def test_cps(dataset, pair, evaluate, thresholds, snapshot):
    result = evaluate(pair, dataset)
    verdict = thresholds.cps(dataset, pair).check(result)
    assert verdict.passed, verdict.message
    assert result.scores() == snapshot
