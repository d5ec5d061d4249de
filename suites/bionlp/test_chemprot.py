"""ChemProt relation extraction: micro F1 over the positive CPR classes.

Compressed models keep their dense model's score (CPS over the task's primary metric);
F1, precision, recall, the majority baseline, unparsed outputs and the strategy are JUnit properties.
"""
import pytest

pytestmark = pytest.mark.track("bionlp")


@pytest.mark.parametrize("dataset", ["chemprot"])
def test_cps(dataset, pair, evaluate, thresholds, snapshot):
    result = evaluate(pair, dataset)
    verdict = thresholds.cps(dataset, pair).check(result)
    assert verdict.passed, verdict.message
    assert result.scores() == snapshot
