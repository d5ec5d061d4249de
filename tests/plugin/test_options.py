"""One pytester run per --medcheck-* option, on a tiny random model (fast, real code paths)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from medcheck.datasets import SAMPLES_DIR

PAIR = "tiny/bnb-int8"


def test_limit_and_junit_properties(gate):
    run = gate.run("-k", "medqa and not gen", "--medcheck-compression", "bnb-int8", "--medcheck-limit", "6")
    cases = run.cases()
    assert list(cases) == [f"test_cps[{PAIR}-medqa]"]
    props = cases[f"test_cps[{PAIR}-medqa]"]
    for key in ("model", "compression", "dataset", "data_source", "dataset_sha256", "n", "dense_accuracy",
                "accuracy", "cps", "threshold", "protocol", "model_fingerprint", "medcheck_version",
                "torch_version", "transformers_version", "bitsandbytes_version", "dtype"):
        assert key in props, key
    assert props["n"] == "6" and props["data_source"] == "sample" and props["dataset"] == "medqa"
    assert props["model"] == "tiny" and props["compression"] == "bnb-int8"


def test_profile_smoke_takes_ten_items(gate):
    run = gate.run("-k", "medqa and not gen", "--medcheck-compression", "bnb-int8", "--medcheck-profile", "smoke")
    assert run.cases()[f"test_cps[{PAIR}-medqa]"]["n"] == "10"


def test_data_dir_reads_release_files_and_marks_real(gate, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(SAMPLES_DIR / "pubmed_qa", data / "pubmed_qa")
    run = gate.run("-k", "pubmed", "--medcheck-compression", "bnb-int8", "--medcheck-limit", "5",
                   "--medcheck-data-dir", str(data))
    props = run.cases()[f"test_cps[{PAIR}-pubmed_qa]"]
    assert props["data_source"] == "real" and props["n"] == "5"
    assert "SAMPLE DATA" not in run.result.stdout.str()


def test_data_dir_with_a_malformed_file_errors_with_file_and_line(gate, tmp_path):
    target = tmp_path / "data" / "medqa" / "questions" / "US" / "4_options"
    target.mkdir(parents=True)
    good = (SAMPLES_DIR / "medqa/questions/US/4_options/phrases_no_exclude_test.jsonl").read_text().splitlines()
    (target / "phrases_no_exclude_test.jsonl").write_text("\n".join(good[:2] + ["{not json"] + good[2:5]) + "\n")
    run = gate.run("-k", "medqa and not gen", "--medcheck-compression", "bnb-int8",
                   "--medcheck-data-dir", str(tmp_path / "data"))
    out = run.result.stdout.str()
    assert "phrases_no_exclude_test.jsonl:3" in out and "invalid JSON" in out
    run.result.assert_outcomes(failed=1)


def test_missing_dataset_names_the_expected_path(gate, tmp_path):
    (tmp_path / "empty").mkdir()
    run = gate.run("-k", "pubmed", "--medcheck-compression", "bnb-int8", "--medcheck-data-dir", str(tmp_path / "empty"))
    assert "pubmed_qa/ori_pqal.json" in run.result.stdout.str()


def test_pairs_file_and_protocol(gate, tmp_path):
    pairs = tmp_path / "pairs.yaml"
    pairs.write_text(f"protocol: letter\nmodels:\n  mini: {gate.model}\ncompressions: [bnb-nf4]\n")
    run = gate.run("-k", "medqa and not gen", "--medcheck-pairs", str(pairs), "--medcheck-limit", "4", tiny=False)
    props = run.cases()["test_cps[mini/bnb-nf4-medqa]"]
    assert props["protocol"] == "letter"
    run2 = gate.run("-k", "medqa and not gen", "--medcheck-pairs", str(pairs), "--medcheck-limit", "4",
                    "--medcheck-protocol", "option-text", tiny=False)
    assert run2.cases()["test_cps[mini/bnb-nf4-medqa]"]["protocol"] == "option-text"


def test_unknown_compression_stops_the_run_with_a_suggestion(gate):
    run = gate.run("--medcheck-compression", "bnb-nf5")
    assert run.result.ret != 0
    assert "did you mean bnb-nf4" in run.result.stderr.str()


def test_model_narrows_to_a_known_name(gate, tmp_path):
    pairs = tmp_path / "pairs.yaml"
    pairs.write_text(f"models:\n  a: {gate.model}\n  b: {gate.model}\ncompressions: [bnb-int8]\n")
    run = gate.run("-k", "medqa and not gen", "--medcheck-pairs", str(pairs), "--medcheck-model", "b",
                   "--medcheck-limit", "3",
                   tiny=False, snapshot_update=True)
    assert list(run.cases()) == ["test_cps[b/bnb-int8-medqa]"]


def test_dtype_and_device_are_recorded(gate):
    run = gate.run("-k", "medqa and not gen", "--medcheck-compression", "bnb-nf4", "--medcheck-limit", "3",
                   "--medcheck-dtype", "float32", "--medcheck-device", "cpu")
    props = run.cases()["test_cps[tiny/bnb-nf4-medqa]"]
    assert props["dtype"] == "float32" and props["device"] == "cpu"


def test_batch_tokens_is_validated(gate):
    run = gate.run("--medcheck-batch-tokens", "10")
    assert run.result.ret != 0 and "batch_tokens" in run.result.stderr.str()


def test_report_dir_holds_report_and_every_sample(gate):
    run = gate.run("-k", "medqa and not gen", "--medcheck-compression", "bnb-int8", "--medcheck-limit", "5")
    report = run.report()
    assert report["datasets"]["medqa"]["source"] == "sample" and report["datasets"]["medqa"]["n"] == 5
    assert {s["pair"] for s in run.samples()} == {"tiny/dense", PAIR}
    assert len(run.samples()) == 10
    assert {"item_id", "prediction", "gold", "correct", "scores", "prompt_tokens"} <= set(run.samples()[0])
    assert report["verdicts"][0]["pair"] == PAIR


def test_cache_dir_store_is_reused_and_no_cache_ignores_it(gate):
    args = ("-k", "medqa and not gen", "--medcheck-compression", "bnb-int8", "--medcheck-limit", "4")
    gate.run(*args)
    second = gate.run(*args).report()
    assert all(r["cached_items"] == 4 for r in second["runs"])
    assert (gate.cache / "results.sqlite").is_file()
    third = gate.run(*args, "--medcheck-no-cache").report()
    assert all(r["cached_items"] == 0 for r in third["runs"])


def test_hub_model_needs_allow_network(gate):
    run = gate.run("-k", "medqa and not gen", "--medcheck-model", "hub=hf:org/some-model",
                   "--medcheck-compression", "bnb-int8",
                   tiny=False)
    assert "--medcheck-allow-network" in run.result.stdout.str()


def test_pickle_weights_are_refused_unless_allowed(gate, tmp_path):
    import torch
    from safetensors.torch import load_file

    pickled = tmp_path / "pickled"
    pickled.mkdir()
    torch.save(load_file(Path(gate.model) / "model.safetensors"), pickled / "pytorch_model.bin")
    for f in Path(gate.model).iterdir():
        if f.suffix != ".safetensors":
            shutil.copy(f, pickled / f.name)
    assert not list(pickled.glob("*.safetensors")) and list(pickled.glob("*.bin"))
    args = ("-k", "medqa and not gen", "--medcheck-model", f"pk={pickled}", "--medcheck-compression", "bnb-int8",
            "--medcheck-limit", "3")
    refused = gate.run(*args, tiny=False)
    refused.result.assert_outcomes(failed=1)
    assert "--medcheck-allow-pickle" in refused.result.stdout.str()
    allowed = gate.run(*args, "--medcheck-allow-pickle", tiny=False)
    assert "test_cps[pk/bnb-int8-medqa]" in allowed.cases()
    assert allowed.report()["errors"] == {}


def test_k_that_matches_nothing_lists_dataset_ids(gate):
    run = gate.run("-k", "nonexistent_dataset")
    out = run.result.stdout.str()
    assert "matched no test" in out and "pubmed_qa" in out and "mmlu_anatomy" in out


def test_k_medqa_selects_medqa_alone(gate):
    # MedQA by log-likelihood and in free text (medqa_gen); never PubMedQA (pubmed_qa, pubmed_qa_gen)
    run = gate.run("-k", "medqa", "--medcheck-compression", "bnb-int8,bnb-nf4", "--medcheck-limit", "3")
    assert sorted(run.cases()) == ["test_cps[tiny/bnb-int8-medqa]", "test_cps[tiny/bnb-int8-medqa_gen]",
                                   "test_cps[tiny/bnb-nf4-medqa]", "test_cps[tiny/bnb-nf4-medqa_gen]"]
    run = gate.run("-k", "pubmed and nf4 and not gen", "--medcheck-compression", "bnb-int8,bnb-nf4",
                   "--medcheck-limit", "3")
    assert list(run.cases()) == ["test_cps[tiny/bnb-nf4-pubmed_qa]"]


def test_bad_threshold_file_stops_the_run_naming_the_key(gate):
    path = gate.pytester.path / "thresholds" / "knowledge.yaml"
    path.write_text(path.read_text().replace("bnb-int8: 0.90", "bnb-int9: 0.90"))
    run = gate.run()
    err = run.result.stderr.str()
    assert run.result.ret != 0
    assert "knowledge.yaml: cps.compressions.bnb-int9: unknown compression" in err and "did you mean bnb-int8" in err


def test_snapshots_record_compare_and_flag_a_change(gate):
    args = ("-k", "medqa and not gen", "--medcheck-compression", "bnb-int8", "--medcheck-limit", "4")
    first = gate.run(*args, snapshot_update=False)          # nothing recorded: passes, says so
    assert "SNAPSHOTS: 1 tests have no score snapshot" in first.result.stdout.str()
    gate.run(*args)                                           # --snapshot-update records it
    stored = gate.pytester.path / "suites" / "knowledge" / "__snapshots__" / "test_medqa.json"
    assert "limit4" in stored.read_text()
    again = gate.run(*args, snapshot_update=False).result.parseoutcomes()   # 4 items: pass or inconclusive
    assert again.get("passed", 0) + again.get("inconclusive", 0) == 1 and "failed" not in again, again
    stored.write_text(stored.read_text().replace('"n": 4', '"n": 5'))
    gate.run(*args, snapshot_update=False).result.assert_outcomes(failed=1)


def test_efficiency_track_records_measurements(gate):
    run = gate.run("--medcheck-compression", "bnb-nf4", path="suites/efficiency")
    props = run.cases()["test_ces[tiny/bnb-nf4]"]
    for key in ("memory_bytes", "bits_per_weight", "ttft_s", "act_s", "tps", "ces", "device",
                "dense_memory_bytes", "memory_bytes_ratio", "memory_kind"):
        assert key in props, key
    assert float(props["bits_per_weight"]) < float(props["dense_bits_per_weight"])
    assert run.report()["tracks"]["efficiency"]["rows"][0]["pair"] == "tiny/bnb-nf4"


def test_cross_track_counts_dense_as_a_setting(gate):
    run = gate.run("--medcheck-compression", "bnb-nf4,bnb-int8", "--medcheck-limit", "4", path="suites/cross")
    props = run.cases()["test_ccs[tiny]"]
    assert {"accuracy_dense", "accuracy_bnb-nf4", "accuracy_bnb-int8", "ccs"} <= set(props)
    cross = run.report()["tracks"]["cross"]["rows"][0]
    assert set(cross["accuracies"]) == {"dense", "bnb-nf4", "bnb-int8"} and cross["model"] == "tiny"


def test_refusal_judge_option_is_checked_and_reaches_every_scorer(gate, monkeypatch):
    from medcheck.trust.refusal import ENV

    run = gate.run("--collect-only", "--medcheck-refusal-judge", "gpt4")
    assert run.result.ret != 0 and "unknown setting 'gpt4'" in run.result.stderr.str()
    monkeypatch.setenv(ENV, "patterns")          # restored after the test: the in-process run sets it
    run = gate.run("--collect-only", "-q", "--medcheck-refusal-judge", "classifier:/models/longformer")
    assert run.result.ret == 0 and os.environ[ENV] == "classifier:/models/longformer"   # nothing loaded yet
