"""Edge cases found in review, each pinned by a test."""

from __future__ import annotations

import json

import pytest

from medcheck import datasets, pairs
from medcheck.errors import ConfigError, DatasetError
from medcheck.scoring.choice import summarize, wilson


def test_medqa_line_that_is_not_an_object(tmp_path):
    target = tmp_path / "medqa/questions/US/4_options"
    target.mkdir(parents=True)
    (target / "phrases_no_exclude_test.jsonl").write_text("42\n")
    with pytest.raises(DatasetError, match=r"phrases_no_exclude_test.jsonl:1: expected a JSON object"):
        datasets.load("medqa", tmp_path)


def test_pubmed_record_that_is_not_an_object(tmp_path):
    (tmp_path / "pubmed_qa").mkdir()
    (tmp_path / "pubmed_qa/ori_pqal.json").write_text(json.dumps({"1": 5}))
    (tmp_path / "pubmed_qa/test_ground_truth.json").write_text(json.dumps({"1": "yes"}))
    with pytest.raises(DatasetError, match=r"\[1\]: expected an object"):
        datasets.load("pubmed_qa", tmp_path)


@pytest.mark.parametrize("k,n", [(0, 44), (44, 44), (6, 6), (500, 500), (0, 1)])
def test_wilson_interval_contains_the_proportion(k, n):
    lo, hi = wilson(k, n)
    assert lo <= k / n <= hi


def test_summarize_refuses_no_records():
    with pytest.raises(ValueError, match="empty"):
        summarize([])


def test_limit_zero_is_refused():
    with pytest.raises(ValueError, match="positive"):
        datasets.load("medqa", limit=0)


@pytest.fixture
def pairs_file(tmp_path):
    path = tmp_path / "pairs.yaml"
    path.write_text("models:\n  smollm2-135m: embedded:smollm2-135m\ncompressions: [bnb-nf4]\n")
    return path


@pytest.mark.parametrize("spec,name", [("/models/Qwen2.5-0.5B", "qwen2.5-0.5b"), ("hf:org/Name@v1", "name"),
                                       ("/x/model.Q4_K.gguf", "model.q4_k")])
def test_bare_spec_names(pairs_file, spec, name):
    assert pairs.load(pairs_file, models=(spec,)).models == {name: spec}


def test_model_typo_suggests_the_name(pairs_file):
    with pytest.raises(ConfigError, match="did you mean smollm2-135m"):
        pairs.load(pairs_file, models=("smollm2",))


def test_model_name_with_spaces_is_refused(pairs_file):
    with pytest.raises(ConfigError, match="lowercase"):
        pairs.load(pairs_file, models=("Bad Name=x",))


@pytest.mark.parametrize("value", ["alpha", "true", "[other]"])
def test_trust_remote_code_must_list_known_models(pairs_file, value):
    pairs_file.write_text(pairs_file.read_text() + f"trust_remote_code: {value}\n")
    with pytest.raises(ConfigError, match="trust_remote_code"):
        pairs.load(pairs_file)


def test_threshold_typo_at_top_level_is_named(tmp_path):
    from medcheck import thresholds

    path = tmp_path / "knowledge.yaml"
    path.write_text("cpss: {default: 0.9}\ncps: {default: 0.9}\ntrack_cps: {default: 0.9}\n")
    with pytest.raises(ConfigError, match="cpss: unknown key"):
        thresholds.load(path, ["medqa"], ["bnb-nf4", "dense"])


def test_dense_has_no_floor(tmp_path):
    from medcheck import thresholds

    path = tmp_path / "knowledge.yaml"
    path.write_text("cps: {default: 0.9, compressions: {dense: 0.9}}\ntrack_cps: {default: 0.9}\n")
    with pytest.raises(ConfigError, match="unknown compression 'dense'"):
        thresholds.load(path, ["medqa"], ["bnb-nf4", "dense"])
