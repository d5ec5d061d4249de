"""The real embedded model (SmolLM2-135M-Instruct) through the whole gate."""

from __future__ import annotations

import shutil

from medcheck.datasets import SAMPLES_DIR
from tests.conftest import USER_CACHE

REQUIRED = ("model", "compression", "dataset", "data_source", "dataset_sha256", "n", "dense_accuracy",
            "accuracy", "cps", "threshold", "protocol", "model_fingerprint", "medcheck_version",
            "torch_version", "transformers_version", "bitsandbytes_version")


def test_medqa_spot_check_on_the_embedded_model(gate, embedded_dir):
    run = gate.run("-k", "medqa and not gen", "--medcheck-limit", "12", "--medcheck-no-cache", tiny=False,
                   cache=USER_CACHE)
    cases = run.cases()
    assert sorted(cases) == ["test_cps[smollm2-135m/bnb-int8-medqa]", "test_cps[smollm2-135m/bnb-nf4-medqa]"]
    for props in cases.values():
        assert set(REQUIRED) <= set(props)
        assert props["data_source"] == "sample" and props["n"] == "12" and props["protocol"] == "option-text"
    out = run.result.stdout.str()
    assert "SAMPLE DATA" in out and "smollm2-135m/dense" in out and "medcheck: wall time" in out


def test_pubmed_qa_release_files_forty_items_per_pair(gate, tmp_path):
    """The issue's acceptance command, on PubMedQA files in the release layout."""
    data = tmp_path / "data"
    shutil.copytree(SAMPLES_DIR / "pubmed_qa", data / "pubmed_qa")
    run = gate.run("-k", "pubmed and not gen", "--medcheck-data-dir", str(data), "--medcheck-limit", "40",
                   "--medcheck-no-cache", tiny=False,
                   cache=USER_CACHE)
    cases = run.cases()
    assert sorted(cases) == ["test_cps[smollm2-135m/bnb-int8-pubmed_qa]", "test_cps[smollm2-135m/bnb-nf4-pubmed_qa]"]
    for props in cases.values():
        assert set(REQUIRED) <= set(props)
        assert props["data_source"] == "real" and props["n"] == "40" and props["dataset"] == "pubmed_qa"
    samples = run.samples()
    for pair in ("smollm2-135m/dense", "smollm2-135m/bnb-nf4", "smollm2-135m/bnb-int8"):
        assert sum(s["pair"] == pair and s["dataset"] == "pubmed_qa" for s in samples) == 40
