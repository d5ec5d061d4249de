"""Threshold files: most-specific-first resolution, readable breaches, and validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from medcheck import datasets, thresholds
from medcheck.compression import RECIPES
from medcheck.errors import ConfigError
from medcheck.thresholds import Floor, check

ROOT = Path(__file__).resolve().parents[2]
DATASET_IDS = datasets.dataset_ids()
COMPRESSIONS = sorted(RECIPES)

FULL = """\
cps:
  default: 0.80
  datasets: {medqa: 0.82, pubmed_qa: 0.83}
  compressions: {bnb-int8: 0.90}
  cells:
    bnb-int8: {medqa: 0.95}
    bnb-nf4: {pubmed_qa: 0.70}
track_cps:
  default: 0.85
  compressions: {bnb-int8: 0.93}
"""
MINIMAL = "cps: {default: 0.9}\ntrack_cps: {default: 0.9}\n"


def write(tmp_path: Path, text: str, name: str = "knowledge.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load(path: Path) -> thresholds.Thresholds:
    return thresholds.load(path, DATASET_IDS, COMPRESSIONS)


@pytest.mark.parametrize(("compression", "dataset", "value", "rule"), [
    ("bnb-int8", "medqa", 0.95, "cps.cells.bnb-int8.medqa"),          # cell beats all
    ("bnb-int8", "pubmed_qa", 0.90, "cps.compressions.bnb-int8"),     # compression beats dataset
    ("bnb-int8", "mmlu_anatomy", 0.90, "cps.compressions.bnb-int8"),
    ("bnb-nf4", "pubmed_qa", 0.70, "cps.cells.bnb-nf4.pubmed_qa"),
    ("bnb-nf4", "medqa", 0.82, "cps.datasets.medqa"),                 # dataset beats default
    ("bnb-nf4", "mmlu_anatomy", 0.80, "cps.default"),
])
def test_cps_resolution_most_specific_first(tmp_path: Path, compression: str, dataset: str, value: float,
                                            rule: str) -> None:
    floor = load(write(tmp_path, FULL)).cps(dataset, compression)
    assert floor == Floor("CPS", value, f"{tmp_path.name}/knowledge.yaml: {rule}")


@pytest.mark.parametrize(("compression", "value", "rule"), [
    ("bnb-int8", 0.93, "track_cps.compressions.bnb-int8"), ("bnb-nf4", 0.85, "track_cps.default")])
def test_track_cps(tmp_path: Path, compression: str, value: float, rule: str) -> None:
    floor = load(write(tmp_path, FULL)).track_cps("knowledge", compression)
    assert floor == Floor("knowledge CPS", value, f"{tmp_path.name}/knowledge.yaml: {rule}")


def test_minimal_file_uses_defaults_everywhere(tmp_path: Path) -> None:
    loaded = load(write(tmp_path, MINIMAL))
    assert {loaded.cps(d, c).value for d in DATASET_IDS for c in COMPRESSIONS} == {0.9}
    assert loaded.track_cps("knowledge", "bnb-nf4").rule.endswith("track_cps.default")


@pytest.mark.parametrize(("current", "n"), [(0.9, 10), (0.95, 3), (1.7, 500)])
def test_floor_passes_returns_none(current: float, n: int) -> None:
    assert Floor("CPS", 0.9, "k.yaml: cps.default").fails(current, n) is None


def test_floor_failure_message_names_value_floor_rule_and_n() -> None:
    floor = Floor("CPS", 0.85, "thresholds/knowledge.yaml: cps.datasets.medqa")
    message = floor.fails(0.81234, 48)
    assert message == "CPS 0.812 < 0.850 (thresholds/knowledge.yaml: cps.datasets.medqa), n=48"


def test_check_combines_floor_and_extra_reasons() -> None:
    floor = Floor("CPS", 0.85, "r")
    assert check(floor, 0.9, 10).passed and "0.900 >= 0.850" in check(floor, 0.9, 10).message
    collapsed = check(floor, 0.9, 10, ["collapsed onto 'no'"])
    assert not collapsed.passed and collapsed.message == "collapsed onto 'no'"
    both = check(floor, 0.5, 10, ["collapsed"])
    assert not both.passed and both.message == "CPS 0.500 < 0.850 (r), n=10; collapsed"


ERRORS = [
    pytest.param(MINIMAL + "extra: 1\n", "extra", "unknown key", id="unknown-top-level"),
    pytest.param("cps: {default: 0.9, dataset: {medqa: 0.9}}\ntrack_cps: {default: 0.9}\n", "cps.dataset",
                 "unknown key", id="unknown-key-in-cps"),
    pytest.param("cps: {default: 0.9}\ntrack_cps: {default: 0.9, datasets: {medqa: 0.9}}\n",
                 "track_cps.datasets", "unknown key", id="datasets-in-track-cps"),
    pytest.param("cps: {default: '0.9'}\ntrack_cps: {default: 0.9}\n", "cps.default", "expected a number",
                 id="string-not-number"),
    pytest.param("cps: {default: true}\ntrack_cps: {default: 0.9}\n", "cps.default", "expected a number",
                 id="bool-not-number"),
    pytest.param("cps: {default: 0}\ntrack_cps: {default: 0.9}\n", "cps.default", "out of range", id="zero"),
    pytest.param("cps: {default: 0.9}\ntrack_cps: {default: 2.01}\n", "track_cps.default", "out of range",
                 id="above-two"),
    pytest.param("cps: {default: 0.9, datasets: {medqa: -0.5}}\ntrack_cps: {default: 0.9}\n",
                 "cps.datasets.medqa", "out of range", id="negative-dataset"),
    pytest.param("cps: {default: .nan}\ntrack_cps: {default: 0.9}\n", "cps.default", "out of range", id="nan"),
    pytest.param("cps: {default: 0.9, datasets: {medqaa: 0.9}}\ntrack_cps: {default: 0.9}\n",
                 "cps.datasets.medqaa", "did you mean medqa", id="unknown-dataset"),
    pytest.param("cps: {default: 0.9, compressions: {bnb-nf5: 0.9}}\ntrack_cps: {default: 0.9}\n",
                 "cps.compressions.bnb-nf5", "did you mean bnb-nf4", id="unknown-compression"),
    pytest.param("cps: {default: 0.9}\ntrack_cps: {default: 0.9, compressions: {bnb_int8: 0.9}}\n",
                 "track_cps.compressions.bnb_int8", "did you mean bnb-int8", id="unknown-track-compression"),
    pytest.param("cps: {default: 0.9, cells: {bnb-nf4: {pubmedqa: 0.9}}}\ntrack_cps: {default: 0.9}\n",
                 "cps.cells.bnb-nf4.pubmedqa", "did you mean pubmed_qa", id="unknown-cell-dataset"),
    pytest.param("cps: {default: 0.9, cells: {bnb-nf9: {medqa: 0.9}}}\ntrack_cps: {default: 0.9}\n",
                 "cps.cells.bnb-nf9", "unknown compression", id="unknown-cell-compression"),
    pytest.param("cps: {default: 0.9, cells: {bnb-nf4: {medqa: 'x'}}}\ntrack_cps: {default: 0.9}\n",
                 "cps.cells.bnb-nf4.medqa", "expected a number", id="cell-not-number"),
    pytest.param("cps: {default: 0.9, datasets: [medqa]}\ntrack_cps: {default: 0.9}\n", "cps.datasets",
                 "expected a mapping", id="datasets-list"),
    pytest.param("cps: {datasets: {medqa: 0.9}}\ntrack_cps: {default: 0.9}\n", "cps.default", "missing",
                 id="missing-default"),
    pytest.param("cps: {default: 0.9}\n", "track_cps", "missing or not a mapping", id="missing-section"),
    pytest.param("- 0.9\n", "", "expected a mapping", id="not-a-mapping"),
    pytest.param("cps: {default: 0.9\n", "", "invalid YAML", id="invalid-yaml"),
]


@pytest.mark.parametrize(("text", "key", "needle"), ERRORS)
def test_validation_errors_name_file_key_and_problem(tmp_path: Path, text: str, key: str, needle: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert info.value.key == key
    assert needle in message


def test_range_upper_bound_is_inclusive(tmp_path: Path) -> None:
    loaded = load(write(tmp_path, "cps: {default: 2}\ntrack_cps: {default: 0.001}\n"))
    assert loaded.cps("medqa", "bnb-nf4").value == 2.0
    assert loaded.track_cps("knowledge", "bnb-nf4").value == 0.001


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="threshold file not found"):
        load(tmp_path / "nope.yaml")


def test_repo_thresholds_file_loads() -> None:
    path = ROOT / "thresholds" / "knowledge.yaml"
    loaded = load(path)
    assert loaded.name == "thresholds/knowledge.yaml"
    for compression in (c for c in COMPRESSIONS if c != "dense"):
        for dataset in DATASET_IDS:
            floor = loaded.cps(dataset, compression)
            assert 0 < floor.value <= 2 and floor.rule.startswith("thresholds/knowledge.yaml: cps.")
        track = loaded.track_cps("knowledge", compression)
        assert 0 < track.value <= 2 and track.rule.startswith("thresholds/knowledge.yaml: track_cps.")
