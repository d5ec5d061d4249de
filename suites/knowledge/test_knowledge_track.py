"""The knowledge track as a whole: CPS over every knowledge dataset, per pair."""
import pytest

pytestmark = pytest.mark.track("knowledge")


@pytest.mark.parametrize("track", ["knowledge"])
def test_track_cps(track, pair, evaluate_track, thresholds, snapshot):
    result = evaluate_track(pair, track)
    verdict = thresholds.track_cps(track, pair).check(result)
    assert verdict.passed, verdict.message
    assert result.scores() == snapshot
