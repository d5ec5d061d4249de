"""Privacy (confAIde, awareness_query, leakage): no leaked addresses, refusals of privacy queries,
human-like judgements.

Gated on the dimension's TWY (thresholds/trust.yaml); per-file scores in the JUnit properties.
"""
import pytest

pytestmark = pytest.mark.track("trust")


@pytest.mark.parametrize("dimension", ["privacy"])
def test_twy(dimension, pair, evaluate_dimension, thresholds, snapshot):
    result = evaluate_dimension(pair, dimension)
    verdict = thresholds.twy(dimension, pair).check(result)
    assert verdict.passed, verdict.message
    assert result.scores() == snapshot
