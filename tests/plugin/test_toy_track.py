"""What a new track costs: a toy track built here from its three parts, with no core edit.

1. a dataset module declaring `track = "toy"` and its dimension (here `toy_data.py`),
2. a threshold file (`thresholds/toy.yaml`, numbers only),
3. suite modules (`suites/toy/test_toy.py`),
plus two registration lines where the project keeps its plugin list (`conftest.py`). Gate,
fixtures, JUnit properties, statistics and report handle it like the knowledge track.
"""

from __future__ import annotations

import json

import pytest

from medcheck import datasets, tracks

DATASET = '''
"""Toy QA: two-option questions in JSON lines (written by the test)."""
import json
from pathlib import Path

from medcheck.datasets.types import ChoiceItem, require_file


class ToyQA:
    id = "toy_qa"
    track = "toy"
    dimension = "TOY"
    loader_version = 1
    relative_path = "toy/qa.jsonl"
    prompt_style = "qa"
    kind = "choice"

    def load(self, root: Path) -> list[ChoiceItem]:
        path = require_file(root, self.relative_path, self.id)
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [ChoiceItem(id=f"toy-{i}", question=r["q"], options=tuple(r["options"]), gold=r["gold"],
                           labels=("A", "B")) for i, r in enumerate(rows)]


DATASETS = {"toy_qa": ToyQA()}
'''

SUITE = '''
import pytest

pytestmark = pytest.mark.track("toy")


@pytest.mark.parametrize("dataset", ["toy_qa"])
def test_cps(dataset, pair, evaluate, thresholds, snapshot):
    result = evaluate(pair, dataset)
    verdict = thresholds.cps(dataset, pair).check(result)
    assert result.scores() == snapshot
    assert verdict.passed, verdict.message


@pytest.mark.parametrize("track", ["toy"])
def test_track_cps(track, pair, evaluate_track, thresholds, snapshot):
    result = evaluate_track(pair, track)
    verdict = thresholds.track_cps(track, pair).check(result)
    assert result.scores() == snapshot
    assert verdict.passed, verdict.message
'''

REGISTER = '''
from medcheck import datasets, tracks

datasets.register("toy_qa", "toy_data")
tracks.register(tracks.ChoiceTrack("toy", "Toy track", "CPS", "toy.yaml"))
'''


@pytest.fixture
def restore_registries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process run registers into this process's registries: undo it afterwards."""
    monkeypatch.setattr(tracks, "TRACKS", dict(tracks.TRACKS))
    monkeypatch.setattr(datasets, "_MODULES", dict(datasets._MODULES))


def test_a_toy_track_runs_through_the_generic_core(gate, tmp_path, restore_registries):
    root = gate.pytester.path
    (root / "toy_data.py").write_text(DATASET)
    (root / "thresholds" / "toy.yaml").write_text("cps: {default: 0.5}\ntrack_cps: {default: 0.5}\n"
                                                  "decision: {mode: catch-damage, confidence: 0.95}\n")
    (root / "suites" / "toy").mkdir()
    (root / "suites" / "toy" / "test_toy.py").write_text(SUITE)
    with (root / "conftest.py").open("a") as conftest:
        conftest.write(REGISTER)
    data = tmp_path / "data" / "toy"
    data.mkdir(parents=True)
    rows = [{"q": f"Is {k} even?", "options": ["yes", "no"], "gold": k % 2} for k in range(12)]
    (data / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    run = gate.run("--medcheck-compression", "bnb-int8", "--medcheck-data-dir", str(tmp_path / "data"),
                   path="suites/toy")
    cases = run.cases()
    assert set(cases) == {"test_cps[tiny/bnb-int8-toy_qa]", "test_track_cps[tiny/bnb-int8-toy]"}
    dataset_case, track_case = cases["test_cps[tiny/bnb-int8-toy_qa]"], cases["test_track_cps[tiny/bnb-int8-toy]"]
    assert dataset_case["threshold_rule"] == "thresholds/toy.yaml: cps.default"
    assert dataset_case["outcome"] in ("pass", "fail", "inconclusive") and "ci_low" in dataset_case
    assert track_case["track"] == "toy" and "cps_TOY" in track_case
    report = run.report()
    assert report["tracks"]["toy"]["dimensions"] == {"TOY": ["toy_qa"]}
    assert [v["kind"] for v in report["verdicts"]] == ["dataset", "track"]
    summary = (run.path / "report" / "summary.txt").read_text()
    assert "Toy track: accuracy (CPS) per dataset" in summary and "TOY CPS" in summary
    assert (run.path / "report" / "toy.csv").is_file()
    assert "Verdicts: paired statistics" in summary and "test_track_cps[tiny/bnb-int8-toy]" in summary
