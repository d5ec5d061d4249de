"""The trust track as a whole: TWY over the six dimensions (CMedBench Eq. 2), per pair."""
import pytest

pytestmark = pytest.mark.track("trust")


@pytest.mark.parametrize("track", ["trust"])
def test_track_twy(track, pair, evaluate_track, thresholds, snapshot):
    result = evaluate_track(pair, track)
    verdict = thresholds.twy(track, pair).check(result)
    assert verdict.passed, verdict.message
    assert result.scores() == snapshot
