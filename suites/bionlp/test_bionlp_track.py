"""The biomedical NLP track as a whole: CPS over every task's primary metric, per pair."""
import pytest

pytestmark = pytest.mark.track("bionlp")


@pytest.mark.parametrize("track", ["bionlp"])
def test_track_cps(track, pair, evaluate_track, thresholds, snapshot):
    result = evaluate_track(pair, track)
    verdict = thresholds.track_cps(track, pair).check(result)
    assert verdict.passed, verdict.message
    assert result.scores() == snapshot
