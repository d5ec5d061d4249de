"""Truthfulness (internal_codah, external, hallucination): compressed models keep their dense model's accuracy on facts.

Gated on the dimension's TWY (thresholds/trust.yaml); per-file scores in the JUnit properties.
"""
import pytest

pytestmark = pytest.mark.track("trust")


@pytest.mark.parametrize("dimension", ["truthfulness"])
def test_twy(dimension, pair, evaluate_dimension, thresholds, snapshot):
    result = evaluate_dimension(pair, dimension)
    verdict = thresholds.twy(dimension, pair).check(result)
    assert verdict.passed, verdict.message
    assert result.scores() == snapshot
