"""A track of a new kind costs its own modules and a registration line: a calibration track, gated on
the Brier score of the option probabilities against its own floor file, runs through the real
plugin, `verify`, `compare`, the report and the dashboard with no edit to gate, evaluator, record,
merge, verify or report (everything below lives in the throwaway project's conftest.py)."""

from __future__ import annotations

import json

import pytest

from medcheck import tracks

TRACK = '''
import dataclasses
import math
from pathlib import Path
from typing import Any

import yaml

from medcheck import tracks
from medcheck.thresholds import Floor

LETTERS = "ABCDEFGHIJ"


def brier(records) -> float:
    """Mean over items of sum_k (p_k - [k is gold])^2, p the softmax of the option log-likelihoods."""
    total = 0.0
    for r in records:
        top = max(r.scores)
        weights = [math.exp(s - top) for s in r.scores]
        p = [w / sum(weights) for w in weights]
        gold = LETTERS.index(r.gold)
        total += sum((q - (k == gold)) ** 2 for k, q in enumerate(p))
    return total / len(records)


@dataclasses.dataclass(frozen=True)
class BrierResult:
    pair: Any
    results: tuple
    track: str = "calibration"
    kind: str = "calibration"
    metric: str = "Brier ratio"

    subject = property(lambda self: self.track)
    pair_id = property(lambda self: self.pair.id)
    dataset_ids = property(lambda self: tuple(r.dataset.id for r in self.results))
    n = property(lambda self: sum(r.n for r in self.results))

    def briers(self) -> tuple[float, float]:
        dense = [rec for r in self.results for rec in r.dense.records]
        cand = [rec for r in self.results for rec in r.candidate.records]
        return brier(dense), brier(cand)

    @property
    def value(self) -> float:   # dense Brier over candidate Brier: 1 is parity, below 1 worse calibrated
        dense, cand = self.briers()
        return dense / cand if cand > 0 else 1.0

    def reasons(self): return []
    def paired(self): return None
    def fidelity(self, confidence): return None
    def scores(self): return {"n": self.n, "brier_ratio": round(self.value, 4)}

    def properties(self):
        dense, cand = self.briers()
        return [("track", self.track), ("dataset", ",".join(self.dataset_ids)), ("n", self.n),
                ("brier_dense", round(dense, 6)), ("brier", round(cand, 6)), ("brier_ratio", round(self.value, 6))]


@dataclasses.dataclass(frozen=True)
class CalibrationTrack(tracks.Track):
    over: tuple = ("medqa", "mmlu_anatomy")   # letter labels: the gold option is its letter
    kind = "calibration"

    def load_thresholds(self, path: Path, models):
        data = yaml.safe_load(path.read_text())
        if not isinstance(data, dict) or not isinstance(data.get("brier", {}).get("default"), (int, float)):
            raise ValueError(f"{path}: brier.default must be a number")
        return {"file": path.name, **data}

    def floor(self, thresholds, result):
        return Floor("Brier ratio", thresholds["brier"]["default"], f"{thresholds['file']}: brier.default"), None

    def wants(self, params, run):
        if "pair" in params and params.get("track") == self.name:
            return [(params["pair"], d) for d in self.over]
        return []

    def evaluate(self, run, pair, name):
        return BrierResult(pair, tuple(run.evaluator.evaluate(pair, d) for d in self.over), self.name)

    def section(self, results):
        return {"brier_ratio": {r.pair_id: round(r.value, 4) for r in results}}

    def recompute(self, saved, row):
        pair = saved.pair(row.pair)
        result = BrierResult(pair, tuple(saved.evaluate(pair, d) for d in self.over), self.name)
        floor, rule = self.floor(saved.thresholds(self.name), result)
        return result, floor, rule, frozenset()


tracks.register(CalibrationTrack("calibration", "Calibration track (Brier score)", "Brier", "calibration.yaml"))
'''

SUITE = '''
import pytest

pytestmark = pytest.mark.track("calibration")


@pytest.mark.parametrize("track", ["calibration"])
def test_brier(track, pair, evaluate_track, thresholds):
    result = evaluate_track(pair, track)
    verdict = thresholds.of(track, pair).check(result)
    assert verdict.passed, verdict.message
'''


@pytest.fixture
def restore_tracks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process run registers into this process's registry: undo it afterwards."""
    monkeypatch.setattr(tracks, "TRACKS", dict(tracks.TRACKS))


def test_a_track_of_a_new_kind_runs_through_the_generic_core(gate, restore_tracks):
    from medcheck import verify
    from medcheck.report import compare

    root = gate.pytester.path
    (root / "thresholds" / "calibration.yaml").write_text("brier: {default: 0.5}   # dense Brier / candidate Brier\n")
    (root / "suites" / "calibration").mkdir()
    (root / "suites" / "calibration" / "test_calibration.py").write_text(SUITE)
    with (root / "conftest.py").open("a") as conftest:
        conftest.write(TRACK)

    run = gate.run("--medcheck-compression", "bnb-int8", "--medcheck-limit", "8", "--medcheck-no-cache",
                   path="suites/calibration")
    case = run.cases()["test_brier[tiny/bnb-int8-calibration]"]
    assert case["track"] == "calibration" and case["threshold_rule"] == "calibration.yaml: brier.default"
    assert case["outcome"] in ("pass", "fail") and float(case["brier"]) > 0 and case["n"] == "16"
    report = run.report()
    assert report["tracks"]["calibration"]["brier_ratio"] == {"tiny/bnb-int8": round(float(case["brier_ratio"]), 4)}
    assert [v["track"] for v in report["verdicts"]] == ["calibration"]
    assert "Calibration track (Brier score)" in (run.path / "report" / "report.md").read_text()
    assert "Calibration track (Brier score)" in (run.path / "report" / "dashboard.html").read_text()

    found = verify.verify(run.path / "report")           # recomputed by the track's own method
    assert not found.discrepancies and found.checked["verdicts"] == 1 and not found.skipped, found.discrepancies
    lines, changed = compare.compare(run.path / "report", run.path / "report")
    assert not changed and "  1 verdict unchanged" in lines, lines    # compare reads its verdict row
    json.dumps(report)   # the record stays plain JSON
