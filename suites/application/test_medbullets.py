"""MedBullets, 4- and 5-option USMLE-style cases (CDA): compressed models keep their dense model's accuracy."""
import pytest

pytestmark = pytest.mark.track("application")


@pytest.mark.parametrize("dataset", ["medbullets_op4", "medbullets_op5"])
def test_cps(dataset, pair, evaluate, thresholds, snapshot):
    result = evaluate(pair, dataset)
    verdict = thresholds.cps(dataset, pair).check(result)
    assert verdict.passed, verdict.message
    assert result.scores() == snapshot
