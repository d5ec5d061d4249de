"""Fidelity on generated items through the plugin: a trust dimension's verdict carries the fidelity
of the teacher-forced pass (JUnit properties, report.json, samples.jsonl), and a candidate whose
answers moved beyond the file's fidelity floors fails its test with that reason."""

from __future__ import annotations

import re

import pytest

STRICT = ("fidelity:\n  default: {kl_max: 0.05, same_top_min: 0.6}\n"
          "  compressions: {rtn-w2: {kl_max: 1.0e-3, same_top_min: 0.9}}\n")


@pytest.fixture(scope="module")
def sharp_model_dir(tiny_model_dir, tmp_path_factory):
    """The tiny random Llama with its logits x20: a random model's next-token distribution is near
    uniform, so every compression of it looks faithful; sharpened, its answers have a top token."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    with torch.no_grad():
        model.model.norm.weight.mul_(20.0)
    out = tmp_path_factory.mktemp("sharp-llama")
    model.save_pretrained(out, safe_serialization=True)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(out)
    return out


def test_a_trust_verdict_carries_fidelity_and_fails_on_it(gate, sharp_model_dir):
    path = gate.pytester.path / "thresholds" / "trust.yaml"
    text = re.sub(r"(?ms)^fidelity:.*?(?=^\S|\Z)", "", path.read_text())   # this test's floors, not the repo's
    path.write_text(text + STRICT)
    run = gate.run("--medcheck-model", f"tiny={sharp_model_dir}", "--medcheck-compression", "rtn-w2",
                   "--medcheck-limit", "4", "--medcheck-no-cache", tiny=False, path="suites/trust/test_robustness.py")
    (case,) = [props for name, props in run.cases().items() if "rtn-w2" in name]
    assert case["fidelity_outcome"] == "fail" and case["outcome"] == "fail" and case["verdict"] == "fail"
    assert "fidelity to the dense model fails" in case["verdict_message"]
    assert float(case["fidelity_kl_low"]) > 1e-3 and case["fidelity_rule"].endswith("fidelity.compressions.rtn-w2")
    for key in ("fidelity_n", "fidelity_kl", "fidelity_kl_high", "fidelity_same_top", "fidelity_same_top_low",
                "fidelity_token_same_top", "fidelity_method", "accuracy_outcome"):
        assert case[key], key
    run.result.assert_outcomes(failed=1)
    (row,) = run.report()["verdicts"]
    assert row["fidelity"]["fidelity_outcome"] == "fail" and row["outcome"] == "fail"
    samples = [s for s in run.samples() if s["dataset"] == "trust_advglue"]
    assert len(samples) == 2 * int(case["n"]) and all(s["teacher"]["tokens"] is not None for s in samples)
    dense = {s["item_id"]: s for s in samples if s["pair"].endswith("/dense")}
    for s in samples:   # both sides forced along the dense answer
        assert s["teacher"]["tokens"] == dense[s["item_id"]]["teacher"]["tokens"]
