"""MedExQA, five allied-health specialties (AME): compressed models keep their dense model's accuracy."""
import pytest

from medcheck.datasets import dimensions

pytestmark = pytest.mark.track("application")


@pytest.mark.parametrize("dataset", dimensions("application")["AME"])
def test_cps(dataset, pair, evaluate, thresholds, snapshot):
    result = evaluate(pair, dataset)
    verdict = thresholds.cps(dataset, pair).check(result)
    assert verdict.passed, verdict.message
    assert result.scores() == snapshot
