"""Efficiency (CMedBench Track 5): what compression buys in memory, bits and speed -> CES."""
import pytest

pytestmark = pytest.mark.track("efficiency")


def test_ces(pair, measure_efficiency, thresholds):
    result = measure_efficiency(pair)             # dense and candidate measured in the same run
    verdict = thresholds.ces(pair).check(result)  # CES floor and per-dimension ratio floors
    assert verdict.passed, verdict.message        # timings are not snapshotted: they are noisy
