"""thresholds/efficiency.yaml and thresholds/cross.yaml: validation and resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from medcheck.compression import RECIPES
from medcheck.errors import ConfigError
from medcheck.thresholds import CrossThresholds, EfficiencyThresholds

REPO = Path(__file__).resolve().parents[2]
GOOD = (REPO / "thresholds" / "efficiency.yaml").read_text()


def write(tmp_path, text):
    path = tmp_path / "efficiency.yaml"
    path.write_text(text)
    return path


def test_repo_files_load_and_resolve():
    eff = EfficiencyThresholds(REPO / "thresholds" / "efficiency.yaml", sorted(RECIPES))
    assert eff.rule("bnb-nf4").mode == "catch-damage" and eff.rule("bnb-nf4").confidence == 0.95
    assert eff.ces("bnb-nf4").value == 1.0 and eff.ces("rtn-w8").rule.endswith("ces.default")
    assert {(d, f.metric) for d, f in eff.ratio_floors("bnb-nf4")} == {
        ("memory_bytes", "memory_bytes ratio"), ("bits_per_weight", "bits_per_weight ratio")}
    cross = CrossThresholds(REPO / "thresholds" / "cross.yaml", ["smollm2-135m"])
    assert cross.ccs("smollm2-135m").rule.endswith("ccs.default")


@pytest.mark.parametrize("change,message", [
    (("mode: catch-damage", "mode: safe"), "decision.mode"),
    (("repeats: 3", "repeats: 0"), "measurement.repeats"),
    (("bnb-nf4: 1.0", "bnb-nf5: 1.0"), "did you mean bnb-nf4"),
    (("memory_bytes: 1.5", "memory: 1.5"), "unknown dimension 'memory'"),
    (("ces:", "cess:"), "cess: unknown key"),
])
def test_bad_values_name_the_key(tmp_path, change, message):
    path = write(tmp_path, GOOD.replace(*change, 1))
    with pytest.raises(ConfigError, match=message):
        EfficiencyThresholds(path, sorted(RECIPES))


def test_cross_unknown_model(tmp_path):
    path = tmp_path / "cross.yaml"
    path.write_text("ccs:\n  default: 0.85\n  models: {smollm2: 0.9}\n")
    with pytest.raises(ConfigError, match="did you mean smollm2-135m"):
        CrossThresholds(path, ["smollm2-135m"])
