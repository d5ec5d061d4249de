"""Cross-combination (CMedBench Track 4): each model's CCS over its compression settings."""
import pytest

pytestmark = pytest.mark.track("cross")


def test_ccs(model, evaluate_cross, thresholds, snapshot):
    result = evaluate_cross(model)                # MMLU health by default, dense counted as a setting
    verdict = thresholds.ccs(model).check(result)
    assert verdict.passed, verdict.message
    assert result.as_dict() == snapshot
