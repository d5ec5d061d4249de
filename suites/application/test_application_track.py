"""The application track as a whole: CPS over every application dataset, and per dimension, per pair."""
import pytest

pytestmark = pytest.mark.track("application")


@pytest.mark.parametrize("track", ["application"])
def test_track_cps(track, pair, evaluate_track, thresholds, snapshot):
    result = evaluate_track(pair, track)
    verdict = thresholds.track_cps(track, pair).check(result)
    assert verdict.passed, verdict.message
    assert result.scores() == snapshot
