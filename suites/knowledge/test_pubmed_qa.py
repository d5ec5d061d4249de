"""PubMedQA PQA-L (yes / no / maybe over an abstract): compressed models keep their dense accuracy."""
import pytest

pytestmark = pytest.mark.track("knowledge")


@pytest.mark.parametrize("dataset", ["pubmed_qa"])
def test_cps(dataset, pair, evaluate, thresholds, snapshot):
    result = evaluate(pair, dataset)
    verdict = thresholds.cps(dataset, pair).check(result)
    assert verdict.passed, verdict.message
    assert result.scores() == snapshot
