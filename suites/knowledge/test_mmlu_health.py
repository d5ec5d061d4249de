"""MMLU health subjects: each subject's CPS for each pair stays above its floor."""
import pytest

from medcheck.datasets import MMLU_IDS

pytestmark = pytest.mark.track("knowledge")


@pytest.mark.parametrize("dataset", MMLU_IDS)
def test_cps(dataset, pair, evaluate, thresholds, snapshot):
    result = evaluate(pair, dataset)            # dense once per session, store across runs
    verdict = thresholds.cps(dataset, pair).check(result)
    assert verdict.passed, verdict.message      # "CPS 0.912 < 0.950 (knowledge.yaml: ...), n=135"
    assert result.scores() == snapshot          # rounded scores under version control
